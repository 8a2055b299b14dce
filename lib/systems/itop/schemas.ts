import * as v from "valibot";
import { idText } from "../../core/ids.ts";

/**
 * iTop REST/JSON answers (API 1.3+). Every answer is HTTP 200 with a `code`; `objects` is null when
 * nothing matched, keyed `"Class::id"` otherwise; ids and numbers come back as strings.
 */
export const ObjectSchema = v.object({
  code: v.number(),
  message: v.optional(v.string(), ""),
  class: v.string(),
  key: v.union([v.string(), v.number()]),
  fields: v.optional(v.record(v.string(), v.unknown()), {}),
});
export type ItopObject = v.InferOutput<typeof ObjectSchema>;

export const EnvelopeSchema = v.object({
  code: v.number(),
  message: v.optional(v.nullable(v.string()), ""),
  objects: v.optional(v.nullable(v.record(v.string(), ObjectSchema)), null),
});
export type Envelope = v.InferOutput<typeof EnvelopeSchema>;

/** One case-log entry as `core/get` returns it (oldest first, no id of its own). */
export const CaseLogEntrySchema = v.object({
  date: v.string(),
  user_login: v.optional(v.string(), ""),
  user_id: v.optional(v.union([v.string(), v.number()]), ""),
  message: v.optional(v.string(), ""),
  message_html: v.optional(v.string()),
});
export type CaseLogEntry = v.InferOutput<typeof CaseLogEntrySchema>;

export const CaseLogSchema = v.object({ entries: v.optional(v.array(CaseLogEntrySchema), []) });

/** An AttributeBlob (`contents` of Attachment and InlineImage). */
export const BlobSchema = v.object({
  data: v.optional(v.string(), ""),
  mimetype: v.optional(v.string(), "application/octet-stream"),
  filename: v.optional(v.string(), ""),
});
export type Blob = v.InferOutput<typeof BlobSchema>;

/** The ticket fields the bridge reads; everything else stays in `fields`. */
export interface ItopTicket {
  id: string;
  class: string;
  ref: string;
  status: string;
  orgId: string;
  privateLog: CaseLogEntry[];
  fields: Record<string, unknown>;
}

export interface ItopAttachment {
  id: string;
  contents: Blob;
}

export function toTicket(object: ItopObject): ItopTicket {
  const { fields } = object;
  const log = v.safeParse(CaseLogSchema, fields.private_log);
  return {
    id: String(object.key),
    class: object.class,
    ref: String(fields.ref ?? ""),
    status: String(fields.status ?? ""),
    orgId: String(fields.org_id ?? ""),
    privateLog: log.success ? log.output.entries : [],
    fields,
  };
}

export function toAttachment(object: ItopObject): ItopAttachment {
  const contents = v.safeParse(BlobSchema, object.fields.contents);
  return {
    id: String(object.key),
    contents: contents.success
      ? contents.output
      : { data: "", mimetype: "application/octet-stream", filename: "" },
  };
}

/**
 * The payloads the iTop webhooks send (Combodo "Webhook integration", placeholders: every value a
 * string). They are hints: the bridge reads the ticket again through the REST API.
 */
const Id = idText("a numeric iTop id");
const ClassName = v.pipe(v.string(), v.trim(), v.regex(/^[A-Za-z][A-Za-z0-9_]*$/, "must be an iTop class"));

export const TicketEventSchema = v.object({
  event: v.optional(v.string()),
  class: ClassName,
  id: Id,
  /** Absent in the old bridge's payload (external only); the internal side's name if it sends it too. */
  source: v.optional(v.pipe(v.string(), v.trim(), v.minLength(1, "must not be empty"))),
});
export const AttachmentEventSchema = v.object({
  event: v.optional(v.string()),
  source: v.pipe(v.string(), v.trim(), v.minLength(1, "is required")),
  attachment_id: v.optional(v.string()),
  item_class: ClassName,
  item_id: Id,
});
export const InternalTicketEventSchema = v.object({
  event: v.optional(v.string()),
  id: Id,
});
