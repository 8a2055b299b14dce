import { randomUUID } from "node:crypto";
import type { Logger } from "@aws-lambda-powertools/logger";
import { asBridgeError } from "../../core/errors.ts";
import { newJob } from "../../jobs/queue.ts";
import { jobRuntime } from "../../jobs/runtime.ts";
import { capsFromHandlers, LEASE_MARGIN_MS, runHoldingSlots } from "../../jobs/system-caps.ts";
import { rtDate } from "../../systems/rt/client.ts";
import { rtKanbanDeps } from "./deps.ts";
import { inQueues } from "./queues.ts";
import { rtTicketJob } from "./ticket-job.ts";

/** How long one ticket's run may take. */
const RUN_TIMEOUT_MS = 60_000;

export interface BackfillSummary {
  tickets: number;
  created: number;
  updated: number;
  removed: number;
  unchanged: number;
  failed: { ticketId: number; error: string }[];
}

/**
 * Projects every open ticket of the exposed queues onto the board (optionally only those changed since
 * a date), running the same job the webhooks run, a few at a time. Idempotent: cards are found by
 * reference before any is created, so a second run changes nothing. Each run holds RT's and
 * Kanboard's slots like a worker's job (`maxConcurrentCalls`), waiting while they are all taken.
 */
export async function backfillBoard(options: {
  logger: Logger;
  since?: Date | undefined;
  concurrency?: number;
  onProgress?: (done: number, total: number) => void;
}): Promise<BackfillSummary> {
  const deps = await rtKanbanDeps();
  let query = `${inQueues(deps.settings.queues)} AND Status = '__Active__'`;
  if (options.since) query += ` AND LastUpdated > '${rtDate(options.since)}'`;
  const tickets = await deps.rt.searchTickets(query);
  const summary: BackfillSummary = {
    tickets: tickets.length,
    created: 0,
    updated: 0,
    removed: 0,
    unchanged: 0,
    failed: [],
  };
  const run = randomUUID().slice(0, 8);
  const { slots } = jobRuntime();
  const capFor = capsFromHandlers([rtTicketJob]);
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < tickets.length) {
      const ticket = tickets[next++];
      if (!ticket) break;
      const jobId = `backfill-${run}-${ticket.id}`;
      try {
        const outcome = await runHoldingSlots(
          slots,
          capFor(newJob(rtTicketJob.type, { ticketId: ticket.id }, { id: jobId })),
          jobId,
          RUN_TIMEOUT_MS + LEASE_MARGIN_MS,
          () =>
            rtTicketJob.run(
              { ticketId: ticket.id },
              {
                jobId,
                attempt: 1,
                maybeRan: true,
                signal: AbortSignal.timeout(RUN_TIMEOUT_MS),
                logger: options.logger,
              },
            ),
          options.logger,
        );
        if (outcome.action === "created") summary.created++;
        else if (outcome.action === "updated") summary.updated++;
        else if (outcome.action === "removed") summary.removed++;
        else summary.unchanged++;
      } catch (error) {
        summary.failed.push({ ticketId: ticket.id, error: asBridgeError(error).message });
      }
      options.onProgress?.(++done, tickets.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 4) }, worker));
  return summary;
}
