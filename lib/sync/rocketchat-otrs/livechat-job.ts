import { InProgressError } from "../../core/errors.ts";
import { defineJob, type JobContext } from "../../jobs/model.ts";
import { claimCreation, PENDING } from "../../links/claims.ts";
import type { Link } from "../../links/store.ts";
import {
  chatRef,
  otrsTicketRef,
  type RocketchatOtrsDeps,
  rocketchatOtrsDeps,
  rocketchatOtrsSettings,
} from "./deps.ts";
import { LIVECHAT_JOB, LivechatJobInput, livechatSpec } from "./index.ts";
import { chatMarker } from "./transcript.ts";

export { LIVECHAT_JOB, LivechatJobInput };

interface Recorded {
  id: string;
  number: string;
  created: boolean;
}

/**
 * Puts one closed chat (or offline message) on record in OTRS: its transcript becomes an article on
 * every ticket it names, or the first article of a new ticket when it names none that exists. The
 * chat's link remembers each ticket done (saved after each one), so a redelivery, a retry or a
 * replay adds nothing twice; a retry also looks for the chat's marker in the ticket before adding.
 */
export const livechatJob = defineJob({
  ...livechatSpec,
  key: ({ key }) => key,
  // Rocket.Chat is not called: the webhook's payload is the chat.
  systems: () => [{ system: "otrs", instance: rocketchatOtrsSettings().otrs }],
  async run(input, context) {
    const deps = await rocketchatOtrsDeps();
    const source = chatRef(input.key);
    const existing = await deps.links.get(source);
    if (existing && existing.target.id !== PENDING) return answer(recorded(existing), [], true);
    const claim = await claimCreation(
      deps.links,
      source,
      otrsTicketRef(deps.otrsInstance, PENDING),
      context.jobId,
    );
    if (claim.kind === "linked") return answer(recorded(claim.link), [], true);
    let link = claim.link;

    const found: { id: string; number: string }[] = [];
    const unknown: string[] = [];
    for (const number of input.references) {
      const [id] = await deps.otrs.findTicketIdsByNumber(number, context.signal);
      if (id) found.push({ id, number });
      else unknown.push(number);
    }
    if (unknown.length > 0)
      context.logger.warn("chat names tickets OTRS does not have", { chat: input.key, unknown });

    let done = recorded(link);
    if (found.length > 0) {
      for (const ticket of found) {
        if (done.some((d) => d.id === ticket.id)) continue;
        await addTranscript(deps, input, ticket.id, context);
        link = await remember(deps, link, [...done, { ...ticket, created: false }]);
        done = recorded(link);
      }
    } else if (done.length === 0) {
      const ticket = await openTicket(deps, input, unknown, context);
      link = await remember(deps, link, [ticket]);
      done = recorded(link);
    }
    const [first] = done;
    if (first) {
      const saved = await deps.links.replaceTarget(
        link,
        otrsTicketRef(deps.otrsInstance, first.id),
        link.aspects,
      );
      if (saved.outcome === "stale")
        throw new InProgressError("the chat's link changed while it was put on record");
    }
    return answer(done, unknown, false);
  },
});

/** A new ticket with the transcript as its first article (found first by the room's dynamic field). */
async function openTicket(
  deps: RocketchatOtrsDeps,
  input: LivechatJobInput,
  unknown: string[],
  context: JobContext,
): Promise<Recorded> {
  const chat = deps.settings.livechat;
  if (!chat) throw new Error("unreachable: the route checks livechat is configured");
  const field = chat.roomDynamicField;
  if (field) {
    const [id] = await deps.otrs.findTicketIdsByDynamicField(field, input.key, context.signal);
    if (id) {
      const ticket = await deps.otrs.getTicket(id, { signal: context.signal });
      return { id, number: ticket.TicketNumber, created: false };
    }
  }
  const note =
    unknown.length > 0
      ? `The chat names ticket(s) OTRS does not have: ${unknown.map((n) => `#${n}`).join(", ")}\n\n`
      : "";
  const created = await deps.otrs.createTicket(
    {
      Title: input.title,
      Queue: input.queue,
      State: chat.ticket.state,
      Priority: chat.ticket.priority,
      Lock: chat.ticket.lock,
      CustomerUser: input.customerUser,
      ...(chat.ticket.owner ? { Owner: chat.ticket.owner } : {}),
      ...(chat.ticket.type ? { Type: chat.ticket.type } : {}),
    },
    {
      Subject: input.subject,
      Body: note + input.body,
      From: input.from,
      IsVisibleForCustomer: chat.article.visibleForCustomer ? 1 : 0,
      CommunicationChannel: chat.article.communicationChannel,
    },
    field ? [{ Name: field, Value: input.key }] : [],
    context.signal,
  );
  context.logger.info("OTRS ticket opened for a chat", {
    chat: input.key,
    ticket_number: created.ticketNumber,
  });
  return { id: created.ticketId, number: created.ticketNumber, created: true };
}

/** The transcript as an article of an existing ticket, unless a retry finds it there already. */
async function addTranscript(
  deps: RocketchatOtrsDeps,
  input: LivechatJobInput,
  ticketId: string,
  context: JobContext,
) {
  const chat = deps.settings.livechat;
  if (!chat) throw new Error("unreachable: the route checks livechat is configured");
  if (context.maybeRan) {
    const ticket = await deps.otrs.getTicket(ticketId, { articles: "all", signal: context.signal });
    if (ticket.Article.some((article) => article.Body?.includes(chatMarker(input.key)))) return;
  }
  await deps.otrs.updateTicket(
    ticketId,
    {
      Article: {
        Subject: input.subject,
        Body: input.body,
        From: input.from,
        IsVisibleForCustomer: chat.article.visibleForCustomer ? 1 : 0,
        CommunicationChannel: chat.article.communicationChannel,
      },
    },
    context.signal,
  );
  context.logger.info("chat transcript added to an OTRS ticket", { chat: input.key, ticket_id: ticketId });
}

/** The tickets a chat's link records, as `id|number|created`. */
function recorded(link: Link): Recorded[] {
  return (link.aspects.tickets?.entries ?? []).flatMap((entry) => {
    const [id, number, created] = entry.split("|");
    return id && number ? [{ id, number, created: created === "1" }] : [];
  });
}

async function remember(deps: RocketchatOtrsDeps, link: Link, tickets: Recorded[]): Promise<Link> {
  const saved = await deps.links.updateAspect(link, "tickets", {
    entries: tickets.map((t) => `${t.id}|${t.number}|${t.created ? "1" : "0"}`),
    syncedAt: new Date().toISOString(),
  });
  if (saved.outcome === "stale")
    throw new InProgressError("the chat's link changed while it was put on record");
  return saved.link;
}

function answer(tickets: Recorded[], unknown: string[], repeated: boolean) {
  return {
    ticketNumbers: tickets.map((t) => t.number),
    tickets: tickets.map((t) => ({ number: t.number, id: t.id, created: t.created })),
    ...(unknown.length > 0 ? { unknownReferences: unknown } : {}),
    ...(repeated ? { repeated: true } : {}),
  };
}
