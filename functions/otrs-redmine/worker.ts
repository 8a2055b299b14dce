import { integrationWorker } from "../../lib/jobs/worker-function.ts";
import { otrsRedmine } from "../../lib/sync/otrs-redmine/index.ts";
import { jobs } from "../../lib/sync/otrs-redmine/jobs.ts";

/** The otrs-redmine queue's consumer: runs this integration's jobs, with retries, backoff and dead letters. */
export const handler = integrationWorker(otrsRedmine, jobs);
