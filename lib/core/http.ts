import { randomUUID } from "node:crypto";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import * as v from "valibot";
import {
  asBridgeError,
  type BridgeError,
  PayloadError,
  UpstreamAuthError,
  UpstreamError,
  UpstreamPermanentError,
  UpstreamRetryableError,
  ValidationError,
} from "./errors.ts";
import { toFieldProblems } from "./field-problems.ts";
import { logger } from "./logger.ts";

/** What a route handler sees of an API Gateway HTTP API (payload v2) event. */
export interface HttpRequest {
  method: string;
  path: string;
  /** Header names in lower case. */
  headers: Readonly<Record<string, string>>;
  query: Readonly<Record<string, string>>;
  pathParameters: Readonly<Record<string, string>>;
  /** The body as text (base64 decoded); "" when there is none. */
  body: string;
  requestId: string;
}

/** A JSON (or, with `text`, plain text) response. */
export interface HttpResponse {
  status: number;
  body?: unknown;
  text?: string;
  headers?: Record<string, string>;
}

/** The error body every route answers with, unless it speaks a legacy dialect. */
export interface ErrorBody {
  error: { code: string; message: string; fields?: { path: string; message: string }[]; upstream?: unknown };
  request_id: string;
}

/** Reshapes the standard error answer for a route that must answer as an older system did. */
export type ErrorDialect = (
  error: BridgeError,
  standard: { status: number; body: ErrorBody; headers?: Record<string, string> },
) => HttpResponse;

export interface RouteOptions {
  /** Route name for logs, e.g. `glpi.create-ticket`. */
  name: string;
  /** Throws AuthenticationError when the caller may not call the route. Runs before the body is read. */
  authenticate?: (request: HttpRequest) => void | Promise<void>;
  errorDialect?: ErrorDialect;
}

export type RouteHandler = (request: HttpRequest) => Promise<HttpResponse>;
export type LambdaHttpHandler = (
  event: APIGatewayProxyEventV2,
  context?: Partial<Context>,
) => Promise<APIGatewayProxyStructuredResultV2>;

/**
 * Wraps a route: request id and logging context, authentication, and the single place where
 * errors become HTTP responses (4xx explain and name fields; 5xx carry only the request id).
 */
export function httpRoute(options: RouteOptions, handle: RouteHandler): LambdaHttpHandler {
  return async (event, context) => {
    const request = toRequest(event, context);
    logger.appendKeys({ request_id: request.requestId, route: options.name });
    try {
      await options.authenticate?.(request);
      const response = await handle(request);
      logger.info("request handled", { status: response.status });
      return toResult(response, request.requestId);
    } catch (thrown) {
      const error = asBridgeError(thrown);
      const standard = errorResponse(error, request.requestId);
      if (standard.status >= 500) logger.error("request failed", { error: describeError(error) });
      else logger.warn("request refused", { status: standard.status, code: error.code });
      const response = options.errorDialect ? options.errorDialect(error, standard) : standard;
      return toResult(response, request.requestId);
    } finally {
      logger.removeKeys(["request_id", "route"]);
    }
  };
}

/** Maps any bridge error to its status and standard body. */
export function errorResponse(
  error: BridgeError,
  requestId: string,
): { status: number; body: ErrorBody; headers?: Record<string, string> } {
  if (error instanceof ValidationError) {
    return {
      status: 400,
      body: {
        error: { code: error.code, message: error.message, fields: error.fields },
        request_id: requestId,
      },
    };
  }
  if (error instanceof UpstreamPermanentError || error instanceof UpstreamAuthError) {
    const { system, status, vendorCode, vendorMessage } = error.upstream;
    return {
      status: error.status,
      body: {
        error: {
          code: error.code,
          message: error.message,
          upstream: { system, status, code: vendorCode, message: vendorMessage },
        },
        request_id: requestId,
      },
    };
  }
  if (error instanceof UpstreamRetryableError) {
    // Only reached when even the jobs queue could not take the work: the sender must retry.
    return {
      status: 503,
      headers: { "retry-after": "5" },
      body: {
        error: { code: error.code, message: "temporarily unavailable, retry later" },
        request_id: requestId,
      },
    };
  }
  if (error.status < 500) {
    return {
      status: error.status,
      body: { error: { code: error.code, message: error.message }, request_id: requestId },
    };
  }
  return {
    status: 500,
    body: { error: { code: "internal_error", message: "internal error" }, request_id: requestId },
  };
}

/**
 * How a route takes a form-encoded body (`application/x-www-form-urlencoded`) besides JSON: each field a
 * member of the object (`ticket_id=7&type=Status`, an RT Scrip's post; a repeated field becomes a list,
 * which the schema refuses by name), or one field holding the JSON object (iTop's webhook extension
 * posts `version=1.3&json_data={…}`).
 */
export type FormBody = { kind: "fields" } | { kind: "json-field"; field: string };

const JSON_TYPE = /^application\/([a-z0-9.+-]*\+)?json\b/i;
const FORM_TYPE = /^application\/x-www-form-urlencoded\b/i;

/** Whether a Content-Type declares JSON (`application/json`, `application/*+json`, any parameters). */
export const isJsonType = (type: string | undefined): boolean => JSON_TYPE.test(type ?? "");
/** Whether a Content-Type declares an HTML form (`application/x-www-form-urlencoded`). */
export const isFormType = (type: string | undefined): boolean => FORM_TYPE.test(type ?? "");

/**
 * Reads the body as JSON or, where the route takes one (`form`), as a form, and validates it: 415 for
 * another Content-Type, 413 over `maxBytes`, 400 naming every bad field (the same fields, with the same
 * words, whichever way the body came), the unreadable JSON, or the form field that should hold it.
 */
export function readBody<const S extends v.GenericSchema>(
  request: HttpRequest,
  schema: S,
  maxBytes: number,
  form?: FormBody,
): v.InferOutput<S> {
  const type = request.headers["content-type"];
  const asForm = form !== undefined && isFormType(type);
  if (!asForm && !isJsonType(type)) {
    throw new PayloadError(
      415,
      form
        ? "Content-Type must be application/json or application/x-www-form-urlencoded"
        : "Content-Type must be application/json",
    );
  }
  if (Buffer.byteLength(request.body, "utf8") > maxBytes) {
    throw new PayloadError(413, `body exceeds ${maxBytes} bytes`);
  }
  if (!asForm) return validate(schema, parseJson(request.body, "(body)"));
  const fields = formFields(request.body);
  if (form.kind === "fields") return validate(schema, fields);
  const text = fields[form.field];
  if (text === undefined) throw new ValidationError([{ path: form.field, message: "is required" }]);
  if (typeof text !== "string") {
    throw new ValidationError([{ path: form.field, message: "must be given once" }]);
  }
  const value = parseJson(text, form.field);
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ValidationError([{ path: form.field, message: "must hold a JSON object" }]);
  }
  return validate(schema, value);
}

/** Parses the body as JSON and validates it; 415, 413 or 400 naming every bad field otherwise. */
export function readJsonBody<const S extends v.GenericSchema>(
  request: HttpRequest,
  schema: S,
  maxBytes: number,
): v.InferOutput<S> {
  return readBody(request, schema, maxBytes);
}

/** The fields of a form body (`+` is a space); a field given more than once becomes a list. */
export function formFields(body: string): Record<string, string | string[]> {
  const fields = new Map<string, string | string[]>();
  for (const [name, value] of new URLSearchParams(body)) {
    const seen = fields.get(name);
    fields.set(name, seen === undefined ? value : [...(Array.isArray(seen) ? seen : [seen]), value]);
  }
  return Object.fromEntries(fields);
}

function parseJson(text: string, path: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ValidationError([{ path, message: "is not valid JSON" }]);
  }
}

/**
 * Validates a route's path parameters (`{ticketId}` → `ticketId`) and reads its body with `readBody`;
 * a 400 names the bad path parameters and the body's bad fields together.
 */
export function readPathAndBody<const P extends v.GenericSchema, B>(
  request: HttpRequest,
  pathSchema: P,
  readBody: () => B,
): { path: v.InferOutput<P>; body: B } {
  const path = v.safeParse(pathSchema, request.pathParameters, { abortEarly: false, abortPipeEarly: true });
  const problems = path.success ? [] : toFieldProblems(path.issues);
  let body: B;
  try {
    body = readBody();
  } catch (error) {
    if (error instanceof ValidationError && problems.length > 0) {
      throw new ValidationError([...problems, ...error.fields]);
    }
    throw error;
  }
  if (!path.success) throw new ValidationError(problems);
  return { path: path.output, body };
}

/** Validates a value with a schema; a ValidationError lists every problem with its path. */
export function validate<const S extends v.GenericSchema>(schema: S, value: unknown): v.InferOutput<S> {
  const result = v.safeParse(schema, value, { abortEarly: false });
  if (!result.success) throw new ValidationError(toFieldProblems(result.issues));
  return result.output;
}

/** A short, secret-free description of an error for logs. */
export function describeError(error: BridgeError): Record<string, unknown> {
  const described: Record<string, unknown> = { name: error.name, code: error.code, message: error.message };
  if (error instanceof UpstreamError) described.upstream = error.upstream;
  if (error.cause instanceof Error) described.cause = `${error.cause.name}: ${error.cause.message}`;
  if (error.status >= 500 && error.stack) described.stack = error.stack;
  return described;
}

function toRequest(event: APIGatewayProxyEventV2, context?: Partial<Context>): HttpRequest {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (value !== undefined) headers[name.toLowerCase()] = value;
  }
  const query: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.queryStringParameters ?? {})) {
    if (value !== undefined) query[name] = value;
  }
  const pathParameters: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.pathParameters ?? {})) {
    if (value !== undefined) pathParameters[name] = value;
  }
  const rawBody = event.body ?? "";
  return {
    method: event.requestContext?.http?.method ?? "GET",
    path: event.rawPath ?? event.requestContext?.http?.path ?? "/",
    headers,
    query,
    pathParameters,
    body: event.isBase64Encoded ? Buffer.from(rawBody, "base64").toString("utf8") : rawBody,
    requestId: event.requestContext?.requestId ?? context?.awsRequestId ?? randomUUID(),
  };
}

function toResult(response: HttpResponse, requestId: string): APIGatewayProxyStructuredResultV2 {
  const headers: Record<string, string> = { "x-request-id": requestId, ...response.headers };
  if (response.text !== undefined) {
    return {
      statusCode: response.status,
      headers: { "content-type": "text/plain; charset=utf-8", ...headers },
      body: response.text,
    };
  }
  return {
    statusCode: response.status,
    headers: { "content-type": "application/json", ...headers },
    body: response.body === undefined ? "" : JSON.stringify(response.body),
  };
}

/** A JSON response. */
export function json(status: number, body: unknown, headers?: Record<string, string>): HttpResponse {
  return headers ? { status, body, headers } : { status, body };
}
