import * as v from "valibot";
import { idText } from "../../core/ids.ts";

/**
 * Request Tracker 5 REST2 answers (lib/RT/REST2/Util.pm serialize_record): records point at each other
 * as `{type, id, _url}` objects (a queue by numeric id, a user by name), numbers come back as strings,
 * custom fields as an array of `{id, name, values}`. Unknown keys are ignored.
 */
const Id = v.pipe(
  v.union([v.string(), v.number()]),
  v.transform((value) => Number(value)),
  v.integer("must be a numeric id"),
);

export const RecordRefSchema = v.object({
  type: v.string(),
  id: v.pipe(
    v.union([v.string(), v.number()]),
    v.transform((value) => String(value)),
  ),
  _url: v.optional(v.string()),
  /** Present when the request asked for it (`fields[Queue]=Name`). */
  Name: v.optional(v.string()),
});

const CustomFieldValuesSchema = v.object({
  id: v.pipe(
    v.union([v.string(), v.number()]),
    v.transform((value) => String(value)),
  ),
  name: v.string(),
  // Image/Binary fields carry objects; the bridge reads text fields only.
  values: v.optional(v.array(v.unknown()), []),
});

export const TicketSchema = v.object({
  id: Id,
  /** `{type: "ticket", id}` (the ticket it was merged into, or itself). */
  EffectiveId: v.optional(v.union([RecordRefSchema, v.string(), v.number()])),
  Type: v.optional(v.string(), "ticket"),
  Subject: v.optional(v.string(), ""),
  Status: v.string(),
  Queue: RecordRefSchema,
  Owner: v.optional(RecordRefSchema),
  Priority: v.optional(v.union([v.string(), v.number()]), "0"),
  Requestor: v.optional(v.array(RecordRefSchema), []),
  CustomFields: v.optional(v.array(CustomFieldValuesSchema), []),
  LastUpdated: v.optional(v.string()),
});
export type TicketRecord = v.InferOutput<typeof TicketSchema>;

/** A ticket as the bridge uses it. */
export interface RtTicket {
  id: number;
  /** The ticket this one now is: `id` unless it was merged. */
  effectiveId: number;
  subject: string;
  status: string;
  queue: string;
  /** The owner's user name; "Nobody" when unowned. */
  owner: string;
  priority: number;
  requestors: string[];
  /** Single text values by custom field name. */
  customFields: Record<string, string>;
  lastUpdated: string | undefined;
}

/** Flattens a REST2 ticket record (read with `fields[Queue]=Name`). */
export function toTicket(record: TicketRecord): RtTicket {
  const effective = record.EffectiveId;
  const effectiveId =
    effective === undefined ? record.id : Number(typeof effective === "object" ? effective.id : effective);
  const customFields: Record<string, string> = {};
  for (const field of record.CustomFields) {
    const [first] = field.values;
    if (typeof first === "string") customFields[field.name] = first;
  }
  return {
    id: record.id,
    effectiveId: Number.isFinite(effectiveId) ? effectiveId : record.id,
    subject: record.Subject,
    status: record.Status,
    queue: record.Queue.Name ?? record.Queue.id,
    owner: record.Owner?.id ?? "Nobody",
    priority: Number(record.Priority) || 0,
    requestors: record.Requestor.map((user) => user.id),
    customFields,
    lastUpdated: record.LastUpdated,
  };
}

/** A page of a REST2 collection; `total`/`pages` are null when RT cannot count what the user may see. */
export const collectionSchema = <T extends v.GenericSchema>(item: T) =>
  v.object({
    count: v.number(),
    page: v.number(),
    per_page: v.number(),
    total: v.optional(v.nullable(v.number())),
    pages: v.optional(v.nullable(v.number())),
    next_page: v.optional(v.string()),
    items: v.array(item),
  });

export const TransactionItemSchema = v.object({
  id: Id,
  Type: v.optional(v.string(), ""),
  Field: v.optional(v.string(), ""),
  Created: v.string(),
  Creator: v.optional(v.union([RecordRefSchema, v.string()])),
  ObjectType: v.optional(v.string(), ""),
  ObjectId: v.optional(Id),
});
export type TransactionItem = v.InferOutput<typeof TransactionItemSchema>;

/** What PUT answers: one human-readable line per change, failures included (still HTTP 200). */
export const MessagesSchema = v.array(v.string());

export const ErrorBodySchema = v.object({ message: v.string() });

/**
 * The call an RT Scrip (User Defined action, see the README) posts for a transaction: only ids, the
 * bridge reads the ticket again. `ticket_id` must be the transaction's ObjectId: a Scrip's TicketObj of
 * a merged-away ticket is already the surviving one (RT::Ticket::Load follows merges).
 */
const Numeric = idText("a numeric RT id");
export const ScripEventSchema = v.object({
  ticket_id: Numeric,
  transaction_id: v.optional(Numeric),
  type: v.optional(v.string()),
  creator: v.optional(v.string()),
});
export type ScripEvent = v.InferOutput<typeof ScripEventSchema>;
