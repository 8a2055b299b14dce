import type { JobHandler } from "../../jobs/model.ts";
import { otrsRedmine as integration } from "./index.ts";
import { issueJob } from "./issue-job.ts";
import { ticketJob } from "./ticket-job.ts";

/**
 * The code of every job otrs-redmine's descriptor declares (index.ts), in its order: what its worker runs.
 * Heavy (clients, adapters): only a worker or a route that runs these jobs imports this module.
 */
export const jobs: readonly JobHandler[] = [ticketJob, issueJob];

export { integration };
