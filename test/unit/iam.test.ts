import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

/**
 * The roles of infra/iam.yml against what the code behind them does. Locally nothing checks IAM
 * (dynalite and fauxqs accept any call), so a missing permission would first show in a deployed stage.
 */
type Statement = { Effect: string; Action: string | string[]; Resource: unknown };
const iam = parse(readFileSync("infra/iam.yml", "utf8"), { logLevel: "silent" }) as {
  Resources: Record<
    string,
    { Type: string; Properties: { Policies?: { PolicyDocument: { Statement: Statement[] } }[] } }
  >;
};
const service = parse(readFileSync("serverless.yml", "utf8"), { logLevel: "silent" }) as {
  functions: Record<string, { role?: string }>;
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

const JOBS = JSON.stringify({ "Fn::GetAtt": ["JobsQueue", "Arn"] });
const DEAD_LETTERS = JSON.stringify({ "Fn::GetAtt": ["JobsDeadLetterQueue", "Arn"] });

describe("IAM roles", () => {
  it("give every function of serverless.yml a role that iam.yml defines", () => {
    for (const [name, fn] of Object.entries(service.functions)) {
      expect(fn.role, name).toBeDefined();
      expect(iam.Resources[fn.role ?? ""]?.Type, name).toBe("AWS::IAM::Role");
    }
  });

  it("let a route queue its job and keep a permanent failure as a dead letter (runInline)", () => {
    expect(resourcesFor("SyncRouteRole", "sqs:SendMessage")).toEqual(
      expect.arrayContaining([JOBS, DEAD_LETTERS]),
    );
  });

  it("let the worker put a held-back job back on the jobs queue (defer.ts) and dead-letter a failed one", () => {
    expect(resourcesFor("WorkerRole", "sqs:SendMessage")).toEqual(
      expect.arrayContaining([JOBS, DEAD_LETTERS]),
    );
  });

  it("let the routes, the worker and the pollers take and give back the per-system caps' slots", () => {
    const table = JSON.stringify({ "Fn::GetAtt": ["LinksTable", "Arn"] });
    for (const role of ["SyncRouteRole", "WorkerRole", "PollerRole"]) {
      for (const action of ["dynamodb:PutItem", "dynamodb:BatchGetItem", "dynamodb:DeleteItem"]) {
        expect(resourcesFor(role, action), `${role} ${action}`).toContain(table);
      }
    }
  });

  it("let the pollers queue jobs, and the job status route only read", () => {
    expect(resourcesFor("PollerRole", "sqs:SendMessage")).toEqual([JOBS]);
    expect(resourcesFor("JobStatusRole", "sqs:SendMessage")).toEqual([]);
    expect(resourcesFor("JobStatusRole", "dynamodb:PutItem")).toEqual([]);
  });
});
