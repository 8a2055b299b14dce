import * as v from "valibot";
import { InProgressError } from "../../core/errors.ts";
import type { Ref } from "../../links/refs.ts";
import type { Link, LinkStore } from "../../links/store.ts";

/**
 * How long a claim (an issue being created, a state being applied) keeps other jobs away. After that
 * the holder is presumed dead and the next attempt takes over; search before create keeps that safe.
 * A claim names the job that holds it: a later attempt of the same job (a retry after Redmine was
 * down) takes its own claim back at once.
 */
export const CLAIM_LEASE_MS = 60_000;
/** The id of a link target that is still being created. */
export const PENDING = "pending";

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

const PairSchema = v.object({ otrs: v.string(), redmine: v.nullable(v.number()) });

/**
 * The state pair last known to be in sync (link aspect `status`): OTRS state and Redmine status id.
 * While the bridge writes one side, `applying` is set: an event that arrives meanwhile (the echo of
 * that very write, or a redelivery) waits instead of acting on a half-applied change.
 */
export interface StatusMemory {
  otrs: string;
  redmine: number | null;
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

/** The `status` aspect for a pair; with `applyingJob`, marked as being applied by that job. */
export function statusAspect(pair: { otrs: string; redmine: number | null }, applyingJob?: string) {
  return {
    hash: JSON.stringify({ otrs: pair.otrs, redmine: pair.redmine }),
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
  const outcome = await links.updateAspect(link, "status", statusAspect(pair, applyingJob));
  if (outcome.outcome === "stale") throw new InProgressError("the link changed while this attempt ran");
  return outcome.link;
}

export type CreationClaim = { kind: "claimed"; link: Link } | { kind: "linked"; link: Link };

/**
 * Claims the right to create the target of `source`: a link to a PENDING placeholder is written with a
 * condition, so of ten concurrent attempts one creates and the others retry later (and then find the
 * link done). A claim older than the lease, or held by an earlier attempt of the same job, is taken over.
 */
export async function claimCreation(
  links: LinkStore,
  source: Ref,
  pendingTarget: Ref,
  jobId: string,
): Promise<CreationClaim> {
  const now = new Date().toISOString();
  const claim = { syncedAt: now, ids: [`job:${jobId}`] };
  const outcome = await links.create(source, pendingTarget, { claim });
  if (outcome.outcome === "created") return { kind: "claimed", link: outcome.link };
  const existing = outcome.link;
  if (existing.target.id !== PENDING) return { kind: "linked", link: existing };
  const claimedAt = Date.parse(existing.aspects.claim?.syncedAt ?? "");
  const ours = existing.aspects.claim?.ids?.includes(`job:${jobId}`) ?? false;
  if (!ours && Number.isFinite(claimedAt) && Date.now() - claimedAt < CLAIM_LEASE_MS) {
    throw new InProgressError("another attempt is creating the linked object");
  }
  const takeover = await links.updateAspect(existing, "claim", claim);
  if (takeover.outcome === "stale") throw new InProgressError("another attempt took over the creation");
  return { kind: "claimed", link: takeover.link };
}
