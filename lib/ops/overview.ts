import { logger } from "../core/logger.ts";
import { breakerSettings, configuredSystems, systemStatuses } from "../jobs/breakers.ts";
import { readDeadLetters } from "../jobs/replay.ts";
import { JobStats } from "../jobs/stats.ts";
import { CursorStore, pollerLagSeconds } from "../links/cursors.ts";
import { SystemBreakers } from "../links/system-breakers.ts";
import type { PollerSpec } from "../sync/descriptor.ts";
import { ParkedRequests } from "../sync/glpi-forms/parked.ts";
import { INTEGRATION_IDS, type Integration, REGISTRY } from "../sync/registry.ts";
import { allDeadLetterUrls, toDeadLetterView } from "./dead-letters.ts";
import type { OpsDeps } from "./deps.ts";
import { queueAgeReader } from "./queue-age.ts";
import type { IntegrationStatus, PollerStatus, StatusOverview } from "./types.ts";

/**
 * Everything the status page shows, read at once: the counters of every integration (configured or
 * not, so the page always has the same rows), the dead letters of every dead-letter queue (read without changing anything), and
 * the parked requests, newest first, and each configured integration's pollers' lag and its jobs
 * queue's oldest message, with a warning past the thresholds of `monitoring`. The reads run side by
 * side: one BatchGetItem round (two for more than four integrations), the dead-letter queue, one
 * Query, a GetItem per poller, and the queues' ages (lib/ops/queue-age.ts).
 */
export async function statusOverview(deps: OpsDeps, now: Date = new Date()): Promise<StatusOverview> {
  const stats = new JobStats(deps.db, deps.table);
  const configured = REGISTRY.filter(({ configKey }) => deps.config.integrations[configKey] !== undefined);
  const queueOf = (id: string) => deps.jobQueues?.[id]?.jobs ?? deps.jobsQueueUrl;
  const breakers = new SystemBreakers(deps.db, deps.table, () => breakerSettings(deps.config.jobs));
  const [windows, letters, parked, pollers, ages, systems] = await Promise.all([
    stats.windows(now, INTEGRATION_IDS),
    readDeadLetters(deps.sqs, allDeadLetterUrls(deps)),
    new ParkedRequests(deps.db, deps.table).list(),
    pollerStatuses(deps, configured, now),
    (deps.queueAges ?? queueAgeReader())
      .oldestAges([...new Set(configured.map(({ id }) => queueOf(id)))], now)
      .catch((error: unknown) => {
        // The page still answers; each queue's age shows as unknown.
        logger.warn("could not read the jobs queues' oldest message age", { error });
        return new Map<string, number | undefined>();
      }),
    systemStatuses(breakers, configuredSystems(deps.config)),
  ]);
  const { queueAgeSeconds } = deps.config.monitoring;
  const zero = { received: 0, succeeded: 0, retrying: 0, deadLettered: 0 };
  return {
    generatedAt: now.toISOString(),
    integrations: REGISTRY.map(({ id: integration, configKey }): IntegrationStatus => {
      const counts = windows.get(integration);
      const isConfigured = deps.config.integrations[configKey] !== undefined;
      const ownPollers = pollers.get(integration) ?? [];
      const age = ages.get(queueOf(integration));
      const queue = isConfigured
        ? {
            ...(age !== undefined ? { oldestAgeSeconds: age } : {}),
            thresholdSeconds: queueAgeSeconds,
            warning: age !== undefined && age > queueAgeSeconds,
          }
        : undefined;
      return {
        integration,
        configured: isConfigured,
        lastHour: counts?.lastHour ?? { ...zero },
        lastDay: counts?.lastDay ?? { ...zero },
        ...(counts?.lastSuccess ? { lastSuccess: counts.lastSuccess } : {}),
        ...(counts?.lastFailure ? { lastFailure: counts.lastFailure } : {}),
        pollers: ownPollers,
        ...(queue ? { queue } : {}),
        warning: ownPollers.some((poller) => poller.warning) || Boolean(queue?.warning),
      };
    }),
    deadLetters: letters.flatMap((letter) =>
      letter.kind === "letter" ? [toDeadLetterView(letter, deps.config)] : [],
    ),
    unreadableDeadLetters: letters.filter((letter) => letter.kind === "unreadable").length,
    parked,
    systems,
  };
}

/** Each configured integration's pollers, from their last successful runs (one GetItem each, side by side). */
async function pollerStatuses(
  deps: OpsDeps,
  integrations: readonly Integration[],
  now: Date,
): Promise<Map<string, PollerStatus[]>> {
  const cursors = new CursorStore(deps.db, deps.table);
  const threshold = deps.config.monitoring.pollerLagSeconds;
  const entries = await Promise.all(
    integrations.map(async (integration) => {
      const specs: readonly PollerSpec[] = integration.pollers ?? [];
      const statuses = await Promise.all(
        specs.flatMap((spec) => {
          const cursor = spec.cursor(deps.config);
          if (!cursor) return [];
          return [
            cursors.lastRun(cursor).then((run): PollerStatus => {
              if (!run) return { cursor, system: spec.system, thresholdSeconds: threshold, warning: false };
              const lagSeconds = pollerLagSeconds(run, now);
              return {
                cursor,
                system: spec.system,
                lastSuccessAt: run.lastSuccessAt,
                caughtUpTo: run.caughtUpTo,
                cursorAt: run.cursorAt,
                lagSeconds,
                thresholdSeconds: threshold,
                warning: lagSeconds > threshold,
              };
            }),
          ];
        }),
      );
      return [integration.id, statuses] as const;
    }),
  );
  return new Map(entries);
}
