import { readFileSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import * as v from "valibot";
import { type Config, ConfigSchema } from "./config-schema.ts";
import { ConfigError, type FieldProblem } from "./errors.ts";

/** Where the configuration is read from when DESKBRIDGE_CONFIG is not set (the local sandbox). */
export const DEFAULT_CONFIG_PATH = "config/sandbox.json";

/** Turns valibot issues into `path: problem` pairs; the path is a dotted JSON path or `(root)`. */
export function toFieldProblems(issues: readonly v.BaseIssue<unknown>[]): FieldProblem[] {
  return issues.map((issue) => {
    const path = v.getDotPath(issue) ?? "(root)";
    let message = issue.message;
    if (issue.type === "strict_object" && issue.expected === "never") message = "is not a known field";
    else if (issue.kind === "schema" && issue.received === "undefined") message = "is required";
    return { path, message };
  });
}

/** Validates a parsed configuration object, including the references between its parts. */
export function parseConfig(raw: unknown, source = "config"): Readonly<Config> {
  const result = v.safeParse(ConfigSchema, raw);
  if (!result.success) throw new ConfigError(toFieldProblems(result.issues), source);
  const config = result.output;
  const problems: FieldProblem[] = [];
  const forms = config.integrations.glpiForms;
  if (forms && !config.systems.glpi[forms.glpi]) {
    problems.push({ path: "integrations.glpiForms.glpi", message: `names no instance under systems.glpi` });
  }
  const bridge = config.integrations.otrsRedmine;
  if (bridge && !config.systems.otrs[bridge.otrs]) {
    problems.push({ path: "integrations.otrsRedmine.otrs", message: "names no instance under systems.otrs" });
  }
  if (bridge && !config.systems.redmine[bridge.redmine]) {
    problems.push({
      path: "integrations.otrsRedmine.redmine",
      message: "names no instance under systems.redmine",
    });
  }
  const pair = config.integrations.itopPair;
  for (const side of ["external", "internal"] as const) {
    if (pair && !config.systems.itop[pair[side]]) {
      problems.push({
        path: `integrations.itopPair.${side}`,
        message: "names no instance under systems.itop",
      });
    }
  }
  if (pair && pair.external === pair.internal) {
    problems.push({ path: "integrations.itopPair.internal", message: "must differ from `external`" });
  }
  const board = config.integrations.rtKanban;
  if (board && !config.systems.rt[board.rt]) {
    problems.push({ path: "integrations.rtKanban.rt", message: "names no instance under systems.rt" });
  }
  if (board && !config.systems.kanboard[board.board.kanboard]) {
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
  const chat = config.integrations.rocketchatOtrs;
  if (chat && !config.systems.otrs[chat.otrs]) {
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
  if (problems.length > 0) throw new ConfigError(problems, source);
  return deepFreeze(config);
}

/** Reads, parses and validates a configuration file; fails with the JSON path and the problem. */
export function loadConfigFile(path: string): Readonly<Config> {
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
  return parseConfig(raw, path);
}

let cached: Readonly<Config> | undefined;

/** The deployment's configuration, read once per cold start from DESKBRIDGE_CONFIG. */
export function getConfig(): Readonly<Config> {
  cached ??= loadConfigFile(process.env.DESKBRIDGE_CONFIG ?? DEFAULT_CONFIG_PATH);
  return cached;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object") {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
