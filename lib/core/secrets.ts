import { GetParametersCommand, SSMClient } from "@aws-sdk/client-ssm";
import { ConfigError } from "./errors.ts";

/**
 * Secrets are named in the config (`{"secret": "GLPI_APP_TOKEN"}`) and their values come from the
 * environment. Locally that is the shell (or config/sandbox.env); in a deployed stage the variable is
 * absent and the value is read once per cold start from SSM Parameter Store, as a SecureString under
 * DESKBRIDGE_SSM_PREFIX (e.g. `/deskbridge/prod/GLPI_APP_TOKEN`). Values are never logged.
 */
const resolved = new Map<string, string>();

/** Reads the named secrets into memory; only names missing from the environment go to SSM. */
export async function loadSecrets(names: readonly string[]): Promise<void> {
  const missing: string[] = [];
  for (const name of names) {
    if (resolved.has(name)) continue;
    const fromEnv = process.env[name];
    if (fromEnv !== undefined && fromEnv !== "") resolved.set(name, fromEnv);
    else missing.push(name);
  }
  if (missing.length === 0) return;
  const prefix = process.env.DESKBRIDGE_SSM_PREFIX;
  if (!prefix) {
    throw new ConfigError(
      missing.map((name) => ({ path: name, message: "secret is not set in the environment" })),
      "environment",
    );
  }
  // The client is built only for secrets missing from the environment (deployed stages), but its module
  // is imported statically: bundled from a dynamic import(), the SSM client keeps every one of its
  // commands (about 230 KB, parsed at each cold start); imported statically, it is tree-shaken to the
  // client and GetParameters (about 80 KB), which costs a cold start some 9 ms less.
  const ssm = new SSMClient({});
  for (let i = 0; i < missing.length; i += 10) {
    const batch = missing.slice(i, i + 10);
    const out = await ssm.send(
      new GetParametersCommand({ Names: batch.map((name) => `${prefix}${name}`), WithDecryption: true }),
    );
    for (const parameter of out.Parameters ?? []) {
      if (parameter.Name && parameter.Value !== undefined)
        resolved.set(parameter.Name.slice(prefix.length), parameter.Value);
    }
  }
  const stillMissing = missing.filter((name) => !resolved.has(name));
  if (stillMissing.length > 0) {
    throw new ConfigError(
      stillMissing.map((name) => ({ path: name, message: `no SSM parameter ${prefix}${name}` })),
      "SSM Parameter Store",
    );
  }
}

/** The value of a secret loaded by `loadSecrets`; throws a ConfigError naming it (never its value). */
export function secret(name: string): string {
  const value = resolved.get(name) ?? process.env[name];
  if (value === undefined || value === "") {
    throw new ConfigError([{ path: name, message: "secret is not loaded" }], "environment");
  }
  return value;
}

/** The secret names a config refers to: every `"secret": "NAME"` (secret refs and shared-secret auth blocks). */
export function configSecretNames(value: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const inner of value) configSecretNames(inner, found);
  else if (typeof value === "object" && value !== null) {
    for (const [key, inner] of Object.entries(value)) {
      if (key === "secret" && typeof inner === "string") found.add(inner);
      else configSecretNames(inner, found);
    }
  }
  return found;
}

/** Forgets loaded secrets (tests that change the environment). */
export function clearSecrets(): void {
  resolved.clear();
}
