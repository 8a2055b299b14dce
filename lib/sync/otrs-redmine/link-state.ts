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
