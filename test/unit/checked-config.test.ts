import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { writeCheckedConfig } from "../../infra/tools/check-config.ts";
import { type CheckedConfig, checkConfigText } from "../../lib/core/config.ts";
import { ConfigError } from "../../lib/core/errors.ts";
import { REGISTRY } from "../../lib/sync/registry.ts";

/**
 * The configuration checked at packaging (infra/tools/check-config.ts): deployed functions read its
 * checked form instead of validating the file at each cold start, but only the form made from the very
 * file they are given.
 */
const dir = mkdtempSync(join(tmpdir(), "deskbridge-checked-"));
const saved = { config: process.env.DESKBRIDGE_CONFIG, checked: process.env.DESKBRIDGE_CONFIG_CHECKED };

/** A fresh lib/core/config.ts (its configuration is read once per process, like a cold start). */
async function coldStart(configFile: string, checkedFile?: string) {
  vi.resetModules();
  process.env.DESKBRIDGE_CONFIG = configFile;
  if (checkedFile) process.env.DESKBRIDGE_CONFIG_CHECKED = checkedFile;
  else delete process.env.DESKBRIDGE_CONFIG_CHECKED;
  const config = await import("../../lib/core/config.ts");
  const { rtKanban } = await import("../../lib/sync/rt-kanban/index.ts");
  const { glpiForms } = await import("../../lib/sync/glpi-forms/index.ts");
  return { ...config, rtKanban, glpiForms };
}

beforeEach(() => vi.resetModules());
afterEach(() => {
  for (const [key, value] of [
    ["DESKBRIDGE_CONFIG", saved.config],
    ["DESKBRIDGE_CONFIG_CHECKED", saved.checked],
  ] as const) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
});

describe("the configuration checked at packaging", () => {
  it.each(["config/prod.json", "config/dev.json", "config/sandbox.json"])(
    "holds what validating %s at a cold start gives, for a function declaring one integration",
    async (file) => {
      const checkedFile = join(dir, `${file.replace(/\W/g, "-")}.checked.json`);
      writeCheckedConfig(file, checkedFile);

      const validated = await coldStart(file);
      validated.useIntegrations(validated.rtKanban);
      const fromFile = validated.getConfig();

      const checked = await coldStart(file, checkedFile);
      checked.useIntegrations(checked.rtKanban);
      const fromChecked = checked.getConfig();

      expect(fromChecked.jobs).toEqual(fromFile.jobs);
      expect(fromChecked.systems).toEqual(fromFile.systems);
      expect(fromChecked.integrations.rtKanban).toEqual(fromFile.integrations.rtKanban);
      expect(Object.isFrozen(fromChecked.jobs)).toBe(true);
      // Another integration's settings are not this function's to read, either way.
      if (Object.hasOwn(JSON.parse(readFileSync(file, "utf8")).integrations ?? {}, "glpiForms")) {
        expect(() => fromChecked.integrations.glpiForms).toThrow(/not read by this function/);
        expect(() => fromFile.integrations.glpiForms).toThrow(/not read by this function/);
      }
    },
  );

  it("is read, not the file, when it was made from that very file", async () => {
    const file = join(dir, "prod.json");
    const text = readFileSync("config/prod.json", "utf8");
    writeFileSync(file, text);
    const checked: CheckedConfig = checkConfigText(text, REGISTRY, file);
    // A checked form that says something the file does not: only reading it can give this.
    checked.config.jobs.maxAttempts = 41;
    const checkedFile = join(dir, "prod.checked.json");
    writeFileSync(checkedFile, JSON.stringify(checked));
    const { getConfig, useIntegrations, rtKanban } = await coldStart(file, checkedFile);
    useIntegrations(rtKanban);
    expect(getConfig().jobs.maxAttempts).toBe(41);
  });

  it("is ignored when the file has changed since: the file is validated, and a mistake in it said", async () => {
    const file = join(dir, "edited.json");
    const text = readFileSync("config/prod.json", "utf8");
    const checkedFile = join(dir, "edited.checked.json");
    writeFileSync(checkedFile, JSON.stringify(checkConfigText(text, REGISTRY, file)));
    const edited = JSON.parse(text);
    edited.jobs.maxAttempts = 0;
    writeFileSync(file, JSON.stringify(edited));
    const { getConfig, useIntegrations, rtKanban } = await coldStart(file, checkedFile);
    useIntegrations(rtKanban);
    // (A fresh module's ConfigError: the same class, another instance of it.)
    expect(() => getConfig()).toThrow(expect.objectContaining({ name: "ConfigError" }));
    expect(() => getConfig()).toThrow(/jobs\.maxAttempts/);
  });

  it("is ignored when it cannot be read, and the file is validated", async () => {
    const { getConfig, useIntegrations, rtKanban } = await coldStart(
      "config/prod.json",
      join(dir, "no-such-file.json"),
    );
    useIntegrations(rtKanban);
    expect(getConfig().jobs.maxAttempts).toBeGreaterThan(0);
  });

  it("cannot be made from a file with a mistake: packaging fails with the JSON path", async () => {
    const file = join(dir, "broken.json");
    const broken = JSON.parse(readFileSync("config/prod.json", "utf8"));
    broken.jobs.maxAttempts = "many";
    writeFileSync(file, JSON.stringify(broken));
    expect(() => writeCheckedConfig(file, join(dir, "broken.checked.json"))).toThrow(ConfigError);
    const run = promisify(execFile);
    const failed = await run(process.execPath, [
      "--import",
      "tsx",
      "infra/tools/check-config.ts",
      file,
      join(dir, "broken.checked.json"),
    ]).catch((error: { code: number; stderr: string }) => error);
    expect(failed).toMatchObject({ code: 1 });
    expect((failed as { stderr: string }).stderr).toMatch(/jobs\.maxAttempts/);
  });
});
