import { existsSync, readFileSync } from "node:fs";

/**
 * The sandbox's own secret values (never real ones), read by `npm start` and by the CLI when it targets
 * the local stack (infra/cli/target.ts says which stack a command works on).
 */
export const SANDBOX_ENV = "config/sandbox.env";

/**
 * Sets variables from a KEY=value file that the environment does not set already (nor `skip` names);
 * returns what it set.
 */
export function loadEnvFile(file: string, skip: ReadonlySet<string> = new Set()): Record<string, string> {
  const set: Record<string, string> = {};
  if (!existsSync(file)) return set;
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const match = /^\s*([A-Z][A-Z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!match?.[1] || match[2] === undefined || process.env[match[1]] !== undefined || skip.has(match[1]))
      continue;
    process.env[match[1]] = match[2];
    set[match[1]] = match[2];
  }
  return set;
}
