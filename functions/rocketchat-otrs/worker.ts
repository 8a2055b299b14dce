import { integrationWorker } from "../../lib/jobs/worker-function.ts";
import { rocketchatOtrs } from "../../lib/sync/rocketchat-otrs/index.ts";
import { jobs } from "../../lib/sync/rocketchat-otrs/jobs.ts";

/** The rocketchat-otrs queue's consumer: runs this integration's jobs, with retries, backoff and dead letters. */
export const handler = integrationWorker(rocketchatOtrs, jobs);
