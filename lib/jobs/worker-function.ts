import { requiredEnv } from "../core/aws.ts";
import { useEveryIntegration, useIntegrations } from "../core/config.ts";
import type { IntegrationSettings } from "../core/config-schema.ts";
import { logger } from "../core/logger.ts";
import type { JobHandler } from "./model.ts";
import { type JobRuntime, jobRuntime } from "./runtime.ts";
import { capsFromHandlers } from "./system-caps.ts";
import { createWorker, type WorkerDeps } from "./worker.ts";

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
  return createWorker(workerDeps(runtime, handlers, pair.jobs));
}

/**
 * A worker for every integration's jobs on the shared jobs queue (JOBS_QUEUE_URL): the consumer of the
 * test stacks without per-integration queues (infra/sandbox/every-job-worker.ts). What it puts back on
 * a queue (a deferral, a wait for a system's slot) goes to the job's own integration queue, if any.
 */
export function sharedQueueWorker(
  integrations: readonly IntegrationSettings[],
  handlers: readonly JobHandler[],
) {
  useEveryIntegration(integrations);
  const runtime = jobRuntime();
  return createWorker(workerDeps(runtime, handlers, requiredEnv("JOBS_QUEUE_URL")));
}

/**
 * A worker's dependencies. Config, the DynamoDB client and the stores are built now (every job needs
 * them); the SQS client and the queue on first use: a job that succeeds never calls SQS (the event
 * source mapping deletes its message), only a retry, a deferral, a wait for a slot or a dead letter
 * does, so a container whose jobs succeed never builds them (about 2 ms of a cold start).
 */
function workerDeps(runtime: JobRuntime, handlers: readonly JobHandler[], jobsQueueUrl: string): WorkerDeps {
  // The queue's settings are still checked at cold start: a missing one fails then, not at a first retry.
  void [runtime.jobsQueueUrl, runtime.deadLetterQueueUrl, runtime.jobQueues];
  return {
    handlers,
    get queue() {
      return runtime.queue;
    },
    records: runtime.records,
    get sqs() {
      return runtime.sqs;
    },
    jobsQueueUrl,
    logger,
    jobs: runtime.config.jobs,
    stats: runtime.stats,
    systemCaps: { slots: runtime.slots, breakers: runtime.breakers, capFor: capsFromHandlers(handlers) },
  };
}
