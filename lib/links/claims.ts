import { InProgressError } from "../core/errors.ts";
import type { Ref } from "./refs.ts";
import type { AspectState, Link, LinkStore } from "./store.ts";

/**
 * The one way a job holds part of a link against other jobs: a creation claim (aspect `claim`: the
 * target is being created) or a lease (aspect `lease`: the pair is being synchronised, and while the
 * bridge writes one side, the echo of that write must wait rather than bounce back). Both name the job
 * holding them and are taken with a write conditional on the link's version, so of two jobs one wins.
 *
 * How long a claim or lease keeps other jobs away: after that the holder is presumed dead and the next
 * attempt takes over (search before create, and level-triggered jobs, keep that safe). A later attempt
 * of the same job (a retry after the target was down) takes its own claim or lease back at once.
 */
export const CLAIM_LEASE_MS = 60_000;
/** The id of a link target that is still being created. */
export const PENDING = "pending";

export type CreationClaim = { kind: "claimed"; link: Link } | { kind: "linked"; link: Link };

/**
 * The job holding a claim or lease aspect, if any. Items written before `holder` existed name it as a
 * `job:<id>` entry (in `ids`, read as `entries`).
 */
function holderOf(aspect: AspectState | undefined): string | undefined {
  if (!aspect) return undefined;
  return aspect.holder ?? aspect.entries?.find((entry) => entry.startsWith("job:"))?.slice(4);
}

/** True while `aspect` is held by a job other than `jobId` that is not presumed dead. */
function heldByAnother(aspect: AspectState | undefined, jobId: string): boolean {
  const holder = holderOf(aspect);
  const takenAt = Date.parse(aspect?.syncedAt ?? "");
  return (
    holder !== undefined &&
    holder !== jobId &&
    Number.isFinite(takenAt) &&
    Date.now() - takenAt < CLAIM_LEASE_MS
  );
}

const held = (jobId: string): AspectState => ({ holder: jobId, syncedAt: new Date().toISOString() });

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
  const claim = held(jobId);
  const outcome = await links.create(source, pendingTarget, { claim });
  if (outcome.outcome === "created") return { kind: "claimed", link: outcome.link };
  const existing = outcome.link;
  if (existing.target.id !== PENDING) return { kind: "linked", link: existing };
  assertNotBeingCreated(existing, jobId);
  const takeover = await links.updateAspect(existing, "claim", claim);
  if (takeover.outcome === "stale") throw new InProgressError("another attempt took over the creation");
  return { kind: "claimed", link: takeover.link };
}

/**
 * Throws InProgressError while another job's creation claim on this PENDING link is fresh: a job that
 * would complete the link some other way (linking an object a person made) waits for the creator.
 */
export function assertNotBeingCreated(link: Link, jobId: string): void {
  if (link.target.id === PENDING && heldByAnother(link.aspects.claim, jobId)) {
    throw new InProgressError("another attempt is creating the linked object");
  }
}

/**
 * Gives back a creation claim that `jobId` holds on `link` (a dead-lettered job's): the placeholder stays,
 * but its claim is dated at the epoch, so the next attempt, of any job, takes it over at once.
 */
export async function releaseCreationClaim(links: LinkStore, link: Link, jobId: string): Promise<void> {
  if (link.target.id !== PENDING || holderOf(link.aspects.claim) !== jobId) return;
  await links.updateAspect(link, "claim", { syncedAt: new Date(0).toISOString() });
}

/** Throws InProgressError while another job holds a fresh lease on this link. */
export function assertLeaseFree(link: Link, jobId: string): void {
  if (heldByAnother(link.aspects.lease, jobId)) {
    throw new InProgressError("another job is synchronising this link");
  }
}

/** True when `jobId` holds the link's lease: an earlier attempt of this job stopped before giving it back. */
export const holdsLease = (link: Link, jobId: string): boolean => holderOf(link.aspects.lease) === jobId;

/**
 * Takes a link's lease for one job, so that one job synchronises or writes through a link at a time:
 * a second job (or the echo of the first one's write) retries later and, level-triggered, then finds
 * the work done. A lease older than CLAIM_LEASE_MS, or held by an earlier attempt of the same job, is
 * taken over.
 */
export async function takeLease(links: LinkStore, link: Link, jobId: string): Promise<Link> {
  assertLeaseFree(link, jobId);
  const outcome = await links.updateAspect(link, "lease", held(jobId));
  if (outcome.outcome === "stale") throw new InProgressError("another job took this link meanwhile");
  return outcome.link;
}

/**
 * Gives back the lease `jobId` holds on `link`, recording `states` (what the job synced) in the same
 * conditional write; a lease taken over meanwhile stays with its new holder. Throws InProgressError
 * when the link changed since `link` was read (the job lost its lease: its record is not written).
 */
export async function releaseLease(
  links: LinkStore,
  link: Link,
  jobId: string,
  states: Record<string, AspectState> = {},
): Promise<Link> {
  const writes: Record<string, AspectState> = { ...states };
  if (holdsLease(link, jobId)) writes.lease = { syncedAt: new Date().toISOString() };
  if (Object.keys(writes).length === 0) return link;
  const outcome = await links.updateAspects(link, writes);
  if (outcome.outcome === "stale") throw new InProgressError("the link changed while this job ran");
  return outcome.link;
}
