import { InProgressError } from "../core/errors.ts";
import type { JobMessage } from "./model.ts";
import type { JobQueue } from "./queue.ts";

/**
 * How often a job may be put back because another job holds the work it needs. Waits of 3–6 s, 30
 * times, outlast a claim or lease (CLAIM_LEASE_MS, 60 s) whose holder died, so the job then takes it
 * over; past that the conflict counts as an ordinary failed attempt.
 */
export const MAX_DEFERRALS = 30;

/** The delay before a deferred job runs again: jittered, so that jobs deferred together spread out. */
export function deferralSeconds(random: () => number = Math.random): number {
  return 3 + Math.round(random() * 3);
}

/**
 * Puts a job that met an InProgressError back on the queue, without counting the attempt: another
 * job is doing the same work right now, and a level-triggered job run after it finds the work done or
 * does what is left. `attemptsMade` are the real attempts before this one. False when the error is not
 * a conflict or the job has waited its fill.
 */
export async function deferIfInProgress(
  queue: JobQueue,
  job: JobMessage,
  error: unknown,
  attemptsMade: number,
): Promise<boolean> {
  const deferrals = job.deferrals ?? 0;
  if (!(error instanceof InProgressError) || deferrals >= MAX_DEFERRALS) return false;
  await queue.send(
    { ...job, priorAttempts: attemptsMade, maybeRan: true, deferrals: deferrals + 1 },
    deferralSeconds(),
  );
  return true;
}
