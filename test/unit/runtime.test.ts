import { readFileSync } from "node:fs";
import * as v from "valibot";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

/**
 * One Node for everything: Lambda's runtime (serverless.yml), the bundles' target, and the Node every
 * npm script runs on (the node@<major> devDependency, first on the PATH of npm scripts). npm itself may
 * run on an older Node: package.json's engines say which, and its allowScripts say which install
 * scripts run (docs/architecture.md, "Toolchain").
 */
const Service = v.object({
  provider: v.object({ runtime: v.string() }),
  custom: v.object({ esbuild: v.object({ target: v.string() }) }),
});
const Manifest = v.object({
  engines: v.object({ node: v.string() }),
  devDependencies: v.record(v.string(), v.string()),
  allowScripts: v.record(v.string(), v.boolean()),
});
const service = v.parse(Service, parse(readFileSync("serverless.yml", "utf8"), { logLevel: "silent" }));
const manifest = v.parse(Manifest, JSON.parse(readFileSync("package.json", "utf8")));
const lambdaMajor = Number(/^nodejs(\d+)\.x$/.exec(service.provider.runtime)?.[1]);

describe("the Node runtime", () => {
  it("runs the tests on the Node major Lambda runs", () => {
    expect(lambdaMajor).toBeGreaterThanOrEqual(22);
    expect(Number(process.versions.node.split(".")[0])).toBe(lambdaMajor);
  });

  it("bundles for Lambda's runtime and installs that Node for the scripts", () => {
    expect(service.custom.esbuild.target).toBe(`node${lambdaMajor}`);
    expect(manifest.devDependencies.node).toMatch(new RegExp(`^\\^${lambdaMajor}\\.`));
  });

  it("runs only the install script that installs Node, and denies every other one by name", () => {
    expect(Object.entries(manifest.allowScripts).filter(([, allowed]) => allowed)).toEqual([["node", true]]);
    expect(Object.keys(manifest.allowScripts).sort()).toEqual(
      ["@parcel/watcher", "classic-level", "es5-ext", "esbuild", "node"].sort(),
    );
  });
});
