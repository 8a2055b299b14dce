import * as v from "valibot";
import { NotificationEventSchema, NotificationPathSchema } from "../../systems/otrs/schemas.ts";
import {
  LivechatEventSchema,
  LivechatSessionSchema,
  OfflineMessageSchema,
} from "../../systems/rocketchat/schemas.ts";
import {
  errors,
  json,
  jsonBody,
  named,
  type RouteSpec,
  SHARED,
  WEBHOOK_ERRORS,
  webhookResponses,
} from "../route-docs.ts";

const LivechatAnswerSchema = v.pipe(
  v.looseObject({
    ticketNumbers: v.optional(v.array(v.string())),
    tickets: v.optional(v.array(v.object({ number: v.string(), id: v.string(), created: v.boolean() }))),
    status: v.optional(v.picklist(["queued", "failed"])),
    job_id: v.optional(v.string()),
    error: v.optional(SHARED.errorSummary.schema),
  }),
  v.description("Kept by Rocket.Chat as the room's crmData: the tickets, or what the room had, or {}"),
);

const S = {
  livechatEvent: named(
    "LivechatEvent",
    v.union([LivechatSessionSchema, OfflineMessageSchema, v.looseObject(LivechatEventSchema.entries)]),
  ),
  livechatAnswer: named("LivechatAnswer", LivechatAnswerSchema),
  otrsNotification: named("OtrsNotificationEvent", NotificationEventSchema),
} as const;

/** The rocketchat-otrs routes (functions/rocketchat-otrs/), as the OpenAPI document describes them. */
export const routes: readonly RouteSpec[] = [
  {
    function: "rocketchatLivechat",
    method: "POST",
    path: "/rocketchat/livechat",
    tag: "rocketchat-otrs",
    summary: "Rocket.Chat's Omnichannel webhook",
    description:
      "A closed chat (LivechatSession) or an offline message is put on record in OTRS; any other event " +
      "is accepted and changes nothing. Rocket.Chat counts only 200 as delivered: outcomes are all 200.",
    auth: "livechat",
    body: jsonBody(S.livechatEvent),
    responses: {
      200: { description: "Done, queued, failed, or ignored", content: json(S.livechatAnswer) },
      ...errors(WEBHOOK_ERRORS),
    },
  },
  {
    function: "otrsNotifications",
    method: "POST",
    path: "/otrs/notifications",
    tag: "rocketchat-otrs",
    summary: "An OTRS ticket event, posted to the Rocket.Chat channels and people its rules pick",
    description:
      "The event name comes from the body (Ticket::Generic's `Event.Event`, on newer Znuny), else from " +
      "`?event=`; Znuny's REST requester keeps a controller's query string only when one of its " +
      "placeholders was filled, so give each invoker POST /otrs/notifications/{event} instead.",
    auth: "sharedSecret",
    parameters: [
      {
        name: "event",
        in: "query",
        required: false,
        description: "The event name, when the body does not carry one",
        schema: v.string(),
      },
    ],
    body: jsonBody(S.otrsNotification),
    responses: webhookResponses("Posted, or no rule picks this event (`{}`)"),
  },
  {
    function: "otrsNotifications",
    operationId: "otrsNotificationsByEvent",
    method: "POST",
    path: "/otrs/notifications/{event}",
    tag: "rocketchat-otrs",
    summary: "An OTRS ticket event, named by the invoker's controller, posted to Rocket.Chat",
    description:
      "One invoker per event, each with its own controller (`/otrs/notifications/TicketCreate`): " +
      "Test::TestSimple's data and the older event handler's Ticket::Generic data carry no event name. " +
      "A name in the body wins over the path's.",
    auth: "sharedSecret",
    parameters: [
      {
        name: "event",
        in: "path",
        required: true,
        description: "The OTRS event (TicketCreate, EscalationSolutionTimeNotifyBefore, …)",
        schema: NotificationPathSchema.entries.event.wrapped,
      },
    ],
    body: jsonBody(S.otrsNotification),
    responses: webhookResponses("Posted, or no rule picks this event (`{}`)"),
  },
];
