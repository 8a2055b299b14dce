import * as v from "valibot";
import {
  type Config,
  lazy,
  maxConcurrency,
  missingInstances,
  nonNegativeInt,
  positiveInt,
  sharedSecretAuthSchema,
} from "../../core/config-schema.ts";
import type { FieldProblem } from "../../core/errors.ts";

/** `integrations.glpiForms`: this integration's settings, when the deployment enables it. */
export const glpiFormsSchema = lazy(() =>
  v.strictObject({
    maxConcurrency: maxConcurrency(),
    /** Key of the GLPI instance under systems.glpi. */
    glpi: v.string(),
    auth: sharedSecretAuthSchema(),
    entityLookup: entityLookupSchema(),
    ticket: v.strictObject({
      /** 1 = Incident, 2 = Request. */
      type: v.optional(v.picklist([1, 2]), 1),
      urgency: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(5)), 3),
      impact: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(5)), 3),
      defaultCategoryId: positiveInt(),
      requesterUserId: positiveInt(),
      recipientUserId: positiveInt(),
      requestSourceId: v.optional(positiveInt()),
      requestTypeId: positiveInt(),
    }),
  }),
);
/** How long a CNPJ → entity map read from GLPI is trusted when nothing else says (15 minutes). */
export const DEFAULT_DIRECTORY_MAX_AGE_SECONDS = 900;
/** GLPI advertises PHP's max_input_vars (1000 by default) as its largest page (`Accept-Range`). */
export const MAX_DIRECTORY_PAGE = 1000;

/**
 * `entityLookup`: where the CNPJ lives, and the entity directory (entity-directory.ts): the CNPJ →
 * entity map read from GLPI, trusted for `directory.maxAgeSeconds` (0: no map, one search a ticket) and
 * refreshed in the background after `directory.refreshAfterSeconds` (default: half the max age).
 * `cacheTtlSeconds`, the per-container cache this replaced, is still read as the max age.
 */
function entityLookupSchema() {
  return v.pipe(
    v.strictObject({
      itemtype: v.optional(v.string(), "Entity"),
      /** Name of the Fields plugin field holding the CNPJ (documentation and start-up checks). */
      fieldName: v.string(),
      /** Search-option id of that field (GET /listSearchOptions/Entity). */
      searchOptionId: positiveInt(),
      /** The old name of `directory.maxAgeSeconds`. */
      cacheTtlSeconds: v.optional(nonNegativeInt()),
      directory: v.optional(
        v.strictObject({
          maxAgeSeconds: v.optional(nonNegativeInt()),
          refreshAfterSeconds: v.optional(positiveInt()),
          /** Rows a page when the whole map is read (GLPI's `range`), 1 to 1000. */
          pageSize: v.optional(
            v.pipe(
              v.number(),
              v.integer(),
              v.minValue(1, `must be 1 to ${MAX_DIRECTORY_PAGE}`),
              v.maxValue(MAX_DIRECTORY_PAGE, `must be 1 to ${MAX_DIRECTORY_PAGE}`),
            ),
            MAX_DIRECTORY_PAGE,
          ),
        }),
        {},
      ),
    }),
    v.forward(
      v.check(
        ({ cacheTtlSeconds, directory }) =>
          cacheTtlSeconds === undefined || directory.maxAgeSeconds === undefined,
        "is the old name of directory.maxAgeSeconds: set only that one",
      ),
      ["cacheTtlSeconds"],
    ),
    v.transform(({ cacheTtlSeconds, directory, ...lookup }) => {
      const maxAgeSeconds = directory.maxAgeSeconds ?? cacheTtlSeconds ?? DEFAULT_DIRECTORY_MAX_AGE_SECONDS;
      const refreshAfterSeconds = directory.refreshAfterSeconds ?? Math.max(1, Math.floor(maxAgeSeconds / 2));
      return { ...lookup, directory: { maxAgeSeconds, refreshAfterSeconds, pageSize: directory.pageSize } };
    }),
    v.forward(
      v.check(
        ({ directory }) =>
          directory.maxAgeSeconds === 0 || directory.refreshAfterSeconds < directory.maxAgeSeconds,
        "must be less than directory.maxAgeSeconds, or the map goes untrusted before it is refreshed",
      ),
      ["directory", "refreshAfterSeconds"],
    ),
  );
}

export type GlpiFormsConfig = v.InferOutput<ReturnType<typeof glpiFormsSchema>>;

declare module "../../core/config-schema.ts" {
  interface IntegrationSettingsMap {
    glpiForms: GlpiFormsConfig;
  }
}

type Systems = Config["systems"];

/** What its settings name must exist under `systems` (paths relative to `integrations.glpiForms`). */
export function checkGlpiForms(settings: GlpiFormsConfig, systems: Systems): FieldProblem[] {
  return missingInstances(systems, [["glpi", "glpi", settings.glpi]]);
}
