import * as v from "valibot";
import { InProgressError } from "../../core/errors.ts";
import { CLAIM_LEASE_MS } from "../../links/claims.ts";
import type { Ref } from "../../links/refs.ts";
import type { Link, LinkStore } from "../../links/store.ts";

export { CLAIM_LEASE_MS, PENDING } from "../../links/claims.ts";

export const ticketRef = (instance: string, ticketId: string): Ref => ({
  system: "otrs",
  instance,
  type: "ticket",
  id: ticketId,
});
export const issueRef = (instance: string, issueId: number | string): Ref => ({
  system: "redmine",
  instance,
  type: "issue",
  id: String(issueId),
});

const Pair = { otrs: v.string(), redmine: v.nullable(v.number()) };
/** The pair last synced; while a job applies a change, the pair being applied and the one before it (`was`). */
const PairSchema = v.object({ ...Pair, was: v.optional(v.nullable(v.object(Pair))) });

/**
 * The state pair last known to be in sync (link aspect `status`): OTRS state and Redmine status id.
 * While the bridge writes one side, `applying` is set: an event that arrives meanwhile (the echo of
 * that very write, or a redelivery) waits instead of acting on a half-applied change.
 */
export interface StatusMemory {
  otrs: string;
  redmine: number | null;
  /** While applying: the pair before the change (null when there was none), to go back to if it fails for good. */
  was?: { otrs: string; redmine: number | null } | null | undefined;
  applying: boolean;
  /** The job applying the change, while `applying`. */
  holder: string | undefined;
  at: number;
}

export function readStatus(link: Link): StatusMemory | undefined {
  const aspect = link.aspects.status;
  if (!aspect?.hash) return undefined;
  const pair = v.safeParse(PairSchema, JSON.parse(aspect.hash));
  if (!pair.success) return undefined;
  return {
    ...pair.output,
    applying: aspect.ids?.includes("applying") ?? false,
    holder: aspect.ids?.find((id) => id.startsWith("job:"))?.slice(4),
    at: Date.parse(aspect.syncedAt),
  };
}

/**
 * The `status` aspect for a pair; with `applyingJob`, marked as being applied by that job, remembering
 * the pair it replaces (`was`).
 */
export function statusAspect(
  pair: { otrs: string; redmine: number | null },
  applyingJob?: string,
  was?: { otrs: string; redmine: number | null } | null,
) {
  return {
    hash: JSON.stringify({
      otrs: pair.otrs,
      redmine: pair.redmine,
      ...(applyingJob ? { was: was ?? null } : {}),
    }),
    ids: applyingJob ? ["applying", `job:${applyingJob}`] : [],
    syncedAt: new Date().toISOString(),
  };
}

/** Throws InProgressError while another job is applying a change to this link. */
export function waitForApplying(memory: StatusMemory | undefined, jobId: string): void {
  if (memory?.applying && memory.holder !== jobId && Date.now() - memory.at < CLAIM_LEASE_MS) {
    throw new InProgressError("another attempt is applying a change to this ticket");
  }
}

/**
 * Records a state pair (or, with `applyingJob`, claims it for that job); a concurrent writer makes this
 * attempt retry.
 */
export async function recordStatus(
  links: LinkStore,
  link: Link,
  pair: { otrs: string; redmine: number | null },
  applyingJob?: string,
): Promise<Link> {
  const current = readStatus(link);
  const was = current
    ? current.applying
      ? (current.was ?? null)
      : { otrs: current.otrs, redmine: current.redmine }
    : null;
  const outcome = await links.updateAspect(link, "status", statusAspect(pair, applyingJob, was));
  if (outcome.outcome === "stale") throw new InProgressError("the link changed while this attempt ran");
  return outcome.link;
}

/**
 * Gives back the "applying" mark `jobId` holds (a dead-lettered job's): the pair goes back to what it
 * was before the change that failed, so the next event, poll or backfill tries that change again at
 * once instead of waiting out the lease, and no one takes the failed change for synced.
 */
export async function releaseStatus(links: LinkStore, link: Link, jobId: string): Promise<void> {
  const memory = readStatus(link);
  if (!memory?.applying || memory.holder !== jobId) return;
  const aspect = memory.was ? statusAspect(memory.was) : { ids: [], syncedAt: new Date().toISOString() };
  await links.updateAspect(link, "status", aspect);
}
