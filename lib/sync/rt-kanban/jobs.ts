import type { JobHandler } from "../../jobs/model.ts";
import { rtKanban as integration } from "./index.ts";
import { rtTicketJob } from "./ticket-job.ts";

/**
 * The code of every job rt-kanban's descriptor declares (index.ts), in its order: what its worker runs.
 * Heavy (clients, adapters): only a worker or a route that runs these jobs imports this module.
 */
export const jobs: readonly JobHandler[] = [rtTicketJob];

export { integration };
