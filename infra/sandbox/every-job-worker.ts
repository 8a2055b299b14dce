import { sharedQueueWorker } from "../../lib/jobs/worker-function.ts";
import * as glpiForms from "../../lib/sync/glpi-forms/jobs.ts";
import * as itopPair from "../../lib/sync/itop-pair/jobs.ts";
import * as otrsRedmine from "../../lib/sync/otrs-redmine/jobs.ts";
import { REGISTRY } from "../../lib/sync/registry.ts";
import * as rocketchatOtrs from "../../lib/sync/rocketchat-otrs/jobs.ts";
import * as rtKanban from "../../lib/sync/rt-kanban/jobs.ts";

/**
 * One worker for every integration's jobs, on the shared jobs queue: the consumer of a test stack
 * without per-integration queues (`StackOptions.integrationQueues` off), where every job goes to the
 * shared pair. It is the very worker each integration's function builds (lib/jobs/worker.ts), with
 * every integration's handlers. A deployed stack has no such function: its shared queue only drains.
 */
export const handler = sharedQueueWorker(
  REGISTRY,
  [otrsRedmine, itopPair, rtKanban, rocketchatOtrs, glpiForms].flatMap((module) => module.jobs),
);
