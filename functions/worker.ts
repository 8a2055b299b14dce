import { logger } from "../lib/core/logger.ts";
import { requiredEnv, sqs } from "../lib/core/sqs.ts";
import { createDrain } from "../lib/jobs/drain.ts";
import { JobQueue, parseIntegrationQueues } from "../lib/jobs/queue.ts";

/**
 * The drain of the shared jobs queue (deskbridge-<stage>-jobs) that stacks deployed before each
 * integration had its own queue used: for one release it moves whatever they left there to each job's
 * integration queue (lib/jobs/drain.ts), where that integration's worker runs it. Remove it, with
 * JobsQueue and JobsDeadLetterQueue, once that queue and its dead-letter queue stay empty.
 */
export const handler = createDrain({
  sqs: sqs(),
  queue: new JobQueue(
    sqs(),
    requiredEnv("JOBS_QUEUE_URL"),
    requiredEnv("DEAD_LETTER_QUEUE_URL"),
    parseIntegrationQueues(process.env.JOB_QUEUES),
  ),
  logger,
});
