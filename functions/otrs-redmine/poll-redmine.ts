import type { Context } from "aws-lambda";
import { useIntegrations } from "../../lib/core/config.ts";
import { logger } from "../../lib/core/logger.ts";
import { watchPoller } from "../../lib/jobs/poller-lag.ts";
import { jobRuntime } from "../../lib/jobs/runtime.ts";
import { runScheduled } from "../../lib/jobs/system-caps.ts";
import { otrsRedmineSettings } from "../../lib/sync/otrs-redmine/deps.ts";
import { otrsRedmine } from "../../lib/sync/otrs-redmine/index.ts";
import { pollRedmine } from "../../lib/sync/otrs-redmine/poller.ts";

useIntegrations(otrsRedmine);

/** Scheduled: queues a sync job for every Redmine issue changed since the last poll. */
export const handler = async (_event?: unknown, context?: Context) => {
  if (!jobRuntime().config.integrations.otrsRedmine)
    return { queued: 0, cursor: undefined, reason: "integration not configured" };
  return watchPoller(otrsRedmine, () =>
    runScheduled(
      [{ system: "redmine", instance: otrsRedmineSettings().redmine }],
      "poll-redmine",
      context,
      () => pollRedmine(logger),
      logger,
    ),
  );
};
