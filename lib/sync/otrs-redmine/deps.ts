import { loadSecrets } from "../../core/secrets.ts";
import { jobRuntime } from "../../jobs/runtime.ts";
import type { LinkStore } from "../../links/store.ts";
import type { OtrsClient } from "../../systems/otrs/client.ts";
import { otrsClientFromConfig } from "../../systems/otrs/from-config.ts";
import type { RedmineClient } from "../../systems/redmine/client.ts";
import { redmineClientFromConfig } from "../../systems/redmine/from-config.ts";
import { buildOnce, integrationSettings, systemInstance } from "../integration.ts";
import { otrsRedmine } from "./index.ts";
import type { OtrsRedmineConfig } from "./settings.ts";

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

/** The integration's settings; a ConfigError when the config does not enable it. */
export const otrsRedmineSettings = () => integrationSettings(otrsRedmine);

/** Builds both clients on first use. */
export const otrsRedmineDeps = /* @__PURE__ */ buildOnce(async (): Promise<OtrsRedmineDeps> => {
  const runtime = jobRuntime();
  const settings = otrsRedmineSettings();
  const otrs = systemInstance("otrs", settings.otrs, "integrations.otrsRedmine.otrs");
  const redmine = systemInstance("redmine", settings.redmine, "integrations.otrsRedmine.redmine");
  // Both clients' secrets in one read (one SSM call when deployed); each builder then finds its own.
  await loadSecrets([otrs.password.secret, redmine.apiKey.secret]);
  return {
    settings,
    otrsInstance: settings.otrs,
    redmineInstance: settings.redmine,
    otrsLogin: otrs.login,
    otrs: await otrsClientFromConfig(settings.otrs, otrs),
    redmine: await redmineClientFromConfig(settings.redmine, redmine),
    links: runtime.links,
  };
});
