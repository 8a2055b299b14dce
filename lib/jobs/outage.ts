import type { Config } from "../core/config-schema.ts";
import { type BridgeError, UpstreamRetryableError } from "../core/errors.ts";
import { backoffSeconds } from "./backoff.ts";
import type { JobMessage } from "./model.ts";

/**
 * The jobs' two clocks. A refusal (the system answered that the request is wrong) or a bug uses the
 * attempt budget (`jobs.maxAttempts`) and is dead-lettered within minutes. An outage (the system did
 * not answer, or answered 429 or 5xx: an UpstreamRetryableError) uses none: the job is put back on the
 * queue as a new message, with a backoff capped at `outageBackoffMaxSeconds`, until
 * `outageHorizonHours` have passed since its first outage. A new message (not a visibility change):
 * SQS counts every receive towards the redrive policy's maxReceiveCount, and a new message restarts
 * the 14-day retention.
 */
export type OutageSettings = Pick<
  Config["jobs"],
  "backoffBaseSeconds" | "backoffMaxSeconds" | "outageHorizonHours" | "outageBackoffMaxSeconds" | "timeScale"
>;

/** The settings when a caller (a test, a tool) gives only the attempt budget: the defaults. */
export const DEFAULT_OUTAGE_SETTINGS: OutageSettings = {
  backoffBaseSeconds: 2,
  backoffMaxSeconds: 900,
  outageHorizonHours: 96,
  timeScale: 1,
};

/** An SQS delay of `seconds` of the jobs' clock: divided by the time scale, at least 1 s, at most 900 s. */
export function scaledDelaySeconds(seconds: number, timeScale = 1): number {
  if (seconds <= 0) return 0;
  return Math.min(900, Math.max(1, Math.ceil(seconds / timeScale)));
}

/** `ms` of the jobs' clock in real milliseconds. */
export function scaledMs(ms: number, timeScale = 1): number {
  return ms / timeScale;
}

/** Whether an error says the system is out (no answer, 429, 502/503/504), not that the request is wrong. */
export function isOutage(error: BridgeError): error is UpstreamRetryableError {
  return error instanceof UpstreamRetryableError;
}

/** The system instance (`glpi:main`) an outage names, when it names one. */
export function outageSystem(error: BridgeError): string | undefined {
  return isOutage(error) && error.upstream.system.includes(":") ? error.upstream.system : undefined;
}

/**
 * Where a job stands on the outage clock: when it first met the outage (now, for a first one), how long
 * ago that was and the horizon, both in real milliseconds, and whether the horizon has passed.
 */
export function outageClock(
  job: Pick<JobMessage, "outageSince">,
  settings: Pick<OutageSettings, "outageHorizonHours" | "timeScale">,
  now = Date.now(),
): { since: string; elapsedMs: number; horizonMs: number; expired: boolean } {
  const since = job.outageSince ?? new Date(now).toISOString();
  const elapsedMs = now - Date.parse(since);
  const horizonMs = scaledMs(settings.outageHorizonHours * 3_600_000, settings.timeScale);
  return { since, elapsedMs, horizonMs, expired: elapsedMs >= horizonMs };
}

/** A job that met an outage: put back with this delay, or kept in the dead-letter queue past the horizon. */
export type OutageStep = { kind: "retry"; job: JobMessage; delaySeconds: number } | { kind: "expired" };

/**
 * What to do with a job whose attempt met an outage: the message to send back (its attempts unchanged:
 * `attemptsMade` are the real ones before this attempt) and its delay, or `expired` once the outage
 * outlasted the horizon since the job first met it.
 */
export function outageStep(
  job: JobMessage,
  error: UpstreamRetryableError,
  attemptsMade: number,
  settings: OutageSettings,
  now = Date.now(),
  random: () => number = Math.random,
): OutageStep {
  const { since, expired } = outageClock(job, settings, now);
  if (expired) return { kind: "expired" };
  const outages = (job.outages ?? 0) + 1;
  const maxSeconds = Math.min(900, settings.outageBackoffMaxSeconds ?? settings.backoffMaxSeconds);
  const seconds = backoffSeconds(
    outages,
    { baseSeconds: settings.backoffBaseSeconds, maxSeconds, retryAfterSeconds: error.retryAfterSeconds },
    random,
  );
  return {
    kind: "retry",
    job: { ...job, priorAttempts: attemptsMade, maybeRan: true, outageSince: since, outages },
    delaySeconds: scaledDelaySeconds(Math.min(seconds, maxSeconds), settings.timeScale),
  };
}
