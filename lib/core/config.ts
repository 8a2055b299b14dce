import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { isDeepStrictEqual } from "node:util";
import * as v from "valibot";
import {
  type Config,
  type ConfigScope,
  configSchema,
  type IntegrationName,
  type IntegrationSettings,
  type IntegrationSettingsMap,
  SYSTEMS,
  type SystemName,
  systemSchemas,
} from "./config-schema.ts";
import { ConfigError, type FieldProblem } from "./errors.ts";
import { toFieldProblems } from "./field-problems.ts";

export { toFieldProblems };

/** Where the configuration is read from when DESKBRIDGE_CONFIG is not set (the local sandbox). */
export const DEFAULT_CONFIG_PATH = "config/sandbox.json";

type Systems = Config["systems"];

/**
 * Validates a parsed configuration object, including the references between its parts. `integrations`
 * are every integration there is (any other key under `integrations` is an error) or, with `only`, the
 * ones a function works with: then only they and the systems they name are validated now (with the
 * settings every function uses); a system outside them is validated when first read, failing then with
 * the same ConfigError, and another integration's settings are not this function's to read.
 */
export function parseConfig(
  raw: unknown,
  integrations: readonly IntegrationSettings[],
  source = "config",
  only = false,
  declaredLater: (key: string) => IntegrationSettings | undefined = () => undefined,
): Readonly<Config> {
  const scope = scopeOf(integrations, only);
  const result = v.safeParse(schemaFor(scope), raw);
  if (!result.success) throw new ConfigError(toFieldProblems(result.issues), source);
  const config = result.output as Config;
  deferUnchecked(config, raw, scope, source, declaredLater);
  const problems = integrations.flatMap((integration) =>
    referenceProblems(integration, config.integrations[integration.configKey], config.systems),
  );
  if (problems.length > 0) throw new ConfigError(problems, source);
  return deepFreeze(config);
}

/** Reads, parses and validates a configuration file; fails with the JSON path and the problem. */
export function loadConfigFile(
  path: string,
  integrations: readonly IntegrationSettings[],
  only = false,
  declaredLater?: (key: string) => IntegrationSettings | undefined,
): Readonly<Config> {
  return parseConfig(parseJson(readText(path), path), integrations, path, only, declaredLater);
}

/**
 * A configuration file validated ahead, at packaging (`infra/tools/check-config.ts`): the output of the
 * full validation (every integration, defaults filled in) as JSON, with the SHA-256 of the file's text
 * it was made from. A deployed function reads it (DESKBRIDGE_CONFIG_CHECKED) instead of validating the
 * file again at each cold start.
 */
export interface CheckedConfig {
  checkedConfig: 1;
  sha256: string;
  config: Config;
}

/**
 * Validates a configuration file's text with every integration, as `parseConfig` does, and returns it
 * as a CheckedConfig; fails with the JSON path and the problem. A configuration whose validated form
 * would not survive JSON unchanged (a value no JSON can hold) cannot be checked ahead, and says so.
 */
export function checkConfigText(
  text: string,
  integrations: readonly IntegrationSettings[],
  source: string,
): CheckedConfig {
  const config = parseConfig(parseJson(text, source), integrations, source);
  const copy = JSON.parse(JSON.stringify(config)) as Config;
  if (!isDeepStrictEqual(copy, config)) {
    throw new Error(`${source}: its validated form does not survive JSON, so it cannot be checked ahead`);
  }
  return { checkedConfig: 1, sha256: sha256(text), config: copy };
}

/**
 * The CheckedConfig at `checkedPath` if it was made from this very text; undefined when there is none,
 * or when it was made from another version of the file (then the file is validated as usual).
 */
function readChecked(checkedPath: string | undefined, text: string): Config | undefined {
  if (!checkedPath) return undefined;
  let checked: Partial<CheckedConfig>;
  try {
    checked = JSON.parse(readFileSync(absolutePath(checkedPath), "utf8")) as Partial<CheckedConfig>;
  } catch {
    return undefined;
  }
  if (checked.checkedConfig !== 1 || checked.sha256 !== sha256(text) || !isRecord(checked.config))
    return undefined;
  return checked.config;
}

/**
 * A checked configuration as a function sees it: the integrations it declared, and another's
 * settings only once declared (as `deferUnchecked` makes a validated one), all frozen.
 */
function checkedView(
  checked: Config,
  scope: ConfigScope,
  declaredLater: (key: string) => IntegrationSettings | undefined,
): Readonly<Config> {
  if (!scope.only) return deepFreeze(checked);
  const declared = scope.integrations.map((integration) => integration.configKey);
  const integrations: Record<string, unknown> = {};
  for (const [key, settings] of Object.entries(checked.integrations)) {
    if (declared.includes(key as IntegrationName)) {
      integrations[key] = settings;
      continue;
    }
    definePart(integrations, key, () => {
      if (!declaredLater(key)) throw notDeclared(key, declared);
      return settings;
    });
  }
  return deepFreeze({ ...checked, integrations: integrations as Config["integrations"] });
}

// Relative to the working directory: the project root locally, /var/task (the bundle) on Lambda.
const absolutePath = (path: string) => (isAbsolute(path) ? path : resolve(path));

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

function readText(path: string): string {
  try {
    return readFileSync(absolutePath(path), "utf8");
  } catch (error) {
    throw new ConfigError([{ path: "(file)", message: `cannot be read: ${(error as Error).message}` }], path);
  }
}

function parseJson(text: string, path: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ConfigError(
      [{ path: "(file)", message: `is not valid JSON: ${(error as Error).message}` }],
      path,
    );
  }
}

let cached: Readonly<Config> | undefined;
const declared = new Map<IntegrationName, IntegrationSettings>();
let every = false;

/**
 * Declares the integrations this function works with (a route's, a poller's, a worker's, by their
 * descriptors): getConfig() then validates at cold start only those, the systems they name and the
 * settings every function uses, and leaves the rest of the file to be validated if it is ever read.
 * Declarations add up. A function that declares none sees no integration's settings.
 */
export function useIntegrations(...integrations: IntegrationSettings[]): void {
  for (const integration of integrations) declared.set(integration.configKey, integration);
}

/**
 * Declares that this function works with every integration (the registry's: the status page, the drain
 * worker, the tools): getConfig() validates the whole file, and a key under `integrations` that is none
 * of them is an error.
 */
export function useEveryIntegration(integrations: readonly IntegrationSettings[]): void {
  useIntegrations(...integrations);
  every = true;
}

/**
 * The deployment's configuration, read once per cold start from DESKBRIDGE_CONFIG: from its checked
 * form (DESKBRIDGE_CONFIG_CHECKED, made at packaging) when that was made from this very file, else
 * validated now.
 */
export function getConfig(): Readonly<Config> {
  if (cached) return cached;
  const path = process.env.DESKBRIDGE_CONFIG ?? DEFAULT_CONFIG_PATH;
  const integrations = [...declared.values()];
  const declaredLater = (key: string) => declared.get(key as IntegrationName);
  const text = readText(path);
  const checked = readChecked(process.env.DESKBRIDGE_CONFIG_CHECKED, text);
  const config = checked
    ? checkedView(checked, scopeOf(integrations, !every), declaredLater)
    : parseConfig(parseJson(text, path), integrations, path, !every, declaredLater);
  const problems = deployedProblems(config, process.env);
  if (problems.length > 0) throw new ConfigError(problems, path);
  cached = config;
  return cached;
}

/**
 * Settings a deployed stage (one that reads its secrets from SSM: DESKBRIDGE_SSM_PREFIX set) must not
 * have: `jobs.timeScale` compresses the jobs' clocks for tests, and in production it would dead-letter
 * an outage within minutes.
 */
export function deployedProblems(config: Pick<Config, "jobs">, env: NodeJS.ProcessEnv): FieldProblem[] {
  if (!env.DESKBRIDGE_SSM_PREFIX || config.jobs.timeScale === 1) return [];
  return [{ path: "jobs.timeScale", message: "is for tests only: a deployed stage must leave it at 1" }];
}

/** Problems with what an integration's settings name (instances, hooks, queues), with their full paths. */
function referenceProblems(
  integration: IntegrationSettings,
  settings: unknown,
  systems: Systems,
): FieldProblem[] {
  if (settings === undefined) return [];
  // The settings passed the integration's own schema: they are what its check takes.
  return integration.check(settings as IntegrationSettingsMap[IntegrationName], systems).map((problem) => ({
    path: `integrations.${integration.configKey}.${problem.path}`,
    message: problem.message,
  }));
}

function scopeOf(integrations: readonly IntegrationSettings[], only: boolean): ConfigScope {
  const named = new Set<string>(integrations.flatMap((integration) => integration.systems));
  return {
    integrations,
    systems: only ? new Set(SYSTEMS.filter((name) => named.has(name))) : undefined,
    only,
  };
}

const schemas = new Map<string, ReturnType<typeof configSchema>>();

/** The schema of a scope, built once per process. */
function schemaFor(scope: ConfigScope): ReturnType<typeof configSchema> {
  const keys = scope.integrations.map((integration) => integration.configKey).sort();
  const key = `${scope.only ? "only" : "every"}:${keys.join(",")}`;
  let schema = schemas.get(key);
  if (!schema) {
    schema = configSchema(scope);
    schemas.set(key, schema);
  }
  return schema;
}

/**
 * Replaces the parts a scoped parse passed through unchecked with properties that validate them when
 * first read (a system that is absent is `{}`, as the full schema's default makes it).
 */
function deferUnchecked(
  config: Config,
  raw: unknown,
  scope: ConfigScope,
  source: string,
  declaredLater: (key: string) => IntegrationSettings | undefined,
): void {
  const rawRoot = isRecord(raw) ? raw : {};
  const rawSystems = isRecord(rawRoot.systems) ? rawRoot.systems : {};
  const rawIntegrations = isRecord(rawRoot.integrations) ? rawRoot.integrations : {};
  const checked: ReadonlySet<SystemName> = scope.systems ?? new Set(SYSTEMS);
  // A new object, for the systems to keep the full schema's order.
  const systems: Record<string, unknown> = {};
  for (const name of SYSTEMS) {
    if (checked.has(name)) {
      systems[name] = config.systems[name];
      continue;
    }
    if (!Object.hasOwn(rawSystems, name)) {
      systems[name] = {};
      continue;
    }
    definePart(systems, name, () => {
      const schema = v.object({ systems: v.object({ [name]: systemSchemas[name]() }) });
      const result = v.safeParse(schema, { systems: { [name]: rawSystems[name] } });
      if (!result.success) throw new ConfigError(toFieldProblems(result.issues), source);
      return result.output.systems[name];
    });
  }
  config.systems = systems as Systems;
  // Another function's integration: validated when first read if it has been declared by then, else
  // reading it is a mistake (a missing useIntegrations), said loudly rather than seen as an integration
  // the deployment does not enable.
  const declared = scope.integrations.map((integration) => integration.configKey);
  for (const key of Object.keys(rawIntegrations)) {
    if (Object.hasOwn(config.integrations, key)) continue;
    definePart(config.integrations, key, () => {
      const integration = declaredLater(key);
      if (!integration) throw notDeclared(key, declared);
      const schema = v.object({ integrations: v.object({ [key]: integration.settings() }) });
      const result = v.safeParse(schema, { integrations: { [key]: rawIntegrations[key] } });
      if (!result.success) throw new ConfigError(toFieldProblems(result.issues), source);
      const settings = result.output.integrations[key];
      const problems = referenceProblems(integration, settings, config.systems);
      if (problems.length > 0) throw new ConfigError(problems, source);
      return settings;
    });
  }
}

/** Reading another integration's settings without declaring it: a mistake in the function, said loudly. */
function notDeclared(key: string, declared: readonly string[]): Error {
  return new Error(
    `integrations.${key} is not read by this function, which declares ${declared.join(", ") || "no integration"} (useIntegrations)`,
  );
}

/** A property validated when first read (and then kept, frozen); a failed validation throws each time. */
function definePart(target: Record<string, unknown>, key: string, validate: () => unknown): void {
  let validated = false;
  let value: unknown;
  Object.defineProperty(target, key, {
    enumerable: true,
    configurable: false,
    get() {
      if (!validated) {
        value = deepFreeze(validate());
        validated = true;
      }
      return value;
    },
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Freezes a value and everything in it, without reading the parts that are validated when first read. */
function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object") {
    for (const descriptor of Object.values(Object.getOwnPropertyDescriptors(value))) {
      if ("value" in descriptor) deepFreeze(descriptor.value);
    }
    Object.freeze(value);
  }
  return value;
}
