import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { integrationStack, resolveGenerated } from "../../infra/integrations.cjs";
import { serviceFunctions } from "../../infra/local/routes.ts";
import { INTEGRATION_IDS, integrationById } from "../../lib/sync/registry.ts";

/**
 * The roles of infra/iam.yml against what the code behind them does. Locally nothing checks IAM
 * (dynalite and fauxqs accept any call), so a missing permission would first show in a deployed stage.
 */
type Statement = { Effect: string; Action: string | string[]; Resource: unknown };
type Role = { Type: string; Properties: { Policies?: { PolicyDocument: { Statement: Statement[] } }[] } };
/** The roles of infra/iam.yml and each integration's worker role, which infra/integrations.cjs generates. */
const iam = {
  Resources: {
    ...(
      resolveGenerated(parse(readFileSync("infra/iam.yml", "utf8"), { logLevel: "silent" })) as {
        Resources: Record<string, Role>;
      }
    ).Resources,
    ...(integrationStack().resources.Resources as Record<string, Role>),
  },
};
const service = { functions: serviceFunctions() } as {
  functions: Record<string, { role?: string; handler?: string; events?: { sqs?: { arn: unknown } }[] }>;
};

/** The resources (as written: GetAtt names) a role may call `action` on. */
function resourcesFor(role: string, action: string): string[] {
  const statements = (iam.Resources[role]?.Properties.Policies ?? []).flatMap(
    (p) => p.PolicyDocument.Statement,
  );
  return statements
    .filter((s) => s.Effect === "Allow" && [s.Action].flat().includes(action))
    .flatMap((s) => [s.Resource].flat())
    .map((resource) => JSON.stringify(resource));
}

const arn = (resource: string) => JSON.stringify({ "Fn::GetAtt": [resource, "Arn"] });
const JOBS = arn("JobsQueue");
const DEAD_LETTERS = arn("JobsDeadLetterQueue");
/** Each integration's queue and dead-letter queue, as infra/resources.yml names them (OtrsRedmineQueue, …). */
const pascal = (id: string) =>
  id
    .split("-")
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join("");
const INTEGRATION_JOBS = INTEGRATION_IDS.map((id) => arn(`${pascal(id)}Queue`));
const INTEGRATION_DEAD_LETTERS = INTEGRATION_IDS.map((id) => arn(`${pascal(id)}DeadLetterQueue`));

describe("IAM roles", () => {
  it("give every function of serverless.yml a role that iam.yml defines", () => {
    for (const [name, fn] of Object.entries(service.functions)) {
      expect(fn.role, name).toBeDefined();
      expect(iam.Resources[fn.role ?? ""]?.Type, name).toBe("AWS::IAM::Role");
    }
  });

  it("let a route queue its job on its integration's queue and keep a permanent failure as a dead letter (runInline)", () => {
    expect(resourcesFor("SyncRouteRole", "sqs:SendMessage")).toEqual(
      expect.arrayContaining([...INTEGRATION_JOBS, ...INTEGRATION_DEAD_LETTERS]),
    );
  });

  it("let each integration's worker read only its own queue, put a job back on it and dead-letter to its own", () => {
    for (const id of INTEGRATION_IDS) {
      const key = integrationById(id)?.configKey ?? "";
      const fn = service.functions[`${key}Worker`];
      expect(fn?.handler, id).toBe(`functions/${id}/worker.handler`);
      expect(JSON.stringify(fn?.events?.[0]?.sqs?.arn), id).toBe(arn(`${pascal(id)}Queue`));
      const role = fn?.role ?? "";
      expect(resourcesFor(role, "sqs:ReceiveMessage"), id).toEqual([arn(`${pascal(id)}Queue`)]);
      expect(resourcesFor(role, "sqs:SendMessage"), id).toEqual([
        arn(`${pascal(id)}Queue`),
        arn(`${pascal(id)}DeadLetterQueue`),
      ]);
    }
  });

  it("let the drain of the shared queue read it and move its jobs to the integrations' queues, and nothing else", () => {
    expect(resourcesFor("DrainRole", "sqs:ReceiveMessage")).toEqual([JOBS]);
    expect(resourcesFor("DrainRole", "sqs:SendMessage").sort()).toEqual(
      [...INTEGRATION_JOBS, DEAD_LETTERS].sort(),
    );
    for (const action of ["dynamodb:GetItem", "dynamodb:PutItem", "ssm:GetParameters"]) {
      expect(resourcesFor("DrainRole", action), action).toEqual([]);
    }
  });

  it("let the operators' view read every dead-letter queue and replay into every jobs queue", () => {
    expect(resourcesFor("OpsRole", "sqs:ReceiveMessage")).toEqual(
      expect.arrayContaining([DEAD_LETTERS, ...INTEGRATION_DEAD_LETTERS]),
    );
    expect(resourcesFor("OpsRole", "sqs:SendMessage")).toEqual(
      expect.arrayContaining([JOBS, ...INTEGRATION_JOBS]),
    );
  });

  it("let the routes, the worker and the pollers take and give back the per-system caps' slots", () => {
    const table = JSON.stringify({ "Fn::GetAtt": ["LinksTable", "Arn"] });
    const workerRoles = INTEGRATION_IDS.map((id) => `${pascal(id)}WorkerRole`);
    for (const role of ["SyncRouteRole", "PollerRole", ...workerRoles]) {
      for (const action of ["dynamodb:PutItem", "dynamodb:BatchGetItem", "dynamodb:DeleteItem"]) {
        expect(resourcesFor(role, action), `${role} ${action}`).toContain(table);
      }
    }
  });

  it("let the pollers queue jobs, and the job status route only read", () => {
    expect(resourcesFor("PollerRole", "sqs:SendMessage").sort()).toEqual([...INTEGRATION_JOBS].sort());
    expect(resourcesFor("JobStatusRole", "sqs:SendMessage")).toEqual([]);
    expect(resourcesFor("JobStatusRole", "dynamodb:PutItem")).toEqual([]);
  });
});
