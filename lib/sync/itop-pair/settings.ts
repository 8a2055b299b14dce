import * as v from "valibot";
import {
  type Config,
  lazy,
  maxConcurrency,
  missingInstances,
  positiveInt,
  sharedSecretAuthSchema,
} from "../../core/config-schema.ts";
import type { FieldProblem } from "../../core/errors.ts";

/** Which way an aspect of a shared ticket flows between the two iTops. */
const itopDirection = lazy(() =>
  v.picklist(["external-to-internal", "internal-to-external", "both", "none"]),
);
export type ItopDirection = v.InferOutput<ReturnType<typeof itopDirection>>;

/** The defaults one iTop gives tickets the bridge writes there: agents are never copied. */
const itopSideDefaults = lazy(() =>
  v.strictObject({
    orgId: positiveInt(),
    agentId: positiveInt(),
    teamId: v.optional(positiveInt()),
    /** The caller of tickets the bridge creates on this side (iTop requires one in state `new`). */
    callerId: v.optional(positiveInt()),
  }),
);

/** A value the bridge fills in when a state needs it: a constant, or a field copied from the other side. */
const itopFieldValue = lazy(() => v.union([v.string(), v.number(), v.strictObject({ copy: v.string() })]));

/** `integrations.itopPair`: this integration's settings, when the deployment enables it. */
export const itopPairSchema = lazy(() =>
  v.strictObject({
    maxConcurrency: maxConcurrency(),
    /** Keys of the two instances under systems.itop. */
    external: v.string(),
    internal: v.string(),
    auth: sharedSecretAuthSchema(),
    /** The `source` each side's attachment webhook sends (the old bridge: "external" and "elitery"). */
    sources: v.optional(
      v.strictObject({
        external: v.optional(v.string(), "external"),
        internal: v.optional(v.string()),
      }),
      {},
    ),
    /** Ticket classes shared; other classes' events are ignored. */
    classes: v.optional(v.array(v.pipe(v.string(), v.regex(/^[A-Za-z][A-Za-z0-9_]*$/))), [
      "UserRequest",
      "Incident",
    ]),
    /**
     * Fields of the ticket form that follow. Not `priority`: iTop computes a ticket's priority from
     * impact × urgency on every save and ignores a priority written; impact and urgency carry it.
     */
    formFields: v.optional(v.array(v.pipe(v.string(), v.regex(/^[a-z][a-z0-9_]*$/))), [
      "title",
      "description",
      "impact",
      "urgency",
    ]),
    /** An attribute of the internal tickets (a datamodel extension) that records the external ref. */
    externalRefField: v.optional(v.pipe(v.string(), v.regex(/^[a-z][a-z0-9_]*$/))),
    defaults: v.strictObject({ external: itopSideDefaults(), internal: itopSideDefaults() }),
    directions: v.optional(
      v.strictObject({
        form: v.optional(itopDirection(), "external-to-internal"),
        state: v.optional(itopDirection(), "internal-to-external"),
        privateLog: v.optional(itopDirection(), "both"),
        attachments: v.optional(itopDirection(), "both"),
      }),
      {},
    ),
    /** Source status → target status; unlisted = the same status; null = no action. */
    stateMap: v.optional(v.record(v.string(), v.nullable(v.string())), {
      escalated_tto: null,
      escalated_ttr: null,
    }),
    /** Target status → fields the bridge fills when a stimulus needs them (beyond the built-in ones). */
    stateFields: v.optional(v.record(v.string(), v.record(v.string(), itopFieldValue())), {}),
    /** The change-tracking comment of every write (iTop requires one). */
    comment: v.optional(v.string(), "deskbridge synchronisation"),
    /** Attachments and log images larger than this are not copied (the other side's entry says so). */
    maxAttachmentBytes: v.optional(positiveInt(), 10 * 1024 * 1024),
  }),
);
export type ItopPairConfig = v.InferOutput<ReturnType<typeof itopPairSchema>>;

declare module "../../core/config-schema.ts" {
  interface IntegrationSettingsMap {
    itopPair: ItopPairConfig;
  }
}

type Systems = Config["systems"];

/** What its settings name must exist under `systems` (paths relative to `integrations.itopPair`). */
export function checkItopPair(settings: ItopPairConfig, systems: Systems): FieldProblem[] {
  const problems = missingInstances(systems, [
    ["external", "itop", settings.external],
    ["internal", "itop", settings.internal],
  ]);
  if (settings.external === settings.internal)
    problems.push({ path: "internal", message: "must differ from `external`" });
  return problems;
}
