/**
 * `npm run backfill -- <integration> [--since <date>]`: projects what already exists onto the target,
 * with the same jobs the webhooks run (idempotent: a second run changes nothing).
 *   npm run backfill -- rt-kanban                       every open ticket of the exposed queues
 *   npm run backfill -- rt-kanban --since 2026-11-01    only those changed since then
 * Locally it works against the running `npm start` stack and its sandbox systems. For a deployed
 * stage set JOBS_QUEUE_URL, DEAD_LETTER_QUEUE_URL, LINKS_TABLE (stack outputs), DESKBRIDGE_CONFIG
 * (config/<stage>.json) and DESKBRIDGE_SSM_PREFIX (/deskbridge/<stage>/), with the usual AWS credentials.
 */
import { parseArgs } from "node:util";
import { Logger } from "@aws-lambda-powertools/logger";
import { backfillBoard } from "../../lib/sync/rt-kanban/backfill.ts";
import { stackEnv } from "./stack-env.ts";

const INTEGRATIONS = ["rt-kanban"] as const;

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { since: { type: "string" }, concurrency: { type: "string" } },
  });
  const [integration] = positionals;
  if (!INTEGRATIONS.includes(integration as (typeof INTEGRATIONS)[number])) {
    throw new Error(`usage: npm run backfill -- <${INTEGRATIONS.join("|")}> [--since YYYY-MM-DD]`);
  }
  const since = values.since ? new Date(values.since) : undefined;
  if (since && Number.isNaN(since.getTime())) throw new Error(`--since: not a date: ${values.since}`);
  await stackEnv();
  // The jobs log what they change as JSON lines; the summary below is what a person reads.
  process.env.POWERTOOLS_LOG_LEVEL ??= process.env.LOG_LEVEL ?? "WARN";
  const logger = new Logger({ serviceName: "deskbridge-backfill" });
  const summary = await backfillBoard({
    logger,
    since,
    concurrency: values.concurrency ? Number(values.concurrency) : 4,
    onProgress: (done, total) => progress(done, total),
  });
  if (process.stderr.isTTY) process.stderr.write("\n");
  console.log(
    `${summary.tickets} ticket(s): ${summary.created} card(s) created, ${summary.updated} updated, ` +
      `${summary.removed} removed, ${summary.unchanged} unchanged, ${summary.failed.length} failed.`,
  );
  for (const failure of summary.failed) console.log(`  #${failure.ticketId}: ${failure.error}`);
  if (summary.failed.length > 0) process.exitCode = 1;
}

/** A one-line progress bar on a terminal (nothing when the output is a file or a pipe). */
function progress(done: number, total: number): void {
  if (!process.stderr.isTTY) return;
  const width = 30;
  const filled = total === 0 ? width : Math.round((done / total) * width);
  process.stderr.write(`\r[${"#".repeat(filled)}${" ".repeat(width - filled)}] ${done}/${total}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
