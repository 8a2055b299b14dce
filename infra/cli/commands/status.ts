import { statusOverview } from "../../../lib/ops/overview.ts";
import type { IntegrationStatus, SystemStatus, WindowCounts } from "../../../lib/ops/types.ts";
import type { Command } from "../command.ts";
import { printJson, table } from "../output.ts";

/** `deskbridge status`: the status page's overview, as a table. */
export const status: Command = {
  name: "status",
  synopsis: "[--json]",
  summary: "hour/day counts and last outcome per integration; DLQ, parked",
  details:
    "Counts are received / succeeded / retrying / dead-lettered. `--json` prints the overview the\n" +
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
        ["INTEGRATION", "LAST HOUR", "LAST DAY", "LAST SUCCESS", "LAST FAILURE"],
        ...overview.integrations.map((row) => [
          row.configured ? row.integration : `${row.integration} (not configured)`,
          counts(row.lastHour),
          counts(row.lastDay),
          row.lastSuccess?.at ?? "-",
          lastFailure(row),
        ]),
      ]),
    );
    console.log("\n(counts: received/succeeded/retrying/dead-lettered)");
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
