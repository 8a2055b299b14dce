import type { GlpiFormsConfig } from "../../core/config-schema.ts";
import { ConfigError } from "../../core/errors.ts";
import { loadSecrets, secret } from "../../core/secrets.ts";
import { jobRuntime } from "../../jobs/runtime.ts";
import type { LinkStore } from "../../links/store.ts";
import { GlpiClient } from "../../systems/glpi/client.ts";
import { EntityLookup } from "./entity-lookup.ts";

/** What the GLPI forms integration works with, built once per container. */
export interface GlpiFormsDeps {
  settings: GlpiFormsConfig;
  /** The GLPI instance name from the config. */
  instance: string;
  glpi: GlpiClient;
  entities: EntityLookup;
  links: LinkStore;
}

let deps: Promise<GlpiFormsDeps> | undefined;

/** The integration's settings; a ConfigError when the config does not enable it. */
export function glpiFormsSettings(): GlpiFormsConfig {
  const settings = jobRuntime().config.integrations.glpiForms;
  if (!settings)
    throw new ConfigError(
      [{ path: "integrations.glpiForms", message: "is required for this route" }],
      "config",
    );
  return settings;
}

/** Builds the GLPI client (one session per container) and the entity cache on first use. */
export function glpiFormsDeps(): Promise<GlpiFormsDeps> {
  deps ??= build().catch((error: unknown) => {
    deps = undefined;
    throw error;
  });
  return deps;
}

async function build(): Promise<GlpiFormsDeps> {
  const runtime = jobRuntime();
  const settings = glpiFormsSettings();
  const instance = runtime.config.systems.glpi[settings.glpi];
  if (!instance)
    throw new ConfigError(
      [{ path: "integrations.glpiForms.glpi", message: "names no GLPI instance" }],
      "config",
    );
  await loadSecrets([instance.appToken.secret, instance.userToken.secret]);
  const glpi = new GlpiClient({
    instance: settings.glpi,
    url: instance.url,
    appToken: secret(instance.appToken.secret),
    userToken: secret(instance.userToken.secret),
    timeoutMs: instance.timeoutMs,
    activateAllEntities: instance.activateAllEntities,
  });
  return {
    settings,
    instance: settings.glpi,
    glpi,
    entities: new EntityLookup(glpi, settings.entityLookup),
    links: runtime.links,
  };
}
