import type { Context } from "aws-lambda";
import { useIntegrations } from "../../lib/core/config.ts";
import { logger } from "../../lib/core/logger.ts";
import { jobRuntime } from "../../lib/jobs/runtime.ts";
import { runScheduled } from "../../lib/jobs/system-caps.ts";
import { rtKanbanSettings } from "../../lib/sync/rt-kanban/deps.ts";
import { rtKanban } from "../../lib/sync/rt-kanban/index.ts";
import { reconcileBoard } from "../../lib/sync/rt-kanban/reconciler.ts";

useIntegrations(rtKanban);

/** Scheduled: compares the board with RT and queues a repair for every card that disagrees. */
export const handler = async (_event?: unknown, context?: Context) => {
  if (!jobRuntime().config.integrations.rtKanban)
    return { checked: 0, queued: 0, reason: "integration not configured" };
  const settings = rtKanbanSettings();
  const systems = [
    { system: "rt", instance: settings.rt },
    { system: "kanboard", instance: settings.board.kanboard },
  ];
  const { checked, queued } = await runScheduled(
    systems,
    "reconcile-board",
    context,
    () => reconcileBoard(logger),
    logger,
  );
  return { checked, queued };
};
