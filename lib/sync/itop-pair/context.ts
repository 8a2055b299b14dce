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
  /** A side whose ticket this job has just created: it has no attachments yet, none to list. */
  created?: Side | undefined;
}

/** An external key or text that holds no value (iTop reads an empty external key as "0"). */
export function isEmpty(value: unknown): boolean {
  return value === undefined || value === null || value === "" || value === "0" || value === 0;
}
