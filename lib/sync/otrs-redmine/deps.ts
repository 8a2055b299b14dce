import type { OtrsRedmineConfig } from "../../core/config-schema.ts";
import { ConfigError } from "../../core/errors.ts";
import { loadSecrets, secret } from "../../core/secrets.ts";
import { jobRuntime } from "../../jobs/runtime.ts";
import type { LinkStore } from "../../links/store.ts";
import { OtrsClient } from "../../systems/otrs/client.ts";
import { RedmineClient } from "../../systems/redmine/client.ts";

/** What the OTRS ↔ Redmine integration works with, built once per container. */
export interface OtrsRedmineDeps {
  settings: OtrsRedmineConfig;
  otrsInstance: string;
  redmineInstance: string;
  /** The bridge's own OTRS agent login (its changes are echoes). */
  otrsLogin: string;
  otrs: OtrsClient;
  redmine: RedmineClient;
  links: LinkStore;
}

let deps: Promise<OtrsRedmineDeps> | undefined;

/** The integration's settings; a ConfigError when the config does not enable it. */
export function otrsRedmineSettings(): OtrsRedmineConfig {
  const settings = jobRuntime().config.integrations.otrsRedmine;
  if (!settings)
    throw new ConfigError(
      [{ path: "integrations.otrsRedmine", message: "is required for this route" }],
      "config",
    );
  return settings;
}

/** Builds both clients on first use. */
export function otrsRedmineDeps(): Promise<OtrsRedmineDeps> {
  deps ??= build().catch((error: unknown) => {
    deps = undefined;
    throw error;
  });
  return deps;
}

async function build(): Promise<OtrsRedmineDeps> {
  const runtime = jobRuntime();
  const settings = otrsRedmineSettings();
  const otrs = runtime.config.systems.otrs[settings.otrs];
  const redmine = runtime.config.systems.redmine[settings.redmine];
  if (!otrs || !redmine)
    throw new ConfigError(
      [{ path: "integrations.otrsRedmine", message: "names a missing instance" }],
      "config",
    );
  await loadSecrets([otrs.password.secret, redmine.apiKey.secret]);
  return {
    settings,
    otrsInstance: settings.otrs,
    redmineInstance: settings.redmine,
    otrsLogin: otrs.login,
    otrs: new OtrsClient({
      instance: settings.otrs,
      url: otrs.url,
      login: otrs.login,
      password: secret(otrs.password.secret),
      credentialsIn: otrs.credentialsIn,
      timeoutMs: otrs.timeoutMs,
    }),
    redmine: new RedmineClient({
      instance: settings.redmine,
      url: redmine.url,
      apiKey: secret(redmine.apiKey.secret),
      timeoutMs: redmine.timeoutMs,
    }),
    links: runtime.links,
  };
}
