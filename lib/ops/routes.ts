import * as v from "valibot";
import type { ErrorBody } from "../core/http.ts";
import { idSegment, JobIdSchema } from "../core/ids.ts";
import { RefSchema } from "../links/refs.ts";
import { FormSubmissionSchema } from "../sync/glpi-forms/submission.ts";
import type { ErrorSummary } from "../sync/webhook.ts";
import {
  AttachmentEventSchema,
  InternalTicketEventSchema,
  TicketEventSchema as ItopTicketEventSchema,
} from "../systems/itop/schemas.ts";
import {
  NotificationEventSchema,
  NotificationPathSchema,
  TicketEventSchema as OtrsTicketEventSchema,
  PathTicketEventSchema,
} from "../systems/otrs/schemas.ts";
import { IssueEventSchema } from "../systems/redmine/schemas.ts";
import {
  LivechatEventSchema,
  LivechatSessionSchema,
  OfflineMessageSchema,
} from "../systems/rocketchat/schemas.ts";
import { ScripEventSchema } from "../systems/rt/schemas.ts";
import { ReplayDeadLettersFormSchema, ReplayParkedFormSchema } from "./forms.ts";
import { COUNTERS, INTEGRATION_IDS, type LinkLookup, type StatusOverview } from "./types.ts";

/**
 * Every HTTP route of serverless.yml, described from the very schemas its handler validates with: the
 * source of the OpenAPI document (lib/ops/openapi.ts). test/unit/openapi.test.ts fails when this list
 * and serverless.yml's `httpApi` events disagree. It imports schemas only (no clients, no AWS SDK).
 */

/** A schema that appears in the document under components/schemas with this name. */
export interface NamedSchema {
  name: string;
  schema: v.GenericSchema;
}

/**
 * Who may call a route. `sharedSecret`: the integration's (or operators') secret in its header
 * (X-Deskbridge-Token unless configured otherwise), as the HTTP Basic password, or as `?token=` where
 * the config sets `allowQueryToken`. `livechat`: the X-RocketChat-Livechat-Token header (or Basic).
 * `sharedSecretOrRedmineSignature`: the shared secret, or Redmine 7's X-Redmine-Signature-256 of the body
 * where the config sets `redmineWebhookSecret`.
 */
export type RouteAuth = "none" | "sharedSecret" | "livechat" | "sharedSecretOrRedmineSignature";

export interface RouteParameter {
  name: string;
  in: "path" | "query" | "header";
  required: boolean;
  description: string;
  schema: v.GenericSchema;
}

export interface RouteResponse {
  description: string;
  /** Media type → body schema; `"text"` for a plain string body (text/plain, text/html). */
  content?: Record<string, NamedSchema | "text">;
  /** Response headers besides X-Request-Id, which every response carries. */
  headers?: ("Location" | "Retry-After" | "WWW-Authenticate")[];
}

export interface RouteSpec {
  /** The function's name in serverless.yml (also the operationId, unless `operationId` is given). */
  function: string;
  /** For a function serving more than one route: this route's operationId (ids are unique). */
  operationId?: string;
  method: "GET" | "POST";
  /** As in serverless.yml: `{name}` for path parameters. */
  path: string;
  tag: string;
  summary: string;
  description: string;
  auth: RouteAuth;
  parameters?: RouteParameter[];
  /** The body's media types; each has `schema` unless `schemas` names its own (a form's fields). */
  body?: {
    contentTypes: string[];
    schema: NamedSchema;
    schemas?: Record<string, NamedSchema>;
    required: boolean;
  };
  responses: Record<number, RouteResponse>;
}

const named = (name: string, schema: v.GenericSchema): NamedSchema => ({ name, schema });

/** Compile-time check that a documentation schema still describes a shape the code returns. */
type Describes<S extends v.GenericSchema, T> = v.InferOutput<S> extends T ? true : false;
const describes = <_ extends true>() => undefined;

// ---- bodies the operators' routes read: lib/ops/forms.ts, shared with their handlers ----------------

// ---- answers ---------------------------------------------------------------------------------------

const UpstreamSchema = v.object({
  system: v.string(),
  status: v.optional(v.number()),
  code: v.optional(v.string()),
  message: v.optional(v.string()),
});

export const ErrorBodySchema = v.object({
  error: v.object({
    code: v.pipe(v.string(), v.description("Stable machine-readable name: validation_failed, unauthorized…")),
    message: v.string(),
    fields: v.optional(
      v.pipe(
        v.array(v.object({ path: v.string(), message: v.string() })),
        v.description("Every bad field, by its path (400 only)"),
      ),
    ),
    upstream: v.optional(
      v.pipe(UpstreamSchema, v.description("What the target system answered (502, upstream 401)")),
    ),
  }),
  request_id: v.string(),
});
describes<Describes<typeof ErrorBodySchema, ErrorBody>>();

/** The old Flask app's errors, kept by `POST /criar-chamado` (lib/sync/glpi-forms/http.ts). */
const LegacyErrorSchema = v.object({
  erro: v.string(),
  campos: v.optional(v.array(v.string())),
  campos_ausentes: v.optional(v.array(v.string())),
  campos_faltando: v.optional(
    v.pipe(v.array(v.string()), v.description("The same as campos_ausentes, as the seed app named it")),
  ),
  detalhes: v.optional(v.array(v.object({ campo: v.string(), problema: v.string() }))),
  detalhe: v.optional(v.string()),
});

/** iTop's webhook extension posts the payload form-encoded (lib/sync/itop-pair/http.ts). */
const ItopWebhookFormSchema = v.object({
  version: v.optional(v.pipe(v.string(), v.description("iTop's REST API version (not used)"))),
  json_data: v.pipe(
    v.string(),
    v.description("The payload as a JSON object: the same fields as the JSON body, read the same way"),
  ),
});

const ErrorSummarySchema = v.object({
  code: v.string(),
  message: v.string(),
  upstream: v.optional(UpstreamSchema),
});
describes<Describes<typeof ErrorSummarySchema, ErrorSummary>>();

const TicketCreatedSchema = v.object({ ticket_id: v.pipe(v.number(), v.integer()) });
const TicketQueuedSchema = v.object({
  job_id: v.string(),
  status: v.literal("pending"),
  status_url: v.pipe(v.string(), v.description("Where to ask about the job (also the Location header)")),
});
const TicketJobSchema = v.object({
  job_id: v.string(),
  status: v.picklist(["pending", "done", "failed"]),
  attempts: v.pipe(v.number(), v.integer()),
  ticket_id: v.optional(v.pipe(v.number(), v.integer(), v.description("When done"))),
  error: v.optional(v.pipe(v.string(), v.description("The last failure's reason, until done"))),
  updated_at: v.string(),
});
const WebhookDoneSchema = v.object({
  ignored: v.optional(v.pipe(v.string(), v.description("Why the event changed nothing"))),
});
const WebhookAcceptedSchema = v.object({
  job_id: v.string(),
  status: v.optional(v.pipe(v.literal("failed"), v.description("The target refused it for good"))),
  error: v.optional(ErrorSummarySchema),
});
const LivechatAnswerSchema = v.pipe(
  v.looseObject({
    ticketNumbers: v.optional(v.array(v.string())),
    tickets: v.optional(v.array(v.object({ number: v.string(), id: v.string(), created: v.boolean() }))),
    status: v.optional(v.picklist(["queued", "failed"])),
    job_id: v.optional(v.string()),
    error: v.optional(ErrorSummarySchema),
  }),
  v.description("Kept by Rocket.Chat as the room's crmData: the tickets, or what the room had, or {}"),
);

const Counts = v.object(
  Object.fromEntries(COUNTERS.map((counter) => [counter, v.pipe(v.number(), v.integer())])) as Record<
    (typeof COUNTERS)[number],
    v.SchemaWithPipe<readonly [v.NumberSchema<undefined>, v.IntegerAction<number, undefined>]>
  >,
);
const ObjectViewSchema = v.object({ ref: RefSchema, key: v.string(), url: v.optional(v.string()) });
const IntegrationSchema = v.picklist(INTEGRATION_IDS);
export const StatusOverviewSchema = v.object({
  generatedAt: v.string(),
  integrations: v.array(
    v.object({
      integration: IntegrationSchema,
      configured: v.boolean(),
      lastHour: Counts,
      lastDay: Counts,
      lastSuccess: v.optional(v.object({ at: v.string(), jobId: v.string(), type: v.string() })),
      lastFailure: v.optional(
        v.object({
          at: v.string(),
          jobId: v.string(),
          type: v.string(),
          code: v.string(),
          reason: v.string(),
        }),
      ),
    }),
  ),
  deadLetters: v.array(
    v.object({
      id: v.string(),
      type: v.string(),
      integration: v.union([IntegrationSchema, v.literal("unknown")]),
      attempts: v.number(),
      error: v.object({ code: v.string(), message: v.string() }),
      failedAt: v.string(),
      source: v.optional(ObjectViewSchema),
    }),
  ),
  unreadableDeadLetters: v.number(),
  parked: v.array(
    v.object({
      id: v.string(),
      receivedAt: v.string(),
      cnpj: v.string(),
      reason: v.string(),
      submission: v.record(v.string(), v.unknown()),
    }),
  ),
});
describes<Describes<typeof StatusOverviewSchema, StatusOverview>>();

export const LinkLookupSchema = v.object({
  query: v.object({ system: v.string(), id: v.string() }),
  links: v.array(
    v.object({
      source: ObjectViewSchema,
      target: ObjectViewSchema,
      aspects: v.array(
        v.object({ name: v.string(), syncedAt: v.string(), notes: v.optional(v.array(v.string())) }),
      ),
      createdAt: v.string(),
      updatedAt: v.string(),
    }),
  ),
});
describes<Describes<typeof LinkLookupSchema, LinkLookup>>();

const ReplayedSchema = v.object({ replayed: v.pipe(v.number(), v.integer()) });
const ParkedReplayedSchema = v.object({ job_id: v.string(), entity_id: v.pipe(v.number(), v.integer()) });
const OpenApiSchema = v.looseObject({ openapi: v.literal("3.1.0") });

// ---- the components --------------------------------------------------------------------------------

const S = {
  error: named("ErrorBody", ErrorBodySchema),
  legacyError: named("LegacyErrorBody", LegacyErrorSchema),
  form: named("GlpiFormSubmission", FormSubmissionSchema),
  created: named("GlpiTicketCreated", TicketCreatedSchema),
  queued: named("GlpiTicketQueued", TicketQueuedSchema),
  ticketJob: named("GlpiTicketJob", TicketJobSchema),
  webhookDone: named("WebhookDone", WebhookDoneSchema),
  webhookAccepted: named("WebhookAccepted", WebhookAcceptedSchema),
  errorSummary: named("ErrorSummary", ErrorSummarySchema),
  otrsTicketEvent: named("OtrsTicketEvent", OtrsTicketEventSchema),
  otrsPathTicketEvent: named("OtrsPathTicketEvent", PathTicketEventSchema),
  redmineIssueEvent: named("RedmineIssueEvent", IssueEventSchema),
  itopTicketEvent: named("ItopTicketEvent", ItopTicketEventSchema),
  itopAttachmentEvent: named("ItopAttachmentEvent", AttachmentEventSchema),
  itopInternalTicketEvent: named("ItopInternalTicketEvent", InternalTicketEventSchema),
  itopWebhookForm: named("ItopWebhookForm", ItopWebhookFormSchema),
  livechatEvent: named(
    "LivechatEvent",
    v.union([LivechatSessionSchema, OfflineMessageSchema, v.looseObject(LivechatEventSchema.entries)]),
  ),
  livechatAnswer: named("LivechatAnswer", LivechatAnswerSchema),
  otrsNotification: named("OtrsNotificationEvent", NotificationEventSchema),
  rtScripEvent: named("RtScripEvent", ScripEventSchema),
  statusOverview: named("StatusOverview", StatusOverviewSchema),
  linkLookup: named("LinkLookup", LinkLookupSchema),
  replayDeadLetters: named("ReplayDeadLettersForm", ReplayDeadLettersFormSchema),
  replayParked: named("ReplayParkedForm", ReplayParkedFormSchema),
  replayed: named("Replayed", ReplayedSchema),
  parkedReplayed: named("ParkedReplayed", ParkedReplayedSchema),
  openapi: named("OpenApiDocument", OpenApiSchema),
} as const;

/** Every schema of components/schemas (a nested one, like ErrorSummary, becomes a $ref to its own). */
export const COMPONENT_SCHEMAS: readonly NamedSchema[] = Object.values(S);

const ERROR_TEXT: Record<number, string> = {
  400: "A field is missing or wrong: `error.fields` names each one",
  401: "Missing or wrong credentials",
  403: "The request may not have been sent on purpose (CSRF): `error.message` names the header or field",
  404: "Not found",
  409: "The Idempotency-Key was used with another body, or its first request is still running",
  413: "The body is larger than `http.maxBodyBytes`",
  415: "Content-Type must be application/json",
  500: "Internal error: the body carries only the request id",
  502: "The target system refused the request: `error.upstream` has its answer",
  503: "Temporarily unavailable (even the jobs queue could not take the work): retry after Retry-After",
};

/** The standard error answers (lib/core/http.ts ErrorBody) for these statuses. */
function errors(
  statuses: number[],
  schema: NamedSchema = S.error,
  text: Record<number, string> = {},
): Record<number, RouteResponse> {
  return Object.fromEntries(
    statuses.map((status) => [
      status,
      {
        description: text[status] ?? ERROR_TEXT[status] ?? "Error",
        content: { "application/json": schema },
        ...(status === 503 ? { headers: ["Retry-After" as const] } : {}),
      },
    ]),
  );
}

/**
 * The operators' routes' errors (lib/ops/page/route.ts): an HTML page for a browser, the standard JSON
 * body for a caller that prefers JSON; a Basic challenge on 401. 404 also without an `operators` section.
 */
function operatorErrors(statuses: number[], notFound: string): Record<number, RouteResponse> {
  return Object.fromEntries(
    statuses.map((status) => [
      status,
      {
        description:
          status === 404
            ? `${notFound} (or the deployment's config has no \`operators\` section)`
            : (ERROR_TEXT[status] ?? "Error"),
        content: { "text/html": "text", "application/json": S.error },
        ...(status === 401 ? { headers: ["WWW-Authenticate" as const] } : {}),
      },
    ]),
  );
}

const json = (schema: NamedSchema) => ({ "application/json": schema });
const jsonBody = (schema: NamedSchema) => ({ contentTypes: ["application/json"], schema, required: true });
const FORM = "application/x-www-form-urlencoded";
/** A body taken as JSON or as a form (`formSchema`: the form's own fields, when they differ). */
const jsonOrFormBody = (schema: NamedSchema, formSchema?: NamedSchema) => ({
  contentTypes: ["application/json", FORM],
  schema,
  ...(formSchema ? { schemas: { [FORM]: formSchema } } : {}),
  required: true,
});
const WEBHOOK_ERRORS = [400, 401, 413, 415, 500, 503];
const FORM_415 = { 415: "Content-Type must be application/json or application/x-www-form-urlencoded" };

/** The usual answers of a webhook (lib/sync/webhook.ts runEventJob's default answers). */
const webhookResponses = (
  done: string,
  text: Record<number, string> = {},
): Record<number, RouteResponse> => ({
  200: { description: done, content: json(S.webhookDone) },
  202: {
    description:
      "Queued (`job_id`), or refused for good by the target (`status: failed` with the reason: an " +
      "operator can fix it and replay the dead letter)",
    content: json(S.webhookAccepted),
  },
  ...errors(WEBHOOK_ERRORS, S.error, text),
});

const IdempotencyKey: RouteParameter = {
  name: "Idempotency-Key",
  in: "header",
  required: false,
  description: "Repeats with the same key get the first request's answer (and open one ticket)",
  schema: v.pipe(v.string(), v.regex(/^[\x21-\x7e]{1,255}$/)),
};

const glpiForm: Pick<RouteSpec, "tag" | "auth" | "parameters" | "body"> = {
  tag: "glpi-forms",
  auth: "sharedSecret",
  parameters: [IdempotencyKey],
  body: jsonBody(S.form),
};

const itop = (fn: string, path: string, summary: string, body: NamedSchema): RouteSpec => ({
  function: fn,
  method: "POST",
  path,
  tag: "itop-pair",
  summary,
  description:
    "An iTop webhook reports a change, as JSON (ActionWebhook) or form-encoded with the payload in " +
    "`json_data` (the iTop-to-iTop action); the bridge reads the ticket again through the REST API and " +
    "syncs the pair.",
  auth: "sharedSecret",
  body: jsonOrFormBody(body, S.itopWebhookForm),
  responses: webhookResponses("Synced, or ignored (`ignored`: the class is not shared)", {
    ...FORM_415,
    400: "A field is missing or wrong (`error.fields` names each one), or `json_data` is missing or not JSON",
  }),
});

const replayForm = (schema: NamedSchema) => ({
  contentTypes: ["application/x-www-form-urlencoded", "application/json"],
  schema,
  required: true,
});
const seeStatus: RouteResponse = {
  description: "Done: back to the status page, the outcome in its query (a browser's form post)",
  headers: ["Location"],
};
const ACTION_ERRORS = [400, 401, 403, 404, 413, 415, 500];

export const ROUTES: readonly RouteSpec[] = [
  {
    ...glpiForm,
    function: "glpiCreateTicket",
    method: "POST",
    path: "/glpi/tickets",
    summary: "Open a GLPI ticket from a form",
    description:
      "A form or portal opens a ticket in the GLPI entity whose CNPJ matches `cnpj_cliente`. When GLPI " +
      "is unreachable the ticket is queued (202). A CNPJ that matches no entity is parked for an " +
      "operator to assign (404 all the same).",
    responses: {
      201: { description: "Created", content: json(S.created) },
      202: { description: "Queued", content: json(S.queued), headers: ["Location"] },
      ...errors([400, 401, 404, 409, 413, 415, 500, 502, 503], S.error, {
        404: "No GLPI entity has this CNPJ (the request is parked for an operator)",
      }),
    },
  },
  {
    function: "glpiGetTicketJob",
    method: "GET",
    path: "/glpi/tickets/jobs/{id}",
    tag: "glpi-forms",
    summary: "The state of a queued GLPI ticket",
    description: "Pending, done with `ticket_id`, or failed with the reason.",
    auth: "sharedSecret",
    parameters: [
      {
        name: "id",
        in: "path",
        required: true,
        description: "The job id a 202 answered",
        schema: JobIdSchema,
      },
    ],
    responses: {
      200: { description: "The job", content: json(S.ticketJob) },
      ...errors([400, 401, 500], S.error),
      ...errors([404], S.error, { 404: "No ticket job has this id" }),
    },
  },
  {
    ...glpiForm,
    function: "glpiCriarChamado",
    method: "POST",
    path: "/criar-chamado",
    summary: "Open a GLPI ticket (the old Flask app's route and answers)",
    description:
      "The same as POST /glpi/tickets, answering as the old app did: 200 `{ticket_id}`, errors as " +
      "`{erro, …}` in Portuguese.",
    responses: {
      200: { description: "Created", content: json(S.created) },
      202: { description: "Queued", content: json(S.queued), headers: ["Location"] },
      ...errors([400, 401, 404, 409, 413, 415, 500, 502, 503], S.legacyError, {
        400: "Campos obrigatórios ausentes / Campos inválidos: `campos` names them",
        404: "Entidade não encontrada para o CNPJ informado",
        502: "Erro ao criar chamado (GLPI's own status when it answered 4xx)",
      }),
    },
  },
  {
    function: "otrsTicketEvents",
    method: "POST",
    path: "/otrs/ticket-events",
    tag: "otrs-redmine",
    summary: "An OTRS ticket event (GenericInterface invoker)",
    description: "Raw event data `{TicketID, OldTicketData}` or Znuny's Ticket::Generic `{Event, Ticket}`.",
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
  itop("itopCreateTicket", "/api/v1/create-ticket", "The external iTop created a ticket", S.itopTicketEvent),
  itop("itopUpdateTicket", "/api/v1/update-ticket", "A ticket was updated", S.itopTicketEvent),
  itop(
    "itopUpdateAttachment",
    "/api/v1/update-attachment",
    "An attachment was created, updated or deleted",
    S.itopAttachmentEvent,
  ),
  itop(
    "itopPrivateLog",
    "/api/v1/ticket-update-private-log",
    "The internal iTop's private log changed",
    S.itopInternalTicketEvent,
  ),
  itop(
    "itopStateChange",
    "/api/v1/ticket-state-change",
    "An internal iTop ticket entered a state",
    S.itopInternalTicketEvent,
  ),
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
    summary: "An OTRS ticket event, posted to the Rocket.Chat channels its rules pick",
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
  {
    function: "rtTicketEvents",
    method: "POST",
    path: "/rt/ticket-events",
    tag: "rt-kanban",
    summary: "An RT Scrip reports a ticket change",
    description:
      "Only ids, as JSON or form fields (`ticket_id=…`): the bridge reads the ticket again and moves its " +
      "Kanboard card.",
    auth: "sharedSecret",
    body: jsonOrFormBody(S.rtScripEvent),
    responses: webhookResponses("Synced, or ignored (`ignored`: the bridge's own change)", FORM_415),
  },
  {
    function: "ping",
    method: "GET",
    path: "/ping",
    tag: "health",
    summary: "Health check",
    description: "Public: reveals nothing, touches nothing.",
    auth: "none",
    responses: { 200: { description: "Alive", content: { "text/plain": "text" } } },
  },
  {
    function: "opsStatus",
    method: "GET",
    path: "/status",
    tag: "operators",
    summary: "The operators' status page",
    description:
      "Per integration: events received, jobs succeeded, retrying and dead-lettered over the last hour " +
      "and day, the last success and failure; dead letters and parked requests. HTML, or JSON with " +
      "`Accept: application/json`.",
    auth: "sharedSecret",
    responses: {
      200: {
        description: "The status",
        content: { "text/html": "text", "application/json": S.statusOverview },
      },
      ...operatorErrors([401, 404, 500], "Not found"),
    },
  },
  {
    function: "opsReplayDeadLetters",
    method: "POST",
    path: "/status/dead-letters/replay",
    tag: "operators",
    summary: "Replay one dead letter, or all",
    description:
      "Puts the dead letter named by `id` (or every one, with `all`) back on the jobs queue. A browser's " +
      "form needs `csrf_token`; a caller authenticated by the header does not.",
    auth: "sharedSecret",
    body: replayForm(S.replayDeadLetters),
    responses: {
      200: { description: "Replayed (callers that prefer JSON)", content: json(S.replayed) },
      303: seeStatus,
      ...operatorErrors(ACTION_ERRORS, "No dead letter has this id"),
    },
  },
  {
    function: "opsReplayParked",
    method: "POST",
    path: "/status/parked/{id}/replay",
    tag: "operators",
    summary: "Assign a parked GLPI request to an entity and replay it",
    description: "The request keeps its job id, so a replay never opens two tickets.",
    auth: "sharedSecret",
    parameters: [
      { name: "id", in: "path", required: true, description: "The parked request's id", schema: JobIdSchema },
    ],
    body: replayForm(S.replayParked),
    responses: {
      202: { description: "Queued (callers that prefer JSON)", content: json(S.parkedReplayed) },
      303: seeStatus,
      ...operatorErrors(ACTION_ERRORS, "No parked request has this id"),
    },
  },
  {
    function: "opsLinks",
    method: "GET",
    path: "/status/links",
    tag: "operators",
    summary: "Every object linked to one object",
    description:
      "Give a system and an id (an OTRS ticket number, a Redmine issue, an iTop ref, an RT ticket, a " +
      "GLPI ticket): every linked object with its URL and the last sync of each aspect.",
    auth: "sharedSecret",
    parameters: [
      {
        name: "system",
        in: "query",
        required: true,
        description: "otrs, redmine, itop, rt, glpi…",
        schema: RefSchema.entries.system,
      },
      {
        name: "id",
        in: "query",
        required: true,
        description: "The object's id",
        schema: RefSchema.entries.id,
      },
    ],
    responses: {
      200: { description: "The links", content: { "text/html": "text", "application/json": S.linkLookup } },
      ...operatorErrors([400, 401, 404, 500], "Not found"),
    },
  },
  {
    function: "openapi",
    method: "GET",
    path: "/openapi.json",
    tag: "health",
    summary: "This document",
    description: "OpenAPI 3.1, generated from the schemas the routes validate with.",
    auth: "none",
    responses: { 200: { description: "The OpenAPI document", content: json(S.openapi) } },
  },
];
