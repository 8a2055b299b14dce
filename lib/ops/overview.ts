import { breakerSettings, configuredSystems, systemStatuses } from "../jobs/breakers.ts";
import { readDeadLetters } from "../jobs/replay.ts";
import { JobStats } from "../jobs/stats.ts";
import { SystemBreakers } from "../links/system-breakers.ts";
import { ParkedRequests } from "../sync/glpi-forms/parked.ts";
import { INTEGRATION_IDS, REGISTRY } from "../sync/registry.ts";
import { allDeadLetterUrls, toDeadLetterView } from "./dead-letters.ts";
import type { OpsDeps } from "./deps.ts";
import type { StatusOverview } from "./types.ts";

/**
 * Everything the status page shows, read at once: the counters of every integration (configured or
 * not, so the page always has the same rows), the dead letters of every dead-letter queue (read without changing anything), and
 * the parked requests, newest first. Three reads run side by side: one BatchGetItem round (two for
 * more than four integrations), the dead-letter queue, one Query.
 */
export async function statusOverview(deps: OpsDeps, now: Date = new Date()): Promise<StatusOverview> {
  const stats = new JobStats(deps.db, deps.table);
  const breakers = new SystemBreakers(deps.db, deps.table, () => breakerSettings(deps.config.jobs));
  const [windows, letters, parked, systems] = await Promise.all([
    stats.windows(now, INTEGRATION_IDS),
    readDeadLetters(deps.sqs, allDeadLetterUrls(deps)),
    new ParkedRequests(deps.db, deps.table).list(),
    systemStatuses(breakers, configuredSystems(deps.config)),
  ]);
  const zero = { received: 0, succeeded: 0, retrying: 0, deadLettered: 0 };
  return {
    generatedAt: now.toISOString(),
    integrations: REGISTRY.map(({ id: integration, configKey }) => {
      const counts = windows.get(integration);
      return {
        integration,
        configured: deps.config.integrations[configKey] !== undefined,
        lastHour: counts?.lastHour ?? { ...zero },
        lastDay: counts?.lastDay ?? { ...zero },
        ...(counts?.lastSuccess ? { lastSuccess: counts.lastSuccess } : {}),
        ...(counts?.lastFailure ? { lastFailure: counts.lastFailure } : {}),
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
