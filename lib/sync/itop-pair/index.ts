import * as v from "valibot";
import { defineIntegration, instanceRef, jobSpec } from "../descriptor.ts";
import { checkItopPair, itopPairSchema } from "./settings.ts";

export const ITOP_SYNC_JOB = "itop-pair.sync";

/** Brings one shared ticket in step between the two iTops (sync-job.ts runs it). */
export const syncSpec = jobSpec({
  type: ITOP_SYNC_JOB,
  input: v.object({
    side: v.picklist(["external", "internal"]),
    ticketId: v.pipe(v.string(), v.regex(/^\d+$/)),
    ticketClass: v.optional(v.string()),
  }),
  source: ({ side, ticketId }, { config }) =>
    instanceRef("itop", config.integrations.itopPair?.[side], "ticket", ticketId),
});

/** iTop pair: tickets shared between an external and an internal iTop, kept in step both ways. */
export const itopPair = defineIntegration({
  id: "itop-pair",
  configKey: "itopPair",
  settings: itopPairSchema,
  check: checkItopPair,
  systems: ["itop"],
  links: { itop: ["ticket"] },
  jobs: [syncSpec],
});
