import type { Logger } from "@aws-lambda-powertools/logger";
import * as v from "valibot";

/**
 * A sync job as it travels on the jobs queue. It names what to make true ("create the GLPI ticket for
 * form submission X") and carries references, not snapshots: the handler re-reads what it needs, so
 * the job can run twice, late or out of order and still converge. (A form submission has no source
 * system to re-read: its validated fields are the source, and they travel in `input`.)
 */
export const JobMessageSchema = v.object({
  v: v.literal(1),
  id: v.pipe(v.string(), v.minLength(1), v.maxLength(128)),
  type: v.pipe(v.string(), v.regex(/^[a-z0-9-]+\.[a-z0-9-]+$/)),
  input: v.unknown(),
  /** Attempts made before this message was sent (the inline attempt, or none for a replay). */
  priorAttempts: v.pipe(v.number(), v.integer(), v.minValue(0)),
  /** True when an earlier attempt may have written part of the result (so search before create). */
  maybeRan: v.boolean(),
  enqueuedAt: v.string(),
  origin: v.picklist(["route", "poller", "replay", "reconciler"]),
  /**
   * How often the job was put back because another job held the work it needs (an InProgressError):
   * those waits are not attempts, but they are bounded (see MAX_DEFERRALS in the worker).
   */
  deferrals: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))),
  /**
   * When the job first met its system out (no answer, 429, 5xx) or waiting behind its open breaker:
   * from then on it is retried for `jobs.outageHorizonHours` without using attempts (lib/jobs/outage.ts).
   */
  outageSince: v.optional(v.pipe(v.string(), v.isoTimestamp())),
  /** Outage retries made since `outageSince`: the exponent of their backoff. */
  outages: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))),
  /** The opening (epoch ms) of the breaker the job counted itself waiting behind: it counts once per opening. */
  heldBy: v.optional(v.number()),
});
export type JobMessage = v.InferOutput<typeof JobMessageSchema>;

/** What the dead-letter queue keeps: the job, how often it was tried, and why it failed last. */
export const DeadLetterSchema = v.object({
  deadLetter: v.literal(1),
  job: JobMessageSchema,
  attempts: v.number(),
  lastError: v.object({ code: v.string(), message: v.string(), upstream: v.optional(v.unknown()) }),
  failedAt: v.string(),
});
export type DeadLetter = v.InferOutput<typeof DeadLetterSchema>;

/** What a handler gets besides its input. */
export interface JobContext {
  jobId: string;
  /** 1 for the first attempt. */
  attempt: number;
  /** True when an earlier attempt may already have created the target object. */
  maybeRan: boolean;
  /** Aborted when the attempt's time budget is spent (inline budget or Lambda deadline). */
  signal: AbortSignal;
  logger: Logger;
  /**
   * Says the job has made its last call to its systems, and they answered: its system slots
   * (lib/jobs/system-caps.ts) go back, and an inline run also tells the systems' breakers and counts
   * the event as succeeded, so that the rest of the run (the bridge's own last write) overlaps those
   * writes. Should the job still fail, an inline run takes that count back. Optional to call: the
   * runner does it all when the job ends; calling it twice does it once.
   */
  systemsDone?: () => Promise<void>;
}

/** An external system instance a job calls: `{ system: "rt", instance: "main" }` (see `systems` in config). */
export interface SystemUse {
  system: string;
  instance: string;
}

/** One kind of sync job: its input schema and the code that makes the target reflect the source. */
export interface JobHandler<
  S extends v.GenericSchema = v.GenericSchema,
  R extends Record<string, unknown> = Record<string, unknown>,
> {
  type: string;
  input: S;
  /**
   * The business key of a level-triggered job (`otrs:prod:ticket:4711`): two jobs with the same key
   * make the same thing true, so the worker runs one of them per batch and counts the others done.
   * Jobs whose every message must take effect (a form submission) leave it out.
   */
  key?(input: v.InferOutput<S>): string;
  run(input: v.InferOutput<S>, context: JobContext): Promise<R>;
  /**
   * The external system instances a run calls. Each is capped (`maxConcurrentCalls` of the instance):
   * the run holds one slot of each for its whole length, and a job whose slot is not free waits on the
   * queue (lib/jobs/system-caps.ts). A run calls one system at a time, so slots held = calls in flight.
   */
  systems?(input: v.InferOutput<S>): readonly SystemUse[];
  /**
   * Gives back what the job holds (a creation claim, a lease) once it is dead-lettered:
   * nobody works under it any more, so no other job, backfill or replay should wait out its lease.
   * Called after the dead letter is kept; a failure here is logged, never thrown.
   */
  release?(input: v.InferOutput<S>, context: { jobId: string; logger: Logger }): Promise<void>;
}

/** Declares a job handler with its types inferred from the schema. */
export function defineJob<S extends v.GenericSchema, R extends Record<string, unknown>>(
  handler: JobHandler<S, R>,
): JobHandler<S, R> {
  return handler;
}
