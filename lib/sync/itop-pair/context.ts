import type { JobContext } from "../../jobs/model.ts";
import type { ItopTicket } from "../../systems/itop/schemas.ts";
import type { ItopPairDeps, Side } from "./deps.ts";
import type { LinkMemory } from "./memory.ts";

/** One reconciliation of a shared ticket: both sides as just read, and the link's memory. */
export interface PairSync {
  deps: ItopPairDeps;
  memory: LinkMemory;
  tickets: Record<Side, ItopTicket>;
  job: JobContext;
  /** What was written, for the job's result and the log. */
  changes: string[];
  /**
   * What could not be copied and why (an image iTop will not let the bridge read, a value iTop did not
   * keep), by aspect: the rest of the pair is synced all the same; these are logged, returned in the
   * job's result and kept on the link, where the link lookup shows them to operators.
   */
  problems?: { aspect: string; note: string }[];
  /** A side whose ticket this job has just created: it has no attachments yet, none to list. */
  created?: Side | undefined;
}

/** Records something that could not be synced (see PairSync.problems). */
export function notSynced(sync: PairSync, aspect: string, note: string): void {
  sync.problems ??= [];
  sync.problems.push({ aspect, note });
}

/** An external key or text that holds no value (iTop reads an empty external key as "0"). */
export function isEmpty(value: unknown): boolean {
  return value === undefined || value === null || value === "" || value === "0" || value === 0;
}
