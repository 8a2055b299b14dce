import { type ConversionConfig, toJsonSchema, toJsonSchemaDefs } from "@valibot/to-json-schema";
import type * as v from "valibot";
import { COMPONENT_SCHEMAS, ROUTES, type RouteAuth, type RouteResponse, type RouteSpec } from "./routes.ts";

/** The document's version: the package's (a constant, so the bundle does not carry package.json). */
export const API_VERSION = "0.1.0";

type Json = Record<string, unknown>;

/**
 * Request bodies are described as the sender writes them (`typeMode: "input"`: a pipe stops at its
 * first transform, so `"42"` or `42` for an id, not the string the handler goes on with). Checks that
 * JSON Schema cannot say (`v.check`, a CNPJ's check digits) are left out rather than failing the
 * document (`errorMode: "ignore"`); the handler still applies them and names the field in its 400.
 */
const CONVERSION: ConversionConfig = {
  target: "draft-2020-12",
  typeMode: "input",
  errorMode: "ignore",
  overrideRef: (context) => `#/components/schemas/${context.referenceId}`,
};

const SECURITY_SCHEMES = {
  sharedSecretHeader: {
    type: "apiKey",
    in: "header",
    name: "X-Deskbridge-Token",
    description:
      "The integration's shared secret (the header is X-Deskbridge-Token unless `auth.header` says otherwise)",
  },
  basicAuth: {
    type: "http",
    scheme: "basic",
    description: "The shared secret as the password; the user name is ignored (what a browser prompts for)",
  },
  queryToken: {
    type: "apiKey",
    in: "query",
    name: "token",
    description: "The shared secret as `?token=`, only where the config sets `auth.allowQueryToken`",
  },
  redmineSignature: {
    type: "apiKey",
    in: "header",
    name: "X-Redmine-Signature-256",
    description:
      "`sha256=` and the hex HMAC-SHA256 of the raw body with the secret `redmineWebhookSecret` names (Redmine 7's webhooks)",
  },
  livechatToken: {
    type: "apiKey",
    in: "header",
    name: "X-RocketChat-Livechat-Token",
    description: "The secret Rocket.Chat's Omnichannel webhook sends",
  },
} as const;

/** Alternatives: any one of them authenticates. */
const SECURITY: Record<RouteAuth, Json[]> = {
  none: [],
  sharedSecret: [{ sharedSecretHeader: [] }, { basicAuth: [] }, { queryToken: [] }],
  livechat: [{ livechatToken: [] }, { basicAuth: [] }],
  sharedSecretOrRedmineSignature: [
    { sharedSecretHeader: [] },
    { basicAuth: [] },
    { queryToken: [] },
    { redmineSignature: [] },
  ],
};

const HEADERS = {
  "X-Request-Id": { description: "The request's id, also in the logs", schema: { type: "string" } },
  Location: { description: "Where to look next", schema: { type: "string" } },
  "Retry-After": { description: "Seconds to wait before retrying", schema: { type: "integer" } },
  "WWW-Authenticate": {
    description: "The Basic auth challenge a browser answers",
    schema: { type: "string" },
  },
} as const;

let cached: Json | undefined;

/** The OpenAPI 3.1 document of every route (lib/ops/routes.ts), built once per process. */
export function openApiDocument(): Json {
  cached ??= buildDocument();
  return cached;
}

function buildDocument(): Json {
  const definitions: Record<string, v.GenericSchema> = {};
  for (const { name, schema } of COMPONENT_SCHEMAS) {
    if (definitions[name] && definitions[name] !== schema) throw new Error(`two schemas are named ${name}`);
    definitions[name] = schema;
  }
  const paths: Record<string, Json> = {};
  for (const route of ROUTES) {
    paths[route.path] = { ...paths[route.path], [route.method.toLowerCase()]: operation(route) };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "deskbridge",
      version: API_VERSION,
      description:
        "Keeps tickets in sync between helpdesk and issue-tracking systems. Errors answer " +
        "`{error: {code, message, fields?}, request_id}`; a 400 names every bad field.",
      license: { name: "MIT", identifier: "MIT" },
    },
    jsonSchemaDialect: "https://spec.openapis.org/oas/3.1/dialect/base",
    servers: [{ url: "/", description: "The deployment serving this document" }],
    tags: [...new Set(ROUTES.map((route) => route.tag))].map((name) => ({ name })),
    paths,
    components: {
      schemas: toJsonSchemaDefs(definitions, CONVERSION),
      securitySchemes: SECURITY_SCHEMES,
      headers: HEADERS,
    },
  };
}

function operation(route: RouteSpec): Json {
  const parameters = (route.parameters ?? []).map((parameter) => ({
    name: parameter.name,
    in: parameter.in,
    required: parameter.required,
    description: parameter.description,
    schema: inlineSchema(parameter.schema),
  }));
  return {
    operationId: route.operationId ?? route.function,
    tags: [route.tag],
    summary: route.summary,
    description: route.description,
    security: SECURITY[route.auth],
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(route.body
      ? {
          requestBody: {
            required: route.body.required,
            content: Object.fromEntries(
              route.body.contentTypes.map((type) => [
                type,
                { schema: ref((route.body?.schemas?.[type] ?? route.body?.schema)?.name ?? "") },
              ]),
            ),
          },
        }
      : {}),
    responses: Object.fromEntries(
      Object.entries(route.responses).map(([status, response]) => [status, responseObject(response)]),
    ),
  };
}

function responseObject(response: RouteResponse): Json {
  const headers: Json = { "X-Request-Id": { $ref: "#/components/headers/X-Request-Id" } };
  for (const name of response.headers ?? []) headers[name] = { $ref: `#/components/headers/${name}` };
  return {
    description: response.description,
    headers,
    ...(response.content
      ? {
          content: Object.fromEntries(
            Object.entries(response.content).map(([type, body]) => [
              type,
              { schema: body === "text" ? { type: "string" } : ref(body.name) },
            ]),
          ),
        }
      : {}),
  };
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** A small schema (a parameter's) written in place, without the `$schema` of a root document. */
function inlineSchema(schema: v.GenericSchema): Json {
  const { $schema: _, ...rest } = toJsonSchema(schema, CONVERSION) as Json;
  return rest;
}
