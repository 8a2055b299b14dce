import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  ConfigError,
  NotFoundError,
  UpstreamAuthError,
  UpstreamPermanentError,
} from "../../lib/core/errors.ts";
import { flowsFrom } from "../../lib/sync/itop-pair/deps.ts";
import { parseDeploymentConfig } from "../../lib/sync/registry.ts";
import { oqlString } from "../../lib/systems/itop/client.ts";
import { ItopCodeError, translateItopError } from "../../lib/systems/itop/errors.ts";
import { stimulusPath } from "../../lib/systems/itop/lifecycle.ts";

describe("iTop lifecycle", () => {
  it("finds the shortest chain of stimuli a REST user may apply", () => {
    expect(stimulusPath("UserRequest", "new", "new")).toEqual([]);
    expect(stimulusPath("UserRequest", "new", "resolved")?.map((s) => s.stimulus)).toEqual([
      "ev_assign",
      "ev_resolve",
    ]);
    expect(stimulusPath("UserRequest", "new", "closed")?.map((s) => s.to)).toEqual([
      "assigned",
      "resolved",
      "closed",
    ]);
    expect(stimulusPath("UserRequest", "resolved", "pending")?.map((s) => s.stimulus)).toEqual([
      "ev_reopen",
      "ev_pending",
    ]);
    expect(stimulusPath("UserRequest", "new", "approved")?.map((s) => s.stimulus)).toEqual([
      "ev_wait_for_approval",
      "ev_approve",
    ]);
  });

  it("has no way to states iTop alone reaches, nor to approval states of an Incident", () => {
    expect(stimulusPath("UserRequest", "new", "escalated_tto")).toBeUndefined();
    expect(stimulusPath("Incident", "new", "waiting_for_approval")).toBeUndefined();
    expect(stimulusPath("UserRequest", "closed", "assigned")).toBeUndefined();
  });
});

describe("iTop OQL strings", () => {
  it("escape quotes and backslashes", () => {
    expect(oqlString("R-000123")).toBe("'R-000123'");
    expect(oqlString("it's \\ odd")).toBe("'it\\'s \\\\ odd'");
  });
});

describe("iTop pair configuration", () => {
  const sandbox = JSON.parse(readFileSync("config/sandbox.json", "utf8"));

  it("fills in the documented defaults", () => {
    const pair = parseDeploymentConfig(sandbox).integrations.itopPair;
    expect(pair?.directions).toEqual({
      form: "external-to-internal",
      state: "internal-to-external",
      privateLog: "both",
      attachments: "both",
    });
    expect(pair?.classes).toEqual(["UserRequest", "Incident"]);
    expect(flowsFrom("internal-to-external", "internal")).toBe(true);
    expect(flowsFrom("internal-to-external", "external")).toBe(false);
    expect(flowsFrom("both", "external")).toBe(true);
    expect(flowsFrom("none", "external")).toBe(false);
  });

  it("names an instance without credentials, a missing instance, and a pair of one iTop", () => {
    const broken = structuredClone(sandbox);
    delete broken.systems.itop.customer.password;
    broken.integrations.itopPair.internal = "nowhere";
    let problems: string[] = [];
    try {
      parseDeploymentConfig(broken);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems = error.problems.map((p) => `${p.path}: ${p.message}`);
    }
    expect(problems.join("\n")).toContain("systems.itop.customer");
    expect(problems.join("\n")).toContain("needs `user` and `password`, or `token`");

    const fixed = structuredClone(sandbox);
    fixed.integrations.itopPair.internal = "nowhere";
    try {
      parseDeploymentConfig(fixed);
      throw new Error("accepted");
    } catch (error) {
      expect((error as ConfigError).problems).toEqual(
        expect.arrayContaining([expect.objectContaining({ path: "integrations.itopPair.internal" })]),
      );
    }
  });
});

describe("iTop errors", () => {
  const translate = (code: number, message: string) =>
    translateItopError(new ItopCodeError(code, message), "x");

  it("tells a login or REST profile problem from a class the user may not read", async () => {
    expect(await translate(1, "Error: Invalid login")).toBeInstanceOf(UpstreamAuthError);
    expect(
      await translate(
        1,
        "Error: This user is not authorized to use the web services. (The profile REST Services User is required to access the REST API)",
      ),
    ).toBeInstanceOf(UpstreamAuthError);
    const refused = await translate(
      1,
      "The current user does not have enough permissions for reading data of class InlineImage",
    );
    expect(refused).toBeInstanceOf(UpstreamPermanentError);
    expect(refused.message).toContain("class InlineImage");
    expect(refused.message).toContain("profiles do not give");
  });

  it("takes a bad request (codes 2–12) and a refused value (100) as permanent, and No item found as not found", async () => {
    for (const code of [2, 3, 4, 11, 100])
      expect(await translate(code, "Error: something")).toBeInstanceOf(UpstreamPermanentError);
    expect(await translate(100, "Error: No item found with criteria: 7")).toBeInstanceOf(NotFoundError);
  });
});
