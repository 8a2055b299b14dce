import * as v from "valibot";
import { defineIntegration, instanceRef, jobSpec } from "../descriptor.ts";
import { checkOtrsRedmine, otrsRedmineSchema } from "./settings.ts";

export const TICKET_JOB = "otrs-redmine.ticket";
export const ISSUE_JOB = "otrs-redmine.issue";

/** The Redmine poller's cursor (poller.ts): the issues of one instance, by update time. */
export const redmineIssuesCursor = (instance: string) => `redmine:${instance}:issues`;

/** Makes Redmine reflect one OTRS ticket (ticket-job.ts runs it). */
export const ticketSpec = jobSpec({
  type: TICKET_JOB,
  input: v.object({ ticketId: v.pipe(v.string(), v.regex(/^\d+$/)), previousState: v.optional(v.string()) }),
  source: ({ ticketId }, { config }) =>
    instanceRef("otrs", config.integrations.otrsRedmine?.otrs, "ticket", ticketId),
});

/** Makes OTRS reflect one Redmine issue (issue-job.ts runs it). */
export const issueSpec = jobSpec({
  type: ISSUE_JOB,
  input: v.object({ issueId: v.pipe(v.number(), v.integer(), v.minValue(1)) }),
  source: ({ issueId }, { config }) =>
    instanceRef("redmine", config.integrations.otrsRedmine?.redmine, "issue", issueId),
});

/** OTRS ↔ Redmine: OTRS tickets escalated to Redmine issues, their states kept in step both ways. */
export const otrsRedmine = defineIntegration({
  id: "otrs-redmine",
  configKey: "otrsRedmine",
  settings: otrsRedmineSchema,
  check: checkOtrsRedmine,
  systems: ["otrs", "redmine"],
  links: { otrs: ["ticket"], redmine: ["issue"] },
  jobs: [ticketSpec, issueSpec],
  pollers: [
    {
      system: "redmine",
      cursor: ({ integrations }) =>
        integrations.otrsRedmine && redmineIssuesCursor(integrations.otrsRedmine.redmine),
    },
  ],
});
