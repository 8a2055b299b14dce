import type { Logger } from "@aws-lambda-powertools/logger";
import { type BridgeError, UpstreamError } from "../core/errors.ts";
import type { JobStats } from "../ops/stats.ts";
import type { JobMessage } from "./model.ts";
import type { JobQueue } from "./queue.ts";
import type { JobRecords } from "./records.ts";

/**
 * Keeps a job that will not succeed by retrying in the dead-letter queue, with the error that stopped
 * it (what the external system said included), and marks its status record failed. `npm run replay`
 * sends it back once the cause is fixed.
 */
export async function deadLetterJob(
  deps: { queue: JobQueue; records: JobRecords; stats?: JobStats | undefined },
  job: JobMessage,
  attempts: number,
  error: BridgeError,
  log: Logger,
  count: { received?: boolean } = {},
): Promise<void> {
  const lastError = {
    code: error.code,
    message: error.message,
    upstream: error instanceof UpstreamError ? error.upstream : undefined,
  };
  await deps.queue.sendDeadLetter({
    deadLetter: 1,
    job,
    attempts,
    lastError,
    failedAt: new Date().toISOString(),
  });
  await deps.records.failed(job.id, job.type, attempts, { code: error.code, message: error.message });
  await deps.stats?.record(count.received ? ["received", "deadLettered"] : "deadLettered", job, error);
  log.error("job dead-lettered", { attempts, code: error.code, reason: error.message });
}
