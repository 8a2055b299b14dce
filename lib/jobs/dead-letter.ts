import type { Logger } from "@aws-lambda-powertools/logger";
import * as v from "valibot";
import { type BridgeError, UpstreamError } from "../core/errors.ts";
import type { JobHandler, JobMessage } from "./model.ts";
import type { JobQueue } from "./queue.ts";
import type { JobRecords } from "./records.ts";
import type { JobStats } from "./stats.ts";

/**
 * Keeps a job that will not succeed by retrying in the dead-letter queue, with the error that stopped
 * it (what the external system said included), marks its status record failed, and gives back what the
 * job held (`JobHandler.release`). `npx deskbridge dlq replay` sends it back once the cause is fixed.
 */
export async function deadLetterJob(
  deps: { queue: JobQueue; records: JobRecords; stats?: JobStats | undefined },
  job: JobMessage,
  attempts: number,
  error: BridgeError,
  log: Logger,
  count: { received?: boolean; release?: (() => Promise<void>) | undefined } = {},
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
  await count.release?.().catch((releaseError: unknown) =>
    log.warn("could not give back what the dead-lettered job held", {
      reason: (releaseError as Error).message,
    }),
  );
}

/** The handler's `release` for this job's input (nothing when it has none, or the input is invalid). */
export function releaseOf<R extends Record<string, unknown>>(
  handler: JobHandler<v.GenericSchema, R>,
  job: JobMessage,
  logger: Logger,
): (() => Promise<void>) | undefined {
  const { release } = handler;
  if (!release) return undefined;
  const input = v.safeParse(handler.input, job.input);
  return input.success ? () => release(input.output, { jobId: job.id, logger }) : undefined;
}
