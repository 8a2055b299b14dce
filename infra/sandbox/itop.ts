import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { Readable } from "node:stream";
import {
  type FaultChaos,
  type FaultCounts,
  type FaultPlanOptions,
  FaultPlans,
  listen,
  type NetworkFault,
} from "./faults.ts";

/**
 * An in-process fake of the iTop REST/JSON API (versions 1.0–1.4) for integration tests and the local
 * sandbox, on 127.0.0.1 only. It answers in the real wire format, quirks included (summary:
 * /work/shared/systems-api.md §3): one endpoint, form-encoded `json_data`, always HTTP 200 with a `code`,
 * `objects` null when empty, ids and numbers as strings, case logs that `{"items": […]}` replaces.
 * Modelled: list_operations, core/get, core/create, core/update, core/apply_stimulus, core/delete on
 * UserRequest, Incident (abstract Ticket for queries), Attachment and InlineImage; Organization, Person,
 * Team and Service are read-only (core/get and external keys). Any other path gets the web server's 404.
 * The Combodo webhook integration is played by an outbox (`takeWebhooks`) filled by each change.
 */

export interface ItopUser {
  login: string;
  password?: string; // form or Basic auth
  token?: string; // Auth-Token header or auth_token field (iTop 3.1+)
  friendlyName: string; // case log author
  rest?: boolean; // has the "REST Services User" profile; default true
  /**
   * Classes its profiles do not let it read: `core/get` answers code 1 "The current user does not have
   * enough permissions for reading data of class …" (e.g. InlineImage, which the README's profiles do
   * not grant in a stock iTop).
   */
  cannotRead?: readonly string[];
}

export interface ItopFakeOptions {
  port?: number; // default 0 (random)
  instance?: string; // for messages only
  users: readonly ItopUser[]; // ids 1, 2, … in order
  organizations?: readonly { id: number; name: string }[];
  persons?: readonly { id: number; name: string; first_name?: string; email?: string; org_id: number }[];
  teams?: readonly { id: number; name: string }[];
  services?: readonly { id: number; name: string }[];
  extraTicketFields?: readonly string[]; // custom string attributes of UserRequest and Incident
  /**
   * Combodo's authent-token extension is installed (not in the community edition): a user's token is
   * accepted (`Auth-Token` header or `auth_token`). Without it, a token is "Invalid login". Default false.
   */
  tokenLogin?: boolean;
  /**
   * Which ActionWebhooks the iTop has (the old bridge's two sets); `ticketUpdate` adds a "ticket
   * updated" webhook to the internal set (payload `class`, `id`, `source`), needed for a form that
   * flows both ways.
   */
  webhooks?: { preset: "external" | "internal"; source?: string; ticketUpdate?: boolean };
}

/** HTTP 200 with that code and message, the work not done. */
export type ItopFault = NetworkFault | { kind: "code"; code: number; message: string };

export interface ItopCaseLogEntry {
  date: string;
  user_login: string; // the author's friendly name
  user_id: string;
  message: string; // text form
  message_html: string;
}

export interface ItopCaseLog {
  entries: ItopCaseLogEntry[]; // oldest first
}

/** A UserRequest or Incident as stored; external keys are numbers, 0 when empty. */
export interface ItopTicket {
  id: number;
  ref: string; // R-000123 / I-000123
  finalclass: "UserRequest" | "Incident";
  title: string;
  description: string; // HTML
  status: string;
  org_id: number;
  caller_id: number;
  team_id: number;
  agent_id: number;
  service_id: number;
  priority: string;
  impact: string;
  urgency: string;
  origin: string;
  resolution_code: string;
  solution: string;
  pending_reason: string;
  private_log: ItopCaseLog;
  public_log: ItopCaseLog;
  start_date: string;
  last_update: string;
  assignment_date: string;
  resolution_date: string;
  close_date: string;
  [extraField: string]: unknown; // extraTicketFields, strings
}

export interface ItopBlob {
  data: string; // base64
  filename: string;
  mimetype: string;
  downloads_count: number;
}

export interface ItopAttachment {
  id: number;
  item_class: string;
  item_id: number;
  item_org_id: number;
  contents: ItopBlob;
  creation_date: string;
  user_id: number;
}

export interface ItopInlineImage {
  id: number;
  item_class: string;
  item_id: number;
  item_org_id: number;
  secret: string;
  contents: ItopBlob;
}

export interface ItopCall {
  operation?: string;
  class?: string;
  key?: unknown;
  comment?: string;
  stimulus?: string;
  fields?: Record<string, unknown>;
  status: number; // HTTP status answered; 0 when unanswered
  code: number; // the envelope's code; -1 when no envelope was answered (faults, down)
  message: string;
}

export interface ItopWebhook {
  path: string;
  payload: Record<string, string>;
}

export interface ItopFake {
  url: string; // http://127.0.0.1:<port>/webservices/rest.php
  port: number;
  calls: ItopCall[]; // every HTTP request, faulted ones included
  tickets(): ItopTicket[];
  ticket(id: number): ItopTicket | undefined;
  attachments(itemClass?: string, itemId?: number): ItopAttachment[];
  inlineImages(): ItopInlineImage[];
  /** What a person does in the UI (not through HTTP, not in `calls`); these fire webhooks and throw on refusal. */
  agentCreatesTicket(input: {
    class?: "UserRequest" | "Incident";
    title: string;
    description: string;
    org_id: number;
    caller_id: number;
    /** The priority follows from these (PRIORITY_MATRIX); defaults impact "1", urgency "4". */
    impact?: string;
    urgency?: string;
    team_id?: number;
    agent_id?: number;
    by?: string;
  }): ItopTicket;
  agentUpdatesTicket(id: number, fields: Record<string, unknown>, by?: string): void;
  agentAddsLog(id: number, log: "private_log" | "public_log", html: string, by?: string): void;
  agentAppliesStimulus(id: number, stimulus: string, fields?: Record<string, unknown>, by?: string): void;
  agentAttaches(
    itemClass: string,
    itemId: number,
    file: { filename: string; mimetype: string; data: string },
  ): ItopAttachment;
  agentUpdatesAttachment(id: number, data: string): void;
  agentDeletesAttachment(id: number): void;
  /** Stores an InlineImage and returns the `<img>` iTop puts in the HTML. */
  pasteImage(itemClass: string, itemId: number, image: { mimetype: string; data: string }): string;
  takeWebhooks(): ItopWebhook[]; // returns and clears the outbox
  /** The `times` matching requests after the first `options.after` ones (default 0) get the fault. */
  failNext(
    times: number,
    fault: ItopFault,
    match?: { operation?: string; class?: string },
    options?: FaultPlanOptions,
  ): void;
  /** Seeded random faults for the matching calls no plan takes (undefined: off); reset() turns them off. */
  setChaos(chaos: FaultChaos<ItopFault, { operation?: string; class?: string }> | undefined): void;
  /** The faults applied since the last reset(), plans and chaos alike, by kind. */
  faultsInjected(): FaultCounts;
  setDown(down: boolean): void; // while down, every request's socket is destroyed
  /** Changes which classes a user may not read (its profiles), e.g. `["InlineImage"]`; [] gives all back. */
  setCannotRead(login: string, classes: readonly string[]): void;
  reset(): void; // forget tickets, attachments, images, calls, plans, chaos, fault counts, webhooks, down; ids keep counting
  close(): Promise<void>;
  /** The most requests in flight at once (each counted until answered or cut), since start or resetInFlight(). */
  readonly maxInFlight: number;
  /** Starts maxInFlight again from the requests in flight now. */
  resetInFlight(): void;
}

const DEFAULT_ORGANIZATIONS = [
  { id: 1, name: "My Company/Department" },
  { id: 2, name: "Demo" },
];
const DEFAULT_PERSONS = [
  { id: 1, name: "Doe", first_name: "John", email: "john.doe@demo.example", org_id: 2 },
  { id: 2, name: "Agent", first_name: "Alice", email: "alice@company.example", org_id: 1 },
];
const DEFAULT_TEAMS = [{ id: 1, name: "Service Desk" }];
const DEFAULT_SERVICES = [{ id: 1, name: "Computers and peripherals" }];

const VERSIONS = ["1.0", "1.1", "1.2", "1.3", "1.4"];
const OPERATIONS: [string, string][] = [
  ["list_operations", "List the operations available"],
  ["core/get", "Search for objects"],
  ["core/create", "Create an object"],
  ["core/update", "Update an object"],
  ["core/apply_stimulus", "Apply a stimulus to change the state of an object"],
  ["core/delete", "Delete objects"],
];

/** ITIL UserRequest lifecycle (§3.6): state → stimulus → target. */
const USER_REQUEST_LIFECYCLE: Record<string, Record<string, string>> = {
  new: {
    ev_assign: "assigned",
    ev_wait_for_approval: "waiting_for_approval",
    ev_timeout: "escalated_tto",
    ev_autoresolve: "resolved",
  },
  escalated_tto: { ev_assign: "assigned" },
  assigned: {
    ev_pending: "pending",
    ev_resolve: "resolved",
    ev_reassign: "assigned",
    ev_timeout: "escalated_ttr",
    ev_autoresolve: "resolved",
  },
  escalated_ttr: {
    ev_pending: "pending",
    ev_resolve: "resolved",
    ev_reassign: "escalated_ttr",
    ev_autoresolve: "resolved",
  },
  waiting_for_approval: { ev_approve: "approved", ev_reject: "rejected" },
  approved: { ev_assign: "assigned", ev_timeout: "escalated_tto", ev_autoresolve: "resolved" },
  rejected: { ev_reopen: "new" },
  pending: { ev_assign: "assigned", ev_autoresolve: "resolved" },
  resolved: { ev_close: "closed", ev_reopen: "assigned", ev_autoresolve: "resolved" },
  closed: {},
};
/** Incident: the same without the approval states. */
const INCIDENT_LIFECYCLE: Record<string, Record<string, string>> = Object.fromEntries(
  Object.entries(USER_REQUEST_LIFECYCLE)
    .filter(([state]) => !["waiting_for_approval", "approved", "rejected"].includes(state))
    .map(([state, moves]) => [
      state,
      Object.fromEntries(Object.entries(moves).filter(([stimulus]) => stimulus !== "ev_wait_for_approval")),
    ]),
);
/**
 * The mandatory attributes of each state that a stimulus checks. iTop reports only empty text fields
 * here: a mandatory external key left empty (team_id, agent_id of `assigned`, service_id of
 * `resolved`) is not checked, and the ticket enters the state with "0" (checked against iTop 3.3-dev).
 */
const MANDATORY: Record<string, string[]> = {
  pending: ["pending_reason"],
  resolved: ["resolution_code", "solution"],
};

/**
 * ComputePriority of the ITIL UserRequest and Incident: priority[impact][urgency], recomputed on every
 * save, so a priority written through REST is silently replaced (impact 1 a department, 2 a group, 3 a
 * person; urgency 1 critical … 4 low).
 */
const PRIORITY_MATRIX: Record<string, Record<string, string>> = {
  "1": { "1": "1", "2": "1", "3": "2", "4": "4" },
  "2": { "1": "1", "2": "2", "3": "3", "4": "4" },
  "3": { "1": "2", "2": "3", "3": "3", "4": "4" },
};
function computePriority(ticket: ItopTicket, changed?: Set<string>): void {
  const priority = PRIORITY_MATRIX[ticket.impact]?.[ticket.urgency] ?? "4";
  if (priority !== ticket.priority) changed?.add("priority");
  ticket.priority = priority;
}
/** States whose entry the "internal" preset's triggers report. */
const WATCHED_STATES = [
  "assigned",
  "pending",
  "escalated_tto",
  "escalated_ttr",
  "resolved",
  "closed",
  "waiting_for_approval",
  "approved",
  "rejected",
];

const ENUMS: Record<string, string[]> = {
  priority: ["1", "2", "3", "4"],
  impact: ["1", "2", "3"],
  urgency: ["1", "2", "3", "4"],
  origin: ["in_person", "chat", "mail", "phone", "portal", "monitoring"],
  resolution_code: [
    "assistance",
    "other",
    "software patch",
    "training",
    "hardware repair",
    "system update",
    "bug fixed",
  ],
};
const EXTERNAL_KEYS: Record<string, string> = {
  org_id: "Organization",
  caller_id: "Person",
  team_id: "Team",
  agent_id: "Person",
  service_id: "Service",
};
const TEXT_FIELDS = ["title", "description", "solution", "pending_reason"];
/** AttributeHTML fields: iTop wraps text that starts outside any element in a paragraph. */
const HTML_FIELDS = ["description", "solution"];
/** What iTop keeps of an HTML value: "fixed" becomes "<p>fixed</p>" (checked against iTop 3.3-dev). */
function asHtml(value: string): string {
  return value === "" || value.trimStart().startsWith("<") ? value : `<p>${value}</p>`;
}
const CASE_LOGS = ["private_log", "public_log"];

/** Ticket's own attributes (what `*` gives for `SELECT Ticket`). */
const TICKET_ATTRIBUTES = [
  "id",
  "ref",
  "org_id",
  "org_name",
  "org_id_friendlyname",
  "caller_id",
  "caller_name",
  "caller_id_friendlyname",
  "team_id",
  "team_name",
  "team_id_friendlyname",
  "agent_id",
  "agent_name",
  "agent_id_friendlyname",
  "title",
  "description",
  "start_date",
  "last_update",
  "close_date",
  "private_log",
  "finalclass",
  "friendlyname",
];
/** UserRequest and Incident add these (then the extra fields). */
const CONCRETE_TICKET_ATTRIBUTES = [
  "status",
  "impact",
  "priority",
  "urgency",
  "origin",
  "service_id",
  "service_name",
  "service_id_friendlyname",
  "assignment_date",
  "resolution_date",
  "resolution_code",
  "solution",
  "pending_reason",
  "public_log",
];

type Data = Record<string, unknown>;
type Org = { id: number; name: string };
type Person = { id: number; name: string; first_name: string; email: string; org_id: number };
type Named = { id: number; name: string };
type Obj = ItopTicket | ItopAttachment | ItopInlineImage | Org | Person | Named;

interface ClassDef {
  parent?: string;
  abstract?: boolean;
  attributes: string[]; // what `*` lists
  all(): Obj[];
  view(obj: Obj): Data; // every attribute as answered (strings)
}

interface Author {
  id: number; // 0 when not a user
  login: string;
  friendlyName: string;
}

interface Reply {
  status: number;
  body: unknown;
  code: number;
  headers?: Record<string, string>;
}

/** What iTop turns into code 100 and "Error: <message>". */
class ItopError extends Error {
  constructor(
    message: string,
    readonly code = 100,
    /** iTop prefixes most messages with "Error: "; a permission refusal comes without it. */
    readonly prefix = "Error: ",
  ) {
    super(message);
  }
}

/** A PHP error iTop does not catch: HTTP 500 with its generic page (the cause is in iTop's error.log). */
class ItopCrash extends Error {}

/** Starts the fake on 127.0.0.1. */
export async function startItopFake(options: ItopFakeOptions): Promise<ItopFake> {
  const instance = options.instance ?? "itop";
  const users = options.users.map((user, index) => ({ ...user, id: index + 1 }));
  const organizations: Org[] = (options.organizations ?? DEFAULT_ORGANIZATIONS).map((o) => ({ ...o }));
  const persons: Person[] = (options.persons ?? DEFAULT_PERSONS).map((p) => ({
    id: p.id,
    name: p.name,
    first_name: p.first_name ?? "",
    email: p.email ?? "",
    org_id: p.org_id,
  }));
  const teams: Named[] = (options.teams ?? DEFAULT_TEAMS).map((t) => ({ ...t }));
  const services: Named[] = (options.services ?? DEFAULT_SERVICES).map((s) => ({ ...s }));
  const extraFields = options.extraTicketFields ?? [];
  const tickets: ItopTicket[] = [];
  const attachments: ItopAttachment[] = [];
  const images: ItopInlineImage[] = [];
  const calls: ItopCall[] = [];
  let outbox: ItopWebhook[] = [];
  let down = false;
  // Ids keep counting across reset(): iTop never reuses them. UserRequest and Incident share Ticket's.
  let nextTicketId = 1;
  let nextAttachmentId = 1;
  let nextImageId = 1;
  const plans = new FaultPlans<ItopFault, { operation?: string; class?: string }, ItopCall>(
    (match, call) =>
      (match.operation === undefined || match.operation === call.operation) &&
      (match.class === undefined || match.class === call.class),
  );

  const server = await listen(options.port, handle, (res, error) =>
    send(res, { status: 500, code: -1, body: `<h1>Internal Server Error</h1><p>${String(error)}</p>` }),
  );
  const port = server.port;
  const base = `http://127.0.0.1:${port}`;

  const concreteAttributes = [...TICKET_ATTRIBUTES, ...CONCRETE_TICKET_ATTRIBUTES, ...extraFields];
  const classes: Record<string, ClassDef> = {
    Ticket: {
      abstract: true,
      attributes: TICKET_ATTRIBUTES,
      all: () => tickets,
      view: (obj) => ticketView(obj as ItopTicket),
    },
    UserRequest: {
      parent: "Ticket",
      attributes: concreteAttributes,
      all: () => tickets.filter((t) => t.finalclass === "UserRequest"),
      view: (obj) => ticketView(obj as ItopTicket),
    },
    Incident: {
      parent: "Ticket",
      attributes: concreteAttributes,
      all: () => tickets.filter((t) => t.finalclass === "Incident"),
      view: (obj) => ticketView(obj as ItopTicket),
    },
    Organization: {
      attributes: ["id", "name", "code", "status", "friendlyname"],
      all: () => organizations,
      view: (obj) => {
        const o = obj as Org;
        return { id: String(o.id), name: o.name, code: "", status: "active", friendlyname: o.name };
      },
    },
    Person: {
      attributes: [
        "id",
        "name",
        "first_name",
        "email",
        "status",
        "org_id",
        "org_name",
        "org_id_friendlyname",
        "finalclass",
        "friendlyname",
      ],
      all: () => persons,
      view: (obj) => {
        const p = obj as Person;
        const org = organizations.find((o) => o.id === p.org_id)?.name ?? "";
        return {
          id: String(p.id),
          name: p.name,
          first_name: p.first_name,
          email: p.email,
          status: "active",
          org_id: String(p.org_id),
          org_name: org,
          org_id_friendlyname: org,
          finalclass: "Person",
          friendlyname: personName(p),
        };
      },
    },
    Team: {
      attributes: ["id", "name", "email", "status", "finalclass", "friendlyname"],
      all: () => teams,
      view: (obj) => {
        const t = obj as Named;
        return {
          id: String(t.id),
          name: t.name,
          email: "",
          status: "active",
          finalclass: "Team",
          friendlyname: t.name,
        };
      },
    },
    Service: {
      attributes: ["id", "name", "description", "status", "friendlyname"],
      all: () => services,
      view: (obj) => {
        const s = obj as Named;
        return {
          id: String(s.id),
          name: s.name,
          description: "",
          status: "production",
          friendlyname: s.name,
        };
      },
    },
    Attachment: {
      attributes: ["id", "item_class", "item_id", "item_org_id", "contents", "creation_date", "user_id"],
      all: () => attachments,
      view: (obj) => {
        const a = obj as ItopAttachment;
        return {
          id: String(a.id),
          item_class: a.item_class,
          item_id: String(a.item_id),
          item_org_id: String(a.item_org_id),
          contents: { ...a.contents },
          creation_date: a.creation_date,
          user_id: String(a.user_id),
        };
      },
    },
    InlineImage: {
      attributes: ["id", "item_class", "item_id", "item_org_id", "secret", "contents"],
      all: () => images,
      view: (obj) => {
        const i = obj as ItopInlineImage;
        return {
          id: String(i.id),
          item_class: i.item_class,
          item_id: String(i.item_id),
          item_org_id: String(i.item_org_id),
          secret: i.secret,
          contents: { ...i.contents },
        };
      },
    },
  };

  // ---- HTTP ----

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const parsed = new URL(req.url ?? "/", base);
    const call: ItopCall = { status: 0, code: -1, message: "" };
    if (parsed.pathname === "/pages/ajax.document.php") return downloadImage(parsed, res);
    calls.push(call);
    if (down) return void req.socket.destroy();
    // The operation is only known from the body: read it first, then let the fault plans replay it.
    const raw = await readAll(req);
    const isRest = parsed.pathname === "/webservices/rest.php";
    if (isRest) describeCall(call, raw, req);
    const replay = Object.assign(Readable.from([Buffer.from(raw)]), { socket: req.socket });
    const reply = await plans.serve(
      replay as unknown as IncomingMessage,
      call,
      (body, fault): Reply => {
        if (fault?.kind === "status") {
          return {
            status: fault.status,
            code: -1,
            body: fault.body ?? `<html><body><h1>Error ${fault.status}</h1></body></html>`,
            headers: fault.headers ?? {},
          };
        }
        if (fault?.kind === "code") return envelope(fault.code, fault.message, null);
        if (!isRest) {
          return {
            status: 404,
            code: -1,
            body: `<!DOCTYPE html><html><head><title>404 Not Found</title></head><body><h1>Not Found</h1><p>The requested URL ${parsed.pathname} was not found on this server.</p></body></html>`,
          };
        }
        return rest(req, parsed.searchParams, body);
      },
      (reply) => reply.status === 200 && reply.code === 0,
    );
    if (!reply) return; // unanswered: call.code stays -1
    call.code = reply.code;
    call.message = isRecord(reply.body) ? String(reply.body.message ?? "") : "";
    send(res, reply);
  }

  /** Fills the call's operation, class, key… from the body, for `calls` and fault matching. */
  function describeCall(call: ItopCall, raw: string, req: IncomingMessage): void {
    const json = formFields(raw, req).get("json_data");
    if (!json) return;
    try {
      const data: unknown = JSON.parse(json);
      if (!isRecord(data)) return;
      if (typeof data.operation === "string") call.operation = data.operation;
      if (typeof data.class === "string") call.class = data.class;
      if ("key" in data) call.key = data.key;
      if (typeof data.comment === "string") call.comment = data.comment;
      if (typeof data.stimulus === "string") call.stimulus = data.stimulus;
      if (isRecord(data.fields)) call.fields = data.fields;
    } catch {
      // invalid JSON: answered with code 4
    }
  }

  /** webservices/rest.php: login, version, json_data, then the operation. */
  function rest(req: IncomingMessage, query: URLSearchParams, raw: string): Reply {
    const form = formFields(raw, req);
    try {
      const user = login(req, form);
      const version = form.get("version") ?? query.get("version");
      if (!version) throw new ItopError("Missing parameter 'version'", 2);
      if (!VERSIONS.includes(version)) throw new ItopError(`Unknown version '${version}'`, 10);
      const json = form.get("json_data");
      if (!json) throw new ItopError("Missing parameter 'json_data'", 3);
      let data: unknown;
      try {
        data = JSON.parse(json);
      } catch {
        data = undefined;
      }
      if (!isRecord(data)) throw new ItopError("Parameter json_data is not a valid JSON structure", 4);
      const author: Author = { id: user.id, login: user.login, friendlyName: user.friendlyName };
      return { status: 200, code: 0, body: operate(data, version, author) };
    } catch (error) {
      if (error instanceof ItopCrash)
        return {
          status: 500,
          code: -1,
          body: "<p>iTop: An error occurred, check server error log for more information.</p>",
          headers: { "Content-Type": "text/html; charset=UTF-8" },
        };
      if (!(error instanceof ItopError)) throw error;
      return envelope(error.code, `${error.prefix}${error.message}`, null);
    }
  }

  /** The login FSM: form fields, Basic, or a token (header or field); stateless. */
  function login(req: IncomingMessage, form: URLSearchParams) {
    const invalid = () => new ItopError("Invalid login", 1);
    const token = header(req, "auth-token") ?? form.get("auth_token");
    const authorization = header(req, "authorization");
    let user: (typeof users)[number] | undefined;
    if (token) {
      // Without the authent-token extension no login method takes a token.
      user = options.tokenLogin ? users.find((u) => u.token !== undefined && u.token === token) : undefined;
    } else if (form.has("auth_user") || form.has("auth_pwd")) {
      const login = form.get("auth_user");
      const password = form.get("auth_pwd");
      if (!login) throw new ItopError("Missing parameter 'auth_user'", 5);
      if (password === null) throw new ItopError("Missing parameter 'auth_pwd'", 6);
      user = users.find((u) => u.login === login && u.password !== undefined && u.password === password);
    } else if (authorization?.toLowerCase().startsWith("basic ")) {
      const decoded = Buffer.from(authorization.slice(6).trim(), "base64").toString("utf8");
      const colon = decoded.indexOf(":");
      const [login, password] = [decoded.slice(0, colon), decoded.slice(colon + 1)];
      if (colon > 0) user = users.find((u) => u.login === login && u.password === password);
    }
    if (!user) throw invalid();
    if (user.rest === false) {
      throw new ItopError(
        "This user is not authorized to use the web services. (The profile REST Services User is required to access the REST API)",
        1,
      );
    }
    return user;
  }

  function operate(data: Data, version: string, author: Author): Data {
    const operation = data.operation;
    if (operation === "list_operations") {
      return {
        code: 0,
        message: `Operations: ${OPERATIONS.length}`,
        version,
        operations: OPERATIONS.map(([verb, description]) => ({
          verb,
          description,
          extension: "CoreServices",
        })),
      };
    }
    if (typeof operation !== "string" || !OPERATIONS.some(([verb]) => verb === operation))
      throw new ItopError(`Unknown verb '${String(operation)}' in version '${version}'`, 11);
    const cls = requireClass(data);
    const reader = users.find((u) => u.id === author.id);
    if (reader?.cannotRead?.includes(cls))
      throw new ItopError(
        `The current user does not have enough permissions for reading data of class ${cls}`,
        1,
        "",
      );
    if (operation === "core/get") return coreGet(cls, data);
    const comment = data.comment;
    if (typeof comment !== "string" || comment === "") throw new ItopError("Missing parameter 'comment'");
    if (operation === "core/create") {
      const fields = requireFields(data);
      const obj = create(cls, fields, author);
      return envelopeBody(0, "", [objectResult(cls, obj, outputFields(cls, data), "created")]);
    }
    if (!("key" in data)) throw new ItopError("Missing parameter 'key'");
    const obj = findOne(cls, data.key);
    if (operation === "core/update") {
      const fields = requireFields(data);
      update(cls, obj, fields, author);
      return envelopeBody(0, "", [objectResult(cls, obj, outputFields(cls, data), "updated")]);
    }
    if (operation === "core/apply_stimulus") {
      if (typeof data.stimulus !== "string") throw new ItopError("Missing parameter 'stimulus'");
      const fields = data.fields === undefined ? {} : requireFields(data);
      applyStimulus(cls, obj, data.stimulus, fields, author);
      return envelopeBody(0, "", [objectResult(cls, obj, outputFields(cls, data), "updated")]);
    }
    // core/delete
    const finalClass = classOf(cls, obj);
    remove(finalClass, obj);
    return envelopeBody(0, "", [{ code: 0, message: "Deleted", class: finalClass, key: String(obj.id) }]);
  }

  function coreGet(cls: string, data: Data): Data {
    if (!("key" in data)) throw new ItopError("Missing parameter 'key'");
    const spec = outputFields(cls, data);
    const limit = Number(data.limit ?? 0);
    const page = Number(data.page ?? 1);
    if (!Number.isInteger(page) || page < 1) throw new ItopError("Invalid page number", 13);
    let found = search(cls, data.key).sort((a, b) => a.id - b.id);
    if (Number.isInteger(limit) && limit > 0) found = found.slice((page - 1) * limit, page * limit);
    const results = found.map((obj) => objectResult(cls, obj, spec, ""));
    return envelopeBody(0, `Found: ${results.length}`, results);
  }

  function requireClass(data: Data): string {
    if (data.class === undefined) throw new ItopError("Missing parameter 'class'");
    const cls = String(data.class);
    if (!classes[cls]) throw new ItopError(`class: '${cls}' is not a valid class`);
    return cls;
  }

  function requireFields(data: Data): Data {
    if (data.fields === undefined) throw new ItopError("Missing parameter 'fields'");
    if (!isRecord(data.fields)) throw new ItopError("fields: expecting an object");
    return data.fields;
  }

  // ---- reading ----

  type FieldSpec = "*" | "*+" | string[];

  function outputFields(cls: string, data: Data): FieldSpec {
    const raw = data.output_fields === undefined ? "*" : String(data.output_fields).trim();
    if (raw === "*" || raw === "*+") return raw;
    const list = raw
      .split(",")
      .map((f) => f.trim())
      .filter(Boolean);
    for (const field of list) {
      if (!def(cls).attributes.includes(field))
        throw new ItopError(`output_fields: invalid attribute code '${field}' for class '${cls}'`);
    }
    return list;
  }

  function objectResult(cls: string, obj: Obj, spec: FieldSpec, message: string): Data {
    const finalClass = classOf(cls, obj);
    const view = def(finalClass).view(obj);
    const names = spec === "*" ? def(cls).attributes : spec === "*+" ? def(finalClass).attributes : spec;
    const fields: Data = {};
    for (const name of names) fields[name] = view[name];
    return { code: 0, message, class: finalClass, key: String(obj.id), fields };
  }

  function ticketView(t: ItopTicket): Data {
    const org = organizations.find((o) => o.id === t.org_id)?.name ?? "";
    const caller = persons.find((p) => p.id === t.caller_id);
    const agent = persons.find((p) => p.id === t.agent_id);
    const team = teams.find((x) => x.id === t.team_id)?.name ?? "";
    const service = services.find((s) => s.id === t.service_id)?.name ?? "";
    const view: Data = {
      id: String(t.id),
      ref: t.ref,
      org_id: String(t.org_id),
      org_name: org,
      org_id_friendlyname: org,
      caller_id: String(t.caller_id),
      caller_name: caller?.name ?? "",
      caller_id_friendlyname: caller ? personName(caller) : "",
      team_id: String(t.team_id),
      team_name: team,
      team_id_friendlyname: team,
      agent_id: String(t.agent_id),
      agent_name: agent?.name ?? "",
      agent_id_friendlyname: agent ? personName(agent) : "",
      title: t.title,
      description: t.description,
      start_date: t.start_date,
      last_update: t.last_update,
      close_date: t.close_date,
      private_log: { entries: t.private_log.entries.map((e) => ({ ...e })) },
      finalclass: t.finalclass,
      friendlyname: t.ref,
      status: t.status,
      impact: t.impact,
      priority: t.priority,
      urgency: t.urgency,
      origin: t.origin,
      service_id: String(t.service_id),
      service_name: service,
      service_id_friendlyname: service,
      assignment_date: t.assignment_date,
      resolution_date: t.resolution_date,
      resolution_code: t.resolution_code,
      solution: t.solution,
      pending_reason: t.pending_reason,
      public_log: { entries: t.public_log.entries.map((e) => ({ ...e })) },
    };
    for (const name of extraFields) view[name] = String(t[name] ?? "");
    return view;
  }

  /** The objects a key designates (core/get): id, OQL, or criteria object. */
  function search(cls: string, key: unknown): Obj[] {
    if (typeof key === "number" || (typeof key === "string" && /^\s*\d+\s*$/.test(key))) {
      return def(cls)
        .all()
        .filter((o) => o.id === Number(key));
    }
    if (typeof key === "string") {
      const query = parseOql(key);
      if (!classes[query.cls]) throw new ItopError(`Unknown class '${query.cls}' in query: ${key}`);
      const target = def(query.cls);
      return target
        .all()
        .filter((obj) => !query.where || evaluate(query.where, query, target.view(obj), key));
    }
    if (isRecord(key)) {
      const target = def(cls);
      return target.all().filter((obj) => {
        const view = target.view(obj);
        return Object.entries(key).every(([name, value]) => {
          if (!target.attributes.includes(name))
            throw new ItopError(`Unknown attribute ${name} from class ${cls}`);
          return compare(view[name], "=", value);
        });
      });
    }
    throw new ItopError(`key: unsupported key ${JSON.stringify(key)}`);
  }

  /** RestUtils::FindObjectFromKey: exactly one object, or an exception. */
  function findOne(cls: string, key: unknown): Obj {
    if (typeof key === "number" || (typeof key === "string" && /^\s*\d+\s*$/.test(key))) {
      const found = search(cls, key)[0];
      if (!found) throw new ItopError(`Invalid object ${cls}::${Number(key)}`);
      return found;
    }
    const found = search(cls, key);
    const criteria =
      typeof key === "string"
        ? key
        : Object.entries(key as Data)
            .map(([name, value]) => `${name}: ${String(value)}`)
            .join(", ");
    if (found.length === 0) throw new ItopError(`No item found with criteria: ${criteria}`);
    if (found.length > 1)
      throw new ItopError(`Several items found (${found.length}) with criteria: ${criteria}`);
    return found[0]!;
  }

  // ---- writing (all-or-nothing: a clone is changed, checked, then committed) ----

  function create(cls: string, fields: Data, author: Author): Obj {
    const d = def(cls);
    // PHP's "Cannot instantiate abstract class", uncaught: a 500 page (checked against iTop 3.3-dev).
    if (d.abstract) throw new ItopCrash(`Cannot instantiate abstract class ${cls}`);
    if (cls === "UserRequest" || cls === "Incident") {
      const now = itopDate(new Date());
      const ticket: ItopTicket = {
        id: 0,
        ref: "",
        finalclass: cls,
        title: "",
        description: "",
        status: "new",
        org_id: 0,
        caller_id: 0,
        team_id: 0,
        agent_id: 0,
        service_id: 0,
        priority: "4",
        impact: "1",
        urgency: "4",
        origin: "phone",
        resolution_code: "assistance", // the attribute's default value
        solution: "",
        pending_reason: "",
        private_log: { entries: [] },
        public_log: { entries: [] },
        start_date: now,
        last_update: now,
        assignment_date: "",
        resolution_date: "",
        close_date: "",
      };
      for (const name of extraFields) ticket[name] = "";
      setTicketFields(ticket, fields, author, new Set());
      computePriority(ticket);
      const missing = ["title", "org_id", "caller_id"].filter((name) => !filled(ticket[name]));
      if (missing.length > 0)
        throw new ItopError(
          `Object not created (${cls}): ${missing.map((name) => `${name}: Null not allowed`).join(", ")}`,
        );
      ticket.id = nextTicketId++;
      ticket.ref = `${cls === "UserRequest" ? "R" : "I"}-${String(ticket.id).padStart(6, "0")}`;
      tickets.push(ticket);
      fire({ kind: "ticket-created", ticket });
      return ticket;
    }
    if (cls === "Attachment" || cls === "InlineImage") {
      const draft = { item_class: "", item_id: 0, item_org_id: 0, contents: blob({}) };
      setBlobFields(cls, draft, fields);
      if (cls === "InlineImage") {
        const image: ItopInlineImage = { id: nextImageId++, ...draft, secret: newSecret() };
        images.push(image);
        return image;
      }
      const attachment: ItopAttachment = {
        id: nextAttachmentId++,
        ...draft,
        creation_date: itopDate(new Date()),
        user_id: author.id,
      };
      attachments.push(attachment);
      fire({ kind: "attachment", attachment });
      return attachment;
    }
    throw readOnly(cls);
  }

  function update(cls: string, obj: Obj, fields: Data, author: Author): void {
    const finalClass = classOf(cls, obj);
    if (finalClass === "UserRequest" || finalClass === "Incident") {
      const ticket = obj as ItopTicket;
      const draft = structuredClone(ticket);
      const changed = new Set<string>();
      setTicketFields(draft, fields, author, changed);
      computePriority(draft, changed);
      if (draft.priority === ticket.priority) changed.delete("priority");
      checkTicket(draft);
      commitTicket(ticket, draft, changed, undefined);
      return;
    }
    if (finalClass === "Attachment" || finalClass === "InlineImage") {
      const stored = obj as ItopAttachment | ItopInlineImage;
      const draft = structuredClone(stored);
      setBlobFields(finalClass, draft, fields);
      const changed = JSON.stringify(draft) !== JSON.stringify(stored);
      Object.assign(stored, draft);
      if (changed && finalClass === "Attachment")
        fire({ kind: "attachment", attachment: stored as ItopAttachment });
      return;
    }
    throw readOnly(finalClass);
  }

  /** core/apply_stimulus: fields first, then the mandatory attributes of the target state, then the move. */
  function applyStimulus(cls: string, obj: Obj, stimulus: string, fields: Data, author: Author): void {
    const finalClass = classOf(cls, obj);
    if (finalClass !== "UserRequest" && finalClass !== "Incident")
      throw new ItopError(`Invalid stimulus: '${stimulus}' on the object ${finalClass}::${obj.id}`);
    const ticket = obj as ItopTicket;
    const draft = structuredClone(ticket);
    const changed = new Set<string>();
    setTicketFields(draft, fields, author, changed);
    const lifecycle = finalClass === "UserRequest" ? USER_REQUEST_LIFECYCLE : INCIDENT_LIFECYCLE;
    const target = lifecycle[draft.status]?.[stimulus];
    if (!target)
      throw new ItopError(
        `Invalid stimulus: '${stimulus}' on the object ${draft.ref} in state '${draft.status}'`,
      );
    const missing = (MANDATORY[target] ?? []).filter((name) => !filled(draft[name]));
    if (missing.length > 0)
      throw new ItopError(`Missing mandatory attribute(s) for applying the stimulus: ${missing.join(", ")}.`);
    computePriority(draft, changed);
    checkTicket(draft);
    const now = itopDate(new Date());
    draft.status = target;
    if (target === "assigned") draft.assignment_date = now;
    if (target === "resolved") draft.resolution_date = now;
    if (target === "closed") draft.close_date = now;
    changed.add("status"); // a transition is a change even when the state stays (ev_reassign)
    commitTicket(ticket, draft, changed, target);
  }

  function remove(finalClass: string, obj: Obj): void {
    if (finalClass === "UserRequest" || finalClass === "Incident") {
      tickets.splice(tickets.indexOf(obj as ItopTicket), 1);
      return;
    }
    if (finalClass === "Attachment") {
      attachments.splice(attachments.indexOf(obj as ItopAttachment), 1);
      fire({ kind: "attachment", attachment: obj as ItopAttachment });
      return;
    }
    if (finalClass === "InlineImage") {
      images.splice(images.indexOf(obj as ItopInlineImage), 1);
      return;
    }
    throw readOnly(finalClass);
  }

  /** Sets `fields` on a ticket draft, recording which attributes changed. */
  function setTicketFields(ticket: ItopTicket, fields: Data, author: Author, changed: Set<string>): void {
    const cls = ticket.finalclass;
    for (const [name, value] of Object.entries(fields)) {
      const before = JSON.stringify(ticket[name]);
      if (name === "status") {
        // Accepted as any attribute: core/update bypasses the lifecycle (no stimulus, no checks of the
        // new state's mandatory attributes, no dates set), as iTop 3.3-dev does.
        const lifecycle = cls === "UserRequest" ? USER_REQUEST_LIFECYCLE : INCIDENT_LIFECYCLE;
        const text = scalar(name, value);
        if (!(text in lifecycle))
          throw new ItopError(`${name}: Unexpected value for attribute '${name}': '${text}'`);
        ticket.status = text;
      } else if (EXTERNAL_KEYS[name]) {
        ticket[name] = externalKey(name, value);
      } else if (CASE_LOGS.includes(name)) {
        const log = ticket[name] as ItopCaseLog;
        ticket[name] = { entries: caseLog(name, log, value, author) };
        changed.add(name); // an appended entry is a change even when identical
      } else if (ENUMS[name]) {
        const text = scalar(name, value);
        if (!ENUMS[name].includes(text))
          throw new ItopError(`${name}: Unexpected value for attribute '${name}': '${text}'`);
        ticket[name] = text;
      } else if (HTML_FIELDS.includes(name)) {
        ticket[name] = asHtml(scalar(name, value));
      } else if (TEXT_FIELDS.includes(name) || extraFields.includes(name)) {
        ticket[name] = scalar(name, value);
      } else if (concreteAttributes.includes(name)) {
        throw new ItopError(`${name}: Attribute '${name}' is read-only`);
      } else {
        throw new ItopError(`${name}: Unknown attribute ${name} from class ${cls}`);
      }
      if (JSON.stringify(ticket[name]) !== before) changed.add(name);
    }
  }

  function checkTicket(ticket: ItopTicket): void {
    const missing = ["title", "org_id", ...(ticket.status === "new" ? ["caller_id"] : [])].filter(
      (name) => !filled(ticket[name]),
    );
    if (missing.length > 0)
      throw new ItopError(
        `Object not updated (${ticket.finalclass}::${ticket.id}): ${missing.map((n) => `${n}: Null not allowed`).join(", ")}`,
      );
  }

  function commitTicket(ticket: ItopTicket, draft: ItopTicket, changed: Set<string>, entered?: string): void {
    if (changed.size === 0) return; // DBUpdate without changes: no trigger fires
    draft.last_update = itopDate(new Date());
    Object.assign(ticket, draft);
    fire({ kind: "ticket-updated", ticket, privateLog: changed.has("private_log"), entered });
  }

  /** An external key: id, OQL or criteria matching exactly one object; 0 clears it. */
  function externalKey(name: string, value: unknown): number {
    if (value === 0 || value === "0") return 0;
    if (value === null || value === undefined || value === "")
      throw new ItopError(`${name}: null is not a valid value for an external key (use 0)`);
    try {
      return findOne(EXTERNAL_KEYS[name]!, value).id;
    } catch (error) {
      if (error instanceof ItopError) throw new ItopError(`${name}: ${error.message}`);
      throw error;
    }
  }

  /** AttributeCaseLog from JSON: add_item appends, a string appends, items replaces the whole log. */
  function caseLog(name: string, log: ItopCaseLog, value: unknown, author: Author): ItopCaseLogEntry[] {
    if (typeof value === "string") return [...log.entries, entry(value, "html", author)];
    if (!isRecord(value)) throw new ItopError(`${name}: Missing 'items' elements`);
    if (isRecord(value.add_item)) return [...log.entries, logItem(name, value.add_item, author)];
    if (Array.isArray(value.items)) {
      return value.items.map((item) => {
        if (!isRecord(item)) throw new ItopError(`${name}: Missing 'message' in an item`);
        return logItem(name, item, author);
      });
    }
    throw new ItopError(`${name}: Missing 'items' elements`);
  }

  function logItem(name: string, item: Data, author: Author): ItopCaseLogEntry {
    if (typeof item.message !== "string") throw new ItopError(`${name}: Missing 'message' in an item`);
    const format = item.format === "text" ? "text" : "html";
    const result = entry(item.message, format, author);
    if (typeof item.date === "string" && item.date) result.date = item.date;
    // A free-text author (user_login with user_id 0); setting another user_id is for administrators.
    if (typeof item.user_login === "string" && item.user_login && Number(item.user_id ?? 0) === 0) {
      result.user_login = item.user_login;
      result.user_id = "0";
    }
    return result;
  }

  function entry(message: string, format: "html" | "text", author: Author): ItopCaseLogEntry {
    const html = format === "html" ? asHtml(message) : escapeHtml(message).replace(/\r?\n/g, "<br/>");
    return {
      date: itopDate(new Date()),
      user_login: author.friendlyName,
      user_id: String(author.id),
      message: format === "html" ? htmlToText(message) : message,
      message_html: html,
    };
  }

  function setBlobFields(
    cls: string,
    draft: Omit<ItopAttachment, "id" | "creation_date" | "user_id">,
    fields: Data,
  ) {
    for (const [name, value] of Object.entries(fields)) {
      if (name === "item_class") draft.item_class = scalar(name, value);
      else if (name === "item_id" || name === "item_org_id") {
        const id = Number(value);
        if (!Number.isInteger(id) || id < 0)
          throw new ItopError(`${name}: Unexpected value '${String(value)}'`);
        draft[name] = id;
      } else if (name === "contents") {
        if (!isRecord(value) || typeof value.data !== "string")
          throw new ItopError("contents: expecting an object {data, filename, mimetype}");
        draft.contents = blob(value);
      } else if (["id", "creation_date", "user_id", "secret"].includes(name)) {
        throw new ItopError(`${name}: Attribute '${name}' is read-only`);
      } else {
        throw new ItopError(`${name}: Unknown attribute ${name} from class ${cls}`);
      }
    }
  }

  // ---- webhooks (the ActionWebhook presets of the two iTops) ----

  type Change =
    | { kind: "ticket-created"; ticket: ItopTicket }
    | { kind: "ticket-updated"; ticket: ItopTicket; privateLog: boolean; entered: string | undefined }
    | { kind: "attachment"; attachment: ItopAttachment };

  function fire(change: Change): void {
    const preset = options.webhooks?.preset;
    if (!preset) return;
    const source = options.webhooks?.source ?? (preset === "external" ? "external" : "elitery");
    if (change.kind === "attachment") {
      const a = change.attachment;
      outbox.push({
        path: "/api/v1/update-attachment",
        payload: {
          event: "attachment.update",
          source,
          attachment_id: String(a.id),
          item_class: a.item_class,
          item_id: String(a.item_id),
        },
      });
      return;
    }
    const t = change.ticket;
    if (preset === "external") {
      if (change.kind === "ticket-created") {
        const view = ticketView(t);
        outbox.push({
          path: "/api/v1/create-ticket",
          payload: {
            event: "ticket.create",
            class: t.finalclass,
            id: String(t.id),
            ref: t.ref,
            title: t.title,
            description: t.description,
            status: t.status,
            caller_id: String(view.caller_name),
            org_id: String(view.org_name),
            team_id: String(view.team_name),
            operator_id: String(view.agent_name),
            priority: t.priority,
          },
        });
      } else {
        outbox.push({ path: "/api/v1/update-ticket", payload: { class: t.finalclass, id: String(t.id) } });
      }
      return;
    }
    if (change.kind !== "ticket-updated") return;
    if (options.webhooks?.ticketUpdate)
      outbox.push({
        path: "/api/v1/update-ticket",
        payload: { class: t.finalclass, id: String(t.id), source },
      });
    if (change.privateLog)
      outbox.push({
        path: "/api/v1/ticket-update-private-log",
        payload: { event: "update private log", id: String(t.id) },
      });
    if (change.entered && WATCHED_STATES.includes(change.entered))
      outbox.push({
        path: "/api/v1/ticket-state-change",
        payload: { event: `ticket ${change.entered}`, id: String(t.id) },
      });
  }

  // ---- helpers ----

  function def(cls: string): ClassDef {
    const found = classes[cls];
    if (!found) throw new ItopError(`class: '${cls}' is not a valid class`);
    return found;
  }

  function classOf(cls: string, obj: Obj): string {
    return cls === "Ticket" || cls === "UserRequest" || cls === "Incident"
      ? (obj as ItopTicket).finalclass
      : cls;
  }

  function readOnly(cls: string): ItopError {
    return new ItopError(`${cls}: writing this class is not modelled by the ${instance} fake`);
  }

  function authorOf(by: string | undefined): Author {
    const login = by ?? "admin";
    const user = users.find((u) => u.login === login);
    return user
      ? { id: user.id, login, friendlyName: user.friendlyName }
      : { id: 0, login, friendlyName: login };
  }

  function stored(id: number): ItopTicket {
    const ticket = tickets.find((t) => t.id === id);
    if (!ticket) throw new Error(`iTop fake (${instance}): no ticket ${id}`);
    return ticket;
  }

  /** Helpers throw what REST would answer with code 100. */
  function agent<T>(work: () => T): T {
    try {
      return work();
    } catch (error) {
      if (error instanceof ItopError) throw new Error(`iTop fake (${instance}): Error: ${error.message}`);
      throw error;
    }
  }

  /**
   * pages/ajax.document.php?operation=download_inlineimage&id=&s=: no login (the secret protects the
   * image). An unknown id or a wrong secret is iTop's error paragraph, HTTP 200 text/html.
   */
  function downloadImage(parsed: URL, res: ServerResponse): void {
    const id = parsed.searchParams.get("id") ?? "";
    const image = images.find((i) => String(i.id) === id);
    const secret = parsed.searchParams.get("s");
    if (parsed.searchParams.get("operation") !== "download_inlineimage" || !id || !secret) {
      res.writeHead(200, { "Content-Type": "text/html;charset=UTF-8" });
      res.end("");
      return;
    }
    if (!image || image.secret !== secret) {
      res.writeHead(200, { "Content-Type": "text/html;charset=UTF-8" });
      res.end(
        image
          ? "<p>Invalid secret for class 'InlineImage' - the object does not exist or you are not allowed to view it</p>\n"
          : `<p>Invalid id (${id}) for class 'InlineImage' - the object does not exist or you are not allowed to view it</p>\n`,
      );
      return;
    }
    res.writeHead(200, {
      "Content-Type": image.contents.mimetype,
      "Content-Disposition": `inline; filename="${image.contents.filename}"`,
    });
    res.end(Buffer.from(image.contents.data, "base64"));
  }

  return {
    url: `${base}/webservices/rest.php`,
    port,
    calls,
    tickets: () => [...tickets],
    ticket: (id) => tickets.find((t) => t.id === id),
    attachments: (itemClass, itemId) =>
      attachments.filter(
        (a) =>
          (itemClass === undefined || a.item_class === itemClass) &&
          (itemId === undefined || a.item_id === itemId),
      ),
    inlineImages: () => [...images],
    agentCreatesTicket: (input) =>
      agent(() => {
        const fields: Data = {
          title: input.title,
          description: input.description,
          org_id: input.org_id,
          caller_id: input.caller_id,
        };
        if (input.impact !== undefined) fields.impact = input.impact;
        if (input.urgency !== undefined) fields.urgency = input.urgency;
        if (input.team_id !== undefined) fields.team_id = input.team_id;
        if (input.agent_id !== undefined) fields.agent_id = input.agent_id;
        return create(input.class ?? "UserRequest", fields, authorOf(input.by)) as ItopTicket;
      }),
    agentUpdatesTicket: (id, fields, by) => agent(() => update("Ticket", stored(id), fields, authorOf(by))),
    agentAddsLog: (id, log, html, by) =>
      agent(() =>
        update(
          "Ticket",
          stored(id),
          { [log]: { add_item: { message: html, format: "html" } } },
          authorOf(by),
        ),
      ),
    agentAppliesStimulus: (id, stimulus, fields = {}, by) =>
      agent(() => applyStimulus("Ticket", stored(id), stimulus, fields, authorOf(by))),
    agentAttaches: (itemClass, itemId, file) =>
      agent(() => {
        const item = tickets.find((t) => t.id === itemId && t.finalclass === itemClass);
        return create(
          "Attachment",
          { item_class: itemClass, item_id: itemId, item_org_id: item?.org_id ?? 0, contents: file },
          authorOf(undefined),
        ) as ItopAttachment;
      }),
    agentUpdatesAttachment: (id, data) =>
      agent(() => {
        const attachment = attachments.find((a) => a.id === id);
        if (!attachment) throw new Error(`iTop fake (${instance}): no attachment ${id}`);
        update("Attachment", attachment, { contents: { ...attachment.contents, data } }, authorOf(undefined));
      }),
    agentDeletesAttachment: (id) => {
      const attachment = attachments.find((a) => a.id === id);
      if (!attachment) throw new Error(`iTop fake (${instance}): no attachment ${id}`);
      remove("Attachment", attachment);
    },
    pasteImage: (itemClass, itemId, image) => {
      const item = tickets.find((t) => t.id === itemId && t.finalclass === itemClass);
      const extension = image.mimetype.split("/")[1] ?? "bin";
      const stored = create(
        "InlineImage",
        {
          item_class: itemClass,
          item_id: itemId,
          item_org_id: item?.org_id ?? 0,
          contents: { data: image.data, mimetype: image.mimetype, filename: `image.${extension}` },
        },
        authorOf(undefined),
      ) as ItopInlineImage;
      // As iTop keeps it in HTML (checked against iTop 3.3-dev): src first, & escaped, then the ids.
      return `<img src="${base}/pages/ajax.document.php?operation=download_inlineimage&amp;id=${stored.id}&amp;s=${stored.secret}" data-img-id="${stored.id}" data-img-secret="${stored.secret}">`;
    },
    takeWebhooks: () => {
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
    setCannotRead: (login, classes) => {
      const user = users.find((u) => u.login === login);
      if (!user) throw new Error(`no iTop user ${login}`);
      user.cannotRead = [...classes];
    },
    reset: () => {
      tickets.length = 0;
      attachments.length = 0;
      images.length = 0;
      calls.length = 0;
      outbox = [];
      plans.clear();
      down = false;
    },
    close: () => server.close(),
    get maxInFlight() {
      return server.maxInFlight;
    },
    resetInFlight: () => server.resetInFlight(),
  };
}

// ---- OQL subset: SELECT Class [AS alias] [WHERE expr] with = != <> > < >= <= LIKE [NOT] IN AND OR ( ) ----

type Expr =
  | { op: "and" | "or"; left: Expr; right: Expr }
  | { op: "cmp"; operator: string; left: Operand; right: Operand }
  | { op: "in"; not: boolean; left: Operand; values: Operand[] };
type Operand = { field: string } | { literal: string | number };
interface Query {
  cls: string;
  alias: string;
  where: Expr | undefined;
}

function parseOql(oql: string): Query {
  const tokens = tokenize(oql);
  let position = 0;
  const fail = (): never => {
    const near = tokens[position]?.text ?? "end of query";
    throw new ItopError(`Syntax error near '${near}' in query: ${oql}`);
  };
  const peek = () => tokens[position];
  const keyword = (word: string) => {
    const token = peek();
    if (token?.type === "word" && token.text.toUpperCase() === word) {
      position += 1;
      return true;
    }
    return false;
  };
  const symbol = (text: string) => {
    const token = peek();
    if (token?.type === "symbol" && token.text === text) {
      position += 1;
      return true;
    }
    return false;
  };
  const word = (): string => {
    const token = peek();
    if (token?.type !== "word") return fail();
    position += 1;
    return token.text;
  };
  const operand = (): Operand => {
    const token = peek();
    if (!token) return fail();
    position += 1;
    if (token.type === "string") return { literal: token.text };
    if (token.type === "number") return { literal: Number(token.text) };
    if (token.type === "word") {
      if (symbol(".")) return { field: `${token.text}.${word()}` };
      return { field: token.text };
    }
    return fail();
  };
  const factor = (): Expr => {
    if (symbol("(")) {
      const inner = disjunction();
      if (!symbol(")")) fail();
      return inner;
    }
    const left = operand();
    const not = keyword("NOT");
    if (keyword("IN")) {
      if (!symbol("(")) fail();
      const values = [operand()];
      while (symbol(",")) values.push(operand());
      if (!symbol(")")) fail();
      return { op: "in", not, left, values };
    }
    if (keyword("LIKE")) return { op: "cmp", operator: not ? "NOT LIKE" : "LIKE", left, right: operand() };
    if (not) fail();
    const token = peek();
    if (token?.type !== "operator") return fail();
    position += 1;
    return { op: "cmp", operator: token.text, left, right: operand() };
  };
  const conjunction = (): Expr => {
    let left = factor();
    while (keyword("AND")) left = { op: "and", left, right: factor() };
    return left;
  };
  const disjunction = (): Expr => {
    let left = conjunction();
    while (keyword("OR")) left = { op: "or", left, right: conjunction() };
    return left;
  };
  if (!keyword("SELECT")) fail();
  const cls = word();
  let alias = cls;
  if (keyword("AS")) alias = word();
  let where: Expr | undefined;
  if (keyword("WHERE")) where = disjunction();
  if (position < tokens.length) fail();
  return { cls, alias, where };
}

function tokenize(
  oql: string,
): { type: "word" | "string" | "number" | "operator" | "symbol"; text: string }[] {
  const tokens: { type: "word" | "string" | "number" | "operator" | "symbol"; text: string }[] = [];
  const pattern =
    /\s+|(?<string>'(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*")|(?<number>-?\d+(?:\.\d+)?)|(?<word>[A-Za-z_][A-Za-z0-9_]*)|(?<operator>!=|<>|>=|<=|=|>|<)|(?<symbol>[(),.])/y;
  let index = 0;
  while (index < oql.length) {
    pattern.lastIndex = index;
    const match = pattern.exec(oql);
    if (!match) throw new ItopError(`Syntax error near '${oql.slice(index, index + 10)}' in query: ${oql}`);
    index = pattern.lastIndex;
    const groups = match.groups ?? {};
    if (groups.string !== undefined)
      tokens.push({ type: "string", text: groups.string.slice(1, -1).replace(/\\(.)/g, "$1") });
    else if (groups.number !== undefined) tokens.push({ type: "number", text: groups.number });
    else if (groups.word !== undefined) tokens.push({ type: "word", text: groups.word });
    else if (groups.operator !== undefined) tokens.push({ type: "operator", text: groups.operator });
    else if (groups.symbol !== undefined) tokens.push({ type: "symbol", text: groups.symbol });
  }
  return tokens;
}

function evaluate(expr: Expr, query: Query, view: Data, oql: string): boolean {
  const value = (operand: Operand): unknown => {
    if ("literal" in operand) return operand.literal;
    const [prefix, name] = operand.field.includes(".")
      ? operand.field.split(".")
      : [query.alias, operand.field];
    if ((prefix !== query.alias && prefix !== query.cls) || name === undefined || !(name in view))
      throw new ItopError(`Unknown attribute '${operand.field}' of class '${query.cls}' in query: ${oql}`);
    return view[name];
  };
  if (expr.op === "and")
    return evaluate(expr.left, query, view, oql) && evaluate(expr.right, query, view, oql);
  if (expr.op === "or")
    return evaluate(expr.left, query, view, oql) || evaluate(expr.right, query, view, oql);
  if (expr.op === "in") {
    const left = value(expr.left);
    const found = expr.values.some((candidate) => compare(left, "=", value(candidate)));
    return expr.not ? !found : found;
  }
  if (expr.op === "cmp") return compare(value(expr.left), expr.operator, value(expr.right));
  return false;
}

/** MySQL-like: numbers compare as numbers, strings case-insensitively (the default collation). */
function compare(left: unknown, operator: string, right: unknown): boolean {
  const a = String(left ?? "");
  const b = String(right ?? "");
  if (operator === "LIKE" || operator === "NOT LIKE") {
    const regex = new RegExp(
      `^${b
        .replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
        .replaceAll("%", ".*")
        .replaceAll("_", ".")}$`,
      "is",
    );
    return regex.test(a) === (operator === "LIKE");
  }
  const numeric = a !== "" && b !== "" && !Number.isNaN(Number(a)) && !Number.isNaN(Number(b));
  const order = numeric
    ? Math.sign(Number(a) - Number(b))
    : a.toLowerCase() < b.toLowerCase()
      ? -1
      : a.toLowerCase() > b.toLowerCase()
        ? 1
        : 0;
  switch (operator) {
    case "=":
      return order === 0;
    case "!=":
    case "<>":
      return order !== 0;
    case ">":
      return order > 0;
    case "<":
      return order < 0;
    case ">=":
      return order >= 0;
    case "<=":
      return order <= 0;
    default:
      return false;
  }
}

// ---- small helpers ----

function envelope(code: number, message: string, objects: Data | null): Reply {
  return { status: 200, code, body: { code, message, objects } };
}

function envelopeBody(code: number, message: string, results: Data[]): Data {
  const objects: Data = {};
  for (const result of results) objects[`${String(result.class)}::${String(result.key)}`] = result;
  return { code, message, objects: results.length > 0 ? objects : null };
}

function blob(value: Data): ItopBlob {
  return {
    data: typeof value.data === "string" ? value.data : "",
    filename: typeof value.filename === "string" ? value.filename : "",
    mimetype: typeof value.mimetype === "string" ? value.mimetype : "application/octet-stream",
    downloads_count: 0,
  };
}

function scalar(name: string, value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  throw new ItopError(`${name}: Unexpected value ${JSON.stringify(value)}`);
}

function filled(value: unknown): boolean {
  return value !== undefined && value !== null && value !== "" && value !== 0;
}

function personName(p: Person): string {
  return [p.first_name, p.name].filter(Boolean).join(" ");
}

function newSecret(): string {
  return randomBytes(16).toString("hex");
}

/** The form fields of a urlencoded body (any other body has none). */
function formFields(raw: string, req: IncomingMessage): URLSearchParams {
  const type = header(req, "content-type") ?? "";
  return type.toLowerCase().includes("application/x-www-form-urlencoded")
    ? new URLSearchParams(raw)
    : new URLSearchParams();
}

function readAll(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", () => resolve(""));
  });
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function escapeHtml(text: string): string {
  return text
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;");
}

/** The text form of an HTML case log entry: block ends become newlines, tags dropped, entities decoded. */
function htmlToText(html: string): string {
  return html
    .replace(/<br\s*\/?>/gi, "\n")
    .replace(/<\/(p|div|li|h\d)>/gi, "\n")
    .replace(/<[^>]*>/g, "")
    .replaceAll("&nbsp;", " ")
    .replaceAll("&lt;", "<")
    .replaceAll("&gt;", ">")
    .replaceAll("&quot;", '"')
    .replaceAll("&#39;", "'")
    .replaceAll("&amp;", "&")
    .trim();
}

function send(res: ServerResponse, reply: Reply): void {
  if (res.destroyed || res.headersSent) return;
  const verbatim = typeof reply.body === "string";
  res.writeHead(reply.status, {
    "Content-Type": verbatim ? "text/html; charset=UTF-8" : "application/json; charset=UTF-8",
    ...reply.headers,
  });
  res.end(verbatim ? reply.body : JSON.stringify(reply.body));
}

/** iTop datetimes: `YYYY-MM-DD HH:MM:SS` in the server time zone (UTC here). */
function itopDate(date: Date): string {
  return date.toISOString().slice(0, 19).replace("T", " ");
}
