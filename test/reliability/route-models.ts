/**
 * What the reliability suite knows of each HTTP route: where it reads its secret, a payload it accepts,
 * and, built from the schemas the route (and the job it runs) really validates with, which inputs it
 * must refuse. The suites are driven by serverless.yml (`listHttpRoutes()`); a route without a model
 * here fails them until one is added.
 */
import fc from "fast-check";
import * as v from "valibot";
import type { Config } from "../../lib/core/config-schema.ts";
import { FormSubmissionSchema } from "../../lib/sync/glpi-forms/submission.ts";
import { itopSyncJob } from "../../lib/sync/itop-pair/sync-job.ts";
import { REDMINE_SIGNATURE } from "../../lib/sync/otrs-redmine/http.ts";
import { issueJob } from "../../lib/sync/otrs-redmine/issue-job.ts";
import { ticketJob } from "../../lib/sync/otrs-redmine/ticket-job.ts";
import { LIVECHAT_TOKEN_HEADER } from "../../lib/sync/rocketchat-otrs/livechat.ts";
import { notifyJob } from "../../lib/sync/rocketchat-otrs/notify-job.ts";
import { rtTicketJob } from "../../lib/sync/rt-kanban/ticket-job.ts";
import {
  AttachmentEventSchema,
  InternalTicketEventSchema,
  TicketEventSchema as ItopTicketEventSchema,
} from "../../lib/systems/itop/schemas.ts";
import {
  NotificationEventSchema,
  NotificationPathSchema,
  TicketEventSchema as OtrsTicketEventSchema,
  PathTicketEventSchema,
  previousStateOf,
  readTicketEvent,
  TicketEventPathSchema,
} from "../../lib/systems/otrs/schemas.ts";
import { IssueEventSchema, issueIdOf } from "../../lib/systems/redmine/schemas.ts";
import {
  LivechatEventSchema,
  LivechatSessionSchema,
  OfflineMessageSchema,
} from "../../lib/systems/rocketchat/schemas.ts";
import { ScripEventSchema } from "../../lib/systems/rt/schemas.ts";
import type { ErrorDialect } from "./route-harness.ts";

// ---------------------------------------------------------------------------------------------------
// Payload building blocks
// ---------------------------------------------------------------------------------------------------

/** A JSON fragment written verbatim into a body (nesting no JS value survives, numbers no double holds). */
export class RawJson {
  constructor(readonly text: string) {}
}

/** JSON text of a value whose parts may be RawJson fragments. */
export function toJsonText(value: unknown): string {
  const raws: string[] = [];
  const text = JSON.stringify(value, (_key, part: unknown) =>
    part instanceof RawJson ? `\u0001raw${raws.push(part.text) - 1}\u0001` : part,
  );
  if (raws.length === 0) return text;
  return text.replace(/"\\u0001raw(\d+)\\u0001"/g, (_, index: string) => raws[Number(index)] ?? "null");
}

/** `depth` nested arrays, or objects, as JSON text. */
export const nestedArrays = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`;
export const nestedObjects = (depth: number) => `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;

/** Every id in these systems fits in 64 bits; a longer one names nothing anywhere. */
const U64_MAX = 2n ** 64n - 1n;
export function beyond64Bits(id: unknown): boolean {
  if (typeof id === "number") return !Number.isFinite(id) || id > 2 ** 64;
  if (typeof id !== "string") return false;
  const digits = id.trim();
  return /^\d+$/.test(digits) && BigInt(digits) > U64_MAX;
}

const digitString = (length: number) =>
  fc
    .tuple(
      fc.constantFrom(..."123456789"),
      fc.string({ unit: fc.constantFrom(..."0123456789"), minLength: length - 1, maxLength: length - 1 }),
    )
    .map(([first, rest]) => first + rest);

const deepValue = fc.oneof(
  fc.constantFrom(1_000, 100_000).map((depth) => new RawJson(nestedArrays(depth))),
  fc.constantFrom(1_000, 10_000).map((depth) => new RawJson(nestedObjects(depth))),
);

/** Ids beyond 64 bits: long digit strings, doubles past 2^64, and JSON numbers no double holds. */
export const hugeId = fc.oneof(
  fc.integer({ min: 21, max: 400 }).chain(digitString),
  fc.double({ min: 1e20, max: Number.MAX_VALUE, noNaN: true }),
  fc
    .integer({ min: 310, max: 400 })
    .chain(digitString)
    .map((digits) => new RawJson(digits)),
);

/**
 * Ids at and past the edges: zero, negative, fractional, just past 2^53, beyond 64 bits, as strings
 * and as numbers. The schemas refuse some; the model says what the route must do with the others.
 */
export const edgeId = fc.oneof(
  fc.constantFrom(0, -1, -0, 1.5, 0.1, 2 ** 53 + 1, 1e21, "0", "-1", "1.5", "00", "9007199254740993"),
  fc.integer({ min: -1_000_000, max: 0 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((n) => !Number.isInteger(n)),
  hugeId,
  fc
    .integer({ min: 21, max: 400 })
    .chain(digitString)
    .map((digits) => ` ${digits} `),
);

/** Strings nobody should take for anything: controls, NUL, lone surrogates, BOM, RTL marks, junk. */
export const oddText = fc.oneof(
  fc.string(),
  fc.string({ unit: "binary" }),
  fc.constantFrom(
    "",
    " ",
    "\t\n",
    "\u0000",
    "\ud800",
    "\udfff",
    "x\ud83dy",
    "\ufeff",
    "\u202e",
    "null",
    "undefined",
    "{}",
    "'; DROP TABLE tickets; --",
    "../../etc/passwd",
    "%00",
    "<script>alert(1)</script>",
  ),
);

const junkComposite = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
  deepValue,
);
const junkNumber = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(0, -1, 1.5, 1e21, -1e21, Number.MAX_SAFE_INTEGER + 2, Number.MIN_VALUE),
);
/** Anything but a string (numbers, booleans, null, arrays, objects, deep nesting). */
export const notAString = fc.oneof(junkComposite, junkNumber);
/** Anything but an object. */
export const notAnObject = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  junkNumber,
  oddText,
  fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }),
  fc.constantFrom(1_000, 100_000).map((depth) => new RawJson(nestedArrays(depth))),
);

/** Id-looking strings that are not ids: letters, whitespace, signs, decimals, other scripts' digits. */
const badIdText = fc.oneof(
  fc.constantFrom(
    "",
    " ",
    "\t\n",
    "abc",
    "12a",
    "a12",
    "1 2",
    "-1",
    "+1",
    "1.5",
    "1e3",
    "0x1f",
    "١٢٣",
    "１２",
    "12\u0000",
    "\u000012",
    "NaN",
    "Infinity",
    "null",
    "\ud800",
    "1\ud8001",
  ),
  fc
    .tuple(
      fc.string({ unit: fc.constantFrom(..."0123456789"), maxLength: 6 }),
      fc.constantFrom(..."aZé _.-/:,;\u00a0"),
      fc.string({ unit: fc.constantFrom(..."0123456789x "), maxLength: 6 }),
    )
    .map((parts) => parts.join("")),
  oddText,
);

/** Bad values for an id that must be a numeric string (iTop): every other type, and non-numeric text. */
export const badStringId = fc.oneof(badIdText, notAString, hugeId);
/** Bad values for an id that may be a numeric string or a number (OTRS, RT). */
export const badNumericId = fc.oneof(
  badIdText,
  junkComposite,
  fc.constantFrom(-1, 1.5, -0.5, 1e21, 1e300, Number.MAX_VALUE, Number.MIN_VALUE),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  hugeId,
);
/** Bad values for an id that must be a JSON number (Redmine). */
export const badNumberId = fc.oneof(
  oddText,
  fc.constantFrom("2", " 2", "2.0"),
  junkComposite,
  fc.constantFrom(0, -1, 1.5, -0.5, Number.MIN_VALUE),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  hugeId,
);
/** Bad text for a required text field of at most `max` characters. */
const badText = (max: number) =>
  fc.oneof(
    junkComposite,
    fc.constantFrom("", " ", "\t\n  ", "\u00a0"),
    fc.integer({ min: max + 1, max: max * 4 }).map((length) => "a".repeat(length)),
  );
const badClass = fc.oneof(
  notAString,
  fc.constantFrom("", " ", "1Ticket", "User Request", "User-Request", "Üser", "_Ticket", "UserRequest;"),
  oddText,
);
const badDate = fc.oneof(
  notAString,
  fc.constantFrom("", "yesterday", "2026-13-45T99:00:00Z", "not a date", "\u0000"),
  oddText,
);
const notAStringOrNull = notAString.filter((value) => value !== null);

// ---------------------------------------------------------------------------------------------------
// The models
// ---------------------------------------------------------------------------------------------------

/** Where a route looks for its shared secret. */
export interface RouteAuth {
  header: string;
  /** The environment variable holding the secret. */
  secret: string;
  allowQueryToken: boolean;
  /** A signature of the body the route also takes as its authentication (`<prefix><hex HMAC-SHA256>`). */
  signature?: { header: string; prefix: string; secret: string };
}

/**
 * What the route must do with an input. `reject`: the route's schemas, or those of the job it runs,
 * refuse it, so it must answer 4xx. `ignore`: an event the route has nothing to do for, or one that
 * passes every schema but whose id is beyond 64 bits and so names nothing in any system; it may be
 * answered 2xx or 4xx, but must write nothing. `accept`: the route acts on it (never sent).
 */
export type Verdict = "reject" | "ignore" | "accept";

/** One shape the route accepts: a payload, its required fields, and bad values per field (dot paths). */
export interface BodyShape {
  valid: Record<string, unknown>;
  required: string[];
  fields: Record<string, fc.Arbitrary<unknown>>;
  /** The fields holding ids, for ids out of range (zero, negative, fractional, beyond 64 bits). */
  ids: string[];
}

interface BaseModel {
  dialect: ErrorDialect;
  /** Undefined for a public route. */
  auth?: (config: Readonly<Config>) => RouteAuth;
}

export interface BodyRouteModel extends BaseModel {
  kind: "body";
  shapes: BodyShape[];
  /**
   * The form-encoded body the route takes besides JSON (lib/core/http.ts FormBody): each field a
   * member (`fields`), or the JSON object in one field (`json_data`, iTop's webhook extension).
   */
  form?: "fields" | "json_data";
  /** The route's `{name}` path parameters, sent with every case, where part of the input is the path. */
  pathParameters?: fc.Arbitrary<Record<string, string>>;
  /**
   * Whether an absent body reads as `{}` (OTRS's REST requester sends none when the controller's path
   * took every field of the event data).
   */
  emptyBodyIsObject?: boolean;
  classify(
    body: unknown,
    query: Readonly<Record<string, string>>,
    config: Readonly<Config>,
    path?: Readonly<Record<string, string>>,
  ): Verdict;
  /** Payloads the route accepts and ignores. */
  ignorable?: fc.Arbitrary<unknown>;
}

/** A route whose input is its path (`{id}`), the query and the headers. */
export interface PathRouteModel extends BaseModel {
  kind: "path";
  ids: fc.Arbitrary<string>;
}

/** A public route that must answer 2xx to anything and touch nothing. */
export interface PublicRouteModel extends BaseModel {
  kind: "public";
}

/**
 * An operators' route (the status page, its actions, the link lookup): with the operator's secret any
 * header, query, path and body may be answered (a page, a redirect, a 4xx naming the field), never a
 * 5xx, and nothing is written, since nothing it could be sent names a dead letter or a parked request.
 */
export interface OperatorRouteModel extends BaseModel {
  kind: "operator";
}

export type RouteModel = BodyRouteModel | PathRouteModel | PublicRouteModel | OperatorRouteModel;

const accepts = (schema: v.GenericSchema, value: unknown) => v.safeParse(schema, value).success;

const glpiAuth = (config: Readonly<Config>): RouteAuth => authOf(config.integrations.glpiForms?.auth);
const otrsRedmineAuth = (config: Readonly<Config>): RouteAuth =>
  authOf(config.integrations.otrsRedmine?.auth);
const itopAuth = (config: Readonly<Config>): RouteAuth => authOf(config.integrations.itopPair?.auth);
const operatorAuth = (config: Readonly<Config>): RouteAuth => authOf(config.operators?.auth);
const operatorModel: OperatorRouteModel = { kind: "operator", dialect: "operator", auth: operatorAuth };

function authOf(auth: { header: string; secret: string; allowQueryToken: boolean } | undefined): RouteAuth {
  if (!auth) throw new Error("the test config does not enable this route's integration");
  return { header: auth.header, secret: auth.secret, allowQueryToken: auth.allowQueryToken };
}

// POST /glpi/tickets and POST /criar-chamado -----------------------------------------------------------

const GLPI_FORM = {
  nome_cliente: "Fulano de Tal",
  telefone_cliente: "5511987654321",
  cnpj_cliente: "11.222.333/0001-81",
  anydesk_cliente: "123 456 789",
  descricao_problema: "Problema com lentidão no sistema X",
};

const glpiShape: BodyShape = {
  valid: GLPI_FORM,
  required: Object.keys(GLPI_FORM),
  ids: ["categoria"],
  fields: {
    nome_cliente: badText(255),
    telefone_cliente: fc.oneof(badText(40), fc.constantFrom("abc", "+55 (11) 9x", "ramal 12", "55#11")),
    cnpj_cliente: fc.oneof(
      badText(32),
      fc.constantFrom(
        "11.222.333/0001-80",
        "11222333000182",
        "11.222.333/0001-8",
        "112223330001811",
        "00000000000000",
        "11.222.333/0001-8A",
        "１１２２２３３３０００１８１",
      ),
      oddText,
    ),
    anydesk_cliente: badText(64),
    descricao_problema: badText(20_000),
    categoria: fc.oneof(
      fc.constantFrom(0, -1, 1.5, "abc", "1.5", "", " ", "0", "-3", true, null, [], {}),
      hugeId,
      notAString,
    ),
  },
};

function classifyGlpi(body: unknown): Verdict {
  const parsed = v.safeParse(FormSubmissionSchema, body);
  if (!parsed.success) return "reject";
  return parsed.output.categoria !== undefined && beyond64Bits(parsed.output.categoria) ? "ignore" : "accept";
}

const glpiModel = (dialect: ErrorDialect): BodyRouteModel => ({
  kind: "body",
  dialect,
  auth: glpiAuth,
  shapes: [glpiShape],
  classify: classifyGlpi,
});

// POST /otrs/ticket-events --------------------------------------------------------------------------------

const otrsFlat: BodyShape = {
  valid: { TicketID: "1", Event: "TicketStateUpdate", OldTicketData: { State: "Em Atendimento" } },
  required: ["TicketID"],
  ids: ["TicketID"],
  fields: {
    TicketID: badNumericId,
    Event: notAString,
    OldTicketData: notAnObject.filter((value) => value !== undefined),
    "OldTicketData.State": notAString,
  },
};
const otrsGeneric: BodyShape = {
  valid: {
    Event: { Event: "TicketStateUpdate", TicketID: "1", OldTicketData: { State: "Em Atendimento" } },
    Ticket: { TicketID: "1", State: "Em Desenvolvimento" },
  },
  required: ["Event", "Ticket", "Ticket.TicketID"],
  ids: ["Ticket.TicketID", "Event.TicketID"],
  fields: {
    "Ticket.TicketID": badNumericId,
    "Event.TicketID": badNumericId,
    "Event.Event": notAString,
    Event: notAnObject,
    Ticket: notAnObject,
  },
};

function classifyOtrsTicketEvent(body: unknown): Verdict {
  const parsed = v.safeParse(OtrsTicketEventSchema, body);
  if (!parsed.success) return "reject";
  const { ticketId, previousState } = readTicketEvent(parsed.output);
  if (!accepts(ticketJob.input, { ticketId, previousState })) return "reject";
  return beyond64Bits(ticketId) ? "ignore" : "accept";
}

// POST /otrs/ticket-events/{ticketId}: REST.pm took TicketID out of the body into the path -------------

const badPathId = fc.oneof(
  fc.constantFrom(":TicketID", "abc", "0", "-1", "1.5", "", " ", "00", "1e3", "9007199254740993", "１"),
  fc.integer({ min: 17, max: 40 }).chain(digitString),
  oddText,
);
const otrsPathIds = fc.oneof(
  fc.record({
    ticketId: fc.oneof(
      fc.constant("1"),
      fc.nat({ max: 99_999 }).map((n) => String(n + 1)),
    ),
  }),
  fc.record({ ticketId: badPathId }),
);
const otrsPathBody: BodyShape = {
  valid: { OldTicketData: { State: "Em Atendimento" } },
  required: [],
  ids: ["TicketID"],
  fields: {
    TicketID: badNumericId,
    OldTicketData: notAnObject.filter((value) => value !== undefined),
    "OldTicketData.State": notAString,
    Event: fc.constantFrom(5, true, [], null, { OldTicketData: "open" }),
  },
};

function classifyOtrsPathTicketEvent(
  body: unknown,
  path: Readonly<Record<string, string>> | undefined,
): Verdict {
  const ids = v.safeParse(TicketEventPathSchema, path ?? {}, { abortPipeEarly: true });
  const parsed = v.safeParse(PathTicketEventSchema, body);
  if (!ids.success || !parsed.success || ids.output.ticketId === undefined) return "reject";
  const ticketId = ids.output.ticketId;
  if (!accepts(ticketJob.input, { ticketId, previousState: previousStateOf(parsed.output) })) return "reject";
  return beyond64Bits(ticketId) ? "ignore" : "accept";
}

// POST /redmine/issue-events ------------------------------------------------------------------------------

const redminePlugin: BodyShape = {
  valid: { payload: { action: "updated", issue: { id: 2, subject: "Lentidão no relatório" } } },
  required: ["payload", "payload.issue", "payload.issue.id"],
  ids: ["payload.issue.id"],
  fields: {
    "payload.issue.id": badNumberId,
    "payload.issue": notAnObject,
    payload: notAnObject,
    "payload.action": notAStringOrNull,
  },
};
const redmineNative: BodyShape = {
  valid: { type: "issue.updated", data: { issue: { id: 2 } } },
  required: ["type", "data", "data.issue", "data.issue.id"],
  ids: ["data.issue.id"],
  fields: {
    "data.issue.id": badNumberId,
    "data.issue": notAnObject,
    data: notAnObject,
    type: notAString,
  },
};

function classifyRedmineIssueEvent(body: unknown): Verdict {
  const parsed = v.safeParse(IssueEventSchema, body);
  if (!parsed.success) return "reject";
  const issueId = issueIdOf(parsed.output);
  if (!accepts(issueJob.input, { issueId })) return "reject";
  return beyond64Bits(issueId) ? "ignore" : "accept";
}

// The five iTop webhooks ----------------------------------------------------------------------------------

const badSource = fc.oneof(
  notAString,
  fc.constantFrom("", "   ", "customer", "External", "internal"),
  oddText,
);

const itopTicketShape = (withSource: boolean): BodyShape => ({
  valid: {
    event: "ticket updated",
    class: "UserRequest",
    id: "1",
    ...(withSource ? { source: "external" } : {}),
  },
  required: ["class", "id"],
  ids: ["id"],
  fields: {
    class: badClass,
    id: badStringId,
    event: notAString,
    ...(withSource ? { source: badSource } : {}),
  },
});
const itopAttachmentShape: BodyShape = {
  valid: { event: "create", source: "external", attachment_id: "3", item_class: "UserRequest", item_id: "1" },
  required: ["source", "item_class", "item_id"],
  ids: ["item_id", "attachment_id"],
  fields: {
    source: badSource,
    item_class: badClass,
    item_id: badStringId,
    attachment_id: notAString,
    event: notAString,
  },
};
const itopInternalShape: BodyShape = {
  valid: { event: "update private log", id: "1" },
  required: ["id"],
  ids: ["id"],
  fields: { id: badStringId, event: notAString },
};

function itopSettings(config: Readonly<Config>) {
  const settings = config.integrations.itopPair;
  if (!settings) throw new Error("the test config does not enable itopPair");
  return settings;
}
/** Mirrors sideOfSource in lib/sync/itop-pair/http.ts. */
function itopSide(config: Readonly<Config>, source: string): "external" | "internal" | undefined {
  const settings = itopSettings(config);
  if (source === settings.sources.external) return "external";
  if (source === (settings.sources.internal ?? settings.internal)) return "internal";
  return undefined;
}
function itopJobVerdict(side: "external" | "internal", ticketId: string, ticketClass?: string): Verdict {
  if (!accepts(itopSyncJob.input, { side, ticketId, ...(ticketClass ? { ticketClass } : {}) }))
    return "reject";
  return beyond64Bits(ticketId) ? "ignore" : "accept";
}

const itopTicketModel = (withSource: boolean): BodyRouteModel => ({
  kind: "body",
  dialect: "standard",
  auth: itopAuth,
  form: "json_data",
  shapes: [itopTicketShape(withSource)],
  classify(body, _query, config) {
    const parsed = v.safeParse(ItopTicketEventSchema, body);
    if (!parsed.success) return "reject";
    const { source, id } = parsed.output;
    const side = withSource && source !== undefined ? itopSide(config, source) : "external";
    if (!side) return "reject";
    if (!itopSettings(config).classes.includes(parsed.output.class)) return "ignore";
    return itopJobVerdict(side, id, parsed.output.class);
  },
  ignorable: fc.record({
    class: fc.constantFrom("Change", "Problem", "Incident2", "WorkOrder"),
    id: fc.oneof(fc.nat().map(String), hugeId),
  }),
});

const itopInternalModel: BodyRouteModel = {
  kind: "body",
  dialect: "standard",
  auth: itopAuth,
  form: "json_data",
  shapes: [itopInternalShape],
  classify(body) {
    const parsed = v.safeParse(InternalTicketEventSchema, body);
    return parsed.success ? itopJobVerdict("internal", parsed.output.id) : "reject";
  },
};

// POST /rt/ticket-events ----------------------------------------------------------------------------------

const rtShape: BodyShape = {
  valid: { ticket_id: "1", transaction_id: "10", type: "Status", creator: "alice" },
  required: ["ticket_id"],
  ids: ["ticket_id", "transaction_id"],
  fields: {
    ticket_id: badNumericId,
    transaction_id: badNumericId,
    type: notAString,
    creator: notAString,
  },
};

function rtUser(config: Readonly<Config>): string {
  const settings = config.integrations.rtKanban;
  const user = settings ? config.systems.rt[settings.rt]?.user : undefined;
  if (!user) throw new Error("the test config does not enable rtKanban");
  return user;
}

// POST /rocketchat/livechat -------------------------------------------------------------------------------

const livechatSession: BodyShape = {
  valid: {
    type: "LivechatSession",
    _id: "7y4jd7FrdkzLWAuHY",
    label: "James Doe",
    topic: "Printer",
    createdAt: "2026-12-01T19:00:15.705Z",
    closedAt: "2026-12-01T19:05:15.705Z",
    tags: ["printer"],
    visitor: { name: "James Doe", username: "guest-1", email: [{ address: "james@example.com" }] },
    messages: [{ username: "guest-1", msg: "Hi, the printer is on fire", ts: "2026-12-01T19:00:15.706Z" }],
  },
  required: ["type", "_id", "visitor"],
  ids: ["_id"],
  fields: {
    type: fc.oneof(notAString, fc.constant("")),
    _id: fc.oneof(notAString, fc.constant("")),
    visitor: notAnObject,
    "visitor.email": fc.oneof(
      fc.constantFrom(5, true, {}, [{}], [{ address: 1 }], [null], [[]]),
      junkComposite.filter((value) => value !== null),
    ),
    "visitor.name": notAStringOrNull,
    label: notAStringOrNull,
    tags: fc.oneof(fc.constantFrom("printer", 5, true, {}, [1], [null], [["x"]]), deepValue),
    createdAt: badDate,
    closedAt: badDate,
    messages: notAnObject,
    "messages.0": notAnObject,
    "messages.0.ts": badDate,
    "messages.0.msg": fc.oneof(
      fc.constantFrom(5, true, [], {}),
      fc.integer({ min: 100_001, max: 120_000 }).map((length) => "m".repeat(length)),
    ),
  },
};
const livechatOffline: BodyShape = {
  valid: {
    type: "LivechatOfflineMessage",
    sentAt: "2026-12-01T19:00:15.706Z",
    visitor: { name: "James Doe", email: "james@example.com" },
    message: "The printer is on fire",
    department: null,
  },
  required: ["sentAt", "visitor", "visitor.email", "message"],
  ids: [],
  fields: {
    sentAt: badDate,
    visitor: notAnObject,
    "visitor.email": fc.oneof(notAString, fc.constant("")),
    "visitor.name": notAString,
    message: fc.oneof(
      notAString,
      fc.integer({ min: 100_001, max: 120_000 }).map((length) => "m".repeat(length)),
    ),
    department: fc.constantFrom(5, true, [], {}),
  },
};
const LIVECHAT_ACTED_ON = new Set(["LivechatSession", "LivechatOfflineMessage"]);

// POST /otrs/notifications --------------------------------------------------------------------------------

const notificationFlat: BodyShape = {
  valid: { TicketID: "1", TicketNumber: "2026112210000013", Event: "TicketCreate" },
  required: ["TicketID", "Event"],
  ids: ["TicketID"],
  fields: { TicketID: badNumericId, Event: notAString, Ticket: notAnObject },
};
const notificationGeneric: BodyShape = {
  valid: { Event: { Event: "TicketCreate", TicketID: "1" }, Ticket: { TicketID: "1", Queue: "Suporte" } },
  required: ["Event.Event", "Event.TicketID", "Ticket.TicketID"],
  ids: ["Ticket.TicketID", "Event.TicketID"],
  fields: {
    "Ticket.TicketID": badNumericId,
    "Event.TicketID": badNumericId,
    "Event.Event": notAString,
    Ticket: notAnObject,
  },
};

function ruleEvents(config: Readonly<Config>): Set<string> {
  const rules = config.integrations.rocketchatOtrs?.notifications?.rules ?? [];
  return new Set(rules.flatMap((rule) => rule.events));
}

/** The event from the body, else the path's (`/otrs/notifications/{event}`), else `?event=`. */
function classifyNotification(
  body: unknown,
  query: Readonly<Record<string, string>>,
  config: Readonly<Config>,
  path?: Readonly<Record<string, string>>,
): Verdict {
  const named = v.safeParse(NotificationPathSchema, path ?? {}, { abortPipeEarly: true });
  const parsed = v.safeParse(NotificationEventSchema, body);
  if (!named.success || !parsed.success) return "reject";
  const { Event, TicketID, Ticket } = parsed.output;
  const event = (typeof Event === "object" ? Event.Event : Event) ?? named.output.event ?? query.event;
  const ticketId = Ticket?.TicketID ?? TicketID ?? (typeof Event === "object" ? Event.TicketID : undefined);
  if (!event || !ticketId) return "reject";
  if (!ruleEvents(config).has(event)) return "ignore";
  if (!accepts(notifyJob.input, { ticketId, event, eventKey: "k" })) return "reject";
  return beyond64Bits(ticketId) ? "ignore" : "accept";
}

/** Test::TestSimple's data, and the older event handler's Ticket::Generic data: no event name. */
const notificationUnnamed: BodyShape = {
  valid: { TicketID: "1", OldTicketData: { State: "new" } },
  required: ["TicketID"],
  ids: ["TicketID"],
  fields: { TicketID: badNumericId, Event: notAString, Ticket: notAnObject },
};
const notificationGenericUnnamed: BodyShape = {
  valid: { Event: { TicketID: "1" }, Ticket: { TicketID: "1", Queue: "Suporte" } },
  required: ["Event.TicketID", "Ticket.TicketID"],
  ids: ["Ticket.TicketID", "Event.TicketID"],
  fields: {
    "Ticket.TicketID": badNumericId,
    "Event.TicketID": badNumericId,
    "Event.Event": notAString,
    Ticket: notAnObject,
  },
};
const notificationEvents = fc.oneof(
  fc.record({
    event: fc.constantFrom("TicketCreate", "EscalationSolutionTimeNotifyBefore", "TicketPriorityUpdate"),
  }),
  fc.record({
    event: fc.oneof(
      fc.constantFrom(":Event", "Ticket Create", "", "1Ticket", "TicketCreate/x", "a".repeat(101)),
      oddText,
    ),
  }),
);

// GET /glpi/tickets/jobs/{id} -----------------------------------------------------------------------------

const jobIds = fc.oneof(
  fc.string(),
  fc.uuid(),
  fc.string({ unit: "binary" }),
  oddText,
  fc.constantFrom("", "..", "../../etc/passwd", "%00", "job#1", "\u0000", "\ud800", " ", "a".repeat(2_044)),
  fc.integer({ min: 1_000, max: 8_000 }).map((length) => "j".repeat(length)),
);

// ---------------------------------------------------------------------------------------------------

/** Every HTTP route's model, by `METHOD /path` as serverless.yml declares it. */
export const ROUTE_MODELS: Readonly<Record<string, RouteModel>> = {
  "POST /glpi/tickets": glpiModel("standard"),
  "POST /criar-chamado": glpiModel("flask"),
  "GET /glpi/tickets/jobs/{id}": { kind: "path", dialect: "standard", auth: glpiAuth, ids: jobIds },
  "POST /otrs/ticket-events": {
    kind: "body",
    dialect: "standard",
    auth: otrsRedmineAuth,
    shapes: [otrsFlat, otrsGeneric],
    classify: classifyOtrsTicketEvent,
  },
  "POST /otrs/ticket-events/{ticketId}": {
    kind: "body",
    dialect: "standard",
    auth: otrsRedmineAuth,
    shapes: [otrsPathBody],
    pathParameters: otrsPathIds,
    emptyBodyIsObject: true,
    classify: (body, _query, _config, path) => classifyOtrsPathTicketEvent(body, path),
  },
  "POST /redmine/issue-events": {
    kind: "body",
    dialect: "standard",
    auth: (config) => {
      const signing = config.integrations.otrsRedmine?.redmineWebhookSecret;
      return {
        ...otrsRedmineAuth(config),
        ...(signing ? { signature: { ...REDMINE_SIGNATURE, secret: signing.secret } } : {}),
      };
    },
    shapes: [redminePlugin, redmineNative],
    classify: classifyRedmineIssueEvent,
  },
  "POST /api/v1/create-ticket": itopTicketModel(false),
  "POST /api/v1/update-ticket": itopTicketModel(true),
  "POST /api/v1/update-attachment": {
    kind: "body",
    dialect: "standard",
    auth: itopAuth,
    form: "json_data",
    shapes: [itopAttachmentShape],
    classify(body, _query, config) {
      const parsed = v.safeParse(AttachmentEventSchema, body);
      if (!parsed.success) return "reject";
      const side = itopSide(config, parsed.output.source);
      if (!side) return "reject";
      if (!itopSettings(config).classes.includes(parsed.output.item_class)) return "ignore";
      return itopJobVerdict(side, parsed.output.item_id, parsed.output.item_class);
    },
    ignorable: fc.record({
      source: fc.constantFrom("external", "elitery"),
      item_class: fc.constantFrom("Change", "Problem", "WorkOrder"),
      item_id: fc.oneof(fc.nat().map(String), hugeId),
    }),
  },
  "POST /api/v1/ticket-update-private-log": itopInternalModel,
  "POST /api/v1/ticket-state-change": itopInternalModel,
  "POST /rt/ticket-events": {
    kind: "body",
    dialect: "standard",
    auth: (config) => authOf(config.integrations.rtKanban?.auth),
    form: "fields",
    shapes: [rtShape],
    classify(body, _query, config) {
      const parsed = v.safeParse(ScripEventSchema, body);
      if (!parsed.success) return "reject";
      if (parsed.output.type === "CustomField" && parsed.output.creator === rtUser(config)) return "ignore";
      const ticketId = Number(parsed.output.ticket_id);
      if (!accepts(rtTicketJob.input, { ticketId })) return "reject";
      return beyond64Bits(parsed.output.ticket_id) ? "ignore" : "accept";
    },
    // The bridge's own change (the card id written back) is answered 200 and not synced again.
    ignorable: fc.record({
      ticket_id: fc.oneof(fc.nat().map(String), hugeId),
      type: fc.constant("CustomField"),
      creator: fc.constant("deskbridge"),
    }),
  },
  "POST /rocketchat/livechat": {
    kind: "body",
    dialect: "standard",
    auth: (config) => {
      const livechat = config.integrations.rocketchatOtrs?.livechat;
      if (!livechat) throw new Error("the test config does not enable the livechat route");
      return { header: LIVECHAT_TOKEN_HEADER, secret: livechat.secret, allowQueryToken: false };
    },
    shapes: [livechatSession, livechatOffline],
    classify(body, _query, config) {
      const parsed = v.safeParse(v.looseObject(LivechatEventSchema.entries), body);
      if (!parsed.success) return "reject";
      if (parsed.output.type === "LivechatSession")
        return accepts(LivechatSessionSchema, body) ? "accept" : "reject";
      const offline = config.integrations.rocketchatOtrs?.livechat?.offlineMessages ?? true;
      if (parsed.output.type === "LivechatOfflineMessage" && offline)
        return accepts(OfflineMessageSchema, body) ? "accept" : "reject";
      return "ignore";
    },
    // Messages, a chat taken, a closed room edited: answered 200 with the room's crmData, nothing written.
    ignorable: fc.record(
      {
        type: fc.oneof(
          fc.constantFrom("Message", "LivechatEdit", "LivechatSessionTaken", "LivechatSessionStart"),
          fc.string({ minLength: 1 }).filter((type) => !LIVECHAT_ACTED_ON.has(type)),
        ),
        _id: fc.oneof(
          fc.string(),
          oddText,
          fc.integer({ min: 1_000, max: 200_000 }).map((length) => "r".repeat(length)),
        ),
        crmData: fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.string(), deepValue),
        visitor: fc.jsonValue({ maxDepth: 2 }),
      },
      { requiredKeys: ["type"] },
    ),
  },
  "POST /otrs/notifications": {
    kind: "body",
    dialect: "standard",
    auth: (config) => authOf(config.integrations.rocketchatOtrs?.notifications?.auth),
    shapes: [notificationFlat, notificationGeneric],
    classify: (body, query, config) => classifyNotification(body, query, config),
    // An event no rule picks: nothing to read, nothing to post.
    ignorable: fc.oneof(
      fc.record({
        TicketID: fc.oneof(fc.nat().map(String), fc.nat(), hugeId),
        Event: fc.oneof(
          fc.constantFrom("TicketStateUpdate", "ArticleCreate", "ticketcreate", "TicketCreate "),
          fc.string({ minLength: 1 }),
        ),
      }),
      fc.record({
        Event: fc.record({ Event: fc.string({ minLength: 1 }), TicketID: fc.nat().map(String) }),
        Ticket: fc.record({ TicketID: fc.nat().map(String) }),
      }),
    ),
  },
  "POST /otrs/notifications/{event}": {
    kind: "body",
    dialect: "standard",
    auth: (config) => authOf(config.integrations.rocketchatOtrs?.notifications?.auth),
    shapes: [notificationUnnamed, notificationGenericUnnamed, notificationFlat],
    pathParameters: notificationEvents,
    classify: classifyNotification,
  },
  "GET /ping": { kind: "public", dialect: "standard" },
  "GET /openapi.json": { kind: "public", dialect: "standard" },
  "GET /status": operatorModel,
  "POST /status/dead-letters/replay": operatorModel,
  "POST /status/parked/{id}/replay": operatorModel,
  "GET /status/links": operatorModel,
};

/** A payload the route accepts and acts on, so that in the auth scan only the credential decides. */
export function validPayload(model: RouteModel | undefined): unknown {
  return model?.kind === "body" ? model.shapes[0]?.valid : undefined;
}
