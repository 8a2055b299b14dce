import { readFileSync } from "node:fs";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";
import {
  configKeyOf,
  INTEGRATIONS_MODULE,
  integrationFolders,
  integrationsModuleText,
} from "../../infra/tools/integrations.ts";
import { sourceOf } from "../../lib/sync/descriptor.ts";
import * as glpiForms from "../../lib/sync/glpi-forms/jobs.ts";
import * as itopPair from "../../lib/sync/itop-pair/jobs.ts";
import * as otrsRedmine from "../../lib/sync/otrs-redmine/jobs.ts";
import {
  INTEGRATION_IDS,
  integrationOfJob,
  jobSpecOf,
  loadDeploymentConfig,
  REGISTRY,
} from "../../lib/sync/registry.ts";
import * as rocketchatOtrs from "../../lib/sync/rocketchat-otrs/jobs.ts";
import * as rtKanban from "../../lib/sync/rt-kanban/jobs.ts";

const modules = [glpiForms, itopPair, otrsRedmine, rocketchatOtrs, rtKanban];

describe("the integrations registry", () => {
  it("lists each integration once, by one id, with its own config section", () => {
    expect(INTEGRATION_IDS).toEqual([
      "glpi-forms",
      "itop-pair",
      "otrs-redmine",
      "rocketchat-otrs",
      "rt-kanban",
    ]);
    expect(new Set(REGISTRY.map((integration) => integration.configKey)).size).toBe(REGISTRY.length);
    // Its config section is its id in camelCase: what serverless.yml's generated parts read.
    for (const integration of REGISTRY)
      expect(integration.configKey).toBe(
        integration.id.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()),
      );
  });

  it("is every folder lib/sync/<id>/ with a descriptor, as lib/sync/integrations.ts lists them (npm run generate)", () => {
    expect(INTEGRATION_IDS).toEqual(integrationFolders());
    const file = readFileSync(INTEGRATIONS_MODULE, "utf8");
    expect(file === integrationsModuleText(), `${INTEGRATIONS_MODULE} is stale: run npm run generate`).toBe(
      true,
    );
    // A sixth folder is a sixth descriptor, exported under its config key.
    expect(integrationsModuleText([...INTEGRATION_IDS, "zammad-jira"])).toContain(
      'import { zammadJira } from "./zammad-jira/index.ts";',
    );
    expect(configKeyOf("zammad-jira")).toBe("zammadJira");
  });

  it("names every job type after its integration and finds the integration by it", () => {
    for (const integration of REGISTRY) {
      expect(integration.jobs.length).toBeGreaterThan(0);
      for (const job of integration.jobs) {
        expect(job.type.startsWith(`${integration.id}.`)).toBe(true);
        expect(integrationOfJob(job.type)).toBe(integration);
        expect(jobSpecOf(job.type)).toBe(job);
      }
    }
    expect(integrationOfJob("nobody.sync")).toBeUndefined();
    expect(jobSpecOf("otrs-redmine.nothing")).toBeUndefined();
  });

  it("runs each declared job with the code of its integration's jobs module, on the declared input schema", () => {
    for (const [i, module] of modules.entries()) {
      expect(module.integration).toBe(REGISTRY[i]);
      expect(module.jobs.map((job) => job.type)).toEqual(module.integration.jobs.map((job) => job.type));
      for (const [j, job] of module.jobs.entries()) expect(job.input).toBe(module.integration.jobs[j]?.input);
    }
  });

  it("reads a job's source object from its input, with the instance its settings name", () => {
    const config = loadDeploymentConfig("config/sandbox.json");
    const source = (type: string, input: unknown, jobId = "job-1") => {
      const spec = jobSpecOf(type);
      if (!spec) throw new Error(`no spec for ${type}`);
      return sourceOf(spec, input, jobId, config);
    };
    expect(source("otrs-redmine.ticket", { ticketId: "4711" })).toEqual({
      system: "otrs",
      instance: "main",
      type: "ticket",
      id: "4711",
    });
    expect(source("itop-pair.sync", { side: "internal", ticketId: "12" })).toEqual({
      system: "itop",
      instance: "elitery",
      type: "ticket",
      id: "12",
    });
    expect(source("rt-kanban.ticket", { ticketId: 9 })?.instance).toBe("main");
    // An input its schema refuses names no object.
    expect(source("rt-kanban.ticket", { ticketId: "not a number" })).toBeUndefined();
    expect(source("glpi-forms.create-ticket", {})).toBeUndefined();
    // A deployment that does not enable the integration has no instance to name.
    const without = { ...config, integrations: {} };
    const notify = jobSpecOf("rocketchat-otrs.notify");
    if (!notify) throw new Error("no notify job");
    expect(
      sourceOf(notify, { ticketId: "7", event: "TicketCreate", eventKey: "k" }, "j", without),
    ).toBeUndefined();
  });

  it("bundles no integration's clients or job code into a function that reads the registry", async () => {
    const result = await build({
      entryPoints: ["lib/sync/registry.ts"],
      bundle: true,
      write: false,
      metafile: true,
      platform: "node",
      format: "esm",
      logLevel: "silent",
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.some((path) => path.includes("lib/sync/otrs-redmine/index.ts"))).toBe(true);
    expect(
      inputs.filter((path) => /lib\/systems\/|-job\.ts$|deps\.ts$|node_modules\/ky\//.test(path)),
    ).toEqual([]);
  });
});
