import { readFileSync } from "node:fs";
import { Ajv2020 } from "ajv/dist/2020.js";
import * as v from "valibot";
import { describe, expect, it } from "vitest";
import { handler } from "../../functions/ops/openapi.ts";
import { serviceFunctions } from "../../infra/local/routes.ts";
import { OPENAPI_MODULE, openApiModuleText } from "../../infra/tools/openapi.ts";
import { openApiDocument } from "../../lib/ops/openapi.ts";
import { ROUTES } from "../../lib/ops/routes.ts";
import { FormSubmissionSchema } from "../../lib/sync/glpi-forms/submission.ts";

/**
 * The drift check: the route registry (lib/ops/routes.ts), the OpenAPI document built from it and the
 * `httpApi` events of serverless.yml name the same routes, and the document is sound.
 */
type Service = { functions: Record<string, { events?: Record<string, unknown>[] }> };
const service: Service = { functions: serviceFunctions() };

interface Route {
  function: string;
  method: string;
  path: string;
}
const key = (route: Route) => `${route.method.toUpperCase()} ${route.path} (${route.function})`;

/** Every `httpApi` event of the service: `{method, path}` or the short form `"GET /path"`. */
function httpRoutes(parsed: Service): Route[] {
  return Object.entries(parsed.functions).flatMap(([name, fn]) =>
    (fn.events ?? []).flatMap((event) => {
      const api = event.httpApi;
      if (api === undefined) return [];
      if (typeof api === "string") {
        const [method = "", path = ""] = api.split(" ");
        return [{ function: name, method, path }];
      }
      const { method, path } = api as { method: string; path: string };
      return [{ function: name, method: method.toUpperCase(), path }];
    }),
  );
}

/** What one list has that the other lacks, as readable lines ("" when they agree). */
function routeDrift(expected: Route[], actual: Route[], what: string): string {
  const want = new Set(expected.map(key));
  const have = new Set(actual.map(key));
  const missing = [...want].filter((route) => !have.has(route)).sort();
  const extra = [...have].filter((route) => !want.has(route)).sort();
  return [
    ...missing.map((route) => `missing from ${what}: ${route}`),
    ...extra.map((route) => `in ${what} but not in serverless.yml: ${route}`),
  ].join("\n");
}

const document = openApiDocument() as {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: {
    schemas: Record<string, unknown>;
    securitySchemes: Record<string, Record<string, string>>;
  };
};
type Operation = {
  operationId: string;
  security: unknown[];
  parameters?: { name: string; in: string; required: boolean }[];
  responses: Record<string, unknown>;
  requestBody?: { content: Record<string, { schema: { $ref: string } }> };
};

/** The function of each operationId (a function serving two routes has an id for each). */
const functionOf = new Map(ROUTES.map((route) => [route.operationId ?? route.function, route.function]));

function documentRoutes(doc: typeof document): Route[] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, op]) => ({
      function: functionOf.get(op.operationId) ?? op.operationId,
      method: method.toUpperCase(),
      path,
    })),
  );
}

/** Follows a local `$ref` (`#/components/schemas/X`) in the document. */
function resolve(ref: string): unknown {
  if (!ref.startsWith("#/")) return undefined;
  return ref
    .slice(2)
    .split("/")
    .reduce<unknown>((node, part) => (node as Record<string, unknown> | undefined)?.[part], document);
}

function refsIn(node: unknown, found: string[] = []): string[] {
  if (Array.isArray(node)) for (const item of node) refsIn(item, found);
  else if (node && typeof node === "object") {
    for (const [name, value] of Object.entries(node)) {
      if (name === "$ref" && typeof value === "string") found.push(value);
      else refsIn(value, found);
    }
  }
  return found;
}

/**
 * A JSON Schema 2020-12 validator (strict: an unknown keyword is an error) holding the document, so a
 * component's `#/components/schemas/…` refs resolve as they do in the OpenAPI document.
 */
const ajv = new Ajv2020({ strict: true, allErrors: true });
ajv.addKeyword("components");
ajv.addSchema({ components: { schemas: document.components.schemas } }, "doc");
const validatorFor = (name: string) => ajv.compile({ $ref: `doc#/components/schemas/${name}` });

describe("the route registry and serverless.yml", () => {
  it("name the same routes, with the same functions", () => {
    const routes = httpRoutes(service);
    expect(routes.length).toBeGreaterThan(15);
    expect(routeDrift(routes, [...ROUTES], "lib/ops/routes.ts")).toBe("");
  });

  it("report a route added to serverless.yml only, and one left in the registry only, by name", () => {
    const changed: Service = structuredClone(service);
    changed.functions.fakeRoute = { events: [{ httpApi: { method: "DELETE", path: "/fake/{id}" } }] };
    delete changed.functions.ping;
    expect(routeDrift(httpRoutes(changed), [...ROUTES], "lib/ops/routes.ts").split("\n")).toEqual([
      "missing from lib/ops/routes.ts: DELETE /fake/{id} (fakeRoute)",
      "in lib/ops/routes.ts but not in serverless.yml: GET /ping (ping)",
    ]);
  });

  it("report a route whose function differs", () => {
    const renamed = ROUTES.map((route) =>
      route.path === "/ping" ? { ...route, function: "health" } : route,
    );
    expect(routeDrift(httpRoutes(service), renamed, "lib/ops/routes.ts")).toContain("GET /ping (ping)");
  });
});

describe("the OpenAPI document", () => {
  it("is OpenAPI 3.1 with exactly serverless.yml's routes", () => {
    expect(document.openapi).toBe("3.1.0");
    expect(routeDrift(httpRoutes(service), documentRoutes(document), "the OpenAPI document")).toBe("");
  });

  it("gives every operation responses, unique ids and a declared parameter for each {param}", () => {
    const ids = new Set<string>();
    for (const [path, item] of Object.entries(document.paths)) {
      for (const [method, op] of Object.entries(item)) {
        const where = `${method.toUpperCase()} ${path}`;
        expect(Object.keys(op.responses).length, where).toBeGreaterThan(0);
        for (const status of Object.keys(op.responses)) expect(status, where).toMatch(/^[1-5]\d\d$/);
        expect(ids.has(op.operationId), where).toBe(false);
        ids.add(op.operationId);
        const inPath = [...path.matchAll(/\{([^}]+)\}/g)].map((match) => match[1]);
        const declared = (op.parameters ?? []).filter((p) => p.in === "path");
        expect(declared.map((p) => p.name).sort(), where).toEqual([...inPath].sort());
        for (const parameter of declared) expect(parameter.required, where).toBe(true);
      }
    }
  });

  it("resolves every $ref", () => {
    const refs = refsIn(document);
    expect(refs.length).toBeGreaterThan(20);
    const unresolved = [...new Set(refs)].filter((ref) => resolve(ref) === undefined);
    expect(unresolved).toEqual([]);
  });

  it("holds component schemas that are valid JSON Schema 2020-12", () => {
    for (const [name, schema] of Object.entries(document.components.schemas)) {
      expect(ajv.validateSchema(schema as object), `${name}: ${ajv.errorsText()}`).toBe(true);
      expect(() => validatorFor(name), name).not.toThrow();
    }
    expect(ajv.validateSchema({ type: "strin" })).toBe(false);
  });

  it("requires the GLPI form's mandatory fields, as the route's schema does", () => {
    const form = document.components.schemas.GlpiFormSubmission as { required: string[] };
    const mandatory = Object.entries(FormSubmissionSchema.entries)
      .filter(([, schema]) => schema.type !== "optional")
      .map(([name]) => name);
    expect([...form.required].sort()).toEqual([...mandatory].sort());
    expect(form.required).not.toContain("categoria");
    const op = document.paths["/glpi/tickets"]?.post;
    expect(op?.requestBody?.content["application/json"]?.schema.$ref).toBe(
      "#/components/schemas/GlpiFormSubmission",
    );
  });

  it("accepts and refuses the same GLPI forms and OTRS events as the routes' schemas", () => {
    const valid = {
      nome_cliente: "Maria",
      telefone_cliente: 11987654321,
      cnpj_cliente: "11.222.333/0001-81",
      anydesk_cliente: "123 456 789",
      descricao_problema: "A impressora não imprime",
      categoria: "7",
    };
    const { telefone_cliente: _, ...missingPhone } = valid;
    const glpi = validatorFor("GlpiFormSubmission");
    expect(v.safeParse(FormSubmissionSchema, valid).success).toBe(true);
    expect(glpi(valid)).toBe(true);
    expect(v.safeParse(FormSubmissionSchema, missingPhone).success).toBe(false);
    expect(glpi(missingPhone)).toBe(false);

    const otrs = validatorFor("OtrsTicketEvent");
    expect(
      otrs(JSON.parse(readFileSync("test/fixtures/otrs/invoker-ticket-state-update.json", "utf8"))),
    ).toBe(true);
    expect(otrs(JSON.parse(readFileSync("test/fixtures/otrs/invoker-ticket-generic.json", "utf8")))).toBe(
      true,
    );
    expect(otrs({ OldTicketData: { State: "open" } })).toBe(false);
  });

  it("describes the shared-secret schemes, and lets /ping and itself be called without one", () => {
    const schemes = document.components.securitySchemes;
    expect(schemes.sharedSecretHeader).toMatchObject({
      type: "apiKey",
      in: "header",
      name: "X-Deskbridge-Token",
    });
    expect(schemes.basicAuth).toMatchObject({ type: "http", scheme: "basic" });
    expect(schemes.queryToken).toMatchObject({ type: "apiKey", in: "query", name: "token" });
    const security = (path: string, method: string) => document.paths[path]?.[method]?.security;
    expect(security("/ping", "get")).toEqual([]);
    expect(security("/openapi.json", "get")).toEqual([]);
    expect(security("/status", "get")).toContainEqual({ basicAuth: [] });
    expect(security("/rocketchat/livechat", "post")).toContainEqual({ livechatToken: [] });
    expect(schemes.redmineSignature).toMatchObject({ in: "header", name: "X-Redmine-Signature-256" });
    expect(security("/redmine/issue-events", "post")).toEqual([
      { sharedSecretHeader: [] },
      { basicAuth: [] },
      { queryToken: [] },
      { redmineSignature: [] },
    ]);
  });

  it("is what lib/ops/openapi-document.ts holds, the text GET /openapi.json serves (npm run openapi refreshes it)", () => {
    const file = readFileSync(OPENAPI_MODULE, "utf8");
    expect(file === openApiModuleText(), `${OPENAPI_MODULE} is stale: run npm run openapi`).toBe(true);
  });

  it("is served by GET /openapi.json as cacheable JSON", async () => {
    const response = await handler({ requestContext: { requestId: "req-1" } } as never);
    expect(response.statusCode).toBe(200);
    expect(response.headers?.["content-type"]).toBe("application/json");
    expect(response.headers?.["cache-control"]).toMatch(/max-age=\d+/);
    expect(response.headers?.["x-request-id"]).toBe("req-1");
    expect(JSON.parse(String(response.body))).toEqual(document);
  });
});
