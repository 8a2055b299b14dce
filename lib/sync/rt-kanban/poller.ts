import type { Logger } from "@aws-lambda-powertools/logger";
import { newJob } from "../../jobs/queue.ts";
import { jobRuntime } from "../../jobs/runtime.ts";
import { rtKanbanDeps } from "./deps.ts";
import { isBridgeEcho } from "./http.ts";
import { RT_TICKET_JOB } from "./ticket-job.ts";

/** At most this many pages (of 100 transactions) per run; the cursor carries on from there next time. */
const MAX_PAGES = 20;

/**
 * Covers the Scrip calls RT could not make (the bridge down, a Scrip error): reads ticket transactions
 * since the cursor, minus an overlap, and queues one job per ticket that changed. Jobs are
 * level-triggered and coalesced, so a ticket seen twice (overlap, or a Scrip call for the same change)
 * costs a read and changes nothing. The bridge's own custom-field writes are skipped.
 */
export async function pollRt(logger: Logger): Promise<{ queued: number; cursor: string | undefined }> {
  const runtime = jobRuntime();
  const deps = await rtKanbanDeps();
  const { poller } = deps.settings;
  const name = `rt:${deps.rtInstance}:transactions`;
  const cursor = await runtime.cursors.get(name);
  const since = cursor
    ? new Date(Date.parse(cursor.at) - poller.overlapSeconds * 1000)
    : new Date(Date.now() - poller.initialLookbackHours * 3600 * 1000);
  let last = cursor ? { at: cursor.at, id: cursor.id } : undefined;
  const tickets = new Set<number>();
  for (let page = 1; page <= MAX_PAGES; page++) {
    const { items, more } = await deps.rt.transactionsSince(since, page);
    for (const txn of items) {
      const creator = typeof txn.Creator === "object" ? txn.Creator.id : txn.Creator;
      if (txn.ObjectId !== undefined && !isBridgeEcho({ type: txn.Type, creator }, deps.rtUser))
        tickets.add(txn.ObjectId);
      // (timestamp, id) order: equal timestamps never stall the cursor.
      if (!last || txn.Created > last.at || (txn.Created === last.at && txn.id > Number(last.id)))
        last = { at: txn.Created, id: String(txn.id) };
    }
    if (!more) break;
  }
  for (const ticketId of tickets)
    await runtime.queue.send(newJob(RT_TICKET_JOB, { ticketId }, { origin: "poller" }));
  if (last && (last.at !== cursor?.at || last.id !== cursor?.id)) {
    const moved = await runtime.cursors.advance(name, cursor, last);
    if (!moved) logger.warn("another poll moved the cursor first; this run's position was not saved");
  }
  logger.info("RT polled", { queued: tickets.size, since: since.toISOString(), cursor: last?.at });
  return { queued: tickets.size, cursor: last?.at };
}
