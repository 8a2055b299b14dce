import { useIntegrations } from "../../lib/core/config.ts";
import { httpRoute } from "../../lib/core/http.ts";
import { newJob } from "../../lib/jobs/queue.ts";
import { authenticateRedmine, readEvent, runEventJob } from "../../lib/sync/otrs-redmine/http.ts";
import { otrsRedmine } from "../../lib/sync/otrs-redmine/index.ts";
import { ISSUE_JOB, issueJob } from "../../lib/sync/otrs-redmine/issue-job.ts";
import { IssueEventSchema, issueIdOf } from "../../lib/systems/redmine/schemas.ts";

useIntegrations(otrsRedmine);

/** POST /redmine/issue-events: the Redmine webhook plugin (or Redmine 7's webhooks) reports an issue change. */
export const handler = httpRoute(
  { name: "redmine.issue-events", authenticate: authenticateRedmine },
  async (request) => {
    const issueId = issueIdOf(readEvent(request, IssueEventSchema, "payload.issue.id"));
    return runEventJob(newJob(ISSUE_JOB, { issueId }), issueJob);
  },
);
