import { loadConfigFile, parseConfig } from "../core/config.ts";
import type { Config } from "../core/config-schema.ts";
import type { JobSpec } from "./descriptor.ts";
import { INTEGRATIONS } from "./integrations.ts";

/**
 * Every integration, by its descriptor (lib/sync/<id>/index.ts), in the order of their ids: the folders
 * `npm run generate` finds (lib/sync/integrations.ts). The workers, the config, the status page, dead
 * letters, the links lookup, the OpenAPI document and the bench read this list instead of keeping their
 * own. Descriptors are light: importing the registry bundles no integration's clients or job code.
 */
export const REGISTRY = INTEGRATIONS;

export type Integration = (typeof REGISTRY)[number];
/** An integration's one id: `otrs-redmine`, the prefix of its job types (`otrs-redmine.ticket`). */
export type IntegrationId = Integration["id"];

/** The integrations' ids, in the registry's order. */
export const INTEGRATION_IDS: readonly IntegrationId[] = REGISTRY.map((integration) => integration.id);

/** The integration with this id; undefined for an id no integration has. */
export function integrationById(id: string): Integration | undefined {
  return REGISTRY.find((integration) => integration.id === id);
}

/** The integration a job type belongs to (its prefix), or undefined. */
export function integrationOfJob(jobType: string): Integration | undefined {
  return integrationById(jobType.split(".")[0] ?? "");
}

/** The spec of a job type, or undefined for a type no integration declares. */
export function jobSpecOf(jobType: string): JobSpec | undefined {
  return integrationOfJob(jobType)?.jobs.find((job) => job.type === jobType);
}

/**
 * A deployment's whole configuration, checked against every integration in the registry (a key under
 * `integrations` that names none is an error): what the tools, `npm start` and the tests read.
 */
export function parseDeploymentConfig(raw: unknown, source = "config"): Readonly<Config> {
  return parseConfig(raw, REGISTRY, source);
}

/** Reads and checks a deployment's whole configuration file (see parseDeploymentConfig). */
export function loadDeploymentConfig(path: string): Readonly<Config> {
  return loadConfigFile(path, REGISTRY);
}
