import type { JobHandler } from "../../jobs/model.ts";
import { createTicketJob } from "./create-ticket-job.ts";
import { glpiForms as integration } from "./index.ts";
import { refreshDirectoryJob } from "./refresh-directory-job.ts";

/**
 * The code of every job glpi-forms's descriptor declares (index.ts), in its order: what its worker runs.
 * Heavy (clients, adapters): only a worker or a route that runs these jobs imports this module.
 */
export const jobs: readonly JobHandler[] = [createTicketJob, refreshDirectoryJob];

export { integration };
