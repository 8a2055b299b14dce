import * as v from "valibot";

/**
 * The bodies the operators' action routes read (form-encoded from the status page, JSON from the CLI
 * and scripts), shared by their handlers and the OpenAPI document so the two cannot drift.
 * `csrf_token` is checked before these are validated (lib/ops/auth.ts).
 */

const CsrfToken = v.pipe(
  v.string(),
  v.minLength(1, "is required"),
  v.description(
    "The token the status page's form carries; not needed when the X-Deskbridge-Token header authenticates",
  ),
);

/**
 * `POST /status/dead-letters/replay`: one dead letter (`id`, its job id) or every one (`all=1`). The
 * status page posts it as a form; the CLI as JSON. `csrf_token` is checked before (lib/ops/auth.ts).
 */
export const ReplayDeadLettersFormSchema = v.pipe(
  v.object({
    id: v.optional(
      v.pipe(
        v.string(),
        v.description("The job id of the dead letter to replay (or `all`)"),
        v.trim(),
        v.minLength(1, "must not be empty"),
        v.maxLength(200),
      ),
    ),
    all: v.optional(
      v.pipe(v.picklist(["1", "true"], "must be 1"), v.description("Replay every dead letter")),
    ),
    csrf_token: v.optional(CsrfToken),
  }),
  v.forward(
    v.check(
      (form) => form.id !== undefined || form.all !== undefined,
      "is required (the job id of a dead letter), or all=1 to replay every dead letter",
    ),
    ["id"],
  ),
);

/** `POST /status/parked/{id}/replay`: the GLPI entity the parked request is assigned to. */
export const ReplayParkedFormSchema = v.object({
  entity_id: v.pipe(
    v.string("is required"),
    v.regex(/^\s*\d{1,10}\s*$/, "must be a GLPI entity id (a whole number)"),
    v.description("The GLPI entity id (0 is the root entity)"),
    v.trim(),
    v.transform(Number),
  ),
  csrf_token: v.optional(CsrfToken),
});
