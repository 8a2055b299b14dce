import { requiredEnv, sqs } from "../lib/core/aws.ts";
import { useIntegrations } from "../lib/core/config.ts";
import { logger } from "../lib/core/logger.ts";
import { jobRuntime } from "../lib/jobs/runtime.ts";
import { createWorker } from "../lib/jobs/worker.ts";

// The worker runs every integration's jobs, but checks at cold start only the settings it uses itself
// (jobs, http): each integration's part of the config is validated when its first job reads it, so a
// mistake in one integration fails that integration's jobs (with the path and the problem), not all.
useIntegrations();
const runtime = jobRuntime();

/** The jobs-queue consumer: runs every kind of sync job, with retries, backoff and dead letters. */
export const handler = createWorker({
  // Each integration's jobs load with the first of them a container runs (lib/jobs/worker.ts checks
  // that each module's handler has the type it is listed under).
  handlers: [
    {
      type: "glpi-forms.create-ticket",
      load: async () => (await import("../lib/sync/glpi-forms/create-ticket-job.ts")).createTicketJob,
    },
    {
      type: "otrs-redmine.ticket",
      load: async () => (await import("../lib/sync/otrs-redmine/ticket-job.ts")).ticketJob,
    },
    {
      type: "otrs-redmine.issue",
      load: async () => (await import("../lib/sync/otrs-redmine/issue-job.ts")).issueJob,
    },
    {
      type: "itop-pair.sync",
      load: async () => (await import("../lib/sync/itop-pair/sync-job.ts")).itopSyncJob,
    },
    {
      type: "rt-kanban.ticket",
      load: async () => (await import("../lib/sync/rt-kanban/ticket-job.ts")).rtTicketJob,
    },
    {
      type: "rocketchat-otrs.livechat",
      load: async () => (await import("../lib/sync/rocketchat-otrs/livechat-job.ts")).livechatJob,
    },
    {
      type: "rocketchat-otrs.notify",
      load: async () => (await import("../lib/sync/rocketchat-otrs/notify-job.ts")).notifyJob,
    },
  ],
  queue: runtime.queue,
  records: runtime.records,
  sqs: sqs(),
  jobsQueueUrl: requiredEnv("JOBS_QUEUE_URL"),
  logger,
  jobs: runtime.config.jobs,
  stats: runtime.stats,
});
