import type { Config } from "../core/config-schema.ts";
import { NotFoundError } from "../core/errors.ts";
import { deadLetterUrls, JobQueue } from "../jobs/queue.ts";
import { JobRecords } from "../jobs/records.ts";
import { type ReadLetter, replayDeadLetters } from "../jobs/replay.ts";
import { sourceOf } from "../sync/descriptor.ts";
import { integrationOfJob, jobSpecOf } from "../sync/registry.ts";
import type { OpsDeps } from "./deps.ts";
import type { DeadLetterView } from "./types.ts";
import { objectView } from "./urls.ts";

/**
 * Sends one dead letter (by job id, from whichever dead-letter queue holds it) back to its jobs queue as a fresh job, its status record reset
 * to pending; NotFound when the dead-letter queue holds no job with this id.
 */
export async function replayDeadLetter(deps: OpsDeps, jobId: string): Promise<{ replayed: number }> {
  const replayed = await replayDeadLetters(deps.sqs, queueOf(deps), allDeadLetterUrls(deps), {
    id: jobId,
    records: recordsOf(deps),
  });
  if (replayed.length === 0) throw new NotFoundError("no dead letter has this job id");
  return { replayed: replayed.length };
}

/**
 * Sends every readable dead letter back, one by one, reporting progress after each (the CLI's bar);
 * unreadable messages stay where they are.
 */
export async function replayAllDeadLetters(
  deps: OpsDeps,
  onProgress?: (done: number, total: number) => void,
): Promise<{ replayed: number }> {
  const replayed = await replayDeadLetters(deps.sqs, queueOf(deps), allDeadLetterUrls(deps), {
    records: recordsOf(deps),
    onProgress,
  });
  return { replayed: replayed.length };
}

/** A readable dead letter as the page lists it, with the object its job syncs when the input names one. */
export function toDeadLetterView(
  letter: Extract<ReadLetter, { kind: "letter" }>,
  config: Readonly<Config>,
): DeadLetterView {
  const { job, attempts, lastError, failedAt } = letter.letter;
  const spec = jobSpecOf(job.type);
  // The source object as the job's own input schema reads it (an input that does not match: none).
  const source = spec && sourceOf(spec, job.input, job.id, config);
  return {
    id: job.id,
    type: job.type,
    integration: integrationOfJob(job.type)?.id ?? "unknown",
    attempts,
    error: { code: lastError.code, message: lastError.message },
    failedAt,
    ...(source ? { source: objectView(source, config) } : {}),
  };
}

/** Every dead-letter queue the status page and the replays read: the shared one and each integration's. */
export const allDeadLetterUrls = (deps: OpsDeps) => deadLetterUrls(deps.deadLetterQueueUrl, deps.jobQueues);
const queueOf = (deps: OpsDeps) =>
  new JobQueue(deps.sqs, deps.jobsQueueUrl, deps.deadLetterQueueUrl, deps.jobQueues);
const recordsOf = (deps: OpsDeps) => new JobRecords(deps.db, deps.table, deps.config.jobs.recordTtlDays);
