import { drainWorker } from "../lib/jobs/worker-function.ts";
import * as glpiForms from "../lib/sync/glpi-forms/jobs.ts";
import * as itopPair from "../lib/sync/itop-pair/jobs.ts";
import * as otrsRedmine from "../lib/sync/otrs-redmine/jobs.ts";
import { REGISTRY } from "../lib/sync/registry.ts";
import * as rocketchatOtrs from "../lib/sync/rocketchat-otrs/jobs.ts";
import * as rtKanban from "../lib/sync/rt-kanban/jobs.ts";

/**
 * The drain of the shared jobs queue (deskbridge-<stage>-jobs): each integration has its own queue and
 * worker (functions/<id>/worker.ts) now, and this function runs, for one release, whatever a stack
 * deployed before left on the old queue, every integration's jobs, with retries, backoff and dead
 * letters as before. Remove it, with JobsQueue and JobsDeadLetterQueue, once that queue and its
 * dead-letter queue stay empty. (An integration added after that release has no jobs there to drain.)
 */
export const handler = drainWorker(
  REGISTRY,
  [otrsRedmine, itopPair, rtKanban, rocketchatOtrs, glpiForms].flatMap((module) => module.jobs),
);
