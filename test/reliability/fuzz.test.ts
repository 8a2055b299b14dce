/**
 * Property-based fuzzing of every HTTP route serverless.yml declares: with the route's right secret,
 * malformed JSON, non-JSON content types, empty bodies, JSON of the wrong shape (built from the schemas
 * the route and its job validate with, so invalid by construction), huge strings, deep nesting, odd
 * encodings, random headers and query parameters. Whatever comes in, a route never answers 5xx, refuses
 * bad input with a 4xx that names the problem, and writes nothing: no call to any system, no job, no
 * dead letter, no table item. FUZZ_SEED (default 42) and FUZZ_RUNS (default 100 per route) tune it; the
 * counts land in .local/reliability/fuzz.json.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type HttpRoute, listHttpRoutes } from "../../infra/local/routes.ts";
import type { Config } from "../../lib/core/config-schema.ts";
import type { LambdaHttpHandler } from "../../lib/core/http.ts";
import { SECRETS, type Stack, setupStack } from "../helpers/stack.ts";
import {
  bodyCases,
  type CaseContext,
  describeCase,
  type Expectation,
  type FuzzCase,
  operatorCases,
  pathCases,
  publicCases,
} from "./fuzz-cases.ts";
import {
  clip,
  errorBodyProblem,
  footprint,
  footprintChanges,
  loadHandler,
  routeKey,
  toEvent,
} from "./route-harness.ts";
import { ROUTE_MODELS, type RouteModel } from "./route-models.ts";

const SEED = Number(process.env.FUZZ_SEED ?? 42);
const RUNS = Number(process.env.FUZZ_RUNS ?? 100);
/**
 * FUZZ_KEEP_GOING=1: run every case even after a failure (no shrinking) and fail at the end with each
 * distinct problem found, one example each, so that the counts cover all runs. By default the property
 * fails at the first bad answer and fast-check shrinks it to a minimal counterexample.
 */
const KEEP_GOING = process.env.FUZZ_KEEP_GOING === "1";
const SUMMARY_FILE = fileURLToPath(new URL("../../.local/reliability/fuzz.json", import.meta.url));

const routes = listHttpRoutes();

interface RouteStats {
  /** The route's fast-check seed (FUZZ_SEED mixed with the route's name). */
  seed: number;
  cases: number;
  statuses: Record<string, number>;
  categories: Record<string, number>;
  /** fast-check's report of the (shrunk) counterexample, when the property failed. */
  failure?: string;
  /** With FUZZ_KEEP_GOING, each distinct problem: how often it was seen, and its first example. */
  problems?: Record<string, { seen: number; example: string }>;
}
const summary = {
  seed: SEED,
  runsPerRoute: RUNS,
  cases: 0,
  byRoute: {} as Record<string, RouteStats>,
  fiveHundreds: 0,
};

let stack: Stack;
let config: Readonly<Config>;
const handlers = new Map<string, LambdaHttpHandler>();

beforeAll(async () => {
  stack = await setupStack();
  for (const route of routes) handlers.set(routeKey(route), await loadHandler(route));
  const { jobRuntime } = await import("../../lib/jobs/runtime.ts");
  config = jobRuntime().config;
});

afterAll(async () => {
  mkdirSync(dirname(SUMMARY_FILE), { recursive: true });
  writeFileSync(SUMMARY_FILE, `${JSON.stringify(summary, null, 2)}\n`);
  await stack?.close();
});

function meets(expectation: Expectation, status: number): boolean {
  const is4xx = status >= 400 && status < 500;
  const is2xx = status >= 200 && status < 300;
  switch (expectation) {
    case "400":
    case "413":
    case "415":
      return status === Number(expectation);
    case "4xx":
      return is4xx;
    case "2xx or 4xx":
      return is2xx || is4xx;
    case "2xx":
      return is2xx;
    case "not 5xx":
      return status >= 200 && status < 500;
  }
}

/** Each route its own fixed seed, derived from FUZZ_SEED, so that routes do not replay one sequence. */
function seedOf(key: string): number {
  let hash = 0x811c9dc5;
  for (const char of key) hash = Math.imul(hash ^ (char.codePointAt(0) ?? 0), 0x01000193);
  return (SEED ^ hash) | 0;
}

function casesOf(route: HttpRoute, model: RouteModel): fc.Arbitrary<FuzzCase> {
  const auth = model.auth?.(config);
  const value = auth ? process.env[auth.secret] : undefined;
  if (auth && !value) throw new Error(`the environment has no ${auth.secret}`);
  const ctx: CaseContext = {
    method: route.method,
    path: route.path,
    config,
    maxBytes: config.http.maxBodyBytes,
    credential: auth && value ? { header: auth.header, value } : undefined,
  };
  if (model.kind === "body") return bodyCases(model, ctx);
  if (model.kind === "path") return pathCases(model, ctx);
  if (model.kind === "operator") return operatorCases(ctx);
  return publicCases(ctx);
}

function title(key: string, model: RouteModel | undefined): string {
  if (!model) return `${key} has a fuzz model (test/reliability/route-models.ts)`;
  if (model.kind === "body")
    return `${key} answers every malformed body, header and query with a 4xx naming the problem, and writes nothing`;
  if (model.kind === "path")
    return `${key} answers every unknown or malformed id, header and query with a 4xx, and writes nothing`;
  if (model.kind === "operator")
    return `${key} answers any header, query, id and body with the operator's secret without a 5xx, and writes nothing`;
  return `${key} answers any header, query and body with a 2xx, and writes nothing`;
}

describe("the fuzz models", () => {
  it("cover every HTTP route of serverless.yml and name no route it lacks", () => {
    const declared = routes.map(routeKey);
    expect(declared.filter((key) => !ROUTE_MODELS[key])).toEqual([]);
    expect(Object.keys(ROUTE_MODELS).filter((key) => !declared.includes(key))).toEqual([]);
  });

  it("send the secret each route is configured with", () => {
    for (const route of routes) {
      const auth = ROUTE_MODELS[routeKey(route)]?.auth?.(config);
      if (auth) expect(Object.keys(SECRETS)).toContain(auth.secret);
    }
  });
});

describe("every HTTP route, fuzzed", () => {
  for (const route of routes) {
    const key = routeKey(route);
    const model = ROUTE_MODELS[key];
    it(title(key, model), async () => {
      if (!model) throw new Error(`${key} is in serverless.yml but has no model in route-models.ts`);
      const handler = handlers.get(key);
      if (!handler) throw new Error(`no handler loaded for ${key}`);
      const stats: RouteStats = { seed: seedOf(key), cases: 0, statuses: {}, categories: {} };
      summary.byRoute[key] = stats;
      // After the first failure fast-check only shrinks it: those runs are not counted.
      let shrinking = false;
      const property = fc.asyncProperty(casesOf(route, model), async (c) => {
        const before = await footprint(stack);
        let result: APIGatewayProxyStructuredResultV2;
        try {
          result = await handler(toEvent(c.request));
        } catch (thrown) {
          shrinking = true;
          throw new Error(`${key}: the handler threw instead of answering: ${String(thrown)}`);
        }
        const after = await footprint(stack);
        const status = result.statusCode ?? 0;
        if (!shrinking) {
          stats.cases += 1;
          summary.cases += 1;
          stats.statuses[status] = (stats.statuses[status] ?? 0) + 1;
          stats.categories[c.category] = (stats.categories[c.category] ?? 0) + 1;
          if (status >= 500) summary.fiveHundreds += 1;
        }
        const problems: string[] = [];
        if (!meets(c.expect, status)) problems.push(`answered ${status} where ${c.expect} was due`);
        if (status >= 400 && status < 500) {
          const problem = errorBodyProblem(model.dialect, result);
          if (problem) problems.push(`its ${status} does not explain itself: ${problem}`);
        }
        const changes = footprintChanges(before, after);
        if (changes) problems.push(`it wrote something: ${changes}`);
        if (problems.length === 0) return;
        if (KEEP_GOING) {
          const signature = `${c.category}: ${problems.join("; ").replace(/\d+ → \d+|\d+ call/g, "n")}`;
          stats.problems ??= {};
          const known = stats.problems[signature];
          if (known) known.seen += 1;
          else
            stats.problems[signature] = {
              seen: 1,
              example: `${describeCase(c)} → ${status} ${clip(result.body ?? "", 300)}`,
            };
          return;
        }
        shrinking = true;
        throw new Error(
          `${key} (${c.category}) ${problems.join("; ")}; answer: ${clip(result.body ?? "", 400)}`,
        );
      });
      try {
        await fc.assert(property, { numRuns: RUNS, seed: stats.seed });
      } catch (error) {
        stats.failure = clip(error instanceof Error ? error.message : String(error), 3_000);
        throw error;
      }
      expect(stats.problems ?? {}, `${key}: each distinct problem, with an example`).toEqual({});
    });
  }
});
