import * as v from "valibot";
import {
  AttachmentEventSchema,
  InternalTicketEventSchema,
  TicketEventSchema as ItopTicketEventSchema,
} from "../../systems/itop/schemas.ts";
import {
  FORM_415,
  jsonOrFormBody,
  type NamedSchema,
  named,
  type RouteSpec,
  webhookResponses,
} from "../route-docs.ts";

/** iTop's webhook extension posts the payload form-encoded (lib/sync/itop-pair/http.ts). */
const ItopWebhookFormSchema = v.object({
  version: v.optional(v.pipe(v.string(), v.description("iTop's REST API version (not used)"))),
  json_data: v.pipe(
    v.string(),
    v.description("The payload as a JSON object: the same fields as the JSON body, read the same way"),
  ),
});

const S = {
  itopTicketEvent: named("ItopTicketEvent", ItopTicketEventSchema),
  itopAttachmentEvent: named("ItopAttachmentEvent", AttachmentEventSchema),
  itopInternalTicketEvent: named("ItopInternalTicketEvent", InternalTicketEventSchema),
  itopWebhookForm: named("ItopWebhookForm", ItopWebhookFormSchema),
} as const;

const itop = (fn: string, path: string, summary: string, body: NamedSchema): RouteSpec => ({
  function: fn,
  method: "POST",
  path,
  tag: "itop-pair",
  summary,
  description:
    "An iTop webhook reports a change, as JSON (ActionWebhook) or form-encoded with the payload in " +
    "`json_data` (the iTop-to-iTop action); the bridge reads the ticket again through the REST API and " +
    "syncs the pair.",
  auth: "sharedSecret",
  body: jsonOrFormBody(body, S.itopWebhookForm),
  responses: webhookResponses("Synced, or ignored (`ignored`: the class is not shared)", {
    ...FORM_415,
    400: "A field is missing or wrong (`error.fields` names each one), or `json_data` is missing or not JSON",
  }),
});

/** The itop-pair routes (functions/itop-pair/), as the OpenAPI document describes them. */
export const routes: readonly RouteSpec[] = [
  itop("itopCreateTicket", "/api/v1/create-ticket", "The external iTop created a ticket", S.itopTicketEvent),
  itop("itopUpdateTicket", "/api/v1/update-ticket", "A ticket was updated", S.itopTicketEvent),
  itop(
    "itopUpdateAttachment",
    "/api/v1/update-attachment",
    "An attachment was created, updated or deleted",
    S.itopAttachmentEvent,
  ),
  itop(
    "itopPrivateLog",
    "/api/v1/ticket-update-private-log",
    "The internal iTop's private log changed",
    S.itopInternalTicketEvent,
  ),
  itop(
    "itopStateChange",
    "/api/v1/ticket-state-change",
    "An internal iTop ticket entered a state",
    S.itopInternalTicketEvent,
  ),
];
