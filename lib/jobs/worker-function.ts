import { requiredEnv, sqs } from "../core/aws.ts";
import { useEveryIntegration, useIntegrations } from "../core/config.ts";
import type { IntegrationSettings } from "../core/config-schema.ts";
import { logger } from "../core/logger.ts";
import type { JobHandler } from "./model.ts";
import { jobRuntime } from "./runtime.ts";
import { capsFromHandlers } from "./system-caps.ts";
import { createWorker } from "./worker.ts";

/**
 * The handler of one integration's worker function (functions/<id>/worker.ts): it consumes that
 * integration's own queue (JOB_QUEUES) and runs only its jobs, so its bundle holds that integration
 * alone, and its event source's `maximumConcurrency` bounds it alone. It validates at cold start only
 * the settings it uses (jobs, http, its integration and that integration's systems).
 */
export function integrationWorker(
  integration: IntegrationSettings & { id: string },
  handlers: readonly JobHandler[],
) {
  useIntegrations(integration);
  const runtime = jobRuntime();
  const pair = runtime.jobQueues[integration.id];
  if (!pair) throw new Error(`JOB_QUEUES names no queue for the integration ${integration.id}`);
  return createWorker({
    handlers,
    queue: runtime.queue,
    records: runtime.records,
    sqs: sqs(),
    jobsQueueUrl: pair.jobs,
    logger,
    jobs: runtime.config.jobs,
    stats: runtime.stats,
    systemCaps: { slots: runtime.slots, capFor: capsFromHandlers(handlers) },
  });
}

/**
 * The drain of the shared jobs queue (functions/worker.ts), kept for the release that gives each
 * integration its own queue: it runs every integration's jobs from JOBS_QUEUE_URL, where a stack
 * deployed before held them; what it puts back on a queue (a deferral, a wait for a system's slot)
 * goes to the job's own integration queue, so the old queue only empties.
 */
export function drainWorker(integrations: readonly IntegrationSettings[], handlers: readonly JobHandler[]) {
  useEveryIntegration(integrations);
  const runtime = jobRuntime();
  return createWorker({
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
}
