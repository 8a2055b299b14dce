import * as v from "valibot";
import type { ErrorBody } from "../core/http.ts";
import type { ErrorSummary } from "./webhook.ts";

/**
 * What an HTTP route's OpenAPI description is made of, and the answers every webhook shares. Each
 * integration describes its own routes in lib/sync/<id>/routes.ts from the very schemas its handlers
 * validate with; lib/ops/routes.ts adds the operators' routes and lib/ops/openapi.ts builds the
 * document. Only the document's generator and the tests import these: no Lambda bundles them.
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

export const named = (name: string, schema: v.GenericSchema): NamedSchema => ({ name, schema });

/** Compile-time check that a documentation schema still describes a shape the code returns. */
export type Describes<S extends v.GenericSchema, T> = v.InferOutput<S> extends T ? true : false;
export const describes = <_ extends true>() => undefined;

// ---- the answers every webhook shares --------------------------------------------------------------

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

const ErrorSummarySchema = v.object({
  code: v.string(),
  message: v.string(),
  upstream: v.optional(UpstreamSchema),
});
describes<Describes<typeof ErrorSummarySchema, ErrorSummary>>();

const WebhookDoneSchema = v.object({
  ignored: v.optional(v.pipe(v.string(), v.description("Why the event changed nothing"))),
});
const WebhookAcceptedSchema = v.object({
  job_id: v.string(),
  status: v.optional(v.pipe(v.literal("failed"), v.description("The target refused it for good"))),
  error: v.optional(ErrorSummarySchema),
});

/** The schemas every integration's routes share, under components/schemas. */
export const SHARED = {
  error: named("ErrorBody", ErrorBodySchema),
  webhookDone: named("WebhookDone", WebhookDoneSchema),
  webhookAccepted: named("WebhookAccepted", WebhookAcceptedSchema),
  errorSummary: named("ErrorSummary", ErrorSummarySchema),
} as const;

export const ERROR_TEXT: Record<number, string> = {
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
export function errors(
  statuses: number[],
  schema: NamedSchema = SHARED.error,
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

export const json = (schema: NamedSchema) => ({ "application/json": schema });
export const jsonBody = (schema: NamedSchema) => ({
  contentTypes: ["application/json"],
  schema,
  required: true,
});
export const FORM = "application/x-www-form-urlencoded";
/** A body taken as JSON or as a form (`formSchema`: the form's own fields, when they differ). */
export const jsonOrFormBody = (schema: NamedSchema, formSchema?: NamedSchema) => ({
  contentTypes: ["application/json", FORM],
  schema,
  ...(formSchema ? { schemas: { [FORM]: formSchema } } : {}),
  required: true,
});
export const WEBHOOK_ERRORS = [400, 401, 413, 415, 500, 503];
export const FORM_415 = { 415: "Content-Type must be application/json or application/x-www-form-urlencoded" };

/** The usual answers of a webhook (lib/sync/webhook.ts runEventJob's default answers). */
export const webhookResponses = (
  done: string,
  text: Record<number, string> = {},
): Record<number, RouteResponse> => ({
  200: { description: done, content: json(SHARED.webhookDone) },
  202: {
    description:
      "Queued (`job_id`), or refused for good by the target (`status: failed` with the reason: an " +
      "operator can fix it and replay the dead letter)",
    content: json(SHARED.webhookAccepted),
  },
  ...errors(WEBHOOK_ERRORS, SHARED.error, text),
});

export const IdempotencyKey: RouteParameter = {
  name: "Idempotency-Key",
  in: "header",
  required: false,
  description: "Repeats with the same key get the first request's answer (and open one ticket)",
  schema: v.pipe(v.string(), v.regex(/^[\x21-\x7e]{1,255}$/)),
};
