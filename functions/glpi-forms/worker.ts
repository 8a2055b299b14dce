import { integrationWorker } from "../../lib/jobs/worker-function.ts";
import { glpiForms } from "../../lib/sync/glpi-forms/index.ts";
import { jobs } from "../../lib/sync/glpi-forms/jobs.ts";

/** The glpi-forms queue's consumer: runs this integration's jobs, with retries, backoff and dead letters. */
export const handler = integrationWorker(glpiForms, jobs);
