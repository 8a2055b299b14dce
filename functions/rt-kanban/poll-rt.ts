import type { Context } from "aws-lambda";
import { useIntegrations } from "../../lib/core/config.ts";
import { logger } from "../../lib/core/logger.ts";
import { watchPoller } from "../../lib/jobs/poller-lag.ts";
import { jobRuntime } from "../../lib/jobs/runtime.ts";
import { runScheduled } from "../../lib/jobs/system-caps.ts";
import { rtKanbanSettings } from "../../lib/sync/rt-kanban/deps.ts";
import { rtKanban } from "../../lib/sync/rt-kanban/index.ts";
import { pollRt } from "../../lib/sync/rt-kanban/poller.ts";

useIntegrations(rtKanban);

/** Scheduled: queues a job for every RT ticket changed since the last poll (what Scrip calls missed). */
export const handler = async (_event?: unknown, context?: Context) => {
  if (!jobRuntime().config.integrations.rtKanban)
    return { queued: 0, cursor: undefined, reason: "integration not configured" };
  return watchPoller(rtKanban, () =>
    runScheduled(
      [{ system: "rt", instance: rtKanbanSettings().rt }],
      "poll-rt",
      context,
      () => pollRt(logger),
      logger,
    ),
  );
};
