import { idSegment } from "../../core/ids.ts";
import {
  TicketEventSchema as OtrsTicketEventSchema,
  PathTicketEventSchema,
} from "../../systems/otrs/schemas.ts";
import { IssueEventSchema } from "../../systems/redmine/schemas.ts";
import { jsonBody, named, type RouteSpec, webhookResponses } from "../route-docs.ts";

const S = {
  otrsTicketEvent: named("OtrsTicketEvent", OtrsTicketEventSchema),
  otrsPathTicketEvent: named("OtrsPathTicketEvent", PathTicketEventSchema),
  redmineIssueEvent: named("RedmineIssueEvent", IssueEventSchema),
} as const;

/** The otrs-redmine routes (functions/otrs-redmine/), as the OpenAPI document describes them. */
export const routes: readonly RouteSpec[] = [
  {
    function: "otrsTicketEvents",
    method: "POST",
    path: "/otrs/ticket-events",
    tag: "otrs-redmine",
    summary: "An OTRS ticket event (GenericInterface invoker)",
    description:
      "Raw event data `{TicketID, OldTicketData}` (a state change) or `{TicketID, ArticleID}` (ArticleCreate), " +
      "or Znuny's Ticket::Generic `{Event, Ticket}`. Whatever the event, the job reads the ticket and the issue " +
      "again: the state and the conversation (articles ↔ journals) are reconciled.",
    auth: "sharedSecret",
    body: jsonBody(S.otrsTicketEvent),
    responses: webhookResponses("Synced to Redmine (`{}`: OTRS must never get OTRS_* keys back)"),
  },
  {
    function: "otrsTicketEvents",
    operationId: "otrsTicketEventsByTicketId",
    method: "POST",
    path: "/otrs/ticket-events/{ticketId}",
    tag: "otrs-redmine",
    summary: "An OTRS ticket event whose TicketID the invoker's controller put in the path",
    description:
      "For a controller `/otrs/ticket-events/:TicketID`: Znuny's REST requester fills the placeholder from " +
      "the event data's TicketID and takes that field out of the body (`{OldTicketData}`, or no body). The " +
      "path's id wins over any in the body.",
    auth: "sharedSecret",
    parameters: [
      {
        name: "ticketId",
        in: "path",
        required: true,
        description: "The OTRS TicketID (a `:TicketID` left unfilled is a 400)",
        schema: idSegment("a numeric TicketID"),
      },
    ],
    body: { contentTypes: ["application/json"], schema: S.otrsPathTicketEvent, required: false },
    responses: webhookResponses("Synced to Redmine (`{}`: OTRS must never get OTRS_* keys back)"),
  },
  {
    function: "redmineIssueEvents",
    method: "POST",
    path: "/redmine/issue-events",
    tag: "otrs-redmine",
    summary: "A Redmine issue change (webhook plugin or Redmine 7 webhooks)",
    description:
      "Only the issue id is used: the job reads the issue again. The redmine_webhook plugin sends no header " +
      "of its own (`?token=`); Redmine 7's webhooks sign the body (X-Redmine-Signature-256).",
    auth: "sharedSecretOrRedmineSignature",
    body: jsonBody(S.redmineIssueEvent),
    responses: webhookResponses("Synced to OTRS"),
  },
];
