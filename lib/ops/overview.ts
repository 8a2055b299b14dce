import type { Config } from "../core/config-schema.ts";
import { readDeadLetters } from "../jobs/replay.ts";
import { JobStats } from "../jobs/stats.ts";
import { ParkedRequests } from "../sync/glpi-forms/parked.ts";
import { toDeadLetterView } from "./dead-letters.ts";
import type { OpsDeps } from "./deps.ts";
import { INTEGRATION_IDS, type IntegrationId, type StatusOverview } from "./types.ts";

/** The config section of each integration, as the status page names it. */
const CONFIG_SECTIONS: Record<IntegrationId, keyof Config["integrations"]> = {
  "otrs-redmine": "otrsRedmine",
  "itop-pair": "itopPair",
  "rt-kanban": "rtKanban",
  "rocketchat-otrs": "rocketchatOtrs",
  "glpi-forms": "glpiForms",
};

/**
 * Everything the status page shows, read at once: the counters of every integration (configured or
 * not, so the page always has the same rows), the dead letters (read without changing anything), and
 * the parked requests, newest first. Three reads run side by side: one BatchGetItem round (two for
 * more than four integrations), the dead-letter queue, one Query.
 */
export async function statusOverview(deps: OpsDeps, now: Date = new Date()): Promise<StatusOverview> {
  const stats = new JobStats(deps.db, deps.table);
  const [windows, letters, parked] = await Promise.all([
    stats.windows(now),
    readDeadLetters(deps.sqs, deps.deadLetterQueueUrl),
    new ParkedRequests(deps.db, deps.table).list(),
  ]);
  const zero = { received: 0, succeeded: 0, retrying: 0, deadLettered: 0 };
  return {
    generatedAt: now.toISOString(),
    integrations: INTEGRATION_IDS.map((integration) => {
      const counts = windows.get(integration);
      return {
        integration,
        configured: deps.config.integrations[CONFIG_SECTIONS[integration]] !== undefined,
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
  };
}
