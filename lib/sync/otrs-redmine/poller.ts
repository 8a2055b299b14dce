import type { Logger } from "@aws-lambda-powertools/logger";
import { openPollWindow } from "../../jobs/poll-window.ts";
import { newJob } from "../../jobs/queue.ts";
import { jobRuntime } from "../../jobs/runtime.ts";
import { customFieldValue } from "../../systems/redmine/schemas.ts";
import { otrsRedmineDeps } from "./deps.ts";
import { redmineIssuesCursor } from "./index.ts";
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
  const name = redmineIssuesCursor(deps.redmineInstance);
  // A key Redmine does not know lists as the anonymous user: every page would come back empty, and the
  // cursor would move past changes the poller never saw. Asking who the key is fails (401) instead.
  await deps.redmine.currentUser();
  const window = await openPollWindow(runtime.cursors, name, poller, logger);
  let queued = 0;
  let truncated = false;
  for (let page = 0, offset = 0; ; page++, offset += PAGE) {
    const { issues, total } = await deps.redmine.listUpdatedSince(window.since, {
      offset,
      limit: PAGE,
      project: poller.project,
    });
    for (const issue of issues) {
      if (customFieldValue(issue, redmineCustomFieldId).trim()) {
        await runtime.queue.send(newJob(ISSUE_JOB, { issueId: issue.id }, { origin: "poller" }));
        queued++;
      }
      window.see(issue.updated_on, String(issue.id));
    }
    if (offset + issues.length >= total || issues.length === 0) break;
    if (page + 1 === MAX_PAGES) {
      truncated = true;
      break;
    }
  }
  const cursor = await window.save({ truncated });
  logger.info("Redmine polled", { queued, since: window.since.toISOString(), cursor, truncated });
  return { queued, cursor };
}
