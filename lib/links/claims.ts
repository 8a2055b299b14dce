import { InProgressError } from "../core/errors.ts";
import type { Ref } from "./refs.ts";
import type { Link, LinkStore } from "./store.ts";

/**
 * How long a claim (an issue being created, a state being applied) keeps other jobs away. After that
 * the holder is presumed dead and the next attempt takes over; search before create keeps that safe.
 * A claim names the job that holds it: a later attempt of the same job (a retry after Redmine was
 * down) takes its own claim back at once.
 */
export const CLAIM_LEASE_MS = 60_000;
/** The id of a link target that is still being created. */
export const PENDING = "pending";

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

/**
 * Takes a link's sync lease for one job, so that one reconciliation runs per link at a time: a second
 * job retries later (and, level-triggered, then finds the work done). A lease older than
 * CLAIM_LEASE_MS, or held by an earlier attempt of the same job, is taken over.
 */
export async function takeLease(links: LinkStore, link: Link, jobId: string): Promise<Link> {
  const lease = link.aspects.lease;
  const holder = lease?.ids?.[0];
  const takenAt = Date.parse(lease?.syncedAt ?? "");
  if (
    holder &&
    holder !== `job:${jobId}` &&
    Number.isFinite(takenAt) &&
    Date.now() - takenAt < CLAIM_LEASE_MS
  ) {
    throw new InProgressError("another job is synchronising this link");
  }
  const outcome = await links.updateAspect(link, "lease", {
    syncedAt: new Date().toISOString(),
    ids: [`job:${jobId}`],
  });
  if (outcome.outcome === "stale") throw new InProgressError("another job took this link meanwhile");
  return outcome.link;
}

/** Gives a lease back; if it was taken over meanwhile, the new holder keeps it. */
export async function releaseLease(links: LinkStore, link: Link): Promise<void> {
  await links.updateAspect(link, "lease", { syncedAt: new Date().toISOString(), ids: [] });
}

/**
 * Gives back a creation claim that `jobId` holds on `link` (a dead-lettered job's): the placeholder stays,
 * but its claim is dated at the epoch, so the next attempt, of any job, takes it over at once.
 */
export async function releaseCreationClaim(links: LinkStore, link: Link, jobId: string): Promise<void> {
  if (link.target.id !== PENDING || !link.aspects.claim?.ids?.includes(`job:${jobId}`)) return;
  await links.updateAspect(link, "claim", { syncedAt: new Date(0).toISOString(), ids: [] });
}
