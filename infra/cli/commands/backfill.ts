import { Logger } from "@aws-lambda-powertools/logger";
import { asBridgeError } from "../../../lib/core/errors.ts";
import { otrsRedmineDeps } from "../../../lib/sync/otrs-redmine/deps.ts";
import { issueJob } from "../../../lib/sync/otrs-redmine/issue-job.ts";
import { backfillBoard } from "../../../lib/sync/rt-kanban/backfill.ts";
import { customFieldValue } from "../../../lib/systems/redmine/schemas.ts";
import type { Command } from "../command.ts";
import { type Progress, progressBar } from "../output.ts";

/**
 * The integrations with a natural backfill, each running the jobs the webhooks run (idempotent: a
 * second run changes nothing). The others have none worth the name: iTop pair tickets are created by
 * a form on one side (there is no "ticket that should have a twin" query), Rocket.Chat chats are put
 * on record when they close and OTRS notifications are events, and GLPI forms have no source to re-read.
 */
export const BACKFILLS = ["rt-kanban", "otrs-redmine"] as const;
type Backfill = (typeof BACKFILLS)[number];

export const backfill: Command = {
  name: "backfill",
  synopsis: "<integration> [--since <date>]",
  summary: "sync what already exists: rt-kanban, otrs-redmine",
  details: [
    "  rt-kanban      every open ticket of the exposed RT queues becomes (or updates) its card;",
    "                 --since: only tickets changed since then",
    "  otrs-redmine   Redmine issues updated since --since (required) that name an OTRS ticket are",
    "                 linked to it and their status applied to OTRS",
    "Other integrations have no backfill: iTop pairs are made by forms, chats and notifications are",
    "events, GLPI forms have nothing to re-read. A second run changes nothing.",
    "  --concurrency <n>  jobs run at once (default 4)",
  ].join("\n"),
  options: { since: { type: "string" }, concurrency: { type: "string" } },
  positionals: { min: 1, max: 1 },
  async run({ values, positionals: [name = ""], connect, usage }) {
    if (!BACKFILLS.includes(name as Backfill))
      usage(`no backfill for ${name}; one of ${BACKFILLS.join(", ")}`);
    const since = typeof values.since === "string" ? new Date(values.since) : undefined;
    if (since && Number.isNaN(since.getTime())) usage(`--since: not a date: ${values.since}`);
    const concurrency = typeof values.concurrency === "string" ? Number(values.concurrency) : 4;
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 32) {
      usage("--concurrency: a whole number from 1 to 32");
    }
    await connect();
    // The jobs log what they change as JSON lines; the summary below is what a person reads.
    process.env.POWERTOOLS_LOG_LEVEL ??= process.env.LOG_LEVEL ?? "WARN";
    const logger = new Logger({ serviceName: "deskbridge-backfill" });
    const bar = progressBar(`backfill ${name}`);
    try {
      if (name === "rt-kanban") {
        const summary = await backfillBoard({
          logger,
          since,
          concurrency,
          onProgress: (done, total) => bar.update(done, total),
        });
        bar.stop();
        console.log(
          `${summary.tickets} ticket(s): ${summary.created} card(s) created, ${summary.updated} updated, ` +
            `${summary.removed} removed, ${summary.unchanged} unchanged, ${summary.failed.length} failed.`,
        );
        for (const failure of summary.failed) console.log(`  #${failure.ticketId}: ${failure.error}`);
        return summary.failed.length > 0 ? 1 : 0;
      }
      if (!since) return usage("otrs-redmine needs --since <date> (Redmine issues updated since then)");
      const summary = await backfillRedmineIssues({ logger, since, concurrency, bar });
      bar.stop();
      console.log(
        `${summary.issues} issue(s) naming an OTRS ticket: ${summary.linked} linked, ` +
          `${summary.state} state(s) applied, ${summary.unchanged} unchanged, ${summary.failed.length} failed.`,
      );
      for (const failure of summary.failed) console.log(`  issue ${failure.issueId}: ${failure.error}`);
      return summary.failed.length > 0 ? 1 : 0;
    } finally {
      bar.stop();
    }
  },
};

interface RedmineBackfillSummary {
  issues: number;
  linked: number;
  state: number;
  unchanged: number;
  failed: { issueId: number; error: string }[];
}

/**
 * Runs the Redmine issue job (what the issue webhook and the poller queue) over every issue updated
 * since a date that names an OTRS ticket, a few at a time, without touching the poller's cursor.
 */
async function backfillRedmineIssues(options: {
  logger: Logger;
  since: Date;
  concurrency: number;
  bar: Progress;
}): Promise<RedmineBackfillSummary> {
  const deps = await otrsRedmineDeps();
  const { poller, redmineCustomFieldId } = deps.settings;
  // A key Redmine does not know would list as the anonymous user: no issue, and a clean "0 issue(s)".
  await deps.redmine.currentUser();
  const ids: number[] = [];
  for (let offset = 0; ; ) {
    const { issues, total } = await deps.redmine.listUpdatedSince(options.since, {
      offset,
      limit: 100,
      project: poller.project,
    });
    for (const issue of issues) if (customFieldValue(issue, redmineCustomFieldId).trim()) ids.push(issue.id);
    offset += issues.length;
    if (issues.length === 0 || offset >= total) break;
  }
  const summary: RedmineBackfillSummary = {
    issues: ids.length,
    linked: 0,
    state: 0,
    unchanged: 0,
    failed: [],
  };
  const run = Date.now().toString(36);
  let next = 0;
  let done = 0;
  options.bar.update(0, ids.length);
  const worker = async () => {
    while (next < ids.length) {
      const issueId = ids[next++];
      if (issueId === undefined) break;
      try {
        const outcome = await issueJob.run(
          { issueId },
          {
            jobId: `backfill-${run}-${issueId}`,
            attempt: 1,
            maybeRan: true,
            signal: AbortSignal.timeout(60_000),
            logger: options.logger,
          },
        );
        if (outcome.action === "linked") summary.linked++;
        else if (outcome.action === "state") summary.state++;
        else summary.unchanged++;
      } catch (error) {
        summary.failed.push({ issueId, error: asBridgeError(error).message });
      }
      options.bar.update(++done, ids.length);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  return summary;
}
