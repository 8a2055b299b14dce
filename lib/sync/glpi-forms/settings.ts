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
    entityLookup: v.strictObject({
      itemtype: v.optional(v.string(), "Entity"),
      /** Name of the Fields plugin field holding the CNPJ (documentation and start-up checks). */
      fieldName: v.string(),
      /** Search-option id of that field (GET /listSearchOptions/Entity). */
      searchOptionId: positiveInt(),
      cacheTtlSeconds: v.optional(nonNegativeInt(), 300),
    }),
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
