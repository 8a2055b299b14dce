import { getConfig, useIntegrations } from "../core/config.ts";
import type {
  Config,
  IntegrationName,
  IntegrationSettings,
  IntegrationSettingsMap,
} from "../core/config-schema.ts";
import { ConfigError } from "../core/errors.ts";

type Systems = Config["systems"];

/**
 * One integration's settings; a ConfigError naming it when the deployment's config does not enable it.
 * The code reading them works with that integration, and says so (useIntegrations): a tool or a test
 * that runs it without a function's declaration reads them all the same.
 */
export function integrationSettings<K extends IntegrationName>(
  integration: IntegrationSettings<K>,
): IntegrationSettingsMap[K] {
  useIntegrations(integration);
  const name = integration.configKey;
  const settings = getConfig().integrations[name];
  if (!settings)
    throw new ConfigError(
      [{ path: `integrations.${name}`, message: "is required for this route" }],
      "config",
    );
  return settings as IntegrationSettingsMap[K];
}

/** The instance an integration names under `systems.<system>`; a ConfigError naming the path otherwise. */
export function systemInstance<S extends keyof Systems>(
  system: S,
  name: string,
  path: string,
): NonNullable<Systems[S][string]> {
  const instance = getConfig().systems[system][name];
  if (!instance)
    throw new ConfigError([{ path, message: `names no instance under systems.${system}` }], "config");
  return instance as NonNullable<Systems[S][string]>;
}

/**
 * An integration's clients and caches, built once per container on first use (so a route pays only
 * for what it touches); a build that failed (a secret not yet in SSM) is tried again on the next call.
 * Mark each call pure (a `@__PURE__` comment before it): then the bundle of a function that never
 * asks for the clients leaves them, and the adapters behind them, out.
 */
export function buildOnce<T>(build: () => Promise<T>): () => Promise<T> {
  let built: Promise<T> | undefined;
  return () => {
    built ??= build().catch((error: unknown) => {
      built = undefined;
      throw error;
    });
    return built;
  };
}
