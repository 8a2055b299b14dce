import * as v from "valibot";
import { JobIdSchema } from "../core/ids.ts";
import { RefSchema } from "../links/refs.ts";
import { INTEGRATION_IDS } from "../sync/registry.ts";
import {
  type Describes,
  describes,
  ERROR_TEXT,
  json,
  type NamedSchema,
  named,
  type RouteResponse,
  type RouteSpec,
  SHARED,
} from "../sync/route-docs.ts";
import { ReplayDeadLettersFormSchema, ReplayParkedFormSchema } from "./forms.ts";
import { COUNTERS, type LinkLookup, type StatusOverview } from "./types.ts";

export type { NamedSchema, RouteAuth, RouteResponse, RouteSpec } from "../sync/route-docs.ts";

/**
 * Every HTTP route of serverless.yml, described from the very schemas its handler validates with: the
 * source of the OpenAPI document (lib/ops/openapi.ts). Each integration's routes are in its own folder
 * (lib/sync/<id>/routes.ts, found by its id in the registry); the operators' and the public ones are
 * here. test/unit/openapi.test.ts fails when this list and serverless.yml's `httpApi` events disagree.
 * Only the document's generator (`npm run openapi`) and the tests load it: no Lambda bundles it.
 */

// ---- the operators' answers ------------------------------------------------------------------------

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
      pollers: v.array(
        v.object({
          cursor: v.string(),
          system: v.string(),
          lastSuccessAt: v.optional(v.string()),
          caughtUpTo: v.optional(v.string()),
          cursorAt: v.optional(v.string()),
          lagSeconds: v.optional(v.number()),
          thresholdSeconds: v.number(),
          warning: v.boolean(),
        }),
      ),
      queue: v.optional(
        v.object({
          oldestAgeSeconds: v.optional(v.number()),
          thresholdSeconds: v.number(),
          warning: v.boolean(),
        }),
      ),
      warning: v.boolean(),
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
        v.object({
          name: v.string(),
          syncedAt: v.string(),
          notes: v.optional(v.array(v.string())),
          summary: v.optional(v.record(v.string(), v.union([v.string(), v.number()]))),
        }),
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

const S = {
  statusOverview: named("StatusOverview", StatusOverviewSchema),
  linkLookup: named("LinkLookup", LinkLookupSchema),
  replayDeadLetters: named("ReplayDeadLettersForm", ReplayDeadLettersFormSchema),
  replayParked: named("ReplayParkedForm", ReplayParkedFormSchema),
  replayed: named("Replayed", ReplayedSchema),
  parkedReplayed: named("ParkedReplayed", ParkedReplayedSchema),
  openapi: named("OpenApiDocument", OpenApiSchema),
} as const;

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
        content: { "text/html": "text", "application/json": SHARED.error },
        ...(status === 401 ? { headers: ["WWW-Authenticate" as const] } : {}),
      },
    ]),
  );
}

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

/** The routes that belong to no integration: health, the operators' view, this document. */
const OWN_ROUTES: readonly RouteSpec[] = [
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

/** An integration's routes module (lib/sync/<id>/routes.ts). */
interface RoutesModule {
  routes: readonly RouteSpec[];
}

/** Every route: each integration's, in the registry's order, then the bridge's own. */
export const ROUTES: readonly RouteSpec[] = [
  ...(
    await Promise.all(INTEGRATION_IDS.map((id) => import(`../sync/${id}/routes.ts`) as Promise<RoutesModule>))
  ).flatMap((module) => module.routes),
  ...OWN_ROUTES,
];

/**
 * Every schema of components/schemas: each one a route names (bodies, answers), and the shared ones
 * that others nest (a nested one, like ErrorSummary, becomes a $ref to its own).
 */
export const COMPONENT_SCHEMAS: readonly NamedSchema[] = [
  ...new Set([...ROUTES.flatMap(namedSchemasOf), ...Object.values(SHARED)]),
];

function namedSchemasOf(route: RouteSpec): NamedSchema[] {
  const named: NamedSchema[] = [];
  if (route.body) named.push(route.body.schema, ...Object.values(route.body.schemas ?? {}));
  for (const response of Object.values(route.responses)) {
    for (const content of Object.values(response.content ?? {})) if (content !== "text") named.push(content);
  }
  return named;
}
