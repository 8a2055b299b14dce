import { integrationWorker } from "../../lib/jobs/worker-function.ts";
import { rtKanban } from "../../lib/sync/rt-kanban/index.ts";
import { jobs } from "../../lib/sync/rt-kanban/jobs.ts";

/** The rt-kanban queue's consumer: runs this integration's jobs, with retries, backoff and dead letters. */
export const handler = integrationWorker(rtKanban, jobs);
