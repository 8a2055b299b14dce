import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import type { Logger } from "@aws-lambda-powertools/logger";
import { ChangeMessageVisibilityCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import {
  asBridgeError,
  type BridgeError,
  isPermanent,
  UpstreamError,
  UpstreamRetryableError,
  ValidationError,
} from "../core/errors.ts";
import { validate } from "../core/http.ts";
import { backoffSeconds } from "./backoff.ts";
import { type JobHandler, type JobMessage, JobMessageSchema } from "./model.ts";
import type { JobQueue } from "./queue.ts";
import type { JobRecords } from "./records.ts";

export interface WorkerDeps {
  handlers: readonly JobHandler[];
  queue: JobQueue;
  records: JobRecords;
  sqs: SQSClient;
  jobsQueueUrl: string;
  logger: Logger;
  jobs: { maxAttempts: number; backoffBaseSeconds: number; backoffMaxSeconds: number };
}

/** Time kept back from the Lambda deadline to record the outcome of an attempt. */
const DEADLINE_MARGIN_MS = 3000;

/**
 * The jobs-queue consumer. Each record is one job, processed on its own (a failing record never
 * re-runs the good ones: partial batch response). A retryable failure stays on the queue with its
 * visibility pushed out by the backoff; past max attempts, or on a permanent failure, the job goes to
 * the dead-letter queue with its last error and attempt count, and its message is deleted.
 */
export function createWorker(
  deps: WorkerDeps,
): (event: SQSEvent, context: Context) => Promise<SQSBatchResponse> {
  const handlers = new Map(deps.handlers.map((handler) => [handler.type, handler]));
  const processor = new BatchProcessor(EventType.SQS);

  async function processRecord(record: SQSRecord, context: Context): Promise<void> {
    const job = validate(JobMessageSchema, parseJson(record.body));
    const receiveCount = Number(record.attributes.ApproximateReceiveCount ?? "1");
    const attempt = job.priorAttempts + receiveCount;
    const log = deps.logger.createChild({ persistentKeys: { job_id: job.id, job_type: job.type, attempt } });
    const handler = handlers.get(job.type);
    if (!handler) {
      await deadLetter(
        job,
        attempt,
        new ValidationError([{ path: "type", message: `no handler for job type ${job.type}` }]),
        log,
      );
      return;
    }
    const remaining =
      typeof context.getRemainingTimeInMillis === "function" ? context.getRemainingTimeInMillis() : 60_000;
    const signal = AbortSignal.timeout(Math.max(1000, remaining - DEADLINE_MARGIN_MS));
    try {
      const input = validate(handler.input, job.input);
      const result = await handler.run(input, {
        jobId: job.id,
        attempt,
        maybeRan: job.maybeRan || attempt > 1,
        signal,
        logger: log,
      });
      await deps.records.done(job.id, job.type, attempt, result);
      log.info("job done");
    } catch (thrown) {
      const error = asBridgeError(thrown);
      const summary = { code: error.code, message: error.message };
      if (isPermanent(error) || attempt >= deps.jobs.maxAttempts) {
        await deadLetter(job, attempt, error, log);
        return;
      }
      const retryAfterSeconds = error instanceof UpstreamRetryableError ? error.retryAfterSeconds : undefined;
      const delay = backoffSeconds(attempt, {
        baseSeconds: deps.jobs.backoffBaseSeconds,
        maxSeconds: deps.jobs.backoffMaxSeconds,
        retryAfterSeconds,
      });
      await deps.sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: deps.jobsQueueUrl,
          ReceiptHandle: record.receiptHandle,
          VisibilityTimeout: delay,
        }),
      );
      await deps.records.retrying(job.id, job.type, attempt, summary);
      log.warn("job failed, will retry", { code: error.code, reason: error.message, retryInSeconds: delay });
      throw error;
    }
  }

  async function deadLetter(
    job: JobMessage,
    attempts: number,
    error: BridgeError,
    log: Logger,
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
    log.error("job dead-lettered", { attempts, code: error.code, reason: error.message });
  }

  return (event, context) =>
    processPartialResponse(event, (record: SQSRecord) => processRecord(record, context), processor, {
      context,
    });
}

/** An unparsable message is left to fail: SQS's redrive policy then moves it to the dead-letter queue. */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
