import { createHash } from "node:crypto";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { ScanCommand, type ScanCommandOutput } from "@aws-sdk/client-dynamodb";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import type { HttpRoute } from "../../infra/local/routes.ts";
import type { LambdaHttpHandler } from "../../lib/core/http.ts";
import { httpEvent, type Stack } from "../helpers/stack.ts";

/** `POST /glpi/tickets`: how routes are named in tests, reports and the summary. */
export const routeKey = (route: Pick<HttpRoute, "method" | "path">) => `${route.method} ${route.path}`;

/**
 * Loads a route's handler from the file serverless.yml names (`functions/x/y.handler` →
 * functions/x/y.ts, export `handler`). Call after `setupStack`, which sets the environment it reads.
 */
export async function loadHandler(route: HttpRoute): Promise<LambdaHttpHandler> {
  const dot = route.handler.lastIndexOf(".");
  const file = resolve(`${route.handler.slice(0, dot)}.ts`);
  const exported = route.handler.slice(dot + 1);
  const module = (await import(/* @vite-ignore */ pathToFileURL(file).href)) as Record<string, unknown>;
  const handler = module[exported];
  if (typeof handler !== "function") throw new Error(`${file} exports no function "${exported}"`);
  return handler as LambdaHttpHandler;
}

/** Path parameters for a route's `{name}` segments, each set to `value`. */
export function pathParametersOf(path: string, value = "1"): Record<string, string> {
  return Object.fromEntries([...path.matchAll(/\{([^}+]+)\+?\}/g)].map((m) => [m[1] ?? "", value]));
}

/** One request as API Gateway would hand it to the route. */
export interface Request {
  method: string;
  path: string;
  headers: Record<string, string>;
  query?: Record<string, string> | undefined;
  pathParameters?: Record<string, string> | undefined;
  /** The body text; undefined sends no body at all. */
  body?: string | undefined;
  /** A base64 body sent with isBase64Encoded (as API Gateway does for binary media types); wins over `body`. */
  base64?: string | undefined;
}

export function toEvent(request: Request): APIGatewayProxyEventV2 {
  const event = httpEvent({
    method: request.method,
    path: request.path.replace(/\{([^}+]+)\+?\}/g, (_, name: string) =>
      encodeURIComponent(wellFormed(request.pathParameters?.[name] ?? "")),
    ),
    headers: request.headers,
    ...(request.query ? { query: request.query } : {}),
    ...(request.pathParameters ? { pathParameters: request.pathParameters } : {}),
    ...(request.body !== undefined ? { rawBody: request.body } : {}),
  });
  if (request.base64 !== undefined) return { ...event, body: request.base64, isBase64Encoded: true };
  return event;
}

/** The string with each lone surrogate replaced by U+FFFD, as a client would have to send it in a URL. */
function wellFormed(text: string): string {
  return text.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd");
}

/** Everything a route could have written to: every fake's calls, both queues, the links table. */
export interface Footprint {
  calls: Record<string, number>;
  jobs: number;
  deadLetters: number;
  items: number;
  /** A digest of every item, so that an update in place shows too. */
  itemsDigest: string;
}

export async function footprint(stack: Stack): Promise<Footprint> {
  const [jobs, deadLetters, table] = await Promise.all([
    stack.queueDepth(stack.resources.jobsQueueUrl),
    stack.queueDepth(stack.resources.deadLetterQueueUrl),
    scanTable(stack),
  ]);
  return {
    calls: {
      glpi: stack.glpi.calls.length,
      otrs: stack.otrs.calls.length,
      redmine: stack.redmine.calls.length,
      "itop.external": stack.itop.external.calls.length,
      "itop.internal": stack.itop.internal.calls.length,
      rt: stack.rt.calls.length,
      kanboard: stack.kanboard.calls.length,
      rocketchat: stack.rocketchat.calls.length,
      "rocketchat.messages": stack.rocketchat.messages.length,
    },
    jobs,
    deadLetters,
    items: table.length,
    itemsDigest: createHash("sha256").update(table.sort().join("\n")).digest("hex"),
  };
}

async function scanTable(stack: Stack): Promise<string[]> {
  const items: string[] = [];
  let start: ScanCommandOutput["LastEvaluatedKey"];
  do {
    const page: ScanCommandOutput = await stack.dynamo.send(
      new ScanCommand({ TableName: stack.resources.table, ConsistentRead: true, ExclusiveStartKey: start }),
    );
    for (const item of page.Items ?? []) items.push(JSON.stringify(item, Object.keys(item).sort()));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

/** What changed between two footprints, in words ("" when nothing did). */
export function footprintChanges(before: Footprint, after: Footprint): string {
  const changes: string[] = [];
  for (const [name, count] of Object.entries(after.calls)) {
    const was = before.calls[name] ?? 0;
    if (count !== was) changes.push(`${name} received ${count - was} call(s)`);
  }
  if (after.jobs !== before.jobs) changes.push(`jobs queue ${before.jobs} → ${after.jobs}`);
  if (after.deadLetters !== before.deadLetters)
    changes.push(`dead-letter queue ${before.deadLetters} → ${after.deadLetters}`);
  if (after.items !== before.items) changes.push(`table items ${before.items} → ${after.items}`);
  else if (after.itemsDigest !== before.itemsDigest) changes.push("a table item was updated in place");
  return changes.join("; ");
}

/** How a route words its errors. */
export type ErrorDialect = "standard" | "flask" | "operator";

/**
 * Why a 4xx answer does not explain itself in the route's dialect (undefined when it does). Standard:
 * `{"error": {code, message, fields?}, "request_id"}`, a 400 naming every bad field with a path and a
 * message. Flask (POST /criar-chamado, as the old app answered): `{"erro": …}`, a 400 listing its
 * `campos`, each of them either in `campos_ausentes` or described in `detalhes` ({campo, problema}).
 * Operator (the status page's routes): the standard body when JSON was asked for, otherwise a page
 * whose alert banner gives the error code and, for a 400, names each bad field.
 */
export function errorBodyProblem(
  dialect: ErrorDialect,
  result: APIGatewayProxyStructuredResultV2,
): string | undefined {
  const status = result.statusCode ?? 0;
  const type = String(result.headers?.["content-type"] ?? "");
  if (dialect === "operator" && type.startsWith("text/html")) {
    const page = result.body ?? "";
    const banner = /<div class="banner error" role="alert"[^>]*>([\s\S]*?)<\/div>/.exec(page)?.[1];
    if (!banner) return "a page without an alert banner";
    if (!/<code>[^<]+<\/code>|<strong>[^<]+<\/strong>/.test(banner))
      return "an alert banner without the error";
    if (status === 400 && !/<br><code>[^<]+<\/code>\s*\S/.test(banner))
      return "a 400 page that names no field with its problem";
    return undefined;
  }
  let body: unknown;
  try {
    body = JSON.parse(result.body ?? "");
  } catch {
    return "the body is not JSON";
  }
  if (!isRecord(body)) return "the body is not a JSON object";
  if (dialect === "flask") {
    if (!nonEmptyString(body.erro)) return "no `erro` message";
    if (status !== 400) return undefined;
    const campos = body.campos;
    if (!Array.isArray(campos) || campos.length === 0 || !campos.every(nonEmptyString))
      return "a 400 without `campos` naming the fields";
    const missing = Array.isArray(body.campos_ausentes) ? body.campos_ausentes : [];
    const details = Array.isArray(body.detalhes) ? body.detalhes : [];
    if (!details.every((d) => isRecord(d) && nonEmptyString(d.campo) && nonEmptyString(d.problema)))
      return "a `detalhes` entry without campo and problema";
    const explained = new Set([...missing, ...details.map((d) => (d as { campo: string }).campo)]);
    const unexplained = campos.filter((campo) => !explained.has(campo));
    return unexplained.length > 0 ? `campos without a reason: ${unexplained.join(", ")}` : undefined;
  }
  const error = body.error;
  if (!isRecord(error) || !nonEmptyString(error.code)) return "no `error.code`";
  if (typeof error.message !== "string") return "no `error.message`";
  if (!nonEmptyString(body.request_id)) return "no `request_id`";
  if (status !== 400) return undefined;
  const fields = error.fields;
  if (!Array.isArray(fields) || fields.length === 0) return "a 400 without `error.fields`";
  if (!fields.every((f) => isRecord(f) && nonEmptyString(f.path) && nonEmptyString(f.message)))
    return "an `error.fields` entry without a path and a message";
  return undefined;
}

export const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);
const nonEmptyString = (value: unknown): value is string => typeof value === "string" && value.length > 0;

/** A value cut to `max` characters for a report. */
export function clip(text: string, max = 200): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} chars)`;
}
