import * as v from "valibot";
import { idSegment, idText } from "../../core/ids.ts";

/** OTRS sends ids and numbers as strings or numbers, depending on the operation: accept both. */
export const IdString = idText("a numeric id");

/** Every GI answer may carry `{"Error": {ErrorCode, ErrorMessage}}`, even with HTTP 200. */
export const GiErrorSchema = v.object({
  Error: v.object({ ErrorCode: v.string(), ErrorMessage: v.optional(v.string(), "") }),
});

/**
 * What the provider answers when an operation fails without a business error (it returned Success 0:
 * TicketCreate's "Ticket could not be created, please contact the system administrator", missing
 * SysConfig defaults, TicketUpdate's misspelled `Errormessage`, which reads "Unknown"): HTTP 500 with
 * this body, as text/plain (znuny/Znuny Kernel/GenericInterface/Provider.pm _GenerateErrorResponse →
 * Transport/HTTP/REST.pm ProviderGenerateResponse: `faultcode => 'Server'`, `faultstring =>
 * $Param{ErrorMessage} || 'Unknown'`, HTTPCode 500; _Output sends application/json only with 200).
 * Transport failures (no route, unreadable body) answer 500 with plain text instead.
 */
export const GiFaultSchema = v.object({
  faultcode: v.literal("Server"),
  faultstring: v.string(),
});

export const SessionCreateSchema = v.object({ SessionID: v.pipe(v.string(), v.minLength(1)) });

/**
 * An article attachment as TicketGet returns it with `Attachments=1` (ArticleAttachment() plus FileID;
 * Content is base64 without line breaks, "" with `GetAttachmentContents=0`). Articles without
 * attachments have no `Attachment` key at all.
 */
export const ArticleAttachmentSchema = v.object({
  Filename: v.optional(v.string(), ""),
  ContentType: v.optional(v.string(), "application/octet-stream"),
  FilesizeRaw: v.optional(v.pipe(v.union([v.string(), v.number()]), v.transform(Number))),
  Content: v.optional(v.string(), ""),
  Disposition: v.optional(v.string()),
  FileID: v.optional(v.union([v.string(), v.number()])),
});
export type ArticleAttachment = v.InferOutput<typeof ArticleAttachmentSchema>;

export const ArticleSchema = v.object({
  ArticleID: IdString,
  Subject: v.optional(v.nullable(v.string()), ""),
  Body: v.optional(v.nullable(v.string()), ""),
  From: v.optional(v.nullable(v.string())),
  SenderType: v.optional(v.string()),
  /** OTRS 6 / Znuny: 1 Email, 2 Phone, 3 Internal, 4 Chat (the communication_channel table's ids). */
  CommunicationChannelID: v.optional(v.pipe(v.union([v.string(), v.number()]), v.transform(String))),
  IsVisibleForCustomer: v.optional(v.pipe(v.union([v.string(), v.number()]), v.transform(String))),
  CreateTime: v.optional(v.string()),
  Attachment: v.optional(v.array(ArticleAttachmentSchema)),
});
export type Article = v.InferOutput<typeof ArticleSchema>;

const DynamicFieldSchema = v.object({ Name: v.string(), Value: v.unknown() });

/** `GET /Ticket/:TicketID` → `{"Ticket": [ … ]}` (TicketGet, OTRS 6 / Znuny). */
export const TicketGetSchema = v.object({
  Ticket: v.pipe(
    v.array(
      v.object({
        TicketID: IdString,
        TicketNumber: v.pipe(v.union([v.string(), v.number()]), v.transform(String)),
        Title: v.optional(v.string(), ""),
        State: v.string(),
        StateType: v.optional(v.string()),
        Queue: v.string(),
        Priority: v.optional(v.string(), ""),
        Owner: v.optional(v.string(), ""),
        CustomerID: v.optional(v.nullable(v.string()), ""),
        CustomerUserID: v.optional(v.nullable(v.string()), ""),
        Created: v.optional(v.string()),
        Changed: v.optional(v.string()),
        DynamicField: v.optional(v.array(DynamicFieldSchema), []),
        Article: v.optional(v.array(ArticleSchema), []),
      }),
    ),
    v.minLength(1),
  ),
});
export type Ticket = v.InferOutput<typeof TicketGetSchema>["Ticket"][number];

/** `GET /Ticket?…` → `{"TicketID": ["12", "15"]}`, or `{}` when nothing matched. */
export const TicketSearchSchema = v.object({ TicketID: v.optional(v.array(IdString), []) });

/** `POST /Ticket` → `{"TicketID", "TicketNumber", "ArticleID"}`. */
export const TicketCreateSchema = v.object({
  TicketID: IdString,
  TicketNumber: v.pipe(v.union([v.string(), v.number()]), v.transform(String)),
  ArticleID: v.optional(IdString),
});

/** `PATCH /Ticket/:TicketID` → `{"TicketID", "TicketNumber", "ArticleID"?}`. */
export const TicketUpdateSchema = v.object({ TicketID: IdString, ArticleID: v.optional(IdString) });

/** The value of a ticket's dynamic field as a string ("" when unset). */
export function dynamicFieldValue(ticket: Ticket, name: string): string {
  const field = ticket.DynamicField.find((f) => f.Name === name);
  const value = Array.isArray(field?.Value) ? field.Value[0] : field?.Value;
  return value === undefined || value === null ? "" : String(value);
}

/**
 * What OTRS's invoker POSTs for a ticket event: `Test::TestSimple` / `Generic::Tunnel` send the raw
 * event data `{TicketID, OldTicketData}`, Znuny's `Ticket::Generic` sends `{Event: {…}, Ticket: {…}}`.
 */
const OldTicketDataSchema = v.optional(v.looseObject({ State: v.optional(v.string()) }));
const FlatEventSchema = v.looseObject({
  TicketID: IdString,
  OldTicketData: OldTicketDataSchema,
  Event: v.optional(v.string()),
});
const GenericEventSchema = v.looseObject({
  Event: v.looseObject({
    Event: v.optional(v.string()),
    TicketID: v.optional(IdString),
    OldTicketData: OldTicketDataSchema,
  }),
  Ticket: v.looseObject({ TicketID: IdString }),
});
export const TicketEventSchema = v.union(
  [FlatEventSchema, GenericEventSchema],
  "must be an OTRS ticket event with a TicketID",
);
export type TicketEvent = v.InferOutput<typeof TicketEventSchema>;

/** The ticket id, event name and previous state of either payload shape. */
export function readTicketEvent(event: TicketEvent): {
  ticketId: string;
  event?: string;
  previousState?: string;
} {
  const flat = v.safeParse(FlatEventSchema, event);
  if (flat.success)
    return {
      ticketId: flat.output.TicketID,
      event: flat.output.Event,
      previousState: flat.output.OldTicketData?.State,
    };
  const generic = v.parse(GenericEventSchema, event);
  return {
    ticketId: generic.Ticket.TicketID,
    event: generic.Event.Event,
    previousState: generic.Event.OldTicketData?.State,
  };
}

/**
 * The body of `POST /otrs/ticket-events/{ticketId}`, for an invoker whose controller is
 * `/otrs/ticket-events/:TicketID`: the event data without TicketID, which REST.pm moved into the path
 * (`{OldTicketData}`; none at all when TicketID was all there was).
 */
export const PathTicketEventSchema = v.looseObject({
  TicketID: v.optional(IdString),
  OldTicketData: OldTicketDataSchema,
  Event: v.optional(v.union([v.string(), v.looseObject({ OldTicketData: OldTicketDataSchema })])),
});

/** The previous state a path-addressed event carries, flat or inside Ticket::Generic's `Event`. */
export function previousStateOf(event: v.InferOutput<typeof PathTicketEventSchema>): string | undefined {
  return (
    event.OldTicketData?.State ??
    (typeof event.Event === "object" ? event.Event.OldTicketData?.State : undefined)
  );
}

/**
 * A path segment an invoker's controller fills in. What Znuny's HTTP::REST requester does with a
 * controller (znuny/Znuny Kernel/GenericInterface/Transport/HTTP/REST.pm, RequesterPerformRequest, read
 * at commit 012b2cb0): it cuts the query string off (`$Controller =~ s{([^?]+)(.+)?}{$1}`); for each
 * top-level key of the invoker's data it replaces `:Key` in the path, and in the query string, and
 * pushes the key on @ParamsToDelete; it appends the query string back only `if ($ReplaceFlag)`, i.e.
 * when a placeholder in it was replaced; then it deletes every used key from the data that becomes the
 * JSON body (none is sent when nothing is left). So `?event=TicketCreate` never arrives, and
 * `/otrs/ticket-events/:TicketID` arrives with TicketID in the path only. A placeholder the data has no
 * top-level key for stays as it is: a segment that still starts with `:` was not filled.
 */
const filledIn = (name: string) =>
  v.check(
    (segment: string) => !segment.startsWith(":"),
    `is the controller's placeholder :${name}, left as it was: the invoker's data has no top-level ${name}`,
  );

/** `POST /otrs/ticket-events/{ticketId}`: the id the controller `/otrs/ticket-events/:TicketID` put there. */
export const TicketEventPathSchema = v.object({
  ticketId: v.optional(v.pipe(v.string(), filledIn("TicketID"), idSegment("a numeric TicketID"))),
});

/** `POST /otrs/notifications/{event}`: the event name, a literal segment of the invoker's controller. */
export const NotificationPathSchema = v.object({
  event: v.optional(
    v.pipe(
      v.string(),
      filledIn("Event"),
      v.regex(/^[A-Za-z][A-Za-z0-9_.-]{0,99}$/, "must be an OTRS event name (e.g. TicketCreate)"),
    ),
  ),
});

const TicketIdText = idText("a numeric TicketID");

/**
 * What OTRS posts to `POST /otrs/notifications` for a ticket event, from any of the invokers that can
 * send one: `Ticket::Generic` (Znuny: `{"Event": {"Event", "TicketID"}, "Ticket": {…}}`),
 * `Test::TestSimple` / `Generic::Tunnel` (`{"TicketID", …}`: the event name then comes from the
 * invoker's controller, `/otrs/notifications/<Event>`; the older event handler's Ticket::Generic data
 * carries none either), and
 * Znuny's "Web service" notification transport (`{"TicketID", "TicketNumber", "NotificationSubject", …}`).
 */
export const NotificationEventSchema = v.looseObject({
  Event: v.optional(
    v.union([
      v.string(),
      v.looseObject({ Event: v.optional(v.string()), TicketID: v.optional(TicketIdText) }),
    ]),
  ),
  TicketID: v.optional(TicketIdText),
  Ticket: v.optional(v.looseObject({ TicketID: v.optional(TicketIdText) })),
});
