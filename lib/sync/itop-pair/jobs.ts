import type { JobHandler } from "../../jobs/model.ts";
import { itopPair as integration } from "./index.ts";
import { itopSyncJob } from "./sync-job.ts";

/**
 * The code of every job itop-pair's descriptor declares (index.ts), in its order: what its worker runs.
 * Heavy (clients, adapters): only a worker or a route that runs these jobs imports this module.
 */
export const jobs: readonly JobHandler[] = [itopSyncJob];

export { integration };
