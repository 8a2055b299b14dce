import { requiredEnv, sqs } from "../lib/core/aws.ts";
import { useIntegrations } from "../lib/core/config.ts";
import { logger } from "../lib/core/logger.ts";
import { jobRuntime } from "../lib/jobs/runtime.ts";
import { capsFromHandlers } from "../lib/jobs/system-caps.ts";
import { createWorker } from "../lib/jobs/worker.ts";
import { createTicketJob } from "../lib/sync/glpi-forms/create-ticket-job.ts";
import { itopSyncJob } from "../lib/sync/itop-pair/sync-job.ts";
import { issueJob } from "../lib/sync/otrs-redmine/issue-job.ts";
import { ticketJob } from "../lib/sync/otrs-redmine/ticket-job.ts";
import { livechatJob } from "../lib/sync/rocketchat-otrs/livechat-job.ts";
import { notifyJob } from "../lib/sync/rocketchat-otrs/notify-job.ts";
import { rtTicketJob } from "../lib/sync/rt-kanban/ticket-job.ts";

// The worker runs every integration's jobs, but checks at cold start only the settings it uses itself
// (jobs, http): each integration's part of the config is validated when its first job reads it, so a
// mistake in one integration fails that integration's jobs (with the path and the problem), not all.
useIntegrations();
const runtime = jobRuntime();

const handlers = [createTicketJob, ticketJob, issueJob, itopSyncJob, rtTicketJob, livechatJob, notifyJob];

/** The jobs-queue consumer: runs every kind of sync job, with retries, backoff and dead letters. */
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
