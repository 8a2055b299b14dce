import type { Logger } from "@aws-lambda-powertools/logger";
import type * as v from "valibot";
import {
  asBridgeError,
  type BridgeError,
  InProgressError,
  isPermanent,
  UpstreamRetryableError,
} from "../core/errors.ts";
import { validate } from "../core/http.ts";
import { type BreakerHeld, type BreakersPassed, checkBreakers } from "./breakers.ts";
import { deadLetterJob, releaseOf } from "./dead-letter.ts";
import { deferralSeconds } from "./defer.ts";
import type { JobHandler, JobMessage } from "./model.ts";
import { isOutage } from "./outage.ts";
import type { JobQueue } from "./queue.ts";
import type { JobRecords } from "./records.ts";
import type { JobStats } from "./stats.ts";
import {
  capWaitSeconds,
  holdSlots,
  LEASE_MARGIN_MS,
  releaseSlots,
  type SystemCapsDeps,
} from "./system-caps.ts";

export type InlineOutcome<R> =
  | { kind: "done"; result: R }
  | { kind: "queued"; jobId: string }
  | { kind: "dead-lettered"; jobId: string; error: BridgeError };

export interface InlineDeps {
  queue: JobQueue;
  records: JobRecords;
  logger: Logger;
  /** How long the inline attempt may take before the job is queued instead. */
  budgetMs: number;
  /**
   * What a permanent failure does: `throw` it for the route to answer (a form the caller can fix), or
   * `dead-letter` the job and answer (a webhook: its sender can do nothing, an operator can replay).
   */
  onPermanent?: "throw" | "dead-letter";
  /** The operators' counters; left out (tests, tools), nothing is counted. */
  stats?: JobStats | undefined;
  /**
   * Caps on concurrent calls per external system: the inline attempt holds the job's slots like the
   * worker does, and when a system is at its cap it does not try at all: the job is queued (202).
   */
  systemCaps?: SystemCapsDeps | undefined;
}

/**
 * Runs a job inline within a time budget. On success the caller answers with the result; on a
 * retryable failure (or when the budget runs out) the job is queued for the worker and the caller
 * answers 202 with its id (an outage uses no attempt: the worker's outage clock starts); a permanent
 * failure is thrown for the route to answer as an error. When a system the job calls has its breaker
 * open, the job is queued at once, untried: the caller never waits out the budget on a down system.
 * The event counts as received here, with its outcome (succeeded, retrying, dead-lettered) in the same
 * write once it is known; a job handed to the worker after a conflict is counted received only.
 */
export async function runInline<R extends Record<string, unknown>>(
  job: JobMessage,
  handler: JobHandler<v.GenericSchema, R>,
  deps: InlineDeps,
  options: {
    maybeRan?: boolean;
    /**
     * The job's admission (its systems' breakers read and its slots taken, `admitInline`), done by the
     * caller beside a write of its own, so the attempt does not wait for another round trip; the
     * attempt gives the slots back as if it had taken them.
     */
    admitted?: Admission;
  } = {},
): Promise<InlineOutcome<R>> {
  const signal = AbortSignal.timeout(deps.budgetMs);
  const log = deps.logger.createChild({ persistentKeys: { job_id: job.id, job_type: job.type } });
  let breakers: BreakersPassed | undefined;
  /** Set once the job says its systems are done (`systemsDone`): counted succeeded, slots given back. */
  let systemsAnswered: Promise<void> | undefined;
  try {
    const input = validate(handler.input, job.input);
    const { gate, held } = options.admitted ?? (await admitInline(job, deps));
    if (gate.kind === "wait") {
      // The system is down: no attempt, no wait for the budget. The worker holds the job until a
      // probe finds the system back; the caller has its 202 and job id now.
      log.info("inline attempt skipped: its system's breaker is open, queueing the job", {
        system: gate.system,
      });
      await releaseSlots(deps.systemCaps, held.hold, log);
      const since = new Date().toISOString();
      await sendToWorker(
        { ...job, maybeRan: options.maybeRan ?? job.maybeRan, outageSince: job.outageSince ?? since },
        deps,
        log,
        0,
      );
      await deps.stats?.record("received", job);
      return { kind: "queued", jobId: job.id };
    }
    breakers = gate;
    const { hold, busy } = held;
    if (busy) {
      // No attempt was made: queued as the queue acknowledgement queues (the worker counts the event).
      log.info("inline attempt skipped: its system is at its cap, queueing the job", { system: busy });
      const waitSeconds = deps.systemCaps?.waitSeconds ?? capWaitSeconds;
      await sendToWorker({ ...job, maybeRan: options.maybeRan ?? job.maybeRan }, deps, log, waitSeconds());
      return { kind: "queued", jobId: job.id };
    }
    let result: R;
    const passed = gate;
    // The systems answered: their slots go back, their breakers hear it and the event counts as
    // succeeded, in one round trip. A job calls this (`systemsDone`) beside its last write of its own,
    // so the answer waits for one round trip less; should that write fail, the count is taken back.
    const systemsDone = () => {
      systemsAnswered ??= Promise.all([
        releaseSlots(deps.systemCaps, hold, log),
        passed.report(undefined),
        deps.stats?.record(["received", "succeeded"], job),
      ]).then(() => undefined);
      return systemsAnswered;
    };
    try {
      result = await handler.run(input, {
        jobId: job.id,
        attempt: 1,
        maybeRan: options.maybeRan ?? job.maybeRan,
        signal,
        logger: log,
        systemsDone,
      });
    } catch (error) {
      if (!systemsAnswered) await releaseSlots(deps.systemCaps, hold, log);
      throw error;
    }
    // Independent writes (none throws): the answer waits for one round trip, not several.
    await systemsDone();
    return { kind: "done", result };
  } catch (thrown) {
    const error = asBridgeError(thrown);
    if (systemsAnswered) {
      // The job failed after its systems answered (its own last write): the success counted with
      // them is taken back once written, and the failure is counted below as any other.
      await systemsAnswered;
      await deps.stats?.retract(["received", "succeeded"], job);
    }
    // A run cut short by the route's own budget says nothing of the system's health; one whose
    // systems answered has told their breakers so already.
    if (!signal.aborted && !systemsAnswered) await breakers?.report(error);
    if (isPermanent(error) && !signal.aborted) {
      if (deps.onPermanent !== "dead-letter") {
        // Answered to the caller, neither retried nor dead-lettered: counted received, kept as the last failure.
        await deps.stats?.record("received", job, error);
        throw error;
      }
      await deadLetterJob(deps, job, job.priorAttempts + 1, error, log, {
        received: true,
        release: releaseOf(handler, job, log),
      });
      return { kind: "dead-lettered", jobId: job.id, error };
    }
    log.warn("inline attempt failed, queueing the job", { code: error.code, reason: error.message });
    // Another job holding the work is no failure of this one: it waits without using an attempt.
    const conflict = error instanceof InProgressError;
    // An outage (not the route's budget running out) uses no attempt: the worker's outage clock starts now.
    const outage = isOutage(error) && !signal.aborted;
    const queued: JobMessage = conflict
      ? { ...job, maybeRan: true, deferrals: (job.deferrals ?? 0) + 1 }
      : outage
        ? { ...job, maybeRan: true, outageSince: job.outageSince ?? new Date().toISOString() }
        : { ...job, priorAttempts: job.priorAttempts + 1, maybeRan: true };
    await sendToWorker(queued, deps, log, conflict ? deferralSeconds() : 0);
    if (conflict) await deps.stats?.record("received", job);
    else await deps.stats?.record(["received", "retrying"], job, error);
    return { kind: "queued", jobId: job.id };
  }
}

/** The slots an inline attempt holds, or the system that was at its cap. */
export type HeldSlots = Awaited<ReturnType<typeof holdSlots>>;

/** What an inline attempt may do: its systems' breakers (pass, or wait) and its slots. */
export interface Admission {
  gate: BreakersPassed | BreakerHeld;
  held: HeldSlots;
}

/**
 * Reads the breakers of the systems an inline attempt of this job calls and takes their slots (leased
 * for its budget), at once: one round trip. `runInline` does it itself; a caller that has a write of
 * its own to make first does it beside that write and passes it as `admitted`, and gives the slots
 * back with `releaseAdmission` if it then does not run the job.
 */
export async function admitInline(
  job: JobMessage,
  deps: Pick<InlineDeps, "systemCaps" | "budgetMs" | "logger">,
): Promise<Admission> {
  const leaseMs = deps.budgetMs + LEASE_MARGIN_MS;
  const [gate, held] = await Promise.allSettled([
    checkBreakers(deps.systemCaps, job, leaseMs, deps.logger),
    holdSlots(deps.systemCaps, job, leaseMs),
  ]);
  if (gate.status === "rejected") {
    if (held.status === "fulfilled") await releaseSlots(deps.systemCaps, held.value.hold, deps.logger);
    throw gate.reason;
  }
  if (held.status === "rejected") throw held.reason;
  return { gate: gate.value, held: held.value };
}

export function releaseAdmission(
  admitted: Admission,
  deps: Pick<InlineDeps, "systemCaps" | "logger">,
): Promise<void> {
  return releaseSlots(deps.systemCaps, admitted.held.hold, deps.logger);
}

/**
 * Queues a job for the worker without trying it first (a webhook answered at once): its input is
 * validated here, so a payload the job cannot take is the caller's 400, not a dead letter. Nothing is
 * counted here (the answer waits for no extra write): the worker counts the event with its outcome.
 */
export async function enqueueJob(
  job: JobMessage,
  handler: JobHandler<v.GenericSchema, Record<string, unknown>>,
  deps: Pick<InlineDeps, "queue" | "records" | "logger">,
): Promise<{ kind: "queued"; jobId: string }> {
  validate(handler.input, job.input);
  await sendToWorker(job, deps, deps.logger, 0);
  return { kind: "queued", jobId: job.id };
}

/** Sends the job to the jobs queue, then records it as pending (GET …/jobs/{id}). */
async function sendToWorker(
  job: JobMessage,
  deps: Pick<InlineDeps, "queue" | "records">,
  log: Logger,
  delaySeconds: number,
): Promise<void> {
  try {
    await deps.queue.send(job, delaySeconds);
  } catch (sendError) {
    log.error("could not queue the job", { job_id: job.id, reason: (sendError as Error).message });
    throw new UpstreamRetryableError({ system: "sqs" }, "the jobs queue is unavailable", {
      cause: sendError,
    });
  }
  await deps.records.pending(job.id, job.type, job.priorAttempts).catch((recordError: unknown) => {
    // The job is safely queued; only its status record is missing until the worker writes one.
    log.error("could not record the queued job", { job_id: job.id, reason: (recordError as Error).message });
  });
}
