import { readFileSync } from "node:fs";
import * as v from "valibot";
import { parse } from "yaml";

/** One HTTP route as serverless.yml declares it. */
export interface HttpRoute {
  functionName: string;
  method: string;
  path: string;
  handler: string;
}

const ServerlessFunctionsSchema = v.object({
  functions: v.record(
    v.string(),
    v.object({
      handler: v.string(),
      events: v.optional(
        v.array(v.object({ httpApi: v.optional(v.object({ method: v.string(), path: v.string() })) })),
        [],
      ),
    }),
  ),
});

/** Every `httpApi` route in serverless.yml, so that tools and tests never keep a list by hand. */
export function listHttpRoutes(file = "serverless.yml"): HttpRoute[] {
  const doc = v.parse(ServerlessFunctionsSchema, parse(readFileSync(file, "utf8"), { logLevel: "silent" }));
  const routes: HttpRoute[] = [];
  for (const [functionName, fn] of Object.entries(doc.functions)) {
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
