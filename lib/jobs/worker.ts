import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import type { Logger } from "@aws-lambda-powertools/logger";
import { ChangeMessageVisibilityCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import * as v from "valibot";
import type { Config } from "../core/config-schema.ts";
import {
  asBridgeError,
  type BridgeError,
  isPermanent,
  UpstreamRetryableError,
  ValidationError,
} from "../core/errors.ts";
import { validate } from "../core/http.ts";
import { backoffSeconds } from "./backoff.ts";
import {
  type BreakerHeld,
  type BreakersPassed,
  breakerWaitSeconds,
  checkBreakers,
  logSystemDown,
} from "./breakers.ts";
import { deadLetterJob, releaseOf } from "./dead-letter.ts";
import { deferIfInProgress } from "./defer.ts";
import { type JobHandler, type JobMessage, JobMessageSchema } from "./model.ts";
import {
  DEFAULT_OUTAGE_SETTINGS,
  isOutage,
  type OutageSettings,
  outageClock,
  outageStep,
  scaledDelaySeconds,
} from "./outage.ts";
import type { JobQueue } from "./queue.ts";
import type { JobRecords } from "./records.ts";
import type { JobStats } from "./stats.ts";
import {
  BatchTurns,
  capWaitSeconds,
  LEASE_MARGIN_MS,
  type SystemCapsDeps,
  waitForSlots,
} from "./system-caps.ts";

export interface WorkerDeps {
  handlers: readonly JobHandler[];
  queue: JobQueue;
  records: JobRecords;
  sqs: SQSClient;
  jobsQueueUrl: string;
  logger: Logger;
  /**
   * The jobs' clocks: the attempt budget and its backoff, and (left out: the defaults) the outage
   * horizon, its backoff and the breaker's settings (lib/jobs/outage.ts, lib/jobs/breakers.ts).
   */
  jobs: { maxAttempts: number; backoffBaseSeconds: number; backoffMaxSeconds: number } & Partial<
    OutageSettings & Pick<Config["jobs"], "breaker">
  >;
  /** The operators' counters (succeeded, retrying, dead-lettered); left out, nothing is counted. */
  stats?: JobStats | undefined;
  /** Caps on concurrent calls per external system, across functions; left out, jobs run uncapped. */
  systemCaps?: SystemCapsDeps | undefined;
}

/** Time kept back from the Lambda deadline to record the outcome of an attempt. */
const DEADLINE_MARGIN_MS = 3000;

/**
 * The jobs-queue consumer. Each record is one job, processed on its own (a failing record never
 * re-runs the good ones: partial batch response). Two clocks (lib/jobs/outage.ts): an outage of the
 * system (no answer, 429, 5xx) uses no attempt, and the job comes back as a new delayed message until
 * `outageHorizonHours` since its first outage; any other retryable failure stays on the queue with its
 * visibility pushed out by the backoff; past max attempts, or on a refusal, the job goes to the
 * dead-letter queue with its last error and attempt count, and its message is deleted.
 * With breakers (`systemCaps.breakers`, lib/jobs/breakers.ts), a job whose system's breaker is open
 * waits on the queue without running (one probe at a time excepted), before it takes any slot.
 * Two refinements keep concurrent deliveries of one event from wasting attempts: records of a batch
 * with the same business key (`JobHandler.key`) run once, and a job that finds another job holding
 * its work (InProgressError) is deferred without counting an attempt (`deferIfInProgress`).
 * With `systemCaps`, a job holds one slot of each external system it calls while it runs. The jobs of
 * a batch take turns at each system (no more of them try it than its cap at once), and a job whose
 * system other functions hold waits in place a little (`waitForSlots`); one that still finds it at its
 * cap goes back on the queue for a few seconds, neither an attempt nor a deferral.
 */
export function createWorker(
  deps: WorkerDeps,
): (event: SQSEvent, context: Context) => Promise<SQSBatchResponse> {
  const handlers = new Map(deps.handlers.map((handler) => [handler.type, handler]));
  const clock: OutageSettings & Pick<Config["jobs"], "breaker"> = {
    ...DEFAULT_OUTAGE_SETTINGS,
    breaker: { failureThreshold: 10, probeIntervalSeconds: 60, waitSeconds: 180, trustHealthySeconds: 1 },
    ...deps.jobs,
  };
  const processor = new BatchProcessor(EventType.SQS);

  async function processRecord(
    record: SQSRecord,
    context: Context,
    turns: BatchTurns,
    coveredBy?: string,
  ): Promise<void> {
    const job = validate(JobMessageSchema, parseJson(record.body));
    const receiveCount = Number(record.attributes.ApproximateReceiveCount ?? "1");
    const attempt = job.priorAttempts + receiveCount;
    const log = deps.logger.createChild({ persistentKeys: { job_id: job.id, job_type: job.type, attempt } });
    // A webhook answered at once, or a poll, reaches the worker uncounted: its first delivery counts
    // the event received, in the same write as the outcome.
    const received = firstDelivery(job, receiveCount);
    const counted = (outcome: "succeeded" | "retrying") =>
      received ? (["received", outcome] as const) : outcome;
    const handler = handlers.get(job.type);
    if (!handler) {
      await deadLetter(
        job,
        attempt,
        new ValidationError([{ path: "type", message: `no handler for job type ${job.type}` }]),
        log,
        received,
      );
      return;
    }
    if (coveredBy) {
      // Another record of this batch makes the same thing true, reading the source after both arrived.
      if (coveredBy === job.id) return;
      await deps.records.done(job.id, job.type, attempt, { coalesced_into: coveredBy });
      await deps.stats?.record(counted("succeeded"), job);
      log.info("job coalesced", { into: coveredBy });
      return;
    }
    const fallback = Date.now() + 60_000;
    const remaining = () =>
      typeof context.getRemainingTimeInMillis === "function"
        ? context.getRemainingTimeInMillis()
        : fallback - Date.now();
    let breakers: BreakersPassed | undefined;
    try {
      const input = validate(handler.input, job.input);
      const gate = await checkBreakers(deps.systemCaps, job, remaining() + LEASE_MARGIN_MS, log);
      if (gate.kind === "wait") {
        await waitForRecovery(job, attempt, gate, log, received, releaseOf(handler, job, log));
        return;
      }
      breakers = gate;
      const slots = await waitForSlots(deps.systemCaps, turns, job, {
        // The slots' lease outlives this invocation: a worker that dies holding them frees them then.
        leaseMs: () => remaining() + LEASE_MARGIN_MS,
        // A job waits in place at most half the time left, so that it still has time to run.
        until: Date.now() + (remaining() - DEADLINE_MARGIN_MS) / 2,
        log,
      });
      if (slots.kind === "busy") {
        await waitForSlot(job, attempt, slots.system, log);
        return;
      }
      let result: Record<string, unknown>;
      try {
        result = await handler.run(input, {
          jobId: job.id,
          attempt,
          maybeRan: job.maybeRan || attempt > 1,
          signal: AbortSignal.timeout(Math.max(1000, remaining() - DEADLINE_MARGIN_MS)),
          logger: log,
          systemsDone: slots.release,
        });
      } finally {
        await slots.release();
      }
      await breakers.report(undefined);
      await deps.records.done(job.id, job.type, attempt, result);
      await deps.stats?.record(counted("succeeded"), job);
      log.info("job done");
    } catch (thrown) {
      const error = asBridgeError(thrown);
      const summary = { code: error.code, message: error.message };
      await breakers?.report(error);
      if (await deferIfInProgress(deps.queue, job, error, attempt - 1)) {
        await deps.records.retrying(job.id, job.type, attempt - 1, summary);
        log.info("job deferred: another job holds its work", { reason: error.message });
        return;
      }
      if (isOutage(error)) {
        // The second clock: an outage uses no attempt; the job comes back as a new message until the
        // horizon since its first outage has passed.
        const step = outageStep(job, error, attempt - 1, clock);
        if (step.kind === "expired") {
          await deadLetter(job, attempt, error, log, received, releaseOf(handler, job, log));
          return;
        }
        await deps.queue.send(step.job, step.delaySeconds);
        await deps.records.retrying(job.id, job.type, attempt - 1, summary);
        await deps.stats?.record(counted("retrying"), job, summary);
        log.warn("job met an outage, will retry", {
          code: error.code,
          reason: error.message,
          retryInSeconds: step.delaySeconds,
          outageSince: step.job.outageSince,
        });
        return;
      }
      if (isPermanent(error) || attempt >= deps.jobs.maxAttempts) {
        await deadLetter(job, attempt, error, log, received, releaseOf(handler, job, log));
        return;
      }
      const retryAfterSeconds = error instanceof UpstreamRetryableError ? error.retryAfterSeconds : undefined;
      const delay = scaledDelaySeconds(
        backoffSeconds(attempt, {
          baseSeconds: deps.jobs.backoffBaseSeconds,
          maxSeconds: deps.jobs.backoffMaxSeconds,
          retryAfterSeconds,
        }),
        clock.timeScale,
      );
      await deps.sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: deps.jobsQueueUrl,
          ReceiptHandle: record.receiptHandle,
          VisibilityTimeout: delay,
        }),
      );
      await deps.records.retrying(job.id, job.type, attempt, summary);
      await deps.stats?.record(counted("retrying"), job, summary);
      log.warn("job failed, will retry", { code: error.code, reason: error.message, retryInSeconds: delay });
      throw error;
    }
  }

  /**
   * Puts back a job whose system is at its cap: a new message, delayed a few seconds, with the attempts
   * made before this one, so the wait counts as no attempt (a visibility change would: SQS counts every
   * receive, and its redrive policy dead-letters on that count). Unbounded, unlike deferrals: every
   * slot frees within a lease, so the job runs in the end. Nothing is recorded or counted: this
   * delivery did nothing, and the one that runs counts the event.
   */
  async function waitForSlot(job: JobMessage, attempt: number, system: string, log: Logger): Promise<void> {
    const delay = (deps.systemCaps?.waitSeconds ?? capWaitSeconds)();
    await deps.queue.send({ ...job, priorAttempts: attempt - 1 }, delay);
    log.info("job waits: its system is at its cap", { system, retryInSeconds: delay });
  }

  /**
   * Puts back a job whose system's breaker is open: like a wait for a slot (a new delayed message, no
   * attempt used), for `breaker.waitSeconds`, jittered. The job keeps the time it first met the outage
   * (`outageSince`), and past the outage horizon it is dead-lettered: an outage that long needs an
   * operator. Its first wait behind an opening counts it in the breaker's jobs waiting.
   */
  async function waitForRecovery(
    job: JobMessage,
    attempt: number,
    held: BreakerHeld,
    log: Logger,
    received: boolean,
    release: (() => Promise<void>) | undefined,
  ): Promise<void> {
    const { since: outageSince, elapsedMs, horizonMs, expired } = outageClock(job, clock);
    if (expired) {
      const error = new UpstreamRetryableError(
        { system: held.system },
        `${held.system} has been down since ${new Date(held.openedAt).toISOString()}, past the outage horizon of ${clock.outageHorizonHours} h`,
      );
      await deadLetter(job, Math.max(1, attempt - 1), error, log, received, release);
      return;
    }
    if (job.heldBy !== held.openedAt) await deps.systemCaps?.breakers?.held(held.system, held.openedAt);
    const delay = breakerWaitSeconds(clock, elapsedMs / horizonMs);
    await deps.queue.send({ ...job, priorAttempts: attempt - 1, outageSince, heldBy: held.openedAt }, delay);
    // The event is counted once, at its first delivery; the run that syncs it counts no second receipt.
    if (received) await deps.stats?.record("received", job);
    logSystemDown(log, held.system, 1, "job waits: its system's breaker is open", { retryInSeconds: delay });
  }

  /**
   * Which records of a batch another record covers: level-triggered jobs with the same business key
   * (ten webhooks for one ticket) run once, the first of them; the others are counted done.
   */
  function coalesce(records: readonly SQSRecord[]): Map<string, string> {
    const first = new Map<string, string>();
    const covered = new Map<string, string>();
    for (const record of records) {
      const key = businessKey(record);
      if (key === undefined) continue;
      const primary = first.get(key);
      if (primary) covered.set(record.messageId, primary);
      else first.set(key, jobIdOf(record));
    }
    return covered;
  }

  function businessKey(record: SQSRecord): string | undefined {
    const job = v.safeParse(JobMessageSchema, parseJson(record.body));
    if (!job.success) return undefined;
    const handler = handlers.get(job.output.type);
    if (!handler?.key) return undefined;
    const input = v.safeParse(handler.input, job.output.input);
    return input.success ? `${job.output.type}|${handler.key(input.output)}` : undefined;
  }

  const deadLetter = (
    job: JobMessage,
    attempts: number,
    error: BridgeError,
    log: Logger,
    received: boolean,
    release?: () => Promise<void>,
  ) => deadLetterJob(deps, job, attempts, error, log, { received, release });

  return (event, context) => {
    const covered = coalesce(event.Records);
    const turns = new BatchTurns();
    return processPartialResponse(
      event,
      (record: SQSRecord) => processRecord(record, context, turns, covered.get(record.messageId)),
      processor,
      { context },
    );
  };
}

/**
 * Whether this is the first time any worker sees the event behind the job: queued by a route that did
 * not try it (an inline attempt counts its own event) or by a poller, and delivered for the first time.
 * Replays, reconciliations, deferrals and redeliveries were counted before.
 */
function firstDelivery(job: JobMessage, receiveCount: number): boolean {
  return (
    (job.origin === "route" || job.origin === "poller") &&
    job.priorAttempts === 0 &&
    !job.deferrals &&
    job.outageSince === undefined &&
    receiveCount === 1
  );
}

function jobIdOf(record: SQSRecord): string {
  const job = v.safeParse(JobMessageSchema, parseJson(record.body));
  return job.success ? job.output.id : record.messageId;
}

/** An unparsable message is left to fail: SQS's redrive policy then moves it to the dead-letter queue. */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
