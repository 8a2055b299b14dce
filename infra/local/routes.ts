import { readFileSync } from "node:fs";
import * as v from "valibot";
import { parse } from "yaml";
import { resolveGenerated } from "../integrations.cjs";

/** One HTTP route as serverless.yml declares it. */
export interface HttpRoute {
  functionName: string;
  method: string;
  path: string;
  handler: string;
}

const FunctionSchema = v.looseObject({
  handler: v.string(),
  events: v.optional(
    v.array(v.looseObject({ httpApi: v.optional(v.looseObject({ method: v.string(), path: v.string() })) })),
    [],
  ),
});
const FunctionsSchema = v.record(v.string(), FunctionSchema);
const ServiceSchema = v.looseObject({ functions: v.array(FunctionsSchema) });

/**
 * Every function of serverless.yml by name, as osls merges its `functions` list: the maps written there
 * and each integration's worker, which infra/integrations.cjs generates.
 */
export function serviceFunctions(file = "serverless.yml"): v.InferOutput<typeof FunctionsSchema> {
  const raw = v.parse(
    v.looseObject({ functions: v.unknown() }),
    parse(readFileSync(file, "utf8"), { logLevel: "silent" }),
  );
  const { functions } = v.parse(ServiceSchema, { functions: resolveGenerated(raw.functions) });
  return Object.assign({}, ...functions);
}

/** Every `httpApi` route in serverless.yml, so that tools and tests never keep a list by hand. */
export function listHttpRoutes(file = "serverless.yml"): HttpRoute[] {
  const routes: HttpRoute[] = [];
  for (const [functionName, fn] of Object.entries(serviceFunctions(file))) {
    for (const event of fn.events) {
      if (event.httpApi) {
        routes.push({
          functionName,
          handler: fn.handler,
          method: event.httpApi.method.toUpperCase(),
          path: event.httpApi.path,
        });
      }
    }
  }
  return routes;
}
