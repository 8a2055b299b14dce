import type { Logger } from "@aws-lambda-powertools/logger";
import { newJob } from "../../jobs/queue.ts";
import { jobRuntime } from "../../jobs/runtime.ts";
import { rtDate } from "../../systems/rt/client.ts";
import { rtKanbanDeps } from "./deps.ts";
import { columnOf, exposure, priorityOf, ticketIdOfReference, titleOf } from "./projection.ts";
import { inQueues } from "./queues.ts";
import { RT_TICKET_JOB } from "./ticket-job.ts";

/** RT's inactive statuses (the default lifecycle): their cards may rest in their column for good. */
const INACTIVE = new Set(["resolved", "rejected", "deleted"]);

export interface Drift {
  ticketId: number;
  reason: string;
}

/**
 * Repairs what events missed (a ticket created and resolved within seconds whose card stayed in the
 * first column, a card moved by hand, a Scrip that never fired): compares the board with the tickets of
 * the exposed queues that are active or changed lately, in two reads (one TicketSQL search, one task
 * list), and queues a forced job for each ticket whose card is missing, in another column, or shown
 * though the ticket left the board. A card not matched by the search is suspect only while it sits in
 * the column of an active status.
 */
export async function reconcileBoard(
  logger: Logger,
): Promise<{ checked: number; queued: number; drift: Drift[] }> {
  const runtime = jobRuntime();
  const deps = await rtKanbanDeps();
  const { settings } = deps;
  const since = new Date(Date.now() - settings.reconciler.lookbackDays * 86_400_000);
  const query = `${inQueues(settings.queues)} AND (Status = '__Active__' OR LastUpdated > '${rtDate(since)}')`;
  // One call at a time to each system: the run holds one slot of each (maxConcurrentCalls).
  const [tickets, [cards, columns]] = await Promise.all([
    deps.rt.searchTickets(query),
    deps.board.listCards({ closed: false }).then(async (open) => [open, await deps.board.columns()] as const),
  ]);
  const firstColumn = columns[0] ?? "";
  const cardsByTicket = new Map<number, (typeof cards)[number]>();
  for (const card of cards) {
    const id = ticketIdOfReference(card.reference);
    if (id !== undefined) cardsByTicket.set(id, card);
  }
  const drift: Drift[] = [];
  for (const ticket of tickets) {
    const card = cardsByTicket.get(ticket.id);
    cardsByTicket.delete(ticket.id);
    if (!exposure(ticket, settings).show) {
      if (card) drift.push({ ticketId: ticket.id, reason: "a card for a ticket that is not on the board" });
      continue;
    }
    const column = columnOf(ticket.status, settings) ?? firstColumn;
    if (!card) drift.push({ ticketId: ticket.id, reason: "no card" });
    else if (card.column !== column)
      drift.push({ ticketId: ticket.id, reason: `in ${card.column}, not ${column}` });
    else if (
      card.title !== titleOf(ticket, settings) ||
      card.priority !== priorityOf(ticket.priority, settings)
    )
      drift.push({ ticketId: ticket.id, reason: "title or priority differs" });
  }
  const activeColumns = new Set(
    Object.entries(settings.columns)
      .filter(([status]) => !INACTIVE.has(status))
      .map(([, column]) => column),
  );
  for (const [ticketId, card] of cardsByTicket) {
    if (activeColumns.has(card.column) || !Object.values(settings.columns).includes(card.column))
      drift.push({ ticketId, reason: `card in ${card.column}, ticket not active in an exposed queue` });
  }
  for (const { ticketId } of drift)
    await runtime.queue.send(newJob(RT_TICKET_JOB, { ticketId, force: true }, { origin: "reconciler" }));
  if (drift.length > 0) logger.warn("board drift found, repairs queued", { drift });
  logger.info("board reconciled", { checked: tickets.length, cards: cards.length, queued: drift.length });
  return { checked: tickets.length, queued: drift.length, drift };
}
