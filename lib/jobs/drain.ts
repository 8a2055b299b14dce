import type { Logger } from "@aws-lambda-powertools/logger";
import { SendMessageBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import * as v from "valibot";
import { type DeadLetter, type JobMessage, JobMessageSchema } from "./model.ts";
import type { JobQueue } from "./queue.ts";

export interface DrainDeps {
  sqs: SQSClient;
  /**
   * The shared pair and each integration's (JOB_QUEUES): a job goes to its integration's own queue, and
   * one whose integration has none is dead-lettered to the shared dead-letter queue, with its reason.
   */
  queue: JobQueue;
  logger: Logger;
}

/** The error a job no integration takes is dead-lettered with (a worker's "no handler" is the same). */
const NO_INTEGRATION = "validation_failed";

/**
 * The drain of the shared jobs queue that stacks deployed before per-integration queues used: it runs
 * no job, it moves each one to its integration's own queue, where that integration's worker runs it
 * under its own `maximumConcurrency`, as if it had been queued there. So the drain needs no adapter, no
 * config and no table, and an old job cannot jump the caps a new one obeys.
 *
 * - The receives the job had on the old queue count as attempts (`priorAttempts`), so moving it
 *   gives it no extra tries and its first delivery there is counted received only if it was here too.
 * - A message that is no job message is left to fail: the old queue's redrive policy moves it to its
 *   dead-letter queue, as a worker would have. A job whose integration has no queue (none in JOB_QUEUES)
 *   goes to that dead-letter queue at once, with its reason, where `npx deskbridge dlq` shows it.
 * - A send that fails leaves its record to SQS (a batch item failure): it comes back and moves later.
 *   A move whose answer was lost can deliver a job twice, as SQS itself can: jobs are idempotent.
 */
export function createDrain(deps: DrainDeps): (event: SQSEvent) => Promise<SQSBatchResponse> {
  return async (event) => {
    const failures: SQSBatchResponse["batchItemFailures"] = [];
    const moves = new Map<string, Array<{ record: SQSRecord; job: JobMessage }>>();
    for (const record of event.Records) {
      const job = readJob(record);
      if (!job) {
        deps.logger.error("not a job message: left to the queue's redrive policy", {
          message_id: record.messageId,
        });
        failures.push({ itemIdentifier: record.messageId });
        continue;
      }
      const target = deps.queue.ownQueueOf(job.type);
      if (!target) {
        await keepAsDeadLetter(deps, job).catch((error: unknown) => {
          deps.logger.warn("could not dead-letter a job no integration takes; it stays on the old queue", {
            job_id: job.id,
            reason: (error as Error).message,
          });
          failures.push({ itemIdentifier: record.messageId });
        });
        continue;
      }
      const batch = moves.get(target) ?? [];
      batch.push({ record, job });
      moves.set(target, batch);
    }
    await Promise.all(
      [...moves].map(async ([queueUrl, entries]) => {
        for (const failed of await moveBatch(deps, queueUrl, entries)) {
          failures.push({ itemIdentifier: failed });
        }
      }),
    );
    return { batchItemFailures: failures };
  };
}

/** The job a record carries, its receives here counted as attempts; undefined when it is none. */
function readJob(record: SQSRecord): JobMessage | undefined {
  let body: unknown;
  try {
    body = JSON.parse(record.body);
  } catch {
    return undefined;
  }
  const parsed = v.safeParse(JobMessageSchema, body);
  if (!parsed.success) return undefined;
  const receives = Math.max(1, Number(record.attributes.ApproximateReceiveCount) || 1);
  return { ...parsed.output, priorAttempts: parsed.output.priorAttempts + receives - 1 };
}

/** Sends up to ten jobs to one queue in one call; returns the message ids of those not sent. */
async function moveBatch(
  deps: DrainDeps,
  queueUrl: string,
  entries: ReadonlyArray<{ record: SQSRecord; job: JobMessage }>,
): Promise<string[]> {
  const notSent: string[] = [];
  for (let start = 0; start < entries.length; start += 10) {
    const chunk = entries.slice(start, start + 10);
    try {
      const out = await deps.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: chunk.map(({ job }, i) => ({
            Id: String(i),
            MessageBody: JSON.stringify(job),
            MessageAttributes: { jobType: { DataType: "String", StringValue: job.type } },
          })),
        }),
      );
      const failed = new Set((out.Failed ?? []).map((entry) => entry.Id));
      chunk.forEach(({ record, job }, i) => {
        if (failed.has(String(i))) notSent.push(record.messageId);
        else deps.logger.info("job moved to its integration's queue", { job_id: job.id, job_type: job.type });
      });
    } catch (error) {
      deps.logger.warn("could not move jobs to their integration's queue; they stay on the old one", {
        reason: (error as Error).message,
        jobs: chunk.length,
      });
      notSent.push(...chunk.map(({ record }) => record.messageId));
    }
  }
  return notSent;
}

async function keepAsDeadLetter(deps: DrainDeps, job: JobMessage): Promise<void> {
  const message = `no integration has a queue for job type ${job.type}`;
  const letter: DeadLetter = {
    deadLetter: 1,
    job,
    attempts: job.priorAttempts,
    lastError: { code: NO_INTEGRATION, message },
    failedAt: new Date().toISOString(),
  };
  // Its integration has no queue, so the shared pair's dead-letter queue takes it.
  await deps.queue.sendDeadLetter(letter);
  deps.logger.error("job dead-lettered: no integration takes it", { job_id: job.id, reason: message });
}
