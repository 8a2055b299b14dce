import * as v from "valibot";
import type { Config, IntegrationName, IntegrationSettings, SystemName } from "../core/config-schema.ts";
import type { Ref } from "../links/refs.ts";

type Integrations = Config["integrations"];

/** An integration's settings (`integrations.<configKey>`), when the deployment enables it. */
export type SettingsOf<K extends IntegrationName> = NonNullable<Integrations[K]>;

/**
 * One kind of job an integration queues, as the registry knows it without its code: its type, the
 * schema of its input, and the object it syncs (for the status page's dead letters). The code that
 * runs it (`defineJob` in the integration's `*-job.ts`) takes `type` and `input` from here.
 */
export interface JobSpec<S extends v.GenericSchema = v.GenericSchema> {
  /** `<integration id>.<name>`: what the queue messages carry as `type`. */
  type: string;
  input: S;
  /** The source object of a job with this input, or undefined when its settings do not name it. */
  source(input: v.InferOutput<S>, context: { jobId: string; config: Readonly<Config> }): Ref | undefined;
}

/** Declares a job spec with the types of `source` inferred from the input schema. */
export function jobSpec<S extends v.GenericSchema>(spec: JobSpec<S>): JobSpec<S> {
  return spec;
}

/**
 * A scheduled poller of an integration (functions/<id>/poll-*.ts): the system it reads, and the name of
 * the cursor it keeps (lib/jobs/poll-window.ts), from the deployment's config; undefined when the
 * settings are absent. The status page reads its last run by that name; the poller emits its lag.
 */
export interface PollerSpec {
  system: SystemName;
  cursor(config: Readonly<Config>): string | undefined;
}

/**
 * Everything the bridge knows about one integration without loading its code: its one id (the prefix
 * of its job types, its row on the status page, its counters), where its settings sit in the config,
 * their schema and cross-checks (settings.ts), the systems it works with, the objects it links (what an
 * operator can look up), its jobs and its routes (for the OpenAPI document). Kept light (valibot
 * schemas and plain data only), so a function that reads the registry does not bundle any
 * integration's clients or job code.
 */
export interface IntegrationDescriptor<K extends IntegrationName = IntegrationName>
  extends IntegrationSettings<K> {
  id: string;
  /** `integrations.<configKey>` in the config file (camelCase of its id). */
  configKey: K;
  /**
   * The external systems it calls (its adapters, lib/systems/<system>/): the instances its settings
   * name under `systems.*`, and a system it reaches through its own settings (Rocket.Chat's hooks).
   */
  systems: readonly (SystemName | "rocketchat")[];
  /** Per system (or `forms`), the ref types its links store: what the links lookup searches. */
  links: Readonly<Record<string, readonly string[]>>;
  jobs: readonly JobSpec[];
  /** Its pollers, if it has any (what webhooks miss). */
  pollers?: readonly PollerSpec[];
}

/** Declares an integration's descriptor (see IntegrationDescriptor). */
export function defineIntegration<const I extends string, K extends IntegrationName>(
  descriptor: IntegrationDescriptor<K> & { id: I },
): IntegrationDescriptor<K> & { id: I } {
  for (const job of descriptor.jobs) {
    if (!job.type.startsWith(`${descriptor.id}.`))
      throw new Error(`job type ${job.type} does not start with its integration's id ${descriptor.id}`);
  }
  return descriptor;
}

/** The source ref of a job, from its raw input; undefined when the input does not match its schema. */
export function sourceOf(
  spec: JobSpec,
  input: unknown,
  jobId: string,
  config: Readonly<Config>,
): Ref | undefined {
  const parsed = v.safeParse(spec.input, input);
  return parsed.success ? spec.source(parsed.output, { jobId, config }) : undefined;
}

/** A ref to an instance the settings name; undefined when they name none. */
export function instanceRef(
  system: string,
  instance: string | undefined,
  type: string,
  id: string | number,
): Ref | undefined {
  return instance ? { system, instance, type, id: String(id) } : undefined;
}
