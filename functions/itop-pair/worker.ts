import { integrationWorker } from "../../lib/jobs/worker-function.ts";
import { itopPair } from "../../lib/sync/itop-pair/index.ts";
import { jobs } from "../../lib/sync/itop-pair/jobs.ts";

/** The itop-pair queue's consumer: runs this integration's jobs, with retries, backoff and dead letters. */
export const handler = integrationWorker(itopPair, jobs);
