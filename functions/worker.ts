import { requiredEnv, sqs } from "../lib/core/aws.ts";
import { useIntegrations } from "../lib/core/config.ts";
import { logger } from "../lib/core/logger.ts";
import { jobRuntime } from "../lib/jobs/runtime.ts";
import { capsFromHandlers } from "../lib/jobs/system-caps.ts";
import { createWorker } from "../lib/jobs/worker.ts";
import * as glpiForms from "../lib/sync/glpi-forms/jobs.ts";
import * as itopPair from "../lib/sync/itop-pair/jobs.ts";
import * as otrsRedmine from "../lib/sync/otrs-redmine/jobs.ts";
import * as rocketchatOtrs from "../lib/sync/rocketchat-otrs/jobs.ts";
import * as rtKanban from "../lib/sync/rt-kanban/jobs.ts";

// The worker runs every integration's jobs, but checks at cold start only the settings it uses itself
// (jobs, http): each integration's part of the config is validated when its first job reads it, so a
// mistake in one integration fails that integration's jobs (with the path and the problem), not all.
useIntegrations();
const runtime = jobRuntime();

const handlers = [otrsRedmine, itopPair, rtKanban, rocketchatOtrs, glpiForms].flatMap(
  (module) => module.jobs,
);

/** The jobs-queue consumer: runs every integration's jobs, with retries, backoff and dead letters. */
export const handler = createWorker({
  handlers,
  queue: runtime.queue,
  records: runtime.records,
  sqs: sqs(),
  jobsQueueUrl: requiredEnv("JOBS_QUEUE_URL"),
  logger,
  jobs: runtime.config.jobs,
  stats: runtime.stats,
  systemCaps: { slots: runtime.slots, capFor: capsFromHandlers(handlers) },
});
