import { useIntegrations } from "../../lib/core/config.ts";
import { logger } from "../../lib/core/logger.ts";
import { jobRuntime } from "../../lib/jobs/runtime.ts";
import { reconcileBoard } from "../../lib/sync/rt-kanban/reconciler.ts";

useIntegrations("rtKanban");

/** Scheduled: compares the board with RT and queues a repair for every card that disagrees. */
export const handler = async () => {
  if (!jobRuntime().config.integrations.rtKanban)
    return { checked: 0, queued: 0, reason: "integration not configured" };
  const { checked, queued } = await reconcileBoard(logger);
  return { checked, queued };
};
