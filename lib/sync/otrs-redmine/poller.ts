import type { Logger } from "@aws-lambda-powertools/logger";
import { newJob } from "../../jobs/queue.ts";
import { jobRuntime } from "../../jobs/runtime.ts";
import { customFieldValue } from "../../systems/redmine/schemas.ts";
import { otrsRedmineDeps } from "./deps.ts";
import { ISSUE_JOB } from "./issue-job.ts";

const PAGE = 100;
/** At most this many pages per run; the cursor carries on from there next time. */
const MAX_PAGES = 20;

/**
 * Polls Redmine for issues updated since the cursor (minus an overlap, for changes committed late) and
 * queues an issue job for each one that names an OTRS ticket. Jobs are level-triggered, so seeing an
 * issue twice (overlap, or a webhook for the same change) costs a read and changes nothing.
 */
export async function pollRedmine(logger: Logger): Promise<{ queued: number; cursor: string | undefined }> {
  const runtime = jobRuntime();
  const deps = await otrsRedmineDeps();
  const { poller, redmineCustomFieldId } = deps.settings;
  const name = `redmine:${deps.redmineInstance}:issues`;
  const cursor = await runtime.cursors.get(name);
  const since = cursor
    ? new Date(Date.parse(cursor.at) - poller.overlapSeconds * 1000)
    : new Date(Date.now() - poller.initialLookbackHours * 3600 * 1000);
  let last = cursor ? { at: cursor.at, id: cursor.id } : undefined;
  let queued = 0;
  for (let page = 0, offset = 0; page < MAX_PAGES; page++, offset += PAGE) {
    const { issues, total } = await deps.redmine.listUpdatedSince(since, {
      offset,
      limit: PAGE,
      project: poller.project,
    });
    for (const issue of issues) {
      if (customFieldValue(issue, redmineCustomFieldId).trim()) {
        await runtime.queue.send(newJob(ISSUE_JOB, { issueId: issue.id }, { origin: "poller" }));
        queued++;
      }
      // (timestamp, id) order: equal timestamps never stall the cursor.
      if (
        !last ||
        issue.updated_on > last.at ||
        (issue.updated_on === last.at && Number(issue.id) > Number(last.id))
      ) {
        last = { at: issue.updated_on, id: String(issue.id) };
      }
    }
    if (offset + issues.length >= total || issues.length === 0) break;
  }
  if (last && (last.at !== cursor?.at || last.id !== cursor?.id)) {
    const moved = await runtime.cursors.advance(name, cursor, last);
    if (!moved) logger.warn("another poll moved the cursor first; this run's position was not saved");
  }
  logger.info("Redmine polled", { queued, since: since.toISOString(), cursor: last?.at });
  return { queued, cursor: last?.at };
}
