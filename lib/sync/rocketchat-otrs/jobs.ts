import type { JobHandler } from "../../jobs/model.ts";
import { rocketchatOtrs as integration } from "./index.ts";
import { livechatJob } from "./livechat-job.ts";
import { notifyJob } from "./notify-job.ts";

/**
 * The code of every job rocketchat-otrs's descriptor declares (index.ts), in its order: what its worker runs.
 * Heavy (clients, adapters): only a worker or a route that runs these jobs imports this module.
 */
export const jobs: readonly JobHandler[] = [livechatJob, notifyJob];

export { integration };
