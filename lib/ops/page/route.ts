import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import * as v from "valibot";
import { getConfig } from "../../core/config.ts";
import { PayloadError, ValidationError } from "../../core/errors.ts";
import {
  type ErrorBody,
  type ErrorDialect,
  type HttpRequest,
  type HttpResponse,
  httpRoute,
  isFormType,
  isJsonType,
  json,
  type LambdaHttpHandler,
  type RouteHandler,
  validate,
} from "../../core/http.ts";
import { authenticateOperator, CSRF_FIELD, checkCsrf, ForbiddenError } from "../auth.ts";
import { html, htmlResponse, SECURITY_HEADERS, seeOther } from "./html.ts";
import { layout, PAGE_CSP } from "./layout.ts";

/** What a browser is asked for on a 401: the operator secret as the Basic auth password. */
export const WWW_AUTHENTICATE = 'Basic realm="deskbridge", charset="UTF-8"';

/**
 * Wraps an operators' route: the operator secret (404 without an `operators` section), errors as an
 * HTML page for a browser or the standard JSON body for the CLI, a Basic challenge on every 401, and
 * the security headers (no-store, nosniff, no referrer; the content security policy on pages).
 */
export function opsRoute(name: string, handle: RouteHandler): LambdaHttpHandler {
  const asJson = httpRoute({ name, authenticate: authenticateOperator, errorDialect: jsonDialect }, handle);
  const asHtml = httpRoute({ name, authenticate: authenticateOperator, errorDialect: htmlDialect }, handle);
  return async (event, context) => {
    const headers = lowerCased(event.headers ?? {});
    const route = prefersJson(headers) ? asJson : asHtml;
    return withSecurityHeaders(await route(event, context));
  };
}

/**
 * Whether the caller wants JSON: it asks for it and not for HTML (a browser's navigation asks for
 * text/html), or it posts JSON and says nothing about what it accepts.
 */
export function prefersJson(headers: Readonly<Record<string, string>>): boolean {
  const accept = (headers.accept ?? "").toLowerCase();
  if (accept.includes("text/html")) return false;
  if (accept.includes("application/json")) return true;
  return /^application\/json\b/i.test(headers["content-type"] ?? "");
}

/** The fields of an action: a form (application/x-www-form-urlencoded) or a JSON object. */
export type ActionFields = Record<string, string>;

/**
 * Reads an action's body (415 for another content type, 413 when too large), then refuses it (403)
 * unless it may have been sent on purpose (see checkCsrf): before any field is looked at.
 */
export function readAction(request: HttpRequest): ActionFields {
  const type = request.headers["content-type"];
  const maxBytes = getConfig().http.maxBodyBytes;
  if (Buffer.byteLength(request.body, "utf8") > maxBytes) {
    throw new PayloadError(413, `body exceeds ${maxBytes} bytes`);
  }
  let fields: ActionFields;
  if (isFormType(type)) {
    fields = Object.fromEntries(new URLSearchParams(request.body));
  } else if (isJsonType(type)) {
    fields = jsonFields(request.body);
  } else if (request.body === "") {
    fields = {};
  } else {
    throw new PayloadError(415, "Content-Type must be application/x-www-form-urlencoded or application/json");
  }
  checkCsrf(request, fields[CSRF_FIELD] ?? request.headers["x-csrf-token"]);
  return fields;
}

/** After an action: 303 back to the status page with the flash in its query, or JSON for the CLI. */
export function actionAnswer(
  request: HttpRequest,
  status: number,
  body: Record<string, unknown>,
  flash: Record<string, string>,
): HttpResponse {
  if (prefersJson(request.headers)) return json(status, body);
  return seeOther(`/status?${new URLSearchParams(flash).toString()}`);
}

const JsonFieldsSchema = v.record(
  v.string(),
  v.union([v.string(), v.number(), v.boolean()], "must be a string, a number or a boolean"),
);

function jsonFields(body: string): ActionFields {
  let raw: unknown;
  try {
    raw = body === "" ? {} : JSON.parse(body);
  } catch {
    throw new ValidationError([{ path: "(body)", message: "is not valid JSON" }]);
  }
  if (typeof raw === "object" && raw !== null && !Array.isArray(raw) && "" in raw) {
    throw new ValidationError([{ path: "(body)", message: "has a field without a name" }]);
  }
  const parsed = validate(JsonFieldsSchema, raw);
  return Object.fromEntries(Object.entries(parsed).map(([name, value]) => [name, String(value)]));
}

/** The standard JSON error, naming the refused header or field of a 403 too. */
const jsonDialect: ErrorDialect = (error, standard) => {
  if (error instanceof ForbiddenError) {
    return json(403, withField(standard.body, error.field, error.message), standard.headers);
  }
  return standard;
};

/** The same error as a small page (a 5xx shows only the request id, as the JSON body does). */
const htmlDialect: ErrorDialect = (error, standard) => {
  const body =
    error instanceof ForbiddenError ? withField(standard.body, error.field, error.message) : standard.body;
  const title = standard.status === 401 ? "Sign-in required" : `Error ${standard.status}`;
  const message =
    standard.status === 401
      ? "The status page needs the operator secret as the password (any user name)."
      : body.error.message;
  return htmlResponse(
    standard.status,
    layout(
      title,
      html`<section id="error"><h2>${title}</h2>
<div class="banner error" role="alert"><code>${body.error.code}</code> ${message}${(
        body.error.fields ?? []
      ).map((field) => html`<br><code>${field.path}</code> ${field.message}`)}</div>
<p class="muted">Request id <code>${body.request_id}</code> · <a href="/status">back to the status page</a></p></section>`,
    ),
    standard.headers,
  );
};

function withField(body: ErrorBody, path: string, message: string): ErrorBody {
  return { ...body, error: { ...body.error, fields: [{ path, message }] } };
}

function withSecurityHeaders(result: APIGatewayProxyStructuredResultV2): APIGatewayProxyStructuredResultV2 {
  // The policy goes on JSON answers too: should one ever be rendered as a page, nothing in it runs.
  const headers: Record<string, string | number | boolean> = {
    ...result.headers,
    ...SECURITY_HEADERS,
    "content-security-policy": PAGE_CSP,
  };
  if (result.statusCode === 401) headers["www-authenticate"] = WWW_AUTHENTICATE;
  return { ...result, headers };
}

function lowerCased(headers: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers))
    if (value !== undefined) out[name.toLowerCase()] = value;
  return out;
}
