import { statusOverview } from "../../../lib/ops/overview.ts";
import type { IntegrationStatus, SystemStatus, WindowCounts } from "../../../lib/ops/types.ts";
import type { Command } from "../command.ts";
import { printJson, table } from "../output.ts";

/** `deskbridge status`: the status page's overview, as a table. */
export const status: Command = {
  name: "status",
  synopsis: "[--json]",
  summary: "hour/day counts, poller lag, oldest queued job and last outcome per integration; DLQ, parked",
  details:
    "Counts are received / succeeded / retrying / dead-lettered. POLLER LAG is how far behind now a\n" +
    "poller has read; OLDEST JOB how long the integration's oldest queued job has waited. A value past\n" +
    "its `monitoring` threshold is marked `!` and warned about below. `--json` prints the overview the\n" +
    "status page's JSON answer holds.",
  options: { json: { type: "boolean", default: false } },
  positionals: { min: 0, max: 0 },
  async run({ values, connect }) {
    const deps = await connect();
    const overview = await statusOverview(deps);
    if (values.json) {
      printJson(overview);
      return 0;
    }
    console.log(`${deps.target.label}, ${overview.generatedAt}\n`);
    console.log(
      table([
        [
          "INTEGRATION",
          "LAST HOUR",
          "LAST DAY",
          "POLLER LAG",
          "LAST POLL",
          "OLDEST JOB",
          "LAST SUCCESS",
          "LAST FAILURE",
        ],
        ...overview.integrations.map((row) => [
          row.configured
            ? `${row.integration}${row.warning ? " (!)" : ""}`
            : `${row.integration} (not configured)`,
          counts(row.lastHour),
          counts(row.lastDay),
          pollerLag(row),
          row.pollers.map((poller) => poller.lastSuccessAt ?? "never").join(", ") || "-",
          queueAge(row),
          row.lastSuccess?.at ?? "-",
          lastFailure(row),
        ]),
      ]),
    );
    console.log("\n(counts: received/succeeded/retrying/dead-lettered; (!): past a `monitoring` threshold)");
    for (const row of overview.integrations) {
      for (const poller of row.pollers.filter((p) => p.warning))
        console.log(
          `WARNING ${row.integration}: the ${poller.system} poller is ${poller.lagSeconds}s behind (threshold ${poller.thresholdSeconds}s)`,
        );
      if (row.queue?.warning)
        console.log(
          `WARNING ${row.integration}: its oldest queued job has waited ${row.queue.oldestAgeSeconds}s (threshold ${row.queue.thresholdSeconds}s)`,
        );
    }
    console.log(
      `dead letters: ${overview.deadLetters.length}` +
        (overview.unreadableDeadLetters > 0 ? ` (+${overview.unreadableDeadLetters} unreadable)` : "") +
        `, parked requests: ${overview.parked.length}`,
    );
    const systems = overview.systems ?? [];
    if (systems.length > 0) {
      console.log(
        `\n${table([["SYSTEM", "STATE", "OUTAGES IN A ROW", "JOBS WAITING"], ...systems.map(systemRow)])}`,
      );
    }
    return 0;
  },
};

const systemRow = (s: SystemStatus) => [
  s.system,
  s.state === "down"
    ? `down since ${s.downSince}`
    : s.state === "up" && s.upSince
      ? `up since ${s.upSince}`
      : s.state,
  String(s.failures),
  s.state === "down" ? String(s.jobsWaiting ?? 0) : "-",
];

const counts = (c: WindowCounts) => `${c.received}/${c.succeeded}/${c.retrying}/${c.deadLettered}`;

function lastFailure(row: IntegrationStatus): string {
  const failure = row.lastFailure;
  return failure ? `${failure.at} ${failure.code}: ${failure.reason}` : "-";
}

/** Each poller's lag (`rt 75s`, `rt 1200s!` past its threshold, `rt never`); `-` without a poller. */
function pollerLag(row: IntegrationStatus): string {
  if (row.pollers.length === 0) return "-";
  return row.pollers
    .map(
      (p) =>
        `${p.system} ${p.lagSeconds === undefined ? "never" : `${p.lagSeconds}s${p.warning ? "!" : ""}`}`,
    )
    .join(", ");
}

/** The jobs queue's oldest message's age (`!` past its threshold); `?` when it cannot be read. */
function queueAge(row: IntegrationStatus): string {
  if (!row.queue) return "-";
  if (row.queue.oldestAgeSeconds === undefined) return "?";
  return `${row.queue.oldestAgeSeconds}s${row.queue.warning ? "!" : ""}`;
}
