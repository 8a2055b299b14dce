import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../lib/core/config.ts";
import { ConfigError } from "../../lib/core/errors.ts";
import { glpiForms } from "../../lib/sync/glpi-forms/index.ts";
import { otrsRedmine } from "../../lib/sync/otrs-redmine/index.ts";
import { loadDeploymentConfig, parseDeploymentConfig } from "../../lib/sync/registry.ts";

const sandbox = JSON.parse(readFileSync("config/sandbox.json", "utf8"));

function problemsOf(raw: unknown): { path: string; message: string }[] {
  try {
    parseDeploymentConfig(raw);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error("the config was accepted");
}

describe("configuration", () => {
  it("accepts the sandbox and production examples and fills in defaults", () => {
    const config = parseDeploymentConfig(sandbox);
    expect(config.integrations.glpiForms?.entityLookup.searchOptionId).toBe(76674);
    expect(config.http.maxBodyBytes).toBe(262144);
    expect(config.idempotency.ttlHours).toBe(24);
    expect(Object.isFrozen(config.jobs)).toBe(true);
    expect(() => loadDeploymentConfig("config/prod.json")).not.toThrow();
    expect(() => loadDeploymentConfig("config/dev.json")).not.toThrow();
  });

  it("names the JSON path and the problem of every invalid setting", () => {
    const broken = structuredClone(sandbox);
    broken.systems.glpi.main.url = "not a url";
    broken.integrations.glpiForms.ticket.urgency = 9;
    delete broken.integrations.glpiForms.entityLookup.searchOptionId;
    broken.jobs.maxAtempts = 3;
    const problems = problemsOf(broken);
    const paths = problems.map((p) => p.path);
    expect(paths).toContain("systems.glpi.main.url");
    expect(paths).toContain("integrations.glpiForms.ticket.urgency");
    expect(paths).toContain("integrations.glpiForms.entityLookup.searchOptionId");
    expect(problems).toContainEqual({ path: "jobs.maxAtempts", message: "is not a known field" });
    expect(problems).toContainEqual({
      path: "integrations.glpiForms.entityLookup.searchOptionId",
      message: "is required",
    });
  });

  it("fills in the monitoring thresholds and the API's throttling, and names a bad one", () => {
    const config = parseDeploymentConfig(sandbox);
    expect(config.monitoring).toEqual({
      pollerLagSeconds: 900,
      queueAgeSeconds: 900,
      workerErrorRatePercent: 10,
      throttles: 0,
      tracing: false,
    });
    expect(config.http.throttle).toEqual({ rateLimit: 50, burstLimit: 100 });
    expect(config.http.formThrottle).toEqual({ rateLimit: 5, burstLimit: 20 });
    const broken = structuredClone(sandbox);
    broken.monitoring = { pollerLagSeconds: 10, tracing: "yes" };
    broken.http = { throttle: { rateLimit: 50 } };
    expect(
      problemsOf(broken)
        .map((p) => p.path)
        .sort(),
    ).toEqual(["http.throttle.burstLimit", "monitoring.pollerLagSeconds", "monitoring.tracing"]);
  });

  it("reads the entity directory's ages, taking the old cacheTtlSeconds as its max age", () => {
    const lookup = (entityLookup: Record<string, unknown>) => {
      const config = structuredClone(sandbox);
      config.integrations.glpiForms.entityLookup = {
        fieldName: "cnpjfield",
        searchOptionId: 76674,
        ...entityLookup,
      };
      return config;
    };
    const directoryOf = (entityLookup: Record<string, unknown>) =>
      parseDeploymentConfig(lookup(entityLookup)).integrations.glpiForms?.entityLookup.directory;
    expect(directoryOf({})).toEqual({ maxAgeSeconds: 900, refreshAfterSeconds: 450, pageSize: 1000 });
    expect(directoryOf({ cacheTtlSeconds: 300 })).toEqual({
      maxAgeSeconds: 300,
      refreshAfterSeconds: 150,
      pageSize: 1000,
    });
    expect(directoryOf({ cacheTtlSeconds: 0 })).toMatchObject({ maxAgeSeconds: 0 });
    expect(
      directoryOf({ directory: { maxAgeSeconds: 3600, refreshAfterSeconds: 600, pageSize: 500 } }),
    ).toEqual({ maxAgeSeconds: 3600, refreshAfterSeconds: 600, pageSize: 500 });

    expect(problemsOf(lookup({ cacheTtlSeconds: 300, directory: { maxAgeSeconds: 600 } }))).toEqual([
      {
        path: "integrations.glpiForms.entityLookup.cacheTtlSeconds",
        message: "is the old name of directory.maxAgeSeconds: set only that one",
      },
    ]);
    expect(problemsOf(lookup({ directory: { maxAgeSeconds: 600, refreshAfterSeconds: 600 } }))).toEqual([
      {
        path: "integrations.glpiForms.entityLookup.directory.refreshAfterSeconds",
        message:
          "must be less than directory.maxAgeSeconds, or the map goes untrusted before it is refreshed",
      },
    ]);
    expect(problemsOf(lookup({ directory: { pageSize: 5000 } })).map((p) => p.path)).toEqual([
      "integrations.glpiForms.entityLookup.directory.pageSize",
    ]);
  });

  it("refuses a secret written into the file instead of named", () => {
    const broken = structuredClone(sandbox);
    broken.systems.glpi.main.appToken = { secret: "e4f9a0c1b2" };
    expect(problemsOf(broken).map((p) => p.path)).toEqual(["systems.glpi.main.appToken.secret"]);
  });

  it("takes an optional Redmine webhook signing secret, named like every secret", () => {
    const signed = structuredClone(sandbox);
    signed.integrations.otrsRedmine.redmineWebhookSecret = { secret: "REDMINE_WEBHOOK_SECRET" };
    expect(parseDeploymentConfig(signed).integrations.otrsRedmine?.redmineWebhookSecret).toEqual({
      secret: "REDMINE_WEBHOOK_SECRET",
    });
    expect(parseDeploymentConfig(sandbox).integrations.otrsRedmine?.redmineWebhookSecret).toBeUndefined();
    signed.integrations.otrsRedmine.redmineWebhookSecret = { secret: "s3cr3t-value" };
    expect(problemsOf(signed).map((p) => p.path)).toEqual([
      "integrations.otrsRedmine.redmineWebhookSecret.secret",
    ]);
    signed.integrations.otrsRedmine.redmineWebhookSecret = "REDMINE_WEBHOOK_SECRET";
    expect(problemsOf(signed).map((p) => p.path)).toEqual(["integrations.otrsRedmine.redmineWebhookSecret"]);
  });

  it("caps each system instance's concurrent calls at 4 unless it says otherwise, from 1 to 100", () => {
    const capped = structuredClone(sandbox);
    capped.systems.rt.main.maxConcurrentCalls = 2;
    const config = parseDeploymentConfig(capped);
    expect(config.systems.rt.main?.maxConcurrentCalls).toBe(2);
    expect(config.systems.otrs.main?.maxConcurrentCalls).toBe(4);
    capped.systems.rt.main.maxConcurrentCalls = 0;
    capped.systems.otrs.main.maxConcurrentCalls = 101;
    expect(problemsOf(capped).map((p) => p.path)).toEqual([
      "systems.otrs.main.maxConcurrentCalls",
      "systems.rt.main.maxConcurrentCalls",
    ]);
  });

  it("refuses an integration that names a GLPI instance that does not exist", () => {
    const broken = structuredClone(sandbox);
    broken.integrations.glpiForms.glpi = "other";
    expect(problemsOf(broken)).toEqual([
      { path: "integrations.glpiForms.glpi", message: "names no instance under systems.glpi" },
    ]);
  });

  it("fails with the file name when the file is missing or not JSON", () => {
    const dir = mkdtempSync(join(tmpdir(), "deskbridge-config-"));
    const file = join(dir, "bad.json");
    writeFileSync(file, "{ not json");
    expect(() => loadDeploymentConfig(file)).toThrow(/bad\.json[\s\S]*is not valid JSON/);
    expect(() => loadDeploymentConfig(join(dir, "missing.json"))).toThrow(
      /missing\.json[\s\S]*cannot be read/,
    );
  });

  it("refuses a key under integrations that no integration has", () => {
    const typo = structuredClone(sandbox);
    typo.integrations.otrsRedmin = typo.integrations.otrsRedmine;
    expect(problemsOf(typo)).toEqual([{ path: "integrations.otrsRedmin", message: "is not a known field" }]);
  });

  it("checks only the integrations a function declares, and will not let it read another's", () => {
    const raw = structuredClone(sandbox);
    // Another integration's broken settings are that integration's functions' problem, not this one's.
    raw.integrations.rtKanban.rt = 42;
    raw.systems.rt.main.url = "not a url";
    const config = parseConfig(raw, [otrsRedmine, glpiForms], "config", true);
    expect(config.integrations.otrsRedmine?.otrs).toBe("main");
    expect(config.integrations.glpiForms?.glpi).toBe("main");
    expect(() => config.integrations.rtKanban).toThrow(
      "integrations.rtKanban is not read by this function, which declares otrsRedmine, glpiForms (useIntegrations)",
    );
    // A system outside its integrations is checked when first read.
    expect(() => config.systems.rt).toThrow(/systems\.rt\.main\.url/);
    // A process hosting several functions declares as it loads them: read after that, it is checked then.
    const later = parseConfig(raw, [otrsRedmine], "config", true, (key) =>
      key === "glpiForms" ? glpiForms : undefined,
    );
    expect(later.integrations.glpiForms?.glpi).toBe("main");
    raw.integrations.glpiForms.glpi = "other";
    const wrongLater = parseConfig(raw, [otrsRedmine], "config", true, () => glpiForms);
    expect(() => wrongLater.integrations.glpiForms).toThrow(
      /integrations\.glpiForms\.glpi: names no instance under systems\.glpi/,
    );
    // What it declares is checked whole, cross-checks included.
    raw.integrations.otrsRedmine.redmine = "other";
    expect(() => parseConfig(raw, [otrsRedmine], "config", true)).toThrow(
      /integrations\.otrsRedmine\.redmine: names no instance under systems\.redmine/,
    );
  });
});
