import * as v from "valibot";
import { assertLeaseFree } from "../../links/claims.ts";
import type { Ref } from "../../links/refs.ts";
import type { AspectState, Link } from "../../links/store.ts";

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
/** Items written before the lease kept a change being applied in the pair itself, with the pair it replaced. */
const LegacyApplyingSchema = v.object({ was: v.optional(v.nullable(PairSchema)) });

/**
 * The state pair last known to be in sync (link aspect `status`): OTRS state and Redmine status id.
 * It is written only once both sides hold it. While a job writes one side it holds the link's lease
 * (lib/links/claims.ts), so an event that arrives meanwhile (the echo of that very write, or a
 * redelivery) waits instead of acting on a half-applied change.
 */
export type StatusPair = v.InferOutput<typeof PairSchema>;

/** The pair last in sync, if the link has one. */
export function readStatus(link: Link): StatusPair | undefined {
  const aspect = link.aspects.status;
  if (!aspect?.state) return undefined;
  const stored: unknown = JSON.parse(aspect.state);
  const pair = v.safeParse(PairSchema, stored);
  if (!pair.success) return undefined;
  if (aspect.entries?.includes("applying")) {
    // An older item caught mid-change: the pair being applied is not in sync, the one it replaced is.
    const legacy = v.safeParse(LegacyApplyingSchema, stored);
    return legacy.success ? (legacy.output.was ?? undefined) : undefined;
  }
  return { otrs: pair.output.otrs, redmine: pair.output.redmine };
}

/** The `status` aspect for a pair. */
export function statusAspect(pair: StatusPair): AspectState {
  return {
    state: JSON.stringify({ otrs: pair.otrs, redmine: pair.redmine }),
    syncedAt: new Date().toISOString(),
  };
}

/**
 * Throws InProgressError while another job holds the link's lease, or, on an item written before the
 * lease, the "applying" mark in its `status` aspect (a `job:<id>` entry and a date, read as a lease).
 */
export function waitForOtherJobs(link: Link, jobId: string): void {
  assertLeaseFree(link, jobId);
  const status = link.aspects.status;
  if (status?.entries?.includes("applying")) assertLeaseFree({ ...link, aspects: { lease: status } }, jobId);
}
