import type { IncomingMessage, ServerResponse } from "node:http";
import {
  type FaultChaos,
  type FaultCounts,
  type FaultPlanOptions,
  FaultPlans,
  listen,
  methodAndPath,
  type NetworkFault,
} from "./faults.ts";

/**
 * An in-process fake of Request Tracker 5's REST2 API (`/REST/2.0`) for integration tests and the
 * local sandbox, on 127.0.0.1 only. Rights, paging and the ticket record are those of RT 5.0.3, which
 * `npm run test:real` runs (Debian 12's request-tracker5; docs/fidelity.md): 403 `{"message":"Forbidden"}`
 * for a ticket or queue the user may not see, searches that count only what it may see, no totals or
 * next_page on transactions for anyone but a SuperUser, pages cut before per-transaction rights drop
 * items (EmailRecord), no Told, no correspond/comment/lifecycle links without ModifyTicket. It answers in RT's wire format, quirks included (summary:
 * /work/shared/systems-api.md §4; every quirk below names the RT source file at tag rt-5.0.8 it comes
 * from): the auth middleware runs before routing, every error is `{"message": …}`, a ticket read
 * follows merges, PUT answers 200 with a list of sentences (failures included), TicketSQL is parsed by
 * a port of RT::SQL's state machine with RT's own error texts, searches never return merged-away or
 * deleted tickets. Modelled: GET/PUT/POST/DELETE /ticket(/:id), GET/POST /tickets, GET /transactions,
 * GET /queue/:id|:name and GET /queues/all. Each transaction queues the call a Scrip with a User Defined
 * action would POST (`takeScripCalls()`), the bridge's own writes included, as in RT.
 */

/** How the fake is set up: its users, queues and ticket custom fields. */
export interface RtFakeOptions {
  port?: number; // default 0 (random); listen on 127.0.0.1 only
  /** "Nobody" (id 6) and "RT_System" (id 1) always exist; others get ids from 14 up unless given. */
  users: {
    name: string;
    token?: string;
    password?: string;
    realName?: string;
    email?: string;
    id?: number;
    /**
     * The queues whose tickets the user may see (SeeQueue + ShowTicket); default every queue. A ticket
     * elsewhere is 403 `{"message":"Forbidden"}` to it (read or write), and searches leave it out.
     */
    queues?: string[];
    /** ModifyTicket, ReplyToTicket and CommentOnTicket (default true): without them RT answers a PUT of a
     * ticket field "Permission Denied" and offers no correspond/comment/lifecycle links. */
    modifyTicket?: boolean;
    /** DeleteTicket (default false, as for every user the README sets up): the only way to "deleted". */
    deleteTicket?: boolean;
    /** A SuperUser gets totals and next_page on transaction searches; nobody else does (RT 5.0.3). */
    superUser?: boolean;
  }[];
  queues: { id: number; name: string; description?: string }[];
  /** Ticket custom fields; `queues` = names of the queues it is applied to ([] = all queues). Single-value Freeform. */
  customFields: { id: number; name: string; queues: string[] }[];
  /** Custom fields the bridge user may see but not modify (PUT answers "Permission Denied" in the array). */
  readOnlyCustomFields?: string[];
  /** RT's $Organization, used in link URIs (`fsck.com-rt://example.com/ticket/3`). Default "example.com". */
  organization?: string;
  /** Who `person*()` act as by default: a user name. Default: the first user without a token, else the first. */
  person?: string;
  /** RT's $EnablePriorityAsString (default on in 5.0: Low 0, Medium 50, High 100), used in PUT messages. */
  priorityAsString?: boolean;
}

/**
 * What `failNext` can do instead of answering normally. `messages` is RT's 200 with an embedded error:
 * the call is answered 200 with exactly that JSON array of sentences (`["Permission Denied"]`) and does
 * not do the work, as RT's PUT answers when a change failed.
 */
export type RtFault = NetworkFault | { kind: "messages"; messages: string[] };

/** A ticket as the fake stores it, names resolved. */
export interface RtTicket {
  id: number;
  effectiveId: number;
  queue: string;
  subject: string;
  status: string; // new|open|stalled|resolved|rejected|deleted
  owner: string;
  priority: number;
  requestors: string[];
  customFields: Record<string, string>; // by CF name
  created: Date;
  lastUpdated: Date;
  lastUpdatedBy: string;
  creator: string;
}

/** A ticket transaction; `oldValue`/`newValue` are what REST2's `fields=OldValue,NewValue` shows. */
export interface RtTransaction {
  id: number;
  ticketId: number; // ObjectId
  type: string; // Create, Set, Status, CustomField, AddLink (merge: Field "MergedInto" on the merged-away ticket), Correspond, Comment…
  field: string;
  oldValue: string;
  newValue: string;
  created: Date;
  creator: string;
}

/** One request the fake received, faulted ones included. */
export interface RtCall {
  method: string;
  path: string; // below /REST/2.0, decoded, e.g. "/ticket/3"; a request outside /REST/2.0 keeps its full path
  query: URLSearchParams;
  status: number; // 0 for reset, hang, drop-response, crash and while down
  user?: string; // the authenticated user's name
  body?: unknown; // the parsed JSON body, or the form fields of POST /tickets
  fullPath: string; // the request's path as sent, e.g. "/REST/2.0/ticket/3"
}

/** What an RT Scrip "On Transaction" with a User Defined action POSTs: the bridge's documented payload. */
export interface RtScripCall {
  ticket_id: string;
  transaction_id: string;
  type: string;
  creator: string;
}

/** The running fake. */
export interface RtFake {
  url: string; // "http://127.0.0.1:<port>/REST/2.0" (no trailing slash)
  port: number;
  calls: RtCall[];
  count(method: string, path: string | RegExp): number; // calls matching method and path (string = exact)
  tickets(): RtTicket[]; // all, merged and deleted included
  ticket(id: number): RtTicket | undefined; // by its own id (no merge following)
  transactions(): RtTransaction[];
  /** What people do in RT's web UI; each records transactions and queues Scrip calls (one per transaction). */
  personCreates(input: {
    queue: string;
    subject: string;
    status?: string;
    owner?: string;
    priority?: number;
    requestor?: string;
    by?: string;
    customFields?: Record<string, string>;
  }): RtTicket;
  personUpdates(
    id: number,
    change: {
      subject?: string;
      status?: string;
      owner?: string;
      priority?: number;
      queue?: string;
      customFields?: Record<string, string | null>;
    },
    by?: string,
  ): void;
  personMerges(id: number, intoId: number, by?: string): void;
  personDeletes(id: number, by?: string): void; // Status → deleted
  takeScripCalls(): RtScripCall[]; // returns and clears the outbox
  /** The `times` matching requests after the first `options.after` ones (default 0) get the fault. */
  failNext(
    times: number,
    fault: RtFault,
    match?: { method?: string; path?: string | RegExp },
    options?: FaultPlanOptions,
  ): void;
  /** Seeded random faults for the matching calls no plan takes (undefined: off); reset() turns them off. */
  setChaos(chaos: FaultChaos<RtFault, { method?: string; path?: string | RegExp }> | undefined): void;
  /** The faults applied since the last reset(), plans and chaos alike, by kind. */
  faultsInjected(): FaultCounts;
  setDown(down: boolean): void; // every request's socket destroyed while down
  advanceClock(seconds: number): void; // moves the fake clock used for Created/LastUpdated
  reset(): void; // forget tickets, transactions, calls, plans, chaos, fault counts, scrip outbox, down; ids keep counting
  close(): Promise<void>;
  /** The most requests in flight at once (each counted until answered or cut), since start or resetInFlight(). */
  readonly maxInFlight: number;
  /** Starts maxInFlight again from the requests in flight now. */
  resetInFlight(): void;
}

interface User {
  id: number;
  name: string;
  token?: string | undefined;
  password?: string | undefined;
  realName: string;
  email: string;
  auto: boolean; // created on the fly for a requestor address
  /** Names of the queues it may see; undefined: all. */
  queues?: Set<string> | undefined;
  modifyTicket: boolean;
  deleteTicket: boolean;
  superUser: boolean;
}
interface Queue {
  id: number;
  name: string;
  description: string;
}
interface CustomField {
  id: number;
  name: string;
  queues: string[];
}
interface Ticket {
  id: number;
  effectiveId: number;
  isMerged: boolean;
  queueId: number;
  ownerId: number;
  subject: string;
  priority: number;
  initialPriority: number;
  finalPriority: number;
  status: string;
  timeEstimated: number;
  timeWorked: number;
  timeLeft: number;
  // Epoch milliseconds; 0 is RT's "not set" (stored as 1970-01-01 00:00:00).
  told: number;
  starts: number;
  started: number;
  due: number;
  resolved: number;
  created: number;
  lastUpdated: number;
  creatorId: number;
  lastUpdatedById: number;
  requestors: number[];
  cc: number[];
  adminCc: number[];
  values: Map<number, string>; // custom field id → value
}
interface Txn {
  id: number;
  objectId: number;
  type: string;
  field: string | null;
  // The columns; CustomField transactions keep their values in OCFV references instead (content below).
  oldValue: string | null;
  newValue: string | null;
  oldContent?: string | null;
  newContent?: string | null;
  referenceType: string | null;
  timeTaken: number;
  created: number;
  creatorId: number;
}
interface Reply {
  status: number;
  payload?: string; // undefined: empty body
  contentType?: string;
  headers?: Record<string, string>;
}
interface Context {
  method: string;
  query: URLSearchParams;
  params: URLSearchParams; // Plack's param(): query, then form body fields
  headers: Record<string, string | undefined>;
  raw: string;
  user: User;
  call: RtCall;
  host: string; // the Host header, for next_page (Plack's request URI)
}
interface Route {
  allowed: string[];
  writable: boolean; // RT::REST2::Resource::Record::Writable (JSON body checks)
  handle: (ctx: Context) => Reply;
}
type Json = Record<string, unknown>;
type Predicate<T> = (item: T) => boolean;

const BASE_PATH = "/REST/2.0";
const RT_LIB = "/opt/rt5/lib/RT"; // where `die` messages say the code lives (an installed RT 5)
const JSON_TYPE = "application/json; charset=utf-8";
const SYSTEM_ID = 1;
const NOBODY_ID = 6;
/** Web::Machine's known_methods (lib/Web/Machine/Resource.pm): others are 501. */
const KNOWN_METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "TRACE", "CONNECT", "OPTIONS"];
/** HTTP::Status::status_message, which ErrorAsJSON.pm puts in `message` for a non-JSON error. */
const REASONS: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  406: "Not Acceptable",
  409: "Conflict",
  415: "Unsupported Media Type",
  500: "Internal Server Error",
  501: "Not Implemented",
};

// The default lifecycle (etc/RT_Config.pm.in %Lifecycles).
const INITIAL = ["new"];
const ACTIVE = ["open", "stalled"];
const INACTIVE = ["resolved", "rejected", "deleted"];
const VALID = [...INITIAL, ...ACTIVE, ...INACTIVE];
const TRANSITIONS: Record<string, string[]> = {
  "": ["new", "open", "resolved"],
  new: ["open", "stalled", "resolved", "rejected", "deleted"],
  open: ["new", "stalled", "resolved", "rejected", "deleted"],
  stalled: ["new", "open", "resolved", "rejected", "deleted"],
  resolved: ["new", "open", "stalled", "rejected", "deleted"],
  rejected: ["new", "open", "stalled", "resolved", "deleted"],
  deleted: ["new", "open", "stalled", "resolved", "rejected"],
};
const ACTIONS: { from: string; to: string; label: string; update?: string }[] = [
  { from: "new", to: "open", label: "Open It", update: "Respond" },
  { from: "new", to: "resolved", label: "Resolve", update: "Comment" },
  { from: "new", to: "rejected", label: "Reject", update: "Respond" },
  { from: "new", to: "deleted", label: "Delete" },
  { from: "open", to: "stalled", label: "Stall", update: "Comment" },
  { from: "open", to: "resolved", label: "Resolve", update: "Comment" },
  { from: "open", to: "rejected", label: "Reject", update: "Respond" },
  { from: "stalled", to: "open", label: "Open It" },
  { from: "resolved", to: "open", label: "Re-open", update: "Comment" },
  { from: "rejected", to: "open", label: "Re-open", update: "Comment" },
  { from: "deleted", to: "open", label: "Undelete" },
];
/** %PriorityAsString's Default (etc/RT_Config.pm.in). */
const PRIORITY_LABELS: [string, number][] = [
  ["High", 100],
  ["Medium", 50],
  ["Low", 0],
];
/** The ticket columns PUT may change, in RT::Record::WritableAttributes order (sorted), that the fake models. */
const UPDATABLE = ["Owner", "Priority", "Queue", "Status", "Subject"] as const;

/** lib/RT/Tickets.pm %FIELD_METADATA (the TicketSQL fields RT knows). */
const TICKET_FIELDS: Record<string, readonly string[]> = {
  Status: ["STRING"],
  SLA: ["STRING"],
  Queue: ["QUEUE"],
  Type: ["ENUM"],
  Creator: ["ENUM", "User"],
  LastUpdatedBy: ["ENUM", "User"],
  Owner: ["WATCHERFIELD", "Owner"],
  EffectiveId: ["INT"],
  id: ["ID"],
  InitialPriority: ["INT"],
  FinalPriority: ["INT"],
  Priority: ["INT"],
  TimeLeft: ["INT"],
  TimeWorked: ["INT"],
  TimeEstimated: ["INT"],
  Linked: ["LINK"],
  LinkedTo: ["LINK", "To"],
  LinkedFrom: ["LINK", "From"],
  MemberOf: ["LINK", "To", "MemberOf"],
  DependsOn: ["LINK", "To", "DependsOn"],
  RefersTo: ["LINK", "To", "RefersTo"],
  HasMember: ["LINK", "From", "MemberOf"],
  DependentOn: ["LINK", "From", "DependsOn"],
  DependedOnBy: ["LINK", "From", "DependsOn"],
  ReferredToBy: ["LINK", "From", "RefersTo"],
  Told: ["DATE", "Told"],
  Starts: ["DATE", "Starts"],
  Started: ["DATE", "Started"],
  Due: ["DATE", "Due"],
  Resolved: ["DATE", "Resolved"],
  LastUpdated: ["DATE", "LastUpdated"],
  Created: ["DATE", "Created"],
  Subject: ["STRING"],
  Content: ["TRANSCONTENT"],
  ContentType: ["TRANSFIELD"],
  Filename: ["TRANSFIELD"],
  TransactionDate: ["TRANSDATE"],
  Requestor: ["WATCHERFIELD", "Requestor"],
  Requestors: ["WATCHERFIELD", "Requestor"],
  Cc: ["WATCHERFIELD", "Cc"],
  AdminCc: ["WATCHERFIELD", "AdminCc"],
  Watcher: ["WATCHERFIELD"],
  QueueCc: ["WATCHERFIELD", "Cc", "Queue"],
  QueueAdminCc: ["WATCHERFIELD", "AdminCc", "Queue"],
  QueueWatcher: ["WATCHERFIELD", "", "Queue"],
  CustomRole: ["WATCHERFIELD"],
  CustomFieldValue: ["CUSTOMFIELD", "Ticket"],
  CustomField: ["CUSTOMFIELD", "Ticket"],
  CF: ["CUSTOMFIELD", "Ticket"],
  TxnCF: ["CUSTOMFIELD", "Transaction"],
  TransactionCF: ["CUSTOMFIELD", "Transaction"],
  QueueCF: ["CUSTOMFIELD", "Queue"],
  Lifecycle: ["LIFECYCLE"],
  Updated: ["TRANSDATE"],
  UpdatedBy: ["TRANSCREATOR"],
  OwnerGroup: ["MEMBERSHIPFIELD", "Owner"],
  RequestorGroup: ["MEMBERSHIPFIELD", "Requestor"],
  CCGroup: ["MEMBERSHIPFIELD", "Cc"],
  AdminCCGroup: ["MEMBERSHIPFIELD", "AdminCc"],
  WatcherGroup: ["MEMBERSHIPFIELD"],
  HasAttribute: ["HASATTRIBUTE", "1"],
  HasNoAttribute: ["HASATTRIBUTE", "0"],
  HasUnreadMessages: ["HASUNREADMESSAGES", "1"],
  HasNoUnreadMessages: ["HASUNREADMESSAGES", "0"],
};
/** lib/RT/Transactions.pm %FIELD_METADATA. */
const TXN_FIELDS: Record<string, readonly string[]> = {
  id: ["INT"],
  ObjectId: ["ID"],
  ObjectType: ["STRING"],
  Creator: ["ENUM", "User"],
  TimeTaken: ["INT"],
  Type: ["STRING"],
  Field: ["STRING"],
  OldValue: ["STRING"],
  NewValue: ["STRING"],
  ReferenceType: ["STRING"],
  OldReference: ["STRING"],
  NewReference: ["STRING"],
  Data: ["STRING"],
  Created: ["DATE", "Created"],
  Content: ["ATTACHCONTENT"],
  ContentType: ["ATTACHFIELD"],
  Filename: ["ATTACHFIELD"],
  Subject: ["ATTACHFIELD"],
  CustomFieldValue: ["CUSTOMFIELD", "Transaction"],
  CustomField: ["CUSTOMFIELD", "Transaction"],
  CF: ["CUSTOMFIELD", "Transaction"],
  ...Object.fromEntries(
    [
      "Id",
      "Subject",
      "Queue",
      "Status",
      "Owner",
      "Creator",
      "LastUpdatedBy",
      "Created",
      "Started",
      "Resolved",
      "Told",
      "LastUpdated",
      "Starts",
      "Due",
      "Priority",
      "InitialPriority",
      "FinalPriority",
      "Type",
    ].map((name) => [`Ticket${name}`, ["TICKETFIELD"]]),
  ),
  TicketQueueLifecycle: ["TICKETQUEUEFIELD"],
  CustomFieldName: ["CUSTOMFIELDNAME"],
  CFName: ["CUSTOMFIELDNAME"],
  OldCFValue: ["OBJECTCUSTOMFIELDVALUE"],
  NewCFValue: ["OBJECTCUSTOMFIELDVALUE"],
};
/** RT::Ticket's readable columns (lib/RT/Ticket.pm _CoreAccessible), for a TicketSQL value naming a column. */
const TICKET_COLUMNS = [
  "id",
  "EffectiveId",
  "IsMerged",
  "Queue",
  "Type",
  "Owner",
  "Subject",
  "InitialPriority",
  "FinalPriority",
  "Priority",
  "TimeEstimated",
  "TimeWorked",
  "Status",
  "SLA",
  "TimeLeft",
  "Told",
  "Starts",
  "Started",
  "Due",
  "Resolved",
  "LastUpdatedBy",
  "LastUpdated",
  "Creator",
  "Created",
] as const;
const DATE_COLUMNS = ["Told", "Starts", "Started", "Due", "Resolved", "LastUpdated", "Created"];
/** lib/RT/Tickets.pm %SEARCHABLE_SUBFIELDS. */
const USER_SUBFIELDS = [
  "EmailAddress",
  "Name",
  "RealName",
  "Nickname",
  "Organization",
  "Address1",
  "Address2",
  "City",
  "State",
  "Zip",
  "Country",
  "WorkPhone",
  "HomePhone",
  "MobilePhone",
  "PagerPhone",
  "id",
];

/** Starts the fake on 127.0.0.1. */
export async function startRtFake(options: RtFakeOptions): Promise<RtFake> {
  const organization = options.organization ?? "example.com";
  const priorityAsString = options.priorityAsString ?? true;
  const readOnly = new Set((options.readOnlyCustomFields ?? []).map((name) => name.toLowerCase()));
  const queues: Queue[] = options.queues.map((q) => ({
    id: q.id,
    name: q.name,
    description: q.description ?? "",
  }));
  const customFields: CustomField[] = options.customFields.map((cf) => ({ ...cf, queues: [...cf.queues] }));
  const seededUsers: User[] = [
    {
      id: SYSTEM_ID,
      name: "RT_System",
      realName: "The RT System itself",
      email: "",
      auto: false,
      modifyTicket: true,
      deleteTicket: true,
      superUser: true,
    },
    {
      id: NOBODY_ID,
      name: "Nobody",
      realName: "Nobody in particular",
      email: "",
      auto: false,
      modifyTicket: true,
      deleteTicket: false,
      superUser: false,
    },
  ];
  let nextUserId = 14;
  for (const u of options.users) {
    if (u.name.toLowerCase() === "nobody" || u.name.toLowerCase() === "rt_system") continue;
    const id = u.id ?? nextUserId;
    nextUserId = Math.max(nextUserId, id + 1);
    seededUsers.push({
      id,
      name: u.name,
      token: u.token,
      password: u.password,
      realName: u.realName ?? "",
      email: u.email ?? "",
      auto: false,
      queues: u.queues ? new Set(u.queues.map((name) => name.toLowerCase())) : undefined,
      modifyTicket: u.modifyTicket ?? true,
      deleteTicket: u.deleteTicket ?? false,
      superUser: u.superUser ?? false,
    });
  }
  const users: User[] = [...seededUsers];
  const personName =
    options.person ?? (options.users.find((u) => !u.token) ?? options.users[0])?.name ?? "Nobody";

  const tickets: Ticket[] = [];
  const txns: Txn[] = [];
  const calls: RtCall[] = [];
  let outbox: RtScripCall[] = [];
  const plans = new FaultPlans<RtFault, { method?: string; path?: string | RegExp }, RtCall>(methodAndPath);
  let down = false;
  let nextTicketId = 1;
  let nextTxnId = 1;
  const epoch = Math.floor(Date.now() / 1000) * 1000; // when the seeded queues "were created"
  let offset = 0;
  let last = 0;

  const server = await listen(options.port, handle, (res, error) =>
    send(
      res,
      jsonReply(500, { message: `RT fake: ${error instanceof Error ? error.message : String(error)}` }),
    ),
  );
  const port = server.port;
  const url = `http://127.0.0.1:${port}${BASE_PATH}`;

  /** The fake's time in whole seconds (RT's datetime columns have no fractions), never going back. */
  function now(): number {
    last = Math.max(Math.floor((Date.now() + offset) / 1000) * 1000, last);
    return last;
  }

  // ---------------------------------------------------------------- HTTP

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const parsed = new URL(req.url ?? "/", "http://127.0.0.1");
    const headers: Record<string, string | undefined> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : value;
    }
    const decoded = safeDecode(parsed.pathname);
    const inside = decoded === BASE_PATH || decoded.startsWith(`${BASE_PATH}/`);
    const call: RtCall = {
      method: req.method ?? "GET",
      path: inside ? decoded.slice(BASE_PATH.length) || "/" : decoded,
      query: parsed.searchParams,
      status: 0,
      fullPath: parsed.pathname,
    };
    calls.push(call);
    if (down) return void req.socket.destroy();
    const reply = await plans.serve(req, call, (raw, fault): Reply => {
      if (fault?.kind === "status") return faultReply(fault);
      if (fault?.kind === "messages") return jsonReply(200, fault.messages);
      return inside ? answer(call, headers, raw, req.headers.host ?? `127.0.0.1:${port}`) : outsideRest();
    });
    if (reply) send(res, reply);
  }

  /**
   * The order of RT's PSGI stack (lib/RT/REST2.pm): ErrorAsJSON wraps Auth, which runs before the
   * dispatcher, so an unknown path without credentials is 401 and with them 404 `{"message":"Not Found"}`.
   */
  function answer(
    call: RtCall,
    headers: Record<string, string | undefined>,
    raw: string,
    host: string,
  ): Reply {
    const form = formFields(headers, raw);
    const user = authenticate(headers, call.query, form);
    if (!user) return unauthorized(headers);
    call.user = user.name;
    const params = new URLSearchParams([...call.query, ...form]);
    const ctx: Context = {
      method: call.method,
      query: call.query,
      params,
      headers,
      raw,
      user,
      call,
      host,
    };
    const route = routeOf(call.path);
    if (!route) return errorReply(404);
    // Web::Machine's FSM (lib/Web/Machine/FSM/States.pm): b12 known method, b10 allowed, b9 malformed…
    if (!KNOWN_METHODS.includes(call.method)) return errorReply(501);
    if (!route.allowed.includes(call.method)) {
      return { ...errorReply(405), headers: { Allow: route.allowed.join(", ") } };
    }
    if (route.writable) {
      const malformed = malformedJson(ctx);
      if (malformed) return malformed;
      if (isJson(headers) && raw.trim()) call.body = parseJson(raw);
    } else if (form.length > 0) {
      call.body = Object.fromEntries(form);
    }
    if (!acceptsJson(headers.accept)) return errorReply(406);
    try {
      return route.handle(ctx);
    } catch (error) {
      // Perl code that dies mid-request: Web::Machine answers 500 without a body, ErrorAsJSON wraps it.
      if (error instanceof PerlDie) return errorReply(500);
      throw error;
    }
  }

  /** lib/RT/REST2/Middleware/Auth.pm: cookie, then auth token (header, else `token` param), then Basic. */
  function authenticate(
    headers: Record<string, string | undefined>,
    query: URLSearchParams,
    form: [string, string][],
  ): User | undefined {
    const authorization = headers.authorization ?? "";
    let token = /^token (.*)$/i.exec(authorization)?.[1] ?? "";
    // Plack's parameters: the query string and a form body alike; with several, the last one.
    if (!token)
      token =
        [...query.getAll("token"), ...form.filter(([k]) => k === "token").map(([, v]) => v)].pop() ?? "";
    if (token) return users.find((u) => u.token !== undefined && u.token === token);
    const basic = /^basic (.*)$/i.exec(authorization)?.[1];
    if (basic !== undefined) {
      const decoded = Buffer.from(basic, "base64").toString("utf8") || ":";
      const colon = decoded.indexOf(":");
      const [name, password] =
        colon < 0 ? [decoded, ""] : [decoded.slice(0, colon), decoded.slice(colon + 1)];
      const user = loadUser(name);
      return user?.password !== undefined && user.password === password ? user : undefined;
    }
    return undefined;
  }

  /** Auth.pm's unauthorized(): a browser is redirected to the login page, anything else gets 401. */
  function unauthorized(headers: Record<string, string | undefined>): Reply {
    if (headers.cookie || /Mozilla/.test(headers["user-agent"] ?? "")) {
      return { status: 302, headers: { Location: "/" }, payload: "Login required" };
    }
    return errorReply(401);
  }

  function routeOf(rel: string): Route | undefined {
    let m = /^\/ticket\/?$/.exec(rel);
    if (m) return ticketRoute(undefined);
    m = /^\/ticket\/(\d+)\/?$/.exec(rel);
    if (m) return ticketRoute(Number(m[1]));
    if (/^\/tickets\/?$/.test(rel)) {
      return { allowed: ["GET", "HEAD", "POST"], writable: false, handle: searchTickets };
    }
    if (/^\/transactions\/?$/.test(rel)) {
      return { allowed: ["GET", "HEAD"], writable: false, handle: searchTransactions };
    }
    if (/^\/queues\/all\/?$/.test(rel)) {
      return { allowed: ["GET", "HEAD"], writable: false, handle: allQueues };
    }
    // Both queue rules match "/queue/1"; they belong to one resource, so the dispatcher takes the first.
    m = /^\/queue\/(\d+)\/?$/.exec(rel) ?? /^\/queue\/([^/]+)\/?$/.exec(rel);
    if (m) {
      const queue = loadQueue(m[1] ?? "");
      return {
        allowed: ["GET", "HEAD", "DELETE", "PUT", "POST"],
        writable: true,
        handle: (ctx) => showQueue(ctx, queue),
      };
    }
    return undefined;
  }

  /** Resource/Role/RequestBodyIsJSON.pm: only a PUT/POST declared as application/json is checked. */
  function malformedJson(ctx: Context): Reply | undefined {
    if (
      !["PUT", "POST"].includes(ctx.method) ||
      !/^application\/json/.test(ctx.headers["content-type"] ?? "")
    ) {
      return undefined;
    }
    if (!ctx.raw) return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(ctx.raw);
    } catch (error) {
      return jsonReply(400, { message: `JSON parse error: ${perlJsonError(ctx.raw, error)}` });
    }
    if (!parsed) return jsonReply(400, { message: "JSON parse error: " });
    if (!isRecord(parsed)) return jsonReply(400, { message: "JSON object must be a HASH" });
    return undefined;
  }

  /**
   * Writable.pm's content_types_accepted: JSON (and multipart, which the fake does not model); Web::Machine
   * treats a missing Content-Type as application/octet-stream, i.e. 415.
   */
  function bodyOf(ctx: Context): { data: Json } | { reply: Reply } {
    const type = (ctx.headers["content-type"] ?? "application/octet-stream")
      .split(";")[0]
      ?.trim()
      .toLowerCase();
    if (type === "multipart/form-data") throw new Error("multipart/form-data bodies are not modelled");
    if (type !== "application/json") return { reply: errorReply(415) };
    const body: unknown = ctx.raw ? JSON.parse(ctx.raw) : {};
    const data: Json = isRecord(body) ? { ...body } : {};
    // Writable.pm from_json: the query parameters are merged over the body.
    for (const key of new Set(ctx.query.keys())) {
      const values = ctx.query.getAll(key);
      data[key] = values.length > 1 ? values : values[0];
    }
    return { data: deserialize(data) };
  }

  // ---------------------------------------------------------------- tickets

  function ticketRoute(id: number | undefined): Route {
    return {
      allowed: ["GET", "HEAD", "DELETE", "PUT", "POST"],
      writable: true,
      handle: (ctx) => {
        const ticket = id === undefined ? undefined : load(id);
        // Record.pm forbidden(): ShowTicket (a read) or the write's right, checked on the loaded ticket.
        if (ticket && !canSee(ctx.user, ticket)) return errorReply(403);
        if (ctx.method === "GET" || ctx.method === "HEAD") {
          if (!ticket) return errorReply(404);
          const merged = new Set(tickets.filter((t) => t.effectiveId === ticket.id).map((t) => t.id));
          const lastTxn = txns.filter((t) => merged.has(t.objectId)).at(-1);
          return {
            ...jsonReply(200, ticketRecord(ticket, ctx.params, ctx.user), true),
            headers: {
              // Record/WithETag.pm: the newest transaction's id, and LastUpdated as W3CDTF (not RFC 1123).
              ...(lastTxn ? { ETag: `"${lastTxn.id}"` } : {}),
              "Last-Modified": w3c(ticket.lastUpdated),
            },
          };
        }
        if (ctx.method === "DELETE") {
          if (!ticket) return errorReply(404);
          // Record/Deletable.pm can only say true or false: a refused delete is Web::Machine's 500.
          const result = setStatus(ticket, "deleted", ctx.user);
          return result.ok ? { status: 204 } : errorReply(500);
        }
        const body = bodyOf(ctx);
        if ("reply" in body) return body.reply;
        const { data } = body;
        if (ctx.method === "PUT") {
          if (!ticket) return jsonReply(404, { message: "Resource does not exist; use POST to create" });
          return jsonReply(200, updateTicket(ticket, data, ctx.user));
        }
        if (ticket) return jsonReply(409, { message: "Resource already exists; use PUT to update" });
        return createFromApi(data, ctx.user);
      },
    };
  }

  /** Whether a user may see a ticket: SeeQueue and ShowTicket on its queue (RT 5.0.3, as the README sets them). */
  function canSee(user: User, ticket: Ticket): boolean {
    return !user.queues || user.queues.has(queueOf(ticket).name.toLowerCase());
  }

  function canSeeQueue(user: User, queue: Queue): boolean {
    return !user.queues || user.queues.has(queue.name.toLowerCase());
  }

  /** RT::Ticket::Load: a merged-away ticket loads as the one it was merged into. */
  function load(id: number): Ticket | undefined {
    let ticket = tickets.find((t) => t.id === id);
    for (let hops = 0; ticket && ticket.effectiveId !== ticket.id && hops < 100; hops += 1) {
      const effective = ticket.effectiveId;
      ticket = tickets.find((t) => t.id === effective);
    }
    return ticket;
  }

  // POST /ticket (Resource/Ticket.pm validate_input + create_record, RT::Ticket::Create)
  function createFromApi(data: Json, user: User): Reply {
    if (!data.Queue) return jsonReply(400, { message: "Could not create ticket. Queue not set" });
    const queue = loadQueue(String(data.Queue));
    if (!queue || !canSeeQueue(user, queue)) {
      return jsonReply(403, {
        message: `No permission to create tickets in the queue '${String(data.Queue)}'`,
      });
    }
    const result = create(
      {
        queue,
        subject: data.Subject,
        status: data.Status,
        owner: data.Owner,
        priority: data.Priority,
        initialPriority: data.InitialPriority,
        finalPriority: data.FinalPriority,
        requestors: data.Requestor,
        cc: data.Cc,
        adminCc: data.AdminCc,
        customFields: isRecord(data.CustomFields) ? data.CustomFields : {},
      },
      user,
    );
    if (!result.ok) return jsonReply(400, { message: result.message });
    const ref = uid("ticket", result.ticket.id);
    return { ...jsonReply(201, ref), headers: { Location: ref._url } };
  }

  function create(
    input: {
      queue: Queue;
      subject: unknown;
      status: unknown;
      owner: unknown;
      priority: unknown;
      initialPriority: unknown;
      finalPriority: unknown;
      requestors: unknown;
      cc: unknown;
      adminCc: unknown;
      customFields: Json;
    },
    user: User,
    api = true,
  ): { ok: true; ticket: Ticket } | { ok: false; message: string } {
    const requested = input.status === undefined || input.status === null ? "" : String(input.status);
    const status = (requested || "new").toLowerCase();
    if (!VALID.includes(status)) {
      return { ok: false, message: `Status '${status}' isn't a valid status for tickets in this queue.` };
    }
    if (!TRANSITIONS[""]?.includes(status)) {
      return { ok: false, message: `New tickets can not have status '${status}' in this queue.` };
    }
    const at = now();
    const initialPriority = toInt(input.initialPriority);
    const owner =
      input.owner === undefined || input.owner === null ? undefined : loadUser(String(input.owner));
    const ticket: Ticket = {
      id: nextTicketId++,
      effectiveId: 0,
      isMerged: false,
      queueId: input.queue.id,
      // An owner that cannot be loaded is a non-fatal error of RT::Ticket::Create: the ticket stays unowned.
      ownerId: owner?.id ?? NOBODY_ID,
      subject:
        input.subject === undefined || input.subject === null ? "" : String(input.subject).replace(/\n/g, ""),
      priority:
        input.priority === undefined || input.priority === null ? initialPriority : toInt(input.priority),
      initialPriority,
      finalPriority: toInt(input.finalPriority),
      status,
      timeEstimated: 0,
      timeWorked: 0,
      timeLeft: 0,
      told: 0,
      starts: 0,
      due: 0,
      started: INITIAL.includes(status) ? 0 : at,
      resolved: INACTIVE.includes(status) ? at : 0,
      created: at,
      lastUpdated: at,
      creatorId: user.id,
      lastUpdatedById: user.id,
      requestors: principals(input.requestors),
      cc: principals(input.cc),
      adminCc: principals(input.adminCc),
      values: new Map(),
    };
    ticket.effectiveId = ticket.id;
    // Writable.pm create_record + RT::Ticket::Create: CustomField-<id> values, added without transactions;
    // a field not applied to the queue, or one the user may not set, is a non-fatal (silent) error.
    for (const [key, value] of Object.entries(input.customFields)) {
      const cf = /^\d+$/.test(key)
        ? customFields.find((f) => f.id === Number(key))
        : customFields.find((f) => f.name.toLowerCase() === key.toLowerCase());
      if (!cf || !appliesTo(cf, ticket.queueId) || (api && readOnly.has(cf.name.toLowerCase()))) continue;
      for (const one of Array.isArray(value) ? value : [value]) {
        if (one === null || one === undefined || isRecord(one) || String(one) === "") continue;
        ticket.values.set(cf.id, String(one));
      }
    }
    tickets.push(ticket);
    record(ticket, { type: "Create" }, user);
    // The global Scrip "On Create Autoreply To Requestors" mails the requestors but the actor ($NotifyActor
    // is off), and records an EmailRecord transaction (Scrips off: no Scrip call) that only
    // ShowOutgoingEmail may see.
    if (ticket.requestors.some((id) => id !== user.id))
      record(ticket, { type: "EmailRecord" }, user, { scrips: false });
    return { ok: true, ticket };
  }

  /** RT::Queue::_ResolveRoles: user names load; an address loads or creates its user (Name = address). */
  function principals(value: unknown): number[] {
    const ids: number[] = [];
    for (const entry of Array.isArray(value) ? value : value === undefined || value === null ? [] : [value]) {
      const text = String(entry).trim();
      if (!text) continue;
      let user = loadUser(text);
      if (!user && text.includes("@")) {
        user = users.find((u) => u.email.toLowerCase() === text.toLowerCase());
        if (!user) {
          user = {
            id: nextUserId++,
            name: text,
            realName: "",
            email: text,
            auto: true,
            modifyTicket: false,
            deleteTicket: false,
            superUser: false,
          };
          users.push(user);
        }
      }
      if (user && !ids.includes(user.id)) ids.push(user.id);
    }
    return ids;
  }

  /** The messages of PUT /ticket/:id (Resource/Ticket.pm update_record, Record/Writable.pm update_record). */
  function updateTicket(ticket: Ticket, data: Json, user: User): string[] {
    const messages: string[] = [];
    // RT::Record::Update: first the new values, compared with the current ones (a Foo whose FooObj's Name
    // or raw value equals the input is skipped), then each Set<Attribute> in WritableAttributes order.
    const pending: [string, string][] = [];
    for (const attribute of UPDATABLE) {
      const raw = data[attribute];
      if (raw === undefined || raw === null || isRecord(raw) || Array.isArray(raw)) continue;
      const value = String(raw).replace(/\r\n/g, "\n");
      const truncated = attribute === "Subject" ? value.slice(0, 200) : value;
      const objName =
        attribute === "Queue"
          ? queueOf(ticket).name
          : attribute === "Owner"
            ? userById(ticket.ownerId).name
            : undefined;
      if (objName !== undefined && (objName === value || objName === (value || "0"))) continue;
      const current = column(ticket, attribute);
      if (truncated === current || (truncated || "0") === current) continue;
      pending.push([attribute, value]);
    }
    for (const [attribute, value] of pending) {
      // RT::Ticket::_Set checks ModifyTicket (OwnTicket for Owner; the fake folds both into one right).
      const message = user.modifyTicket ? setAttribute(ticket, attribute, value, user) : "Permission Denied";
      messages.push(`Ticket ${ticket.id}: ${message}`);
    }
    if (isRecord(data.CustomFields)) messages.push(...updateCustomFields(ticket, data.CustomFields, user));
    const into = data.MergeInto;
    if (into !== undefined && into !== null && into !== "" && into !== 0 && into !== "0") {
      messages.push(mergeInto(ticket, String(into), user).message);
    }
    return messages;
  }

  function setAttribute(ticket: Ticket, attribute: string, value: string, user: User): string {
    switch (attribute) {
      case "Owner":
        return setOwner(ticket, value, user).message;
      case "Priority": {
        // RT::Ticket::SetPriority: digits, else a %PriorityAsString label, else 0.
        const number = /^\d+$/.test(value) ? Number(value) : (priorityNumber(value) ?? 0);
        return set(ticket, "Priority", String(number), user).message;
      }
      case "Queue":
        return setQueue(ticket, value, user).message;
      case "Status":
        return setStatus(ticket, value, user).message;
      default:
        return set(ticket, "Subject", value.slice(0, 200), user).message;
    }
  }

  /** RT::Ticket::_Set: the column, a transaction, and its BriefDescription (lib/RT/Transaction.pm). */
  function set(
    ticket: Ticket,
    field: "Subject" | "Priority" | "Queue" | "Status",
    value: string,
    user: User,
    type = "Set",
  ): { ok: boolean; message: string } {
    const old = column(ticket, field);
    if (old === value) return { ok: false, message: "That is already the current value" };
    if (field === "Subject") ticket.subject = value;
    if (field === "Priority") ticket.priority = Number(value);
    if (field === "Queue") ticket.queueId = Number(value);
    if (field === "Status") ticket.status = value;
    const txn = record(ticket, { type, field, oldValue: old, newValue: value }, user);
    return { ok: true, message: briefDescription(txn) };
  }

  // RT::Ticket::SetStatus + RT::Record::Role::Status::ValidateStatusChange + _SetStatus.
  function setStatus(ticket: Ticket, value: string, user: User): { ok: boolean; message: string } {
    const wanted = value.toLowerCase();
    if (!VALID.includes(wanted)) {
      return { ok: false, message: `Status '${value}' isn't a valid status for this ticket.` };
    }
    if (!TRANSITIONS[ticket.status]?.includes(wanted)) {
      return { ok: false, message: `You can't change status from '${ticket.status}' to '${value}'.` };
    }
    const at = now();
    if (INITIAL.includes(ticket.status) && !INITIAL.includes(wanted) && ticket.started === 0)
      ticket.started = at;
    if (INACTIVE.includes(wanted)) ticket.resolved = at;
    return set(ticket, "Status", wanted, user, "Status");
  }

  // RT::Ticket::SetQueue via RT::Record::Role::Status::_SetLifecycleColumn.
  function setQueue(ticket: Ticket, value: string, user: User): { ok: boolean; message: string } {
    const queue = loadQueue(value);
    if (!queue) return { ok: false, message: `Queue ${value} does not exist` };
    if (queue.id === ticket.queueId)
      return { ok: false, message: `Queue is already set to ${queueOf(ticket).name}` };
    return set(ticket, "Queue", String(queue.id), user);
  }

  /**
   * RT::Ticket::SetOwner: its own message; the owner role group records a Set transaction on the Owner
   * column and a SetWatcher one (lib/RT/Group.pm _AddMember), so a Scrip fires twice.
   */
  function setOwner(ticket: Ticket, value: string, user: User): { ok: boolean; message: string } {
    const owner = loadUser(value);
    if (!owner) return { ok: false, message: "That user does not exist" };
    if (owner.id === ticket.ownerId) return { ok: false, message: "That user already owns that ticket" };
    const old = userById(ticket.ownerId);
    ticket.ownerId = owner.id;
    record(
      ticket,
      { type: "Set", field: "Owner", oldValue: String(old.id), newValue: String(owner.id) },
      user,
    );
    record(
      ticket,
      { type: "SetWatcher", field: "Owner", oldValue: String(old.id), newValue: String(owner.id) },
      user,
    );
    return { ok: true, message: `Owner changed from ${old.name} to ${owner.name}` };
  }

  /** lib/RT/REST2/Util.pm update_custom_fields, single-value fields (RT::Record::_AddCustomFieldValue). */
  function updateCustomFields(ticket: Ticket, input: Json, user: User, api = true): string[] {
    const messages: string[] = [];
    for (const [key, raw] of Object.entries(input)) {
      // LoadCustomFieldByIdentifier: an id loads any custom field; a name only one applied to the
      // ticket's queue (or globally). Anything else is skipped without a word.
      const cf = /^\d+$/.test(key)
        ? customFields.find((f) => f.id === Number(key))
        : customFields.find(
            (f) => f.name.toLowerCase() === key.toLowerCase() && appliesTo(f, ticket.queueId),
          );
      if (!cf) continue;
      if (isRecord(raw)) throw new PerlDie(`Invalid value type for CustomField ${key}`);
      const value = Array.isArray(raw) ? raw[0] : raw;
      const old = appliesTo(cf, ticket.queueId) ? ticket.values.get(cf.id) : undefined;
      const denied = api && readOnly.has(cf.name.toLowerCase());
      if ((value === null || value === undefined) && old !== undefined) {
        // DeleteCustomFieldValue
        if (denied) {
          messages.push("Permission Denied");
          continue;
        }
        ticket.values.delete(cf.id);
        record(ticket, cfChange(cf, old, null), user);
        messages.push(`${old} is no longer a value for custom field ${cf.name}`);
        continue;
      }
      if (!appliesTo(cf, ticket.queueId)) {
        messages.push(`Custom field ${key} does not apply to this object`);
        continue;
      }
      const text = value === null || value === undefined ? "" : String(value);
      // The same value is found by HasEntry and returns before any permission check: no message.
      if (text === "" ? old === undefined : text === old) continue;
      if (denied) {
        messages.push(`Could not add a new value to custom field '${cf.name}': Permission Denied`);
        continue;
      }
      if (text === "") {
        ticket.values.delete(cf.id);
        record(ticket, cfChange(cf, old ?? null, null), user);
        messages.push(`${cf.name} ${old} deleted`);
        continue;
      }
      ticket.values.set(cf.id, text);
      record(ticket, cfChange(cf, old ?? null, text), user);
      messages.push(old === undefined ? `${cf.name} ${text} added` : `${cf.name} ${old} changed to ${text}`);
    }
    return messages;
  }

  function cfChange(cf: CustomField, old: string | null, value: string | null): Partial<Txn> {
    return {
      type: "CustomField",
      field: String(cf.id),
      referenceType: "RT::ObjectCustomFieldValue",
      oldContent: old,
      newContent: value,
    };
  }

  // RT::Ticket::MergeInto + _MergeInto.
  function mergeInto(ticket: Ticket, intoRef: string, user: User): { ok: boolean; message: string } {
    const into = /^\d+$/.test(intoRef) ? load(Number(intoRef)) : undefined;
    if (!into) return { ok: false, message: "New ticket doesn't exist" };
    if (into.id === ticket.id) return { ok: false, message: "Can't merge a ticket into itself" };
    ticket.effectiveId = into.id;
    ticket.isMerged = true;
    for (const mergee of tickets) {
      if (mergee.effectiveId === ticket.id) mergee.effectiveId = into.id;
    }
    into.timeEstimated += ticket.timeEstimated;
    into.timeWorked += ticket.timeWorked;
    into.timeLeft += ticket.timeLeft;
    for (const role of ["requestors", "cc", "adminCc"] as const) {
      for (const member of ticket[role]) if (!into[role].includes(member)) into[role].push(member);
    }
    // AddLink(Type => 'MergedInto'): a transaction on each end (lib/RT/Ticket.pm _AddLink, RT::Link %DIRMAP).
    record(ticket, { type: "AddLink", field: "MergedInto", newValue: linkUri(into.id) }, user);
    record(into, { type: "AddLink", field: "MergedInto", newValue: linkUri(ticket.id) }, user);
    return { ok: true, message: "Merge Successful" };
  }

  function linkUri(id: number): string {
    return `fsck.com-rt://${organization}/ticket/${id}`;
  }

  /**
   * RT::Record::_NewTransaction: the transaction, then the object reloaded (RT::Ticket::Load follows
   * merges) gets LastUpdated/LastUpdatedBy; RT::Transaction::Create runs the Scrips, one call each.
   */
  function record(ticket: Ticket, fields: Partial<Txn>, user: User, options: { scrips?: boolean } = {}): Txn {
    const at = now();
    const txn: Txn = {
      id: nextTxnId++,
      objectId: ticket.id,
      type: fields.type ?? "Set",
      field: fields.field ?? null,
      oldValue: fields.oldValue ?? null,
      newValue: fields.newValue ?? null,
      referenceType: fields.referenceType ?? null,
      timeTaken: 0,
      created: at,
      creatorId: user.id,
    };
    if (fields.oldContent !== undefined) txn.oldContent = fields.oldContent;
    if (fields.newContent !== undefined) txn.newContent = fields.newContent;
    txns.push(txn);
    const reloaded = load(ticket.id) ?? ticket;
    reloaded.lastUpdated = at;
    reloaded.lastUpdatedById = user.id;
    if (reloaded !== ticket) {
      ticket.lastUpdated = at;
      ticket.lastUpdatedById = user.id;
    }
    if (options.scrips === false) return txn;
    // The bridge's Scrip posts the transaction's ObjectId (lib/systems/rt/schemas.ts ScripEventSchema):
    // its TicketObj would already be the surviving ticket of a merge.
    outbox.push({
      ticket_id: String(txn.objectId),
      transaction_id: String(txn.id),
      type: txn.type,
      creator: user.name,
    });
    return txn;
  }

  /** RT::Transaction's BriefDescription for the transaction types the fake records. */
  function briefDescription(txn: Txn): string {
    const old = txn.oldValue ?? "";
    const value = txn.newValue ?? "";
    const quoted = (v: string) => (v && v !== "0" ? `'${v}'` : "(no value)");
    if (txn.type === "Status") {
      return value === "deleted" ? "Ticket deleted" : `Status changed from '${old}' to '${value}'`;
    }
    if (txn.field === "Queue") {
      return `Queue changed from ${queueById(Number(old))?.name ?? `#${old}`} to ${queueById(Number(value))?.name ?? `#${value}`}`;
    }
    if (txn.field === "Priority" && priorityAsString) {
      return `Priority changed from '${priorityLabel(Number(old))}' to '${priorityLabel(Number(value))}'`;
    }
    return `${txn.field} changed from ${quoted(old)} to ${quoted(value)}`;
  }

  function priorityLabel(value: number): string {
    return PRIORITY_LABELS.find(([, n]) => value >= n)?.[0] ?? "unknown";
  }

  function priorityNumber(label: string): number | undefined {
    return PRIORITY_LABELS.find(([name]) => name.toLowerCase() === label.toLowerCase())?.[1];
  }

  /** A ticket column as RT's Perl accessor returns it (strings; datetimes as SQL). */
  function column(ticket: Ticket, name: string): string | null {
    switch (name) {
      case "id":
        return String(ticket.id);
      case "EffectiveId":
        return String(ticket.effectiveId);
      case "IsMerged":
        return ticket.isMerged ? "1" : null;
      case "Queue":
        return String(ticket.queueId);
      case "Type":
        return "ticket";
      case "Owner":
        return String(ticket.ownerId);
      case "Subject":
        return ticket.subject;
      case "InitialPriority":
        return String(ticket.initialPriority);
      case "FinalPriority":
        return String(ticket.finalPriority);
      case "Priority":
        return String(ticket.priority);
      case "TimeEstimated":
        return String(ticket.timeEstimated);
      case "TimeWorked":
        return String(ticket.timeWorked);
      case "TimeLeft":
        return String(ticket.timeLeft);
      case "Status":
        return ticket.status;
      case "SLA":
        return null;
      case "LastUpdatedBy":
        return String(ticket.lastUpdatedById);
      case "Creator":
        return String(ticket.creatorId);
      default:
        if (DATE_COLUMNS.includes(name)) return sqlDate(dateOf(ticket, name));
        return null;
    }
  }

  function dateOf(ticket: Ticket, name: string): number {
    const dates: Record<string, number> = {
      Told: ticket.told,
      Starts: ticket.starts,
      Started: ticket.started,
      Due: ticket.due,
      Resolved: ticket.resolved,
      LastUpdated: ticket.lastUpdated,
      Created: ticket.created,
    };
    return dates[name] ?? 0;
  }

  // ---------------------------------------------------------------- read shapes

  function uid(type: string, id: string | number): { type: string; id: string; _url: string } {
    return { type, id: String(id), _url: `${url}/${type}/${id}` };
  }

  /** Resource.pm _expand_object: a user's {type, id, _url}, plus the `prefix[field]` subfields asked for. */
  function expandUser(user: User, field: string, prefix: string, params: URLSearchParams): Json {
    const result: Json = uid("user", user.name);
    for (const subfield of subfieldsOf(params, `${prefix}[${field}]`))
      result[subfield] = userField(user, subfield);
    return result;
  }

  function expandQueue(queue: Queue, field: string, prefix: string, params: URLSearchParams): Json {
    const param = `${prefix}[${field}]`;
    const result: Json = uid("queue", queue.id);
    for (const subfield of subfieldsOf(params, param))
      result[subfield] = queueField(queue, subfield, param, params);
    return result;
  }

  /** A user column through expand_field (lib/RT/User.pm _CoreAccessible); unknown ones are "". */
  function userField(user: User, field: string): string {
    const values: Record<string, string> = {
      id: String(user.id),
      Name: user.name,
      EmailAddress: user.email,
      RealName: user.realName,
      Lang: "",
      Timezone: "UTC",
      Disabled: "0",
    };
    return values[field] ?? "";
  }

  function queueField(queue: Queue, field: string, prefix: string, params: URLSearchParams): unknown {
    switch (field) {
      case "Creator":
      case "LastUpdatedBy":
        return expandUser(userById(SYSTEM_ID), field, prefix, params);
      case "Created":
      case "LastUpdated":
        return w3c(epoch);
      default:
        return queueColumns(queue)[field] ?? "";
    }
  }

  function queueColumns(queue: Queue): Record<string, string> {
    return {
      id: String(queue.id),
      Name: queue.name,
      Description: queue.description,
      CorrespondAddress: "",
      CommentAddress: "",
      Lifecycle: "default",
      SortOrder: "0",
      SLADisabled: "1",
      Disabled: "0",
    };
  }

  /** Resource.pm expand_field (and Tickets.pm's for roles): one `fields=` column of a ticket item. */
  function ticketField(ticket: Ticket, field: string, params: URLSearchParams, viewer: User): unknown {
    const role = /^(Requestor|AdminCc|Cc)/.exec(field)?.[1];
    if (role) {
      const members = role === "Requestor" ? ticket.requestors : role === "Cc" ? ticket.cc : ticket.adminCc;
      return members.map((id) => expandUser(userById(id), field, "fields", params));
    }
    switch (field) {
      case "CustomFields":
        return customFieldValues(ticket);
      case "Queue":
        return expandQueue(queueOf(ticket), field, "fields", params);
      case "Owner":
        return expandUser(userById(ticket.ownerId), field, "fields", params);
      case "Creator":
        return expandUser(userById(ticket.creatorId), field, "fields", params);
      case "LastUpdatedBy":
        return expandUser(userById(ticket.lastUpdatedById), field, "fields", params);
      case "_hyperlinks":
        return hyperlinks(ticket, viewer);
      default:
        if (DATE_COLUMNS.includes(field)) return w3c(dateOf(ticket, field));
        // EffectiveId has no EffectiveIdObj: in a collection it is the plain column, unlike GET /ticket.
        return (TICKET_COLUMNS as readonly string[]).includes(field) ? (column(ticket, field) ?? "") : "";
    }
  }

  /** Util.pm serialize_record + Record/Readable.pm serialize + Resource/Ticket.pm hypermedia_links. */
  function ticketRecord(ticket: Ticket, params: URLSearchParams, viewer: User): Json {
    const user = (id: number, field: string) => expandUser(userById(id), field, "fields", params);
    return {
      // Ticket::Load compares the id numerically, so Perl's JSON encodes it as a number.
      id: ticket.id,
      EffectiveId: uid("ticket", ticket.effectiveId),
      Type: "ticket",
      Subject: ticket.subject,
      Status: ticket.status,
      Queue: expandQueue(queueOf(ticket), "Queue", "fields", params),
      Owner: user(ticket.ownerId, "Owner"),
      Creator: user(ticket.creatorId, "Creator"),
      LastUpdatedBy: user(ticket.lastUpdatedById, "LastUpdatedBy"),
      Requestor: ticket.requestors.map((id) => uid("user", userById(id).name)),
      Cc: ticket.cc.map((id) => uid("user", userById(id).name)),
      AdminCc: ticket.adminCc.map((id) => uid("user", userById(id).name)),
      Priority: String(ticket.priority),
      InitialPriority: String(ticket.initialPriority),
      FinalPriority: String(ticket.finalPriority),
      TimeEstimated: String(ticket.timeEstimated),
      TimeWorked: String(ticket.timeWorked),
      TimeLeft: String(ticket.timeLeft),
      Created: w3c(ticket.created),
      LastUpdated: w3c(ticket.lastUpdated),
      Starts: w3c(ticket.starts),
      Started: w3c(ticket.started),
      Due: w3c(ticket.due),
      Resolved: w3c(ticket.resolved),
      // RT 5.0.3 leaves Told out of a ticket's record (checked against Debian 12's request-tracker5).
      CustomFields: customFieldValues(ticket),
      _hyperlinks: hyperlinks(ticket, viewer),
    };
  }

  /** Util.pm: every custom field applied to the ticket's queue, with its values ([] when none). */
  function customFieldValues(ticket: Ticket): Json[] {
    return customFields
      .filter((cf) => appliesTo(cf, ticket.queueId))
      .map((cf) => {
        const value = ticket.values.get(cf.id);
        return { ...uid("customfield", cf.id), name: cf.name, values: value === undefined ? [] : [value] };
      });
  }

  function hyperlinks(ticket: Ticket, viewer: User): Json[] {
    const self = `${url}/ticket/${ticket.id}`;
    const links: Json[] = [{ ref: "self", type: "ticket", id: ticket.id, _url: self }];
    for (const cf of customFields.filter((f) => appliesTo(f, ticket.queueId))) {
      links.push({ ...uid("customfield", cf.id), ref: "customfield", name: cf.name });
    }
    links.push({ ref: "history", _url: `${self}/history` });
    // Only for a user who may reply, comment and change the status.
    if (!viewer.modifyTicket) return links;
    links.push({ ref: "correspond", _url: `${self}/correspond` });
    links.push({ ref: "comment", _url: `${self}/comment` });
    // Ticket.pm lifecycle_hypermedia_links: the default lifecycle's actions from the current status.
    // The default lifecycle's rights: `* -> deleted` needs DeleteTicket (RT_Config.pm.in %Lifecycles).
    const allowed = ACTIONS.filter(
      (a) => a.from === ticket.status && (a.to !== "deleted" || viewer.deleteTicket),
    );
    for (const action of allowed) {
      const suffix =
        action.update === "Respond" ? "/correspond" : action.update === "Comment" ? "/comment" : "";
      links.push({ ...action, ref: "lifecycle", _url: `${self}${suffix}` });
    }
    return links;
  }

  // ---------------------------------------------------------------- queues

  function showQueue(ctx: Context, queue: Queue | undefined): Reply {
    if (ctx.method !== "GET" && ctx.method !== "HEAD") {
      // Writable/DeletableByDisabling need AdminQueue, which a bridge user does not have (Record.pm forbidden).
      return errorReply(403);
    }
    if (!queue) return errorReply(404);
    if (!canSeeQueue(ctx.user, queue)) return errorReply(403);
    const self = `${url}/queue/${queue.id}`;
    const system = (field: string) => expandUser(userById(SYSTEM_ID), field, "fields", ctx.params);
    const columns = queueColumns(queue);
    return jsonReply(
      200,
      {
        id: queue.id,
        Name: queue.name,
        Description: queue.description,
        CorrespondAddress: columns.CorrespondAddress,
        CommentAddress: columns.CommentAddress,
        Lifecycle: columns.Lifecycle,
        SortOrder: columns.SortOrder,
        SLADisabled: columns.SLADisabled,
        Disabled: columns.Disabled,
        Creator: system("Creator"),
        Created: w3c(epoch),
        LastUpdatedBy: system("LastUpdatedBy"),
        LastUpdated: w3c(epoch),
        Cc: [],
        AdminCc: [],
        CustomFields: [],
        // Resource/Queue.pm serialize: the ticket custom fields applied to the queue.
        TicketCustomFields: customFields
          .filter((cf) => appliesTo(cf, queue.id))
          .map((cf) => ({ ...uid("customfield", cf.id), ref: "customfield", name: cf.name })),
        TicketTransactionCustomFields: [],
        _hyperlinks: [
          { ref: "self", type: "queue", id: queue.id, _url: self },
          { ref: "history", _url: `${self}/history` },
          { ref: "create", type: "ticket", _url: `${url}/ticket?Queue=${queue.id}` },
        ],
      },
      true,
    );
  }

  function allQueues(ctx: Context): Reply {
    const sorted = queues.filter((queue) => canSeeQueue(ctx.user, queue)).sort((a, b) => a.id - b.id);
    return collection(
      ctx,
      sorted,
      true,
      () => true,
      (queue) => {
        const item: Json = uid("queue", queue.id);
        for (const field of fieldsOf(ctx)) item[field] = queueField(queue, field, "fields", ctx.params);
        return item;
      },
    );
  }

  // ---------------------------------------------------------------- searches

  function searchTickets(ctx: Context): Reply {
    const query = lastParam(ctx.params, "query") ?? "";
    const compiled = compileTicketSql(query, ctx.user);
    if (typeof compiled === "string") return jsonReply(400, { message: compiled });
    // Only what the user may see is found and counted.
    const found =
      compiled === undefined ? [] : tickets.filter((ticket) => compiled(ticket) && canSee(ctx.user, ticket));
    const sorted = sortItems(found, ctx, ticketSortKey);
    return collection(
      ctx,
      sorted,
      true,
      () => true,
      (ticket) => {
        const item: Json = uid("ticket", ticket.id);
        for (const field of fieldsOf(ctx)) item[field] = ticketField(ticket, field, ctx.params, ctx.user);
        return item;
      },
    );
  }

  function searchTransactions(ctx: Context): Reply {
    const query = lastParam(ctx.params, "query") ?? "";
    // QueryBySQL.pm: a query that looks like a JSON array is left to QueryByJSON.
    if (/^\s*\[/.test(query)) throw new Error("JSON queries on /transactions are not modelled");
    const compiled = compileTxnSql(query, ctx.user);
    if (typeof compiled === "string") return jsonReply(400, { message: compiled });
    const found =
      compiled === undefined
        ? []
        : txns.filter((txn) => {
            const ticket = tickets.find((t) => t.id === txn.objectId);
            return compiled(txn) && (!ticket || canSee(ctx.user, ticket));
          });
    const sorted = sortItems(found, ctx, txnSortKey);
    // RT 5.0.3 (Debian 12): only a SuperUser gets `total`, `pages` and next/prev_page on transactions;
    // anyone else gets null totals and no next_page at all, even on a full page. Tickets of queues the
    // user may not see are left out before the page is cut (SQL), transactions that need a right of
    // their own (EmailRecord: ShowOutgoingEmail) after it: a page can come back short, or empty,
    // although more follow.
    const readable = (txn: Txn) => txn.type !== "EmailRecord" || ctx.user.superUser;
    return collection(ctx, sorted, ctx.user.superUser, readable, (txn) => {
      const item: Json = uid("transaction", txn.id);
      for (const field of fieldsOf(ctx)) item[field] = txnField(txn, field, ctx.params);
      return item;
    });
  }

  function txnField(txn: Txn, field: string, params: URLSearchParams): unknown {
    switch (field) {
      case "id":
        return String(txn.id);
      case "ObjectType":
        return "RT::Ticket";
      case "ObjectId":
        return String(txn.objectId);
      case "Type":
        return txn.type;
      case "Field":
        return txn.field ?? "";
      // The OldValue/NewValue accessors read a CustomField transaction's referenced values.
      case "OldValue":
        return (txn.oldContent !== undefined ? txn.oldContent : txn.oldValue) ?? "";
      case "NewValue":
        return (txn.newContent !== undefined ? txn.newContent : txn.newValue) ?? "";
      case "ReferenceType":
        return txn.referenceType ?? "";
      case "TimeTaken":
        return String(txn.timeTaken);
      case "Created":
        return w3c(txn.created);
      case "Creator":
        return expandUser(userById(txn.creatorId), field, "fields", params);
      default:
        return "";
    }
  }

  function fieldsOf(ctx: Context): string[] {
    const fields = lastParam(ctx.params, "fields");
    return fields === undefined ? [] : fields.split(",").filter(Boolean);
  }

  /** Collection.pm setup_ordering: orderby/order pairs; an order other than DESC is ASC. Then id. */
  function sortItems<T extends { id: number }>(
    items: T[],
    ctx: Context,
    key: (item: T, field: string) => string | number | undefined,
  ): T[] {
    const orders = ctx.params.getAll("order");
    const criteria = ctx.params
      .getAll("orderby")
      .map((field, index) => ({ field, sign: (orders[index] ?? "ASC").toUpperCase() === "DESC" ? -1 : 1 }));
    return [...items].sort((a, b) => {
      for (const { field, sign } of criteria) {
        const [x, y] = [key(a, field), key(b, field)];
        if (x === undefined || y === undefined) continue;
        if (x < y) return -sign;
        if (x > y) return sign;
      }
      return a.id - b.id;
    });
  }

  function ticketSortKey(ticket: Ticket, field: string): string | number | undefined {
    switch (field) {
      case "id":
      case "EffectiveId":
      case "Priority":
      case "InitialPriority":
      case "FinalPriority":
      case "TimeWorked":
      case "TimeLeft":
      case "TimeEstimated":
        return Number(column(ticket, field));
      case "Subject":
      case "Status":
      case "Type":
        return (column(ticket, field) ?? "").toLowerCase();
      // RT::Tickets OrderByCols sorts Queue and the user columns by name.
      case "Queue":
        return queueOf(ticket).name.toLowerCase();
      case "Owner":
        return userById(ticket.ownerId).name.toLowerCase();
      case "Creator":
        return userById(ticket.creatorId).name.toLowerCase();
      case "LastUpdatedBy":
        return userById(ticket.lastUpdatedById).name.toLowerCase();
      default:
        return DATE_COLUMNS.includes(field) ? dateOf(ticket, field) : undefined;
    }
  }

  function txnSortKey(txn: Txn, field: string): string | number | undefined {
    const keys: Record<string, string | number> = {
      id: txn.id,
      Created: txn.created,
      ObjectId: txn.objectId,
      Type: txn.type.toLowerCase(),
      Field: (txn.field ?? "").toLowerCase(),
      Creator: txn.creatorId,
      TimeTaken: txn.timeTaken,
    };
    return keys[field];
  }

  /** Collection.pm setup_paging + serialize. */
  function collection<T>(
    ctx: Context,
    all: T[],
    canSeeAll: boolean,
    readable: (item: T) => boolean,
    view: (item: T) => Json,
  ): Reply {
    const perParam = lastParam(ctx.params, "per_page") || "20";
    let perPage = /^\d+$/.test(perParam) ? Number(perParam) : 20;
    if (perPage === 0) perPage = 20;
    if (perPage > 100) perPage = 100;
    const pageParam = lastParam(ctx.params, "page") || "1";
    let page = /^\d+$/.test(pageParam) ? Number(pageParam) : 1;
    if (page === 0) page = 1;
    const pages = Math.ceil(all.length / perPage);
    if (page > 1 && canSeeAll && pages > 0 && page > pages) page = pages;
    const slice = (p: number) => all.slice((p - 1) * perPage, p * perPage);
    const items = slice(page).filter(readable).map(view);
    const result: Json = {
      count: items.length,
      page,
      pages: canSeeAll ? pages : null,
      per_page: perPage,
      total: canSeeAll ? all.length : null,
    };
    // The request's own URI with `page` replaced (URI::query_form), so a POSTed query is not in it.
    const pairs = [...ctx.query];
    const pageAt = pairs.findIndex(([key]) => key === "page");
    if (pageAt >= 0) pairs.splice(pageAt, 1);
    const pageUrl = (p: number) =>
      `http://${ctx.host}${ctx.call.fullPath}?${perlQueryForm([...pairs, ["page", String(p)]])}`;
    if (canSeeAll) {
      if (pages > 0 && page < pages) result.next_page = pageUrl(page + 1);
      if (pages > 0 && page > 1) result.prev_page = pageUrl(page - 1);
    }
    result.items = items;
    return jsonReply(200, result, true);
  }

  // ---------------------------------------------------------------- TicketSQL

  /**
   * RT::Tickets::FromSQL: undefined for an empty query (no limits: DBIx::SearchBuilder returns nothing),
   * an error message, or the predicate. Merged-away tickets are left out unless the query names
   * EffectiveId, and deleted tickets always (no REST2 resource sets `allow_deleted_search`).
   */
  function compileTicketSql(query: string, user: User): Predicate<Ticket> | string | undefined {
    if (!query) return undefined;
    const parsed = parseSql(query, TICKET_FIELDS);
    if (parsed.errors.length > 0) return `${parsed.errors.join("; ")} at ${RT_LIB}/Tickets.pm line 3379.\n`;
    expandActiveStatus(parsed.root, "Status");
    const looking = { effectiveId: false };
    let predicate: Predicate<Ticket>;
    try {
      predicate = compileGroup(parsed.root, (cond) => ticketCondition(cond, query, user, looking));
    } catch (error) {
      if (error instanceof SqlError) return error.message;
      throw error;
    }
    return (ticket) =>
      (looking.effectiveId || !ticket.isMerged) && ticket.status !== "deleted" && predicate(ticket);
  }

  function compileTxnSql(query: string, user: User): Predicate<Txn> | string | undefined {
    if (!query) return undefined;
    const parsed = parseSql(query, TXN_FIELDS);
    if (parsed.errors.length > 0)
      return `${parsed.errors.join("; ")} at ${RT_LIB}/Transactions.pm line 955.\n`;
    try {
      return compileGroup(parsed.root, (cond) => txnCondition(cond, user));
    } catch (error) {
      if (error instanceof SqlError) return error.message;
      throw error;
    }
  }

  function ticketCondition(
    cond: SqlCondition,
    query: string,
    user: User,
    looking: { effectiveId: boolean },
  ): Predicate<Ticket> {
    const { key, op } = cond;
    let { value } = cond;
    if (value === "__CurrentUser__") value = String(user.id);
    if (value === "__CurrentUserName__") value = user.name;
    const meta = TICKET_FIELDS[key] ?? [];
    // Tickets.pm _parser: an unquoted word is a column to compare with (`LastUpdated > Created`).
    if (cond.quoted === false && !/^(?:[+-]?[0-9]+|NULL)$/i.test(value)) {
      const name = /^main\.(\w+)$/i.exec(value)?.[1] ?? value;
      if (/^CF\./i.test(value) || /\./.test(name))
        throw new Error(`TicketSQL column values like ${value} are not modelled`);
      if (!(TICKET_COLUMNS as readonly string[]).includes(name)) {
        throw new SqlError(
          `Wrong query, no such column '${value}' in '${query}' at ${RT_LIB}/Tickets.pm line 3618.\n`,
        );
      }
      if (key === "EffectiveId") looking.effectiveId = true;
      const field = (TICKET_COLUMNS as readonly string[]).includes(key) ? key : undefined;
      if (!field) throw new Error(`TicketSQL ${key} compared with a column is not modelled`);
      return (t) => compare(column(t, field), op, column(t, name), meta[0] === "INT" || meta[0] === "ID");
    }
    const die = (message: string, line: number) =>
      new SqlError(`${message} at ${RT_LIB}/Tickets.pm line ${line}.\n`);
    switch (meta[0]) {
      case "ID":
        if (value === "__Bookmarked__") throw new Error("__Bookmarked__ is not modelled");
        return (t) => compare(t.id, op, value, true);
      case "INT": {
        if (key === "EffectiveId") looking.effectiveId = true;
        // Tickets.pm _parser maps %PriorityAsString labels to numbers.
        const number = /Priority$/.test(key) && priorityAsString ? (priorityNumber(value) ?? value) : value;
        return (t) => compare(column(t, key), op, String(number), true);
      }
      case "STRING":
        return (t) => compare(column(t, key), op, key === "Status" ? value.toLowerCase() : value, false);
      case "QUEUE": {
        if (/^(NOT )?LIKE$/i.test(op)) return (t) => compare(queueOf(t).name, op, value, false);
        const id = loadQueue(value)?.id ?? 0;
        return (t) => compare(t.queueId, op, String(id), true);
      }
      case "ENUM": {
        if (!/^(?:=|!=|<>)$/i.test(op)) throw die(`Invalid Operation: ${op} for ${key}`, 381);
        if (key === "Type") return () => compare("ticket", op, value.toLowerCase(), false);
        const id = /^\d+$/.test(value) ? value : String(loadUser(value)?.id ?? 0);
        return (t) => compare(column(t, key), op, id, true);
      }
      case "DATE":
        return dateCondition(
          (t: Ticket) => dateOf(t, key),
          op,
          value,
          cond.quoted,
          (m) => die(m, 577),
        );
      case "WATCHERFIELD": {
        const subfield = cond.subkey;
        if (subfield && !USER_SUBFIELDS.includes(subfield))
          throw die(`Invalid watcher subfield: '${subfield}'`, 1169);
        if (meta[2] === "Queue" || !meta[1]) throw new Error(`TicketSQL ${key} is not modelled`);
        const members = (t: Ticket): User[] =>
          meta[1] === "Owner"
            ? [userById(t.ownerId)]
            : (meta[1] === "Requestor" ? t.requestors : meta[1] === "Cc" ? t.cc : t.adminCc).map(userById);
        if (meta[1] === "Owner" && !subfield) {
          // The Owner column: a user id, or a name loaded into one.
          if (/^(NOT )?LIKE$/i.test(op)) return (t) => compare(userById(t.ownerId).name, op, value, false);
          const id = /^\d+$/.test(value) ? value : String(loadUser(value)?.id ?? 0);
          return (t) => compare(t.ownerId, op, id, true);
        }
        return watcherCondition(members, subfield || "EmailAddress", op, value);
      }
      case "CUSTOMFIELD": {
        if (meta[1] !== "Ticket") throw new Error(`TicketSQL ${key} is not modelled`);
        if (!cond.subkey) throw die("No field specified", 1371);
        const ref = cond.subkey.replace(/^\{(.*)\}$/, "$1");
        const fields = customFields.filter((f) =>
          /^\d+$/.test(ref) ? f.id === Number(ref) : f.name.toLowerCase() === ref.toLowerCase(),
        );
        return customFieldCondition(
          (t) => fields.flatMap((f) => (t.values.has(f.id) ? [t.values.get(f.id) ?? ""] : [])),
          op,
          value,
        );
      }
      default:
        throw new Error(`TicketSQL field ${key} is not modelled`);
    }
  }

  function txnCondition(cond: SqlCondition, user: User): Predicate<Txn> {
    const { key, op } = cond;
    let { value } = cond;
    if (value === "__CurrentUser__") value = String(user.id);
    if (value === "__CurrentUserName__") value = user.name;
    const meta = TXN_FIELDS[key] ?? [];
    const die = (message: string, line: number) =>
      new SqlError(`${message} at ${RT_LIB}/Transactions.pm line ${line}.\n`);
    const columns = (t: Txn): Record<string, string | null> => ({
      ObjectType: "RT::Ticket",
      Type: t.type,
      Field: t.field,
      OldValue: t.oldValue,
      NewValue: t.newValue,
      ReferenceType: t.referenceType,
      OldReference: null,
      NewReference: null,
      Data: null,
    });
    switch (meta[0]) {
      case "INT":
      case "ID":
        return (t) =>
          compare(
            key === "ObjectId" ? t.objectId : key === "TimeTaken" ? t.timeTaken : t.id,
            op,
            value,
            true,
          );
      case "STRING":
        return (t) => compare(columns(t)[key] ?? null, op, value, false);
      case "ENUM": {
        if (!/^(?:=|!=|<>)$/i.test(op)) throw die(`Invalid Operation: ${op} for ${key}`, 309);
        const id = /^\d+$/.test(value) ? value : String(loadUser(value)?.id ?? 0);
        return (t) => compare(t.creatorId, op, id, true);
      }
      case "DATE":
        return dateCondition(
          (t: Txn) => t.created,
          op,
          value,
          true,
          (m) => die(m, 388),
        );
      default:
        throw new Error(`TransactionSQL field ${key} is not modelled`);
    }
  }

  // ---------------------------------------------------------------- people in the UI

  function personOf(name: string | undefined): User {
    const user = loadUser(name ?? personName);
    if (!user) throw new Error(`the RT fake has no user ${name ?? personName}`);
    return user;
  }

  function mustLoad(id: number): Ticket {
    const ticket = load(id);
    if (!ticket) throw new Error(`the RT fake has no ticket ${id}`);
    return ticket;
  }

  function mustSucceed(result: { ok: boolean; message: string }): void {
    if (!result.ok) throw new Error(`RT refused: ${result.message}`);
  }

  function view(ticket: Ticket): RtTicket {
    const values: Record<string, string> = {};
    for (const [id, value] of ticket.values) {
      const cf = customFields.find((f) => f.id === id);
      if (cf) values[cf.name] = value;
    }
    return {
      id: ticket.id,
      effectiveId: ticket.effectiveId,
      queue: queueOf(ticket).name,
      subject: ticket.subject,
      status: ticket.status,
      owner: userById(ticket.ownerId).name,
      priority: ticket.priority,
      requestors: ticket.requestors.map((id) => userById(id).name),
      customFields: values,
      created: new Date(ticket.created),
      lastUpdated: new Date(ticket.lastUpdated),
      lastUpdatedBy: userById(ticket.lastUpdatedById).name,
      creator: userById(ticket.creatorId).name,
    };
  }

  // ---------------------------------------------------------------- lookups

  /** RT::User::Load: digits are an id, anything else a Name (case-insensitive, like RT's LoadByCols). */
  function loadUser(ref: string): User | undefined {
    if (/^\d+$/.test(ref)) return users.find((u) => u.id === Number(ref));
    return users.find((u) => u.name.toLowerCase() === ref.toLowerCase());
  }

  function userById(id: number): User {
    return (
      users.find((u) => u.id === id) ?? {
        id,
        name: String(id),
        realName: "",
        email: "",
        auto: false,
        modifyTicket: false,
        deleteTicket: false,
        superUser: false,
      }
    );
  }

  /** RT::Queue::Load: digits are an id, anything else a Name. */
  function loadQueue(ref: string): Queue | undefined {
    if (/^\d+$/.test(ref)) return queues.find((q) => q.id === Number(ref));
    return queues.find((q) => q.name.toLowerCase() === ref.toLowerCase());
  }

  function queueById(id: number): Queue | undefined {
    return queues.find((q) => q.id === id);
  }

  function queueOf(ticket: Ticket): Queue {
    return queueById(ticket.queueId) ?? { id: ticket.queueId, name: `#${ticket.queueId}`, description: "" };
  }

  function appliesTo(cf: CustomField, queueId: number): boolean {
    if (cf.queues.length === 0) return true;
    const name = queueById(queueId)?.name.toLowerCase();
    return cf.queues.some((q) => q.toLowerCase() === name);
  }

  /** Util.pm deserialize_record: a `{type, id, _url}` becomes its id, role members likewise. */
  function deserialize(data: Json): Json {
    const skip =
      /CustomFields|CustomRoles|Attachments|MemberOf|Parents|Parent|Members|Member|Children|Child|HasMember|RefersTo|ReferredToBy|DependsOn|DependedOnBy|MergedInto/;
    for (const [field, value] of Object.entries(data)) {
      if (skip.test(field) || typeof value !== "object" || value === null) continue;
      if (looksLikeUid(value)) data[field] = value.id || 0;
      else if (["Requestor", "Cc", "AdminCc", "Owner"].includes(field)) {
        data[field] = (Array.isArray(value) ? value : [value]).map((m: unknown) =>
          looksLikeUid(m) ? m.id || 0 : m,
        );
      } else delete data[field];
    }
    return data;
  }

  function faultReply(fault: Extract<RtFault, { kind: "status" }>): Reply {
    const headers = fault.headers ?? {};
    if (typeof fault.body === "string")
      return { status: fault.status, payload: fault.body, contentType: "text/html; charset=utf-8", headers };
    if (fault.body === undefined) return { status: fault.status, headers };
    return { ...jsonReply(fault.status, fault.body), headers };
  }

  return {
    url,
    port,
    calls,
    count: (method, path) =>
      calls.filter(
        (c) => c.method === method && (typeof path === "string" ? c.path === path : path.test(c.path)),
      ).length,
    tickets: () => tickets.map(view),
    ticket: (id) => {
      const ticket = tickets.find((t) => t.id === id);
      return ticket ? view(ticket) : undefined;
    },
    transactions: () =>
      txns.map((txn) => ({
        id: txn.id,
        ticketId: txn.objectId,
        type: txn.type,
        field: txn.field ?? "",
        oldValue: String(txnField(txn, "OldValue", new URLSearchParams())),
        newValue: String(txnField(txn, "NewValue", new URLSearchParams())),
        created: new Date(txn.created),
        creator: userById(txn.creatorId).name,
      })),
    personCreates: (input) => {
      const user = personOf(input.by);
      const queue = loadQueue(input.queue);
      if (!queue) throw new Error(`the RT fake has no queue ${input.queue}`);
      if (input.owner !== undefined && !loadUser(input.owner))
        throw new Error(`the RT fake has no user ${input.owner}`);
      // The web UI fills Requestors with the creator's address unless told otherwise.
      const result = create(
        {
          queue,
          subject: input.subject,
          status: input.status,
          owner: input.owner,
          priority: input.priority,
          initialPriority: undefined,
          finalPriority: undefined,
          requestors: input.requestor ?? user.name,
          cc: undefined,
          adminCc: undefined,
          customFields: input.customFields ?? {},
        },
        user,
        false,
      );
      if (!result.ok) throw new Error(`RT refused: ${result.message}`);
      return view(result.ticket);
    },
    personUpdates: (id, change, by) => {
      const user = personOf(by);
      const ticket = mustLoad(id);
      // What differs, in RT::Record::Update's order; the UI's refusals are thrown.
      if (change.owner !== undefined && loadUser(change.owner)?.id !== ticket.ownerId) {
        mustSucceed(setOwner(ticket, change.owner, user));
      }
      if (change.priority !== undefined && change.priority !== ticket.priority) {
        mustSucceed(set(ticket, "Priority", String(change.priority), user));
      }
      if (change.queue !== undefined && loadQueue(change.queue)?.id !== ticket.queueId) {
        mustSucceed(setQueue(ticket, change.queue, user));
      }
      if (change.status !== undefined && change.status.toLowerCase() !== ticket.status) {
        mustSucceed(setStatus(ticket, change.status, user));
      }
      if (change.subject !== undefined && change.subject !== ticket.subject) {
        mustSucceed(set(ticket, "Subject", change.subject, user));
      }
      if (change.customFields) {
        for (const name of Object.keys(change.customFields)) {
          const cf = customFields.find((f) => f.name.toLowerCase() === name.toLowerCase());
          if (!cf || !appliesTo(cf, ticket.queueId)) {
            throw new Error(`custom field ${name} does not apply to ticket ${ticket.id}`);
          }
        }
        updateCustomFields(ticket, change.customFields, user, false);
      }
    },
    personMerges: (id, intoId, by) => {
      mustSucceed(mergeInto(mustLoad(id), String(intoId), personOf(by)));
    },
    personDeletes: (id, by) => {
      mustSucceed(setStatus(mustLoad(id), "deleted", personOf(by)));
    },
    takeScripCalls: () => {
      const taken = outbox;
      outbox = [];
      return taken;
    },
    failNext: (times, fault, match = {}, options = {}) => plans.add(times, fault, match, options),
    setChaos: (chaos) => plans.setChaos(chaos),
    faultsInjected: () => plans.injected(),
    setDown: (value) => {
      down = value;
    },
    advanceClock: (seconds) => {
      offset = now() + seconds * 1000 - Date.now();
    },
    reset: () => {
      // Ticket, transaction and user ids keep counting and the clock keeps its time: RT reuses neither.
      tickets.length = 0;
      txns.length = 0;
      calls.length = 0;
      outbox = [];
      plans.clear();
      down = false;
      users.splice(0, users.length, ...users.filter((u) => !u.auto));
    },
    close: () => server.close(),
    get maxInFlight() {
      return server.maxInFlight;
    },
    resetInFlight: () => server.resetInFlight(),
  };
}

// -------------------------------------------------------------------- TicketSQL parser (lib/RT/SQL.pm)

interface SqlCondition {
  key: string; // the canonical field name (or what was typed, when unknown)
  subkey: string | undefined;
  op: string;
  value: string;
  quoted: boolean | undefined; // RT::SQL's $quote_value: true quoted, false a bare word (a column), undefined a number
}
interface SqlGroup {
  agg: string; // the last AND/OR typed at this level: RT applies it to every sibling (no precedence)
  children: (SqlGroup | SqlCondition)[];
}

/** A query RT refuses: answered 400 `{"message": …}`, with Perl's " at FILE line N." like RT's. */
class SqlError extends Error {}

/** RT code that dies (e.g. Util.pm update_custom_fields on an object value): a 500 like RT's. */
class PerlDie extends Error {}

const T_VALUE = 1;
const T_AGGREG = 2;
const T_OP = 4;
const T_OPEN = 8;
const T_CLOSE = 16;
const T_KEYWORD = 32;
const TOKEN_NAMES = ["VALUE", "AGGREGATOR", "OPERATOR", "OPEN_PAREN", "CLOSE_PAREN", "KEYWORD"];
const W = String.raw`\p{L}\p{M}\p{N}\p{Pc}`; // Perl's \w on character strings
const RE_AGGREG = "(?:AND|OR)";
const RE_DELIM = String.raw`(?:'[^\\']*(?:\\.[^\\']*)*'|"[^\\"]*(?:\\.[^\\"]*)*")`;
const RE_CF = String.raw`CF\.\{.+?\}(?:\.(?:Content|LargeContent))?`;
const RE_VALUE = String.raw`${RE_CF}|[${W}.]+|[+-]?\d+|NULL|${RE_DELIM}`;
const RE_KEYWORD = `${RE_CF}|[{}${W}.]+|${RE_DELIM}`;
const RE_OP =
  "(?:SHALLOW )?(?:=|!=|>=|<=|>|<|IS NOT|IS|NOT LIKE|LIKE|NOT STARTSWITH|STARTSWITH|NOT ENDSWITH|ENDSWITH)";
const anchored = (source: string) => new RegExp(`^(?:${source})$`, "iu");
const IS_AGGREG = anchored(RE_AGGREG);
const IS_OP = anchored(RE_OP);
const IS_KEYWORD = anchored(RE_KEYWORD);
const IS_VALUE = anchored(RE_VALUE);
const HAS_DELIM = new RegExp(RE_DELIM, "u");

/** _BitmaskToString: "OPEN_PAREN or KEYWORD", "A, B or C". */
function bitmask(mask: number): string {
  const names = TOKEN_NAMES.filter((_, i) => mask & (1 << i));
  const head = names.slice(0, -1).join(", ");
  return [...(head ? [head] : []), ...names.slice(-1)].join(" or ");
}

/**
 * RT::SQL::Parse with RT::Interface::Web::QueryBuilder::Tree's callbacks: the tokens are found by one
 * global match that skips what matches nothing, a state machine decides what each may be, and an
 * unknown field is reported without stopping the parse.
 */
function parseSql(
  query: string,
  fields: Record<string, readonly string[]>,
): { root: SqlGroup; errors: string[] } {
  const byLower = new Map(Object.keys(fields).map((name) => [name.toLowerCase(), name]));
  const errors: string[] = [];
  const root: SqlGroup = { agg: "AND", children: [] };
  const stack: SqlGroup[] = [];
  let node = root;
  let want = T_KEYWORD | T_OPEN;
  let last = 0;
  let depth = 0;
  let key = "";
  let op = "";
  const token = new RegExp(`(${RE_AGGREG}|${RE_OP}|${RE_KEYWORD}|${RE_VALUE}|\\(|\\))`, "giu");
  for (let found = token.exec(query); found; found = token.exec(query)) {
    const match = found[1] ?? "";
    let current = 0;
    if (want & T_OP && IS_OP.test(match)) current = T_OP;
    if (want & T_VALUE && IS_VALUE.test(match)) current = T_VALUE;
    if (want & T_KEYWORD && IS_KEYWORD.test(match)) current = T_KEYWORD;
    if (want & T_AGGREG && IS_AGGREG.test(match)) current = T_AGGREG;
    if (want & T_OPEN && match === "(") current = T_OPEN;
    if (want & T_CLOSE && match === ")") current = T_CLOSE;
    if (!(current && want & current)) {
      const end = token.lastIndex;
      const here = `${query.slice(0, end - match.length)}>${match}<--here${query.slice(end)}`;
      errors.push(`Wrong query, expecting a ${bitmask(want)} in '${here}'`);
      return { root, errors };
    }
    if (current & T_OPEN) {
      const group: SqlGroup = { agg: "AND", children: [] };
      node.children.push(group);
      stack.push(node);
      node = group;
      depth += 1;
      want = T_KEYWORD | T_OPEN;
    } else if (current & T_CLOSE) {
      node = stack.pop() ?? root;
      depth -= 1;
      want = T_AGGREG | (depth ? T_CLOSE : 0);
    } else if (current & T_AGGREG) {
      node.agg = match.toUpperCase();
      want = T_KEYWORD | T_OPEN;
    } else if (current & T_KEYWORD) {
      key = match;
      want = T_OP;
    } else if (current & T_OP) {
      op = match;
      want = T_VALUE;
    } else {
      const unquote = (text: string) =>
        (HAS_DELIM.test(text) ? text.slice(1, -1) : text).replace(/\\(.)/g, "$1");
      key = unquote(key);
      let value = unquote(match);
      let quoted: boolean | undefined;
      if (HAS_DELIM.test(match))
        quoted = !/^CF\.(?:\{(.*)\}|(.*?))(?:\.(Content|LargeContent))?$/i.test(value);
      else if (/^[a-z]/i.test(match)) quoted = false;
      const dot = key.indexOf(".");
      const main = dot < 0 ? key : key.slice(0, dot);
      const subkey = dot < 0 ? undefined : key.slice(dot + 1);
      const canonical = byLower.get(main.toLowerCase());
      if (!canonical) errors.push(`Unknown field: ${key}`);
      if (/^SHALLOW\s+/i.test(op) && !/(?:Requestor|Owner|AdminCc|Cc|CustomRole)/.test(canonical ?? "")) {
        errors.push(`Unsupported operator: ${op}`);
      }
      if (/^IS( NOT)?$/i.test(op)) value = "NULL";
      node.children.push({
        key: canonical ?? main,
        subkey,
        op: op.replace(/^SHALLOW\s+/i, ""),
        value,
        quoted,
      });
      key = "";
      op = "";
      want = T_AGGREG | (depth ? T_CLOSE : 0);
    }
    last = current;
  }
  if (last && !(last & (T_CLOSE | T_VALUE))) {
    errors.push(
      `Incomplete query, last element (${bitmask(last)}) is not close paren or value in '${query}'`,
    );
  } else if (depth) {
    errors.push(`Incomplete query, ${depth} unclosed paren${depth === 1 ? "" : "s"} in '${query}'`);
  }
  return { root, errors };
}

/** Tickets.pm _parser: `Status = '__Active__'` becomes (new OR open OR stalled), `!=` the inactive set. */
function expandActiveStatus(group: SqlGroup, key: string): void {
  group.children = group.children.map((child) => {
    if ("children" in child) {
      expandActiveStatus(child, key);
      return child;
    }
    if (child.key !== key || !/^__(?:in)?active__$/i.test(child.value)) return child;
    const inactive =
      (child.value.toLowerCase() === "__inactive__" && child.op === "=") ||
      (child.value.toLowerCase() === "__active__" && child.op === "!=");
    const statuses = inactive ? INACTIVE : [...INITIAL, ...ACTIVE];
    return {
      agg: "OR",
      children: statuses.map((status) => ({ key, subkey: undefined, op: "=", value: status, quoted: true })),
    };
  });
}

function compileGroup<T>(group: SqlGroup, leaf: (cond: SqlCondition) => Predicate<T>): Predicate<T> {
  const parts = group.children.map((child) =>
    "children" in child ? compileGroup(child, leaf) : leaf(child),
  );
  if (group.agg === "OR") return (item) => parts.some((part) => part(item));
  return (item) => parts.every((part) => part(item));
}

/** An SQL comparison of a column with a value: NULL matches nothing but IS NULL; strings ignore case. */
function compare(cell: string | number | null, op: string, value: string | null, numeric: boolean): boolean {
  const operator = op.toUpperCase().replace(/\s+/g, " ");
  if (operator === "IS") return cell === null;
  if (operator === "IS NOT") return cell !== null;
  if (cell === null || value === null) return false;
  const like = /^(NOT )?(LIKE|STARTSWITH|ENDSWITH)$/.exec(operator);
  if (like) {
    // DBIx::SearchBuilder wraps a LIKE value in %…%; STARTSWITH and ENDSWITH put one % on a side.
    const pattern = like[2] === "LIKE" ? `%${value}%` : like[2] === "STARTSWITH" ? `${value}%` : `%${value}`;
    return sqlLike(String(cell), pattern) !== Boolean(like[1]);
  }
  let a: string | number = cell;
  let b: string | number = value;
  if (numeric) {
    a = Number(cell);
    b = Number(value);
    if (Number.isNaN(b)) return false;
  } else {
    a = String(cell).toLowerCase();
    b = value.toLowerCase();
  }
  switch (operator) {
    case "=":
      return a === b;
    case "!=":
    case "<>":
      return a !== b;
    case "<":
      return a < b;
    case ">":
      return a > b;
    case "<=":
      return a <= b;
    case ">=":
      return a >= b;
    default:
      return false;
  }
}

function sqlLike(text: string, pattern: string): boolean {
  const source = [...pattern]
    .map((ch) => (ch === "%" ? ".*" : ch === "_" ? "." : ch.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
    .join("");
  return new RegExp(`^${source}$`, "isu").test(text);
}

/**
 * _DateLimit: `=` is the whole day (midnight in the user's or server's zone, UTC here), other operators
 * compare to the second; an unset date (1970) is NULL; an unparsable value is the epoch.
 */
function dateCondition<T>(
  date: (item: T) => number,
  op: string,
  value: string,
  quoted: boolean | undefined,
  die: (message: string) => SqlError,
): Predicate<T> {
  if (!/^(=|>|<|>=|<=|IS(\s+NOT)?)$/i.test(op)) throw die(`Invalid Date Op: ${op}`);
  const cell = (item: T): number | null => (date(item) > 0 ? date(item) : null);
  if (/^IS/i.test(op)) return (item) => compare(cell(item), op, null, true);
  if (!quoted && value !== "0") {
    // An unquoted number is compared with the column's SQL text as it is.
    return (item) => compare(sqlDate(date(item)), op, value, false);
  }
  const at = parseRtDate(value);
  if (op === "=") {
    const start = Math.floor(at / 86_400_000) * 86_400_000;
    return (item) => {
      const v = cell(item);
      return v !== null && v >= start && v < start + 86_400_000;
    };
  }
  return (item) => compare(cell(item), op, String(at), true);
}

/** RT::Date->Set(Format => 'unknown') for the forms a bridge sends; anything else is the epoch (0). */
function parseRtDate(value: string): number {
  const m = /^(\d{4})-(\d\d)-(\d\d)(?:[ T](\d\d):(\d\d)(?::(\d\d))?)?Z?$/.exec(value.trim());
  if (m) {
    const [, y, mo, d, h = "00", mi = "00", s = "00"] = m;
    const at = Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${s}Z`);
    return Number.isNaN(at) ? 0 : at;
  }
  if (value.trim().toLowerCase() === "now") return Math.floor(Date.now() / 1000) * 1000;
  return 0;
}

/** Watcher roles: positive operators match when any member does; negative ones when none does. */
function watcherCondition(
  members: (t: Ticket) => User[],
  subfield: string,
  op: string,
  value: string,
): Predicate<Ticket> {
  const attribute = (user: User): string =>
    subfield === "id"
      ? String(user.id)
      : subfield === "Name"
        ? user.name
        : subfield === "RealName"
          ? user.realName
          : subfield === "EmailAddress"
            ? user.email
            : "";
  const operator = op.toUpperCase();
  if (operator === "IS") return (t) => members(t).length === 0;
  if (operator === "IS NOT") return (t) => members(t).length > 0;
  const negative = operator === "!=" || operator.startsWith("NOT ");
  const positive = negative ? (operator === "!=" ? "=" : operator.slice(4)) : operator;
  return (t) => {
    const matched = members(t).some((user) => compare(attribute(user), positive, value, subfield === "id"));
    return negative ? !matched : matched;
  };
}

/** Custom field values: positive operators need a matching value, negative ones match the rest (no value too). */
function customFieldCondition(values: (t: Ticket) => string[], op: string, value: string): Predicate<Ticket> {
  const operator = op.toUpperCase();
  if (operator === "IS") return (t) => values(t).length === 0;
  if (operator === "IS NOT") return (t) => values(t).length > 0;
  const negative = operator === "!=" || operator.startsWith("NOT ");
  const positive = negative ? (operator === "!=" ? "=" : operator.slice(4)) : operator;
  return (t) => {
    const matched = values(t).some((v) => compare(v, positive, value, false));
    return negative ? !matched : matched;
  };
}

// -------------------------------------------------------------------- helpers

/** Perl's SQL datetime text: YYYY-MM-DD HH:MM:SS (UTC), the epoch for an unset date. */
function sqlDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace("T", " ");
}

/** Util.pm format_datetime: W3CDTF in UTC; an unset date is 1970-01-01T00:00:00Z. */
function w3c(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

function toInt(value: unknown): number {
  const number = Number.parseInt(String(value ?? "0"), 10);
  return Number.isNaN(number) ? 0 : number;
}

function subfieldsOf(params: URLSearchParams, param: string): string[] {
  return (lastParam(params, param) ?? "").split(",").filter(Boolean);
}

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

function lastParam(params: URLSearchParams, name: string): string | undefined {
  return params.getAll(name).at(-1);
}

function isRecord(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function looksLikeUid(value: unknown): value is { type: unknown; id: string | number; _url: unknown } {
  return isRecord(value) && Boolean(value.type) && Boolean(value.id) && Boolean(value._url);
}

function isJson(headers: Record<string, string | undefined>): boolean {
  return /^application\/json/.test(headers["content-type"] ?? "");
}

/** Web::Machine c4: no Accept header, or one that allows application/json. */
function acceptsJson(accept: string | undefined): boolean {
  if (!accept) return true;
  return accept
    .split(",")
    .map((part) => part.split(";"))
    .some(([type, ...params]) => {
      const media = type?.trim().toLowerCase();
      const q = params.find((p) => p.trim().startsWith("q="));
      if (q && Number(q.trim().slice(2)) === 0) return false;
      return media === "application/json" || media === "application/*" || media === "*/*";
    });
}

function formFields(headers: Record<string, string | undefined>, raw: string): [string, string][] {
  if (!/^application\/x-www-form-urlencoded/i.test(headers["content-type"] ?? "")) return [];
  return [...new URLSearchParams(raw)];
}

function safeDecode(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/** JSON::XS's complaint about a body that is not JSON, at the offset V8 reports (its wording varies by case). */
function perlJsonError(raw: string, error: unknown): string {
  const offset = Number(/position (\d+)/.exec(error instanceof Error ? error.message : "")?.[1] ?? 0);
  const rest = raw.slice(offset, offset + 30);
  return `malformed JSON string, neither tag, array, object, number, string or atom, at character offset ${offset} (before "${rest}")`;
}

/** URI::query_form (URI/_query.pm): reserved characters escaped, spaces as "+", then URI's uric set. */
function perlQueryForm(pairs: [string, string][]): string {
  const encode = (text: string) =>
    Array.from(Buffer.from(text, "utf8"))
      .map((byte) => {
        const ch = String.fromCharCode(byte);
        if (ch === " ") return "+";
        if (/[;/?:@&=+,$[\]%]/.test(ch)) return `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
        if (/[A-Za-z0-9\-_.!~*'()]/.test(ch)) return ch;
        return `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
      })
      .join("");
  return pairs.map(([key, value]) => `${encode(key)}=${encode(value)}`).join("&");
}

/** JSON::to_json($data, {pretty => 1}): three-space indents and " : " between key and value. */
function perlPretty(value: unknown, indent = ""): string {
  const inner = `${indent}   `;
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    return `[\n${value.map((v) => inner + perlPretty(v, inner)).join(",\n")}\n${indent}]`;
  }
  if (isRecord(value)) {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return "{}";
    return `{\n${entries.map(([k, v]) => `${inner}${JSON.stringify(k)} : ${perlPretty(v, inner)}`).join(",\n")}\n${indent}}`;
  }
  return JSON.stringify(value) ?? "null";
}

function jsonReply(status: number, body: unknown, pretty = false): Reply {
  return { status, payload: pretty ? `${perlPretty(body)}\n` : JSON.stringify(body), contentType: JSON_TYPE };
}

/** A Web::Machine error without a body: text/plain, which ErrorAsJSON.pm turns into `{"message": reason}`. */
function errorReply(status: number): Reply {
  return jsonReply(status, { message: REASONS[status] ?? String(status) });
}

/** Outside /REST/2.0 is RT's web UI, which the fake does not serve. */
function outsideRest(): Reply {
  return { status: 404, payload: "Not Found", contentType: "text/plain" };
}

function send(res: ServerResponse, reply: Reply): void {
  if (res.destroyed || res.headersSent) return;
  const headers: Record<string, string> = {};
  if (reply.contentType) headers["Content-Type"] = reply.contentType;
  if (reply.payload !== undefined) headers["Content-Length"] = String(Buffer.byteLength(reply.payload));
  res.writeHead(reply.status, { ...headers, ...reply.headers });
  res.end(reply.status === 204 ? undefined : reply.payload);
}
