import { dynamo, requiredEnv } from "../../core/aws.ts";
import { logger } from "../../core/logger.ts";
import { newJob } from "../../jobs/queue.ts";
import { jobRuntime } from "../../jobs/runtime.ts";
import type { LinkStore } from "../../links/store.ts";
import type { GlpiClient } from "../../systems/glpi/client.ts";
import { glpiClientFromConfig } from "../../systems/glpi/from-config.ts";
import { buildOnce, integrationSettings, systemInstance } from "../integration.ts";
import { DirectoryStore } from "./directory-store.ts";
import { EntityDirectory } from "./entity-directory.ts";
import { glpiForms, REFRESH_DIRECTORY_JOB } from "./index.ts";
import { ParkedRequests } from "./parked.ts";
import type { GlpiFormsConfig } from "./settings.ts";

/** What the GLPI forms integration works with, built once per container. */
export interface GlpiFormsDeps {
  settings: GlpiFormsConfig;
  /** The GLPI instance name from the config. */
  instance: string;
  glpi: GlpiClient;
  /** The CNPJ → entity map (entity-directory.ts). */
  entities: EntityDirectory;
  links: LinkStore;
  /** Requests whose CNPJ matched no entity, kept for an operator to assign and replay. */
  parked: ParkedRequests;
}

/** The integration's settings; a ConfigError when the config does not enable it. */
export const glpiFormsSettings = () => integrationSettings(glpiForms);

/** Builds the GLPI client (one session per container) and the entity directory on first use. */
export const glpiFormsDeps = /* @__PURE__ */ buildOnce(async (): Promise<GlpiFormsDeps> => {
  const runtime = jobRuntime();
  const settings = glpiFormsSettings();
  const instance = systemInstance("glpi", settings.glpi, "integrations.glpiForms.glpi");
  const glpi = await glpiClientFromConfig(settings.glpi, instance);
  return {
    settings,
    instance: settings.glpi,
    glpi,
    entities: new EntityDirectory(
      glpi,
      new DirectoryStore(runtime.db, runtime.table, settings.glpi),
      settings.entityLookup,
      {
        queueRefresh: () => runtime.queue.send(newJob(REFRESH_DIRECTORY_JOB, {})),
        warn: (message, details) => logger.warn(message, details),
      },
    ),
    links: runtime.links,
    parked: new ParkedRequests(dynamo(), requiredEnv("LINKS_TABLE")),
  };
});
