import type { Logger } from "@aws-lambda-powertools/logger";
import { openPollWindow } from "../../jobs/poll-window.ts";
import { newJob } from "../../jobs/queue.ts";
import { jobRuntime } from "../../jobs/runtime.ts";
import { rtKanbanDeps } from "./deps.ts";
import { isBridgeEcho } from "./http.ts";
import { rtTransactionsCursor } from "./index.ts";
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
  const name = rtTransactionsCursor(deps.rtInstance);
  const window = await openPollWindow(runtime.cursors, name, deps.settings.poller, logger);
  const tickets = new Set<number>();
  let truncated = false;
  for (let page = 1; ; page++) {
    // REST2 gives a user who is not SuperUser no total, no page count and no next_page (RT 5.0.3), and
    // leaves out what the user may not see: read on until a page comes back empty.
    const { items } = await deps.rt.transactionsSince(window.since, page);
    if (items.length === 0) break;
    for (const txn of items) {
      const creator = typeof txn.Creator === "object" ? txn.Creator.id : txn.Creator;
      if (txn.ObjectId !== undefined && !isBridgeEcho({ type: txn.Type, creator }, deps.rtUser))
        tickets.add(txn.ObjectId);
      window.see(txn.Created, String(txn.id));
    }
    if (page === MAX_PAGES) {
      truncated = true;
      break;
    }
  }
  for (const ticketId of tickets)
    await runtime.queue.send(newJob(RT_TICKET_JOB, { ticketId }, { origin: "poller" }));
  const cursor = await window.save({ truncated });
  logger.info("RT polled", { queued: tickets.size, since: window.since.toISOString(), cursor, truncated });
  return { queued: tickets.size, cursor };
}
