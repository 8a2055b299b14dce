import { readFileSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import * as v from "valibot";
import {
  type Config,
  type ConfigScope,
  configSchema,
  INTEGRATION_SYSTEMS,
  INTEGRATIONS,
  type IntegrationName,
  integrationSchemas,
  SYSTEMS,
  systemSchemas,
} from "./config-schema.ts";
import { ConfigError, type FieldProblem } from "./errors.ts";
import { toFieldProblems } from "./field-problems.ts";

export { toFieldProblems };

/** Where the configuration is read from when DESKBRIDGE_CONFIG is not set (the local sandbox). */
export const DEFAULT_CONFIG_PATH = "config/sandbox.json";

type Integrations = Config["integrations"];
type Systems = Config["systems"];

/**
 * Validates a parsed configuration object, including the references between its parts. With
 * `integrations`, only those integrations and the systems they name are validated now (with the
 * settings every function uses); every other part is validated when it is first read, and fails then
 * with the same ConfigError, naming the path and the problem.
 */
export function parseConfig(
  raw: unknown,
  source = "config",
  integrations?: readonly IntegrationName[],
): Readonly<Config> {
  const scope = integrations === undefined ? undefined : scopeOf(integrations);
  const result = v.safeParse(schemaFor(scope), raw);
  if (!result.success) throw new ConfigError(toFieldProblems(result.issues), source);
  const config = result.output;
  if (scope) deferUnchecked(config, raw, scope, source);
  const problems = INTEGRATIONS.filter((name) => !scope || scope.integrations.has(name)).flatMap((name) =>
    referenceProblems(name, config.integrations, config.systems),
  );
  if (problems.length > 0) throw new ConfigError(problems, source);
  return deepFreeze(config);
}

/** Reads, parses and validates a configuration file; fails with the JSON path and the problem. */
export function loadConfigFile(path: string, integrations?: readonly IntegrationName[]): Readonly<Config> {
  // Relative to the working directory: the project root locally, /var/task (the bundle) on Lambda.
  const absolute = isAbsolute(path) ? path : resolve(path);
  let text: string;
  try {
    text = readFileSync(absolute, "utf8");
  } catch (error) {
    throw new ConfigError([{ path: "(file)", message: `cannot be read: ${(error as Error).message}` }], path);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(
      [{ path: "(file)", message: `is not valid JSON: ${(error as Error).message}` }],
      path,
    );
  }
  return parseConfig(raw, path, integrations);
}

let cached: Readonly<Config> | undefined;
let used: Set<IntegrationName> | undefined;

/**
 * Declares the integrations this function works with (a route's, a poller's): from then on getConfig()
 * validates at cold start only those, the systems they name and the settings every function uses, and
 * leaves the rest of the file to be validated if it is ever read. Without a declaration (the worker,
 * which runs every integration's jobs, and tools) the whole file is validated. Declarations add up.
 */
export function useIntegrations(...names: IntegrationName[]): void {
  used ??= new Set();
  for (const name of names) used.add(name);
}

/** The deployment's configuration, read once per cold start from DESKBRIDGE_CONFIG. */
export function getConfig(): Readonly<Config> {
  cached ??= loadConfigFile(process.env.DESKBRIDGE_CONFIG ?? DEFAULT_CONFIG_PATH, used && [...used]);
  return cached;
}

/** Problems with what an integration names (instances, hooks, queues), in the order they are checked. */
function referenceProblems(
  name: IntegrationName,
  integrations: Integrations,
  systems: Systems,
): FieldProblem[] {
  const problems: FieldProblem[] = [];
  if (name === "glpiForms") {
    const forms = integrations.glpiForms;
    if (forms && !systems.glpi[forms.glpi]) {
      problems.push({ path: "integrations.glpiForms.glpi", message: `names no instance under systems.glpi` });
    }
  }
  if (name === "otrsRedmine") {
    const bridge = integrations.otrsRedmine;
    if (bridge && !systems.otrs[bridge.otrs]) {
      problems.push({
        path: "integrations.otrsRedmine.otrs",
        message: "names no instance under systems.otrs",
      });
    }
    if (bridge && !systems.redmine[bridge.redmine]) {
      problems.push({
        path: "integrations.otrsRedmine.redmine",
        message: "names no instance under systems.redmine",
      });
    }
  }
  if (name === "itopPair") {
    const pair = integrations.itopPair;
    for (const side of ["external", "internal"] as const) {
      if (pair && !systems.itop[pair[side]]) {
        problems.push({
          path: `integrations.itopPair.${side}`,
          message: "names no instance under systems.itop",
        });
      }
    }
    if (pair && pair.external === pair.internal) {
      problems.push({ path: "integrations.itopPair.internal", message: "must differ from `external`" });
    }
  }
  if (name === "rtKanban") {
    const board = integrations.rtKanban;
    if (board && !systems.rt[board.rt]) {
      problems.push({ path: "integrations.rtKanban.rt", message: "names no instance under systems.rt" });
    }
    if (board && !systems.kanboard[board.board.kanboard]) {
      problems.push({
        path: "integrations.rtKanban.board.kanboard",
        message: "names no instance under systems.kanboard",
      });
    }
    for (const queue of board?.queues ?? []) {
      if (board?.sensitiveQueues.includes(queue)) {
        problems.push({
          path: "integrations.rtKanban.sensitiveQueues",
          message: `lists ${queue}, which integrations.rtKanban.queues exposes`,
        });
      }
    }
  }
  if (name === "rocketchatOtrs") {
    const chat = integrations.rocketchatOtrs;
    if (chat && !systems.otrs[chat.otrs]) {
      problems.push({
        path: "integrations.rocketchatOtrs.otrs",
        message: "names no instance under systems.otrs",
      });
    }
    for (const [i, rule] of (chat?.notifications?.rules ?? []).entries()) {
      for (const hook of rule.hooks) {
        if (!chat?.notifications?.hooks[hook]) {
          problems.push({
            path: `integrations.rocketchatOtrs.notifications.rules.${i}.hooks`,
            message: `names ${hook}, which is not under notifications.hooks`,
          });
        }
      }
    }
  }
  return problems;
}

function scopeOf(integrations: readonly IntegrationName[]): ConfigScope {
  return {
    integrations: new Set(integrations),
    systems: new Set(integrations.flatMap((name) => INTEGRATION_SYSTEMS[name])),
  };
}

const schemas = new Map<string, ReturnType<typeof configSchema>>();

/** The schema of a scope (the whole config without one), built once per process. */
function schemaFor(scope: ConfigScope | undefined): ReturnType<typeof configSchema> {
  const key = scope ? [...scope.integrations].sort().join(",") : "*";
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
function deferUnchecked(config: Config, raw: unknown, scope: ConfigScope, source: string): void {
  const rawRoot = isRecord(raw) ? raw : {};
  const rawSystems = isRecord(rawRoot.systems) ? rawRoot.systems : {};
  const rawIntegrations = isRecord(rawRoot.integrations) ? rawRoot.integrations : {};
  // A new object, for the systems to keep the full schema's order.
  const systems: Record<string, unknown> = {};
  for (const name of SYSTEMS) {
    if (scope.systems.has(name)) {
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
  const integrations = config.integrations as Record<IntegrationName, unknown>;
  for (const name of INTEGRATIONS) {
    if (scope.integrations.has(name) || !Object.hasOwn(integrations, name)) continue;
    definePart(integrations, name, () => {
      const schema = v.object({ integrations: v.object({ [name]: integrationSchemas[name]() }) });
      const result = v.safeParse(schema, { integrations: { [name]: rawIntegrations[name] } });
      if (!result.success) throw new ConfigError(toFieldProblems(result.issues), source);
      const settings = result.output.integrations[name];
      const problems = referenceProblems(name, { [name]: settings } as Integrations, config.systems);
      if (problems.length > 0) throw new ConfigError(problems, source);
      return settings;
    });
  }
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
