import * as v from "valibot";
import type { Card, CardContent } from "../../boards/port.ts";
import { InProgressError, NotFoundError } from "../../core/errors.ts";
import { defineJob, type JobContext } from "../../jobs/model.ts";
import { claimCreation, PENDING, releaseLease, takeLease } from "../../links/claims.ts";
import type { Link } from "../../links/store.ts";
import { HiddenTicketError } from "../../systems/rt/errors.ts";
import type { RtTicket } from "../../systems/rt/schemas.ts";
import { cardRef, type RtKanbanDeps, rtKanbanDeps, rtKanbanSettings, ticketRef } from "./deps.ts";
import { RT_TICKET_JOB, ticketSpec } from "./index.ts";
import { cardReference, columnOf, descriptionOf, exposure, priorityOf, titleOf } from "./projection.ts";

export { RT_TICKET_JOB };

/** What the link remembers of a card: what the bridge last made it show, and whether it is still up. */
const CardMemorySchema = v.object({
  state: v.picklist(["shown", "removed"]),
  /** How a removed card went: closed cards can come back; a sensitive ticket's card must be deleted. */
  mode: v.optional(v.picklist(["delete", "close"])),
  content: v.optional(
    v.object({
      title: v.string(),
      description: v.string(),
      column: v.string(),
      ownerId: v.optional(v.string()),
      priority: v.number(),
    }),
  ),
});
type CardMemory = v.InferOutput<typeof CardMemorySchema>;

export type TicketOutcome = {
  ticket: number;
  action: "created" | "updated" | "removed" | "none";
  card?: string;
  changes?: string[];
  reason?: string;
};

/**
 * Makes the board show one RT ticket as RT has it now (RT leads; the board is its projection). A
 * ticket the board should show gets a card (found first by its reference, so a retry or a backfill
 * never makes a second one) in the column of its status, with its subject, owner and priority, and the
 * card id written back to the ticket's custom field; a ticket that left the board (another queue, a
 * sensitive queue, deleted, merged away, filtered out) loses its card. `force` compares with the card
 * as it is on the board rather than as the bridge last wrote it (the reconciler's repairs).
 */
export const rtTicketJob = defineJob({
  ...ticketSpec,
  key: ({ ticketId, force }) => `${ticketId}${force ? "!" : ""}`,
  systems: () => {
    const settings = rtKanbanSettings();
    return [
      { system: "rt", instance: settings.rt },
      { system: "kanboard", instance: settings.board.kanboard },
    ];
  },
  async run({ ticketId, force = false }, context) {
    const deps = await rtKanbanDeps();
    let ticket: RtTicket | undefined;
    let missing = "";
    let hidden = false;
    try {
      ticket = await deps.rt.getTicket(ticketId, context.signal);
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
      missing = error.message;
      hidden = error instanceof HiddenTicketError;
    }
    const outcomes: TicketOutcome[] = [];
    if (!ticket) {
      // A ticket the bridge may not see is treated as sensitive: its card is deleted, never archived.
      outcomes.push(await retire(deps, ticketId, missing, hidden, undefined, context));
    } else if (ticket.id !== ticketId) {
      // RT follows merges: the ticket asked for was merged into the one it answered with.
      outcomes.push(await retire(deps, ticketId, `merged into #${ticket.id}`, false, undefined, context));
      outcomes.push(await project(deps, ticket, force, context));
    } else {
      outcomes.push(await project(deps, ticket, force, context));
    }
    for (const outcome of outcomes) {
      if (outcome.action !== "none")
        context.logger.info(`card ${outcome.action}`, {
          rt_ticket: outcome.ticket,
          card: outcome.card,
          changes: outcome.changes,
          reason: outcome.reason,
        });
    }
    const [first, ...more] = outcomes;
    return { ...first, ...(more.length > 0 ? { also: more } : {}) };
  },
});

/** One live ticket: shown, or retired when it left the board. */
async function project(deps: RtKanbanDeps, ticket: RtTicket, force: boolean, context: JobContext) {
  const shown = exposure(ticket, deps.settings);
  if (!shown.show) return retire(deps, ticket.id, shown.reason, shown.sensitive, ticket, context);
  const content = await contentOf(deps, ticket, context);
  const source = ticketRef(deps.rtInstance, ticket.id);
  const link = await deps.links.get(source);
  if (!link || link.target.id === PENDING) return createCard(deps, ticket, content, context);
  return withLease(deps, link, context, async (leased) => {
    const memory = memoryOf(leased);
    if (memory?.state !== "shown") return createCard(deps, ticket, content, context, leased);
    // The card as the bridge last wrote it; forced (a repair), as the board has it now.
    const current: Card | undefined =
      force || !memory.content
        ? await deps.board.getCard(leased.target.id, context.signal)
        : {
            ...memory.content,
            ownerId: memory.content.ownerId,
            id: leased.target.id,
            reference: cardReference(ticket.id),
            open: true,
          };
    if (!current) return createCard(deps, ticket, content, context, leased);
    let changes: string[];
    try {
      changes = await deps.board.updateCard(current, content, context.signal);
    } catch (error) {
      // Someone deleted the card on the board: RT leads, so the ticket gets a card again.
      if (error instanceof NotFoundError) return createCard(deps, ticket, content, context, leased);
      throw error;
    }
    const saved = await remember(deps, leased, { state: "shown", content });
    await writeBackCardId(deps, ticket, saved.target.id, context);
    return changes.length > 0
      ? { ticket: ticket.id, action: "updated" as const, card: saved.target.id, changes }
      : { ticket: ticket.id, action: "none" as const, card: saved.target.id };
  });
}

/**
 * The first card of a ticket (or a new one after its card was removed): a card already carrying the
 * ticket's reference is adopted (an attempt whose answer was lost, a backfill after a manual setup), a
 * closed one is reopened; otherwise one is created. Concurrent attempts are kept to one by the link's
 * creation claim.
 */
async function createCard(
  deps: RtKanbanDeps,
  ticket: RtTicket,
  content: CardContent,
  context: JobContext,
  held?: Link,
): Promise<TicketOutcome> {
  const source = ticketRef(deps.rtInstance, ticket.id);
  let link = held;
  if (!link) {
    const claim = await claimCreation(deps.links, source, cardRef(deps.board, PENDING), context.jobId);
    if (claim.kind === "linked") return project(deps, ticket, true, context);
    link = claim.link;
  }
  const reference = cardReference(ticket.id);
  const found = await deps.board.findByReference(reference, context.signal);
  let card: Card;
  let action: TicketOutcome["action"] = "created";
  if (found) {
    await deps.board.updateCard(found, content, context.signal);
    card = found;
    action = "updated";
  } else {
    card = await deps.board.createCard(reference, content, context.signal);
  }
  const memory: CardMemory = { state: "shown", content };
  const saved = await deps.links.replaceTarget(link, cardRef(deps.board, card.id), {
    card: aspectOf(memory),
  });
  if (saved.outcome === "stale") throw new InProgressError("the link changed while the card was made");
  await writeBackCardId(deps, ticket, card.id, context);
  return {
    ticket: ticket.id,
    action,
    card: card.id,
    ...(found ? { reason: "adopted the card carrying its reference" } : {}),
  };
}

/** Takes a ticket's card off the board (deleted, or closed per `onRemove`; always deleted for a sensitive queue). */
async function retire(
  deps: RtKanbanDeps,
  ticketId: number,
  reason: string,
  sensitive: boolean,
  ticket: RtTicket | undefined,
  context: JobContext,
): Promise<TicketOutcome> {
  const link = await deps.links.get(ticketRef(deps.rtInstance, ticketId));
  if (!link) return { ticket: ticketId, action: "none", reason };
  return withLease(deps, link, context, async (leased) => {
    const mode = sensitive ? "delete" : deps.settings.onRemove;
    let cardId: string | undefined = leased.target.id;
    if (cardId === PENDING)
      cardId = (await deps.board.findByReference(cardReference(ticketId), context.signal))?.id;
    const memory = memoryOf(leased);
    const done = memory?.state === "removed" && (memory.mode === "delete" || mode === "close");
    if (!cardId || done) return { ticket: ticketId, action: "none" as const, reason };
    await deps.board.removeCard(cardId, mode, context.signal);
    await remember(deps, leased, { state: "removed", mode });
    // The custom field says whether a card exists; a merged-away ticket is not written (RT would
    // write the ticket it was merged into).
    if (ticket?.customFields[deps.settings.cardField])
      await deps.rt.setCustomField(ticket.id, deps.settings.cardField, null, context.signal);
    return { ticket: ticketId, action: "removed" as const, card: cardId, reason };
  });
}

/** Writes the card id to the ticket's custom field, unless it already holds it. */
async function writeBackCardId(deps: RtKanbanDeps, ticket: RtTicket, cardId: string, context: JobContext) {
  if (ticket.customFields[deps.settings.cardField] === cardId) return;
  await deps.rt.setCustomField(ticket.id, deps.settings.cardField, cardId, context.signal);
}

async function contentOf(deps: RtKanbanDeps, ticket: RtTicket, context: JobContext): Promise<CardContent> {
  const column =
    columnOf(ticket.status, deps.settings) ?? (await deps.board.columns(context.signal))[0] ?? "";
  return {
    title: titleOf(ticket, deps.settings),
    description: descriptionOf(ticket, deps.webUrl),
    column,
    ownerId: await ownerIdOf(deps, ticket.owner, context),
    priority: priorityOf(ticket.priority, deps.settings),
  };
}

/** The board user of an RT owner: the configured map, else the board user with the same name. */
async function ownerIdOf(
  deps: RtKanbanDeps,
  owner: string,
  context: JobContext,
): Promise<string | undefined> {
  if (owner === "Nobody" || owner === "") return undefined;
  const mapped = deps.settings.owners[owner];
  if (mapped !== undefined) return mapped === 0 ? undefined : String(mapped);
  if (!deps.settings.matchOwnersByUsername) return undefined;
  if (!deps.owners.has(owner)) deps.owners.set(owner, await deps.board.findUser(owner, context.signal));
  return deps.owners.get(owner);
}

async function withLease<T>(
  deps: RtKanbanDeps,
  link: Link,
  context: JobContext,
  work: (link: Link) => Promise<T>,
) {
  const leased = await takeLease(deps.links, link, context.jobId);
  let latest = leased;
  try {
    return await work(leased);
  } finally {
    latest = (await deps.links.get(link.source)) ?? latest;
    await releaseLease(deps.links, latest, context.jobId).catch(() => undefined);
  }
}

function memoryOf(link: Link): CardMemory | undefined {
  const raw = link.aspects.card?.state;
  if (!raw) return undefined;
  try {
    const parsed = v.safeParse(CardMemorySchema, JSON.parse(raw));
    return parsed.success ? parsed.output : undefined;
  } catch {
    return undefined;
  }
}

const aspectOf = (memory: CardMemory) => ({
  state: JSON.stringify(memory),
  syncedAt: new Date().toISOString(),
});

async function remember(deps: RtKanbanDeps, link: Link, memory: CardMemory): Promise<Link> {
  const current = (await deps.links.get(link.source)) ?? link;
  const saved = await deps.links.updateAspect(current, "card", aspectOf(memory));
  if (saved.outcome === "stale") throw new InProgressError("the link changed while this job ran");
  return saved.link;
}
