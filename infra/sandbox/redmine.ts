import { createHash, randomBytes } from "node:crypto";
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
 * An in-process fake of Redmine 5's REST API for integration tests and the local sandbox, on 127.0.0.1
 * only. It answers in Redmine's wire format, quirks included (summary: /work/shared/systems-api.md §2;
 * each quirk below was checked against Redmine 5.0.4 unless marked "modelled", see
 * docs/fidelity.md, Redmine section):
 * - 201 + `Location: <url>/issues/<id>` (no `.json`) and the issue on create, 204 with neither body nor
 *   Content-Type on update and delete;
 * - Rails' `head` answers (401, 403, 404) are empty but say `Content-Type: application/json`; a route
 *   Rails does not know is a 404 `text/html` page; a body that is not JSON is a 400 `text/html`, empty;
 * - a missing or unknown API key is the anonymous user, not an error: lists answer 200 with the issues
 *   of public projects only (the fake's projects are private unless told otherwise), and what anonymous
 *   may not see or do is a 401 with `WWW-Authenticate: Basic realm="Redmine API"`; with `loginRequired`
 *   ("Authentication required") every route is that 401;
 * - 422 `{"errors":[…]}` in Redmine's order: custom field values, subject, project, tracker, priority,
 *   status, subject length, assignee (an unknown project adds "Tracker cannot be blank" and "Status
 *   cannot be blank"); an unknown priority is an error, while an unknown tracker or status, a status the
 *   workflow does not allow (modelled per user: `allowedStatusIds`) and unknown custom field ids are
 *   dropped silently;
 * - a custom field never given a value is `null`, one given `""` or `null` is `""`; a description never
 *   given is `null`; the subject is kept as sent (not trimmed);
 * - every accepted PUT moves `updated_on`, even one that changes nothing; a journal is written only for
 *   a change or notes; journals have no `updated_on` (Redmine 5.0);
 * - unknown filters, and `cf_N` on a field not "used as a filter", are ignored; open issues only unless
 *   `status_id` says otherwise; a datetime filter is one second wider than asked (`>=T` is "after T-1s"
 *   on stored times that have sub-second precision); `cf_N=` compares case-sensitively (SQLite,
 *   PostgreSQL; MySQL would not).
 * - journals with `private_notes` are shown only to users who may view private notes (option per user,
 *   default yes) and to their author; `include=attachments` lists the issue's files
 *   (AttachmentsHelper#render_api_attachment_attributes; `thumbnail_url` is not modelled: it needs
 *   ImageMagick on the server);
 * - `POST /uploads.json` takes the raw bytes only as `application/octet-stream` (else 406, empty),
 *   answers 201 `{"upload":{"id","token"}}` with token `<id>.<sha256 hex>`, 422 over
 *   `attachmentMaxBytes` (Redmine's default 5 MB); a name-less upload gets 32 random hex digits and,
 *   like a name Redmine::MimeType does not know, a null content_type; `uploads: [{token, filename?,
 *   content_type?, description?}]` on a PUT attaches each upload, one `attachment` detail each in the
 *   journal, and a token unknown or already attached fails the whole update: 422 `["N file(s) could
 *   not be saved."]`; `GET /attachments/download/:id[/:filename]` sends the bytes (`Cache-Control:
 *   private`); its 404 is modelled by status and type only (Redmine renders its full layout there).
 * Modelled: GET/POST /issues.json, GET/PUT/DELETE /issues/:id.json, /projects/:id/issues.json,
 * uploads and downloads, and the lookup lists (statuses, trackers, priorities, projects, current user). It sends no webhooks;
 * personCreates() and personUpdates() return the suer/redmine_webhook payload for the test to deliver
 * (that payload is modelled from the plugin's source, not checked against a running plugin).
 */

export interface RedmineFakeOptions {
  apiKey: string; // the bridge user's key
  port?: number; // default 0 (random)
  /**
   * Default: Deskbridge Bot (id 5, the bridge, with apiKey) and Jane Dev (id 7). `viewPrivateNotes`
   * (default true) is the role's "View private notes" permission.
   */
  users?: { id: number; login: string; name: string; apiKey?: string; viewPrivateNotes?: boolean }[];
  /** Default: "devteam" (1) and "suporte" (2), both private (`is_public` false), as a team's are. */
  projects?: { id: number; identifier: string; name: string; is_public?: boolean }[];
  trackers?: { id: number; name: string }[];
  statuses?: { id: number; name: string; is_closed: boolean }[];
  /** Default: "OTRS" (5), a string used as a filter. */
  customFields?: RedmineCustomField[];
  /** Statuses the bridge user's workflow allows when creating/updating; others are silently dropped. Default: all. */
  allowedStatusIds?: number[];
  /** Administration → Authentication → "Authentication required" (default off, as in a new Redmine). */
  loginRequired?: boolean;
  /** Administration → Files → "Maximum attachment size" (default 5120 KB, as in a new Redmine). */
  attachmentMaxBytes?: number;
}

/** A file uploaded (`POST /uploads.json`, or by a person in the UI); `issue_id` null until attached. */
export interface RedmineAttachment {
  id: number;
  issue_id: number | null;
  filename: string;
  filesize: number;
  content_type: string | null;
  description: string;
  content: Buffer;
  digest: string; // SHA-256 hex of the contents (Redmine 4+)
  author_id: number;
  created_on: string;
}

/** An issue custom field; a value breaking its format is a 422 naming the field. */
export interface RedmineCustomField {
  id: number;
  name: string;
  filterable: boolean; // "Used as a filter": otherwise a `cf_N` filter is ignored
  format?: "string" | "int" | "list"; // default "string"
  regexp?: string; // string: "is invalid" when the value does not match
  minLength?: number; // string: "is too short (minimum is N characters)"
  maxLength?: number; // string: "is too long (maximum is N characters)"
  possibleValues?: string[]; // list: "is not included in the list" otherwise
}

export type RedmineFault = NetworkFault;

/** What a person changes in the UI: fields, a note (private or not), files added with it. */
export interface PersonChange {
  status_id?: number;
  notes?: string;
  private_notes?: boolean;
  custom_fields?: Record<number, string>;
  files?: { filename: string; content_type?: string; content: Buffer | string }[];
  userId?: number;
}

export interface RedmineJournal {
  id: number;
  user: { id: number; name: string };
  notes: string;
  private_notes: boolean;
  created_on: string;
  details: {
    property: "attr" | "cf" | "attachment" | "relation";
    name: string;
    old_value: string | null;
    new_value: string | null;
  }[];
}

export interface RedmineIssue {
  id: number;
  project_id: number;
  tracker_id: number;
  status_id: number;
  priority_id: number;
  author_id: number;
  assigned_to_id?: number;
  subject: string;
  description: string | null; // null when never given
  custom_fields: Record<number, string>; // the fields ever given a value ("" for "" or null); others show null
  created_on: string;
  updated_on: string;
  closed_on: string | null;
  journals: RedmineJournal[];
}

export interface RedmineCall {
  method: string;
  path: string; // e.g. "/issues/3.json"
  query: URLSearchParams;
  status: number; // 0 for reset, hang, drop-response, crash and while down
  headers: Record<string, string | undefined>; // lower-case names, e.g. "x-skip-webhooks"
}

export interface RedmineFake {
  url: string; // e.g. "http://127.0.0.1:43123" (no trailing slash)
  port: number;
  issues: RedmineIssue[]; // in creation order
  attachments: RedmineAttachment[]; // every upload, attached or not
  calls: RedmineCall[]; // every request received, failed and faulted ones included
  count(method: string, path: string | RegExp): number; // calls matching method and path (string = exact)
  /** A person (not the bridge) edits an issue in the UI; returns the webhook plugin's "updated" payload. */
  personUpdates(issueId: number, change: PersonChange): unknown;
  /** A person creates an issue in the UI; returns it and the webhook plugin's "opened" payload. */
  personCreates(issue: {
    project_id: number;
    subject: string;
    description?: string;
    custom_fields?: Record<number, string>;
    status_id?: number;
    userId?: number;
  }): { issue: RedmineIssue; payload: unknown };
  /**
   * The `times` matching requests after the first `options.after` ones (default 0) get the fault (a string
   * body is sent verbatim as text/html).
   */
  failNext(
    times: number,
    fault: RedmineFault,
    match?: { method?: string; path?: string | RegExp },
    options?: FaultPlanOptions,
  ): void;
  /** Seeded random faults for the matching calls no plan takes (undefined: off); reset() turns them off. */
  setChaos(chaos: FaultChaos<RedmineFault, { method?: string; path?: string | RegExp }> | undefined): void;
  /** The faults applied since the last reset(), plans and chaos alike, by kind. */
  faultsInjected(): FaultCounts;
  setDown(down: boolean): void; // while down, every request's socket is destroyed (a crashed server)
  /** Moves the fake's clock (updated_on stamps) forward, for poller tests. */
  advanceClock(seconds: number): void;
  /** Changes the bridge user's workflow (undefined: back to the option's); reset() restores it too. */
  setAllowedStatusIds(ids: number[] | undefined): void;
  /**
   * A user resets their API key (My account → Reset): the old key is unknown from now on, so requests
   * carrying it are the anonymous user's. restoreApiKey() or reset() brings it back.
   */
  revokeApiKey(key: string): void;
  restoreApiKey(key: string): void;
  reset(): void; // forget issues, calls, fault plans, chaos, fault counts, revoked keys and the down flag; ids keep counting
  close(): Promise<void>; // close the server and any hung socket
  /** The most requests in flight at once (each counted until answered or cut), since start or resetInFlight(). */
  readonly maxInFlight: number;
  /** Starts maxInFlight again from the requests in flight now. */
  resetInFlight(): void;
}

type User = { id: number; login: string; name: string; apiKey?: string; viewPrivateNotes?: boolean };
type Detail = RedmineJournal["details"][number];

interface Reply {
  status: number;
  body?: unknown; // undefined: empty body; a Buffer is sent as it is (a download)
  headers?: Record<string, string>;
}
interface Request {
  method: string;
  path: string;
  query: URLSearchParams;
  body: Record<string, unknown>;
  bytes: Buffer; // the raw body (an upload)
  contentType: string; // the media type, without parameters
  user: User | null; // null: the anonymous user (no API key, or one Redmine does not know)
}
interface Filter {
  field: string;
  operator: string;
  values: string[];
}
type FilterType = "status" | "list" | "integer" | "date" | "string";

/** Operators Redmine accepts per filter type (the subset the fake evaluates). */
const OPERATORS: Record<FilterType, string[]> = {
  status: ["o", "=", "!", "c", "*"],
  list: ["=", "!", "!*", "*"],
  integer: ["=", ">=", "<=", "!*", "*"],
  date: ["=", ">=", "<=", "><", "!*", "*"],
  string: ["=", "~", "!", "!~", "^", "$", "!*", "*"],
};
/** Issue-query filters the fake knows, with the label Redmine's errors use; others are ignored. */
const FILTERS: Record<string, { type: FilterType; label: string }> = {
  status_id: { type: "status", label: "Status" },
  project_id: { type: "list", label: "Project" },
  tracker_id: { type: "list", label: "Tracker" },
  priority_id: { type: "list", label: "Priority" },
  author_id: { type: "list", label: "Author" },
  assigned_to_id: { type: "list", label: "Assignee" },
  issue_id: { type: "integer", label: "Issue" },
  subject: { type: "string", label: "Subject" },
  created_on: { type: "date", label: "Created" },
  updated_on: { type: "date", label: "Updated" },
  closed_on: { type: "date", label: "Closed" },
};
/** Query#validate's datetime pattern: no sign before an offset. */
const DATETIME = /^(\d{4}-\d{2}-\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2}))?(?:Z|\d{2}:?\d{2})?)?$/;
const PRIORITIES = [
  { id: 1, name: "Low" },
  { id: 2, name: "Normal" },
  { id: 3, name: "High" },
  { id: 4, name: "Urgent" },
];
const DEFAULT_PRIORITY = 2;
const SUBJECT_TOO_LONG = "Subject is too long (maximum is 255 characters)";
const JSON_TYPE = "application/json; charset=utf-8";
/** Redmine's public/404.html, which Rails serves for a path no route matches. */
const NOT_FOUND_PAGE = `<!DOCTYPE html>
<html>
<head>
  <meta charset="utf-8" />
  <title>Redmine 404 error</title>
  <style>
    body {font-family: "Trebuchet MS", Georgia, "Times New Roman", serif; color: #303030; margin: 10px;}
    h1 {font-size:1.5em;}
    p {font-size:0.8em;}
  </style>
</head>
<body>
  <h1>Page not found</h1>
  <p>The page you were trying to access doesn't exist or has been removed.</p>
  <p><a href="javascript:history.back()">Back</a></p>
</body>
</html>
`;

/** Starts the fake on 127.0.0.1. */
export async function startRedmineFake(options: RedmineFakeOptions): Promise<RedmineFake> {
  const users: User[] = options.users ?? [
    { id: 5, login: "deskbridge", name: "Deskbridge Bot", apiKey: options.apiKey },
    { id: 7, login: "jane", name: "Jane Dev" },
  ];
  const found = users.find((u) => u.apiKey === options.apiKey) ?? users[0];
  if (!found) throw new Error("the Redmine fake needs at least one user");
  const bridge: User = found;
  const projects = options.projects ?? [
    { id: 1, identifier: "devteam", name: "Desenvolvimento" },
    { id: 2, identifier: "suporte", name: "Suporte" },
  ];
  const trackers = options.trackers ?? [
    { id: 1, name: "Monstro" },
    { id: 2, name: "Bug" },
  ];
  const statuses = options.statuses ?? [
    { id: 1, name: "Quest", is_closed: false },
    { id: 2, name: "Batalha", is_closed: false },
    { id: 3, name: "Resultado", is_closed: false },
    { id: 4, name: "Vitória", is_closed: true },
    { id: 5, name: "Rejeitado", is_closed: true },
  ];
  const customFields: RedmineCustomField[] = options.customFields ?? [
    { id: 5, name: "OTRS", filterable: true },
  ];
  const configuredAllowed = options.allowedStatusIds ?? statuses.map((s) => s.id);
  let allowed = configuredAllowed;
  const issues: RedmineIssue[] = [];
  const calls: RedmineCall[] = [];
  const plans = new FaultPlans<RedmineFault, { method?: string; path?: string | RegExp }, RedmineCall>(
    methodAndPath,
  );
  let down = false;
  const revoked = new Set<string>();
  let nextIssueId = 1;
  let nextJournalId = 1;
  let nextAttachmentId = 1;
  const attachments: RedmineAttachment[] = [];
  const maxAttachmentBytes = options.attachmentMaxBytes ?? 5120 * 1024;
  const epoch = Math.floor(Date.now() / 1000) * 1000; // "created_on" of the seeded projects and users
  let offset = 0; // advanceClock()
  let last = 0; // the latest stamp handed out

  const server = await listen(options.port, handle, (res) => send(res, { status: 500 }));
  const port = server.port;
  const url = `http://127.0.0.1:${port}`;

  /** The fake's current time in whole seconds: real time plus advanceClock(), never before the last stamp. */
  function now(): number {
    return Math.max(Math.floor((Date.now() + offset) / 1000) * 1000, last);
  }
  /** A write's stamp: at least one second after the previous one, so updated_on strictly increases. */
  function stamp(): string {
    last = Math.max(now(), last + 1000);
    return iso(last);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const parsed = new URL(req.url ?? "/", "http://127.0.0.1");
    const headers: Record<string, string | undefined> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : value;
    }
    const call: RedmineCall = {
      method: req.method ?? "GET",
      path: parsed.pathname,
      query: parsed.searchParams,
      status: 0,
      headers,
    };
    calls.push(call);
    if (down) return void req.socket.destroy();
    const reply = await plans.serve(req, call, (raw, fault, bytes): Reply => {
      if (fault?.kind === "status")
        return { status: fault.status, body: fault.body, headers: fault.headers ?? {} };
      return answer(call, headers, raw, bytes);
    });
    if (reply) send(res, reply);
  }

  /**
   * Rails routing first (a path no route matches is the 404 page whoever asks), then the body (Rails
   * parses it while the API key is looked up, so malformed JSON is a 400 before anything else), then
   * the user (the anonymous one when the key is missing or unknown), then the action.
   */
  function answer(
    call: RedmineCall,
    headers: Record<string, string | undefined>,
    raw: string,
    bytes: Buffer,
  ): Reply {
    const route = routeOf(call.method, call.path);
    if (!route) return { status: 404, body: NOT_FOUND_PAGE };
    let body: Record<string, unknown> = {};
    // Rails parses the body only when it is declared as JSON; anything else leaves the params empty.
    if (raw.trim() && (headers["content-type"] ?? "").includes("json")) {
      try {
        const parsed: unknown = JSON.parse(raw);
        if (isRecord(parsed)) body = parsed;
      } catch {
        // ActionDispatch's ParseError: an empty text/html 400 (Redmine has no public/400.html).
        return { status: 400, headers: { "Content-Type": "text/html; charset=utf-8" } };
      }
    }
    const user = userOf(apiKeyOf(call.query, headers));
    if (!user && options.loginRequired) return unauthorized();
    const contentType = (headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
    return route({ method: call.method, path: call.path, query: call.query, body, bytes, contentType, user });
  }

  /** `?key=` is checked before the header; Basic auth carries the key as its username. */
  function apiKeyOf(query: URLSearchParams, headers: Record<string, string | undefined>): string | undefined {
    const fromQuery = query.get("key");
    if (fromQuery) return fromQuery;
    const fromHeader = headers["x-redmine-api-key"];
    if (fromHeader) return fromHeader;
    const basic = /^Basic\s+(\S+)/i.exec(headers.authorization ?? "")?.[1];
    if (basic) return Buffer.from(basic, "base64").toString("utf8").split(":")[0] ?? "";
    return undefined;
  }

  /** The key's user; null (anonymous) for no key or an unknown one: Redmine does not refuse either. */
  function userOf(key: string | undefined): User | null {
    if (key === undefined || revoked.has(key)) return null;
    if (key === options.apiKey) return bridge;
    return users.find((u) => u.apiKey !== undefined && u.apiKey === key) ?? null;
  }

  function routeOf(method: string, path: string): ((request: Request) => Reply) | undefined {
    const byMethod = (handlers: Partial<Record<string, (request: Request) => Reply>>) => handlers[method];
    if (path === "/issues.json") return byMethod({ GET: (r) => listIssues(r), POST: createIssue });
    if (path === "/uploads.json") return byMethod({ POST: upload });
    const download = /^\/attachments\/download\/(\d+)(?:\/([^/]+))?$/.exec(path);
    if (download) {
      const [, id = "", name] = download;
      return byMethod({ GET: (r) => downloadAttachment(r, Number(id), name) });
    }
    const issueId = /^\/issues\/(\d+)\.json$/.exec(path)?.[1];
    if (issueId) {
      const id = Number(issueId);
      return byMethod({
        GET: (r) => showIssue(r, id),
        PUT: (r) => updateIssue(r, id),
        PATCH: (r) => updateIssue(r, id), // Rails' `resources` routes both to update
        DELETE: (r) => deleteIssue(r, id),
      });
    }
    const projectRef = /^\/projects\/([^/]+)\/issues\.json$/.exec(path)?.[1];
    if (projectRef) {
      const ref = decodeURIComponent(projectRef);
      return byMethod({
        GET: (r) => listIssues(r, ref),
        // find_optional_project: a project in the path that does not exist is a 404.
        POST: (r) => (findProject(ref) ? createIssue({ ...r, body: withProject(r.body, ref) }) : head(404)),
      });
    }
    const lookups: Record<string, (request: Request) => Reply> = {
      "/issue_statuses.json": () => ok({ issue_statuses: statuses.map(statusView) }),
      "/trackers.json": () => ok({ trackers: trackers.map(trackerView) }),
      "/enumerations/issue_priorities.json": () =>
        ok({
          issue_priorities: PRIORITIES.map((p) => ({
            ...p,
            is_default: p.id === DEFAULT_PRIORITY,
            active: true,
          })),
        }),
      "/projects.json": (r) => {
        const visible = projects.filter((p) => r.user !== null || p.is_public === true);
        return ok({ projects: visible.map(projectView), total_count: visible.length, offset: 0, limit: 25 });
      },
      "/users/current.json": (r) => (r.user ? ok({ user: currentUserView(r.user) }) : unauthorized()),
      // Administrators only (require_admin: the anonymous user is asked to log in first).
      "/custom_fields.json": (r) => (r.user ? head(403) : unauthorized()),
    };
    return method === "GET" ? lookups[path] : undefined;
  }

  function withProject(body: Record<string, unknown>, project: string): Record<string, unknown> {
    const issue = isRecord(body.issue) ? body.issue : {};
    return { ...body, issue: { ...issue, project_id: project } };
  }

  function findProject(ref: unknown): (typeof projects)[number] | undefined {
    if (ref === undefined || ref === null || ref === "") return undefined;
    const text = String(ref);
    return projects.find((p) => (/^\d+$/.test(text) ? p.id === Number(text) : p.identifier === text));
  }

  /** The statuses `user` may set through the API: the bridge's workflow, everything for others, none for anonymous. */
  function allowedFor(user: User | null): number[] {
    if (!user) return [];
    return user === bridge ? allowed : statuses.map((s) => s.id);
  }

  // POST /issues.json (IssuesController#create)
  function createIssue({ body, user }: Request): Reply {
    // The anonymous user may not add issues (the default Anonymous role), whatever the project.
    if (!user) return unauthorized();
    const input = isRecord(body.issue) ? body.issue : {};
    const project = findProject(input.project_id);
    const values = readCustomFields(input.custom_fields);
    // Issue's validations, in the order Redmine declares them (and so lists their messages).
    const errors = project ? customFieldErrors(values) : [];
    const subject = typeof input.subject === "string" ? input.subject : "";
    if (!subject.trim()) errors.push("Subject cannot be blank");
    // Without a project there is no tracker (an unknown tracker falls back to the project's first),
    // and without a tracker no default status.
    if (!project) errors.push("Project cannot be blank", "Tracker cannot be blank");
    const priority =
      input.priority_id == null
        ? DEFAULT_PRIORITY
        : PRIORITIES.find((p) => p.id === Number(input.priority_id))?.id;
    if (priority === undefined) errors.push("Priority cannot be blank");
    if (!project) errors.push("Status cannot be blank");
    if (tooLong(subject)) errors.push(SUBJECT_TOO_LONG);
    const assignee = input.assigned_to_id;
    const assignedTo =
      assignee == null || assignee === "" ? undefined : users.find((u) => u.id === Number(assignee));
    if (project && assignee != null && assignee !== "" && !assignedTo) errors.push("Assignee is invalid");
    if (errors.length > 0 || !project) return invalid(errors);
    const statusIds = allowedFor(user);
    const statusId = statusIds.includes(Number(input.status_id))
      ? Number(input.status_id)
      : (statuses.find((s) => statusIds.includes(s.id)) ?? statuses[0])?.id;
    const issue = addIssue({
      project_id: project.id,
      tracker_id: trackers.some((t) => t.id === Number(input.tracker_id))
        ? Number(input.tracker_id)
        : undefined,
      status_id: statusId,
      priority_id: priority,
      author_id: user.id,
      assigned_to_id: assignedTo?.id,
      subject,
      description: typeof input.description === "string" ? input.description : null,
      custom_fields: values,
    });
    return ok({ issue: issueView(issue, new Set(), user) }, 201, { Location: `${url}/issues/${issue.id}` });
  }

  function addIssue(fields: {
    project_id: number;
    tracker_id?: number | undefined;
    status_id?: number | undefined;
    priority_id?: number | undefined;
    author_id: number;
    assigned_to_id?: number | undefined;
    subject: string;
    description: string | null;
    custom_fields: Record<number, string>;
  }): RedmineIssue {
    const created = stamp();
    const statusId = fields.status_id ?? statuses[0]?.id ?? 1;
    const issue: RedmineIssue = {
      id: nextIssueId++,
      project_id: fields.project_id,
      tracker_id: fields.tracker_id ?? trackers[0]?.id ?? 1,
      status_id: statusId,
      priority_id: fields.priority_id ?? DEFAULT_PRIORITY,
      author_id: fields.author_id,
      subject: fields.subject,
      description: fields.description,
      custom_fields: fields.custom_fields,
      created_on: created,
      updated_on: created,
      closed_on: isClosed(statusId) ? created : null,
      journals: [],
    };
    if (fields.assigned_to_id !== undefined) issue.assigned_to_id = fields.assigned_to_id;
    issues.push(issue);
    return issue;
  }

  /**
   * `[{id, value}]`: matched by id only, unknown ids ignored; a `null` value is stored as "" (kept as
   * sent otherwise, not trimmed); multi-values are not modelled (joined).
   */
  function readCustomFields(value: unknown): Record<number, string> {
    const result: Record<number, string> = {};
    if (!Array.isArray(value)) return result;
    for (const entry of value) {
      if (!isRecord(entry)) continue;
      const field = customFields.find((f) => f.id === Number(entry.id));
      if (!field) continue;
      const raw = entry.value;
      result[field.id] = Array.isArray(raw) ? raw.map(String).join(",") : raw == null ? "" : String(raw);
    }
    return result;
  }

  /** acts_as_customizable's validate_custom_field_values: blank values pass (no field is required). */
  function customFieldErrors(values: Record<number, string>): string[] {
    const errors: string[] = [];
    for (const field of customFields) {
      const value = values[field.id];
      if (value === undefined || value.trim() === "") continue;
      const format = field.format ?? "string";
      if (format === "int" && !/^[+-]?\d+$/.test(value.trim())) errors.push(`${field.name} is not a number`);
      if (format === "list" && !(field.possibleValues ?? []).includes(value))
        errors.push(`${field.name} is not included in the list`);
      if (format !== "string") continue;
      if (field.regexp && !new RegExp(field.regexp).test(value)) errors.push(`${field.name} is invalid`);
      const length = [...value].length;
      if (field.minLength && length < field.minLength)
        errors.push(`${field.name} is too short (minimum is ${field.minLength} characters)`);
      if (field.maxLength && length > field.maxLength)
        errors.push(`${field.name} is too long (maximum is ${field.maxLength} characters)`);
    }
    return errors;
  }

  // PUT /issues/:id.json (IssuesController#update)
  function updateIssue({ body, user }: Request, id: number): Reply {
    const issue = issues.find((i) => i.id === id);
    if (!issue) return head(404);
    if (!user) return unauthorized();
    const input = isRecord(body.issue) ? body.issue : {};
    const details: Detail[] = [];
    const next = { ...issue };
    type Attr = "subject" | "description" | "project_id" | "tracker_id" | "status_id" | "priority_id";
    const set = <K extends Attr>(name: K, value: RedmineIssue[K]) => {
      if (value === issue[name]) return;
      const text = (v: RedmineIssue[K]) => (v === null ? null : String(v));
      details.push({ property: "attr", name, old_value: text(issue[name]), new_value: text(value) });
      next[name] = value;
    };
    const values = readCustomFields(input.custom_fields);
    const errors = customFieldErrors(values);
    if ("subject" in input) {
      const subject = typeof input.subject === "string" ? input.subject : "";
      if (!subject.trim()) errors.push("Subject cannot be blank");
      else if (!tooLong(subject)) set("subject", subject);
    }
    if ("description" in input)
      set("description", typeof input.description === "string" ? input.description : null);
    // An unknown project, tracker or status is dropped silently, as is a status the workflow does not
    // allow: the answer is still 204.
    const project = findProject(input.project_id);
    if (project) set("project_id", project.id);
    const tracker = trackers.find((t) => t.id === Number(input.tracker_id));
    if (tracker) set("tracker_id", tracker.id);
    const statusId = Number(input.status_id);
    if (allowedFor(user).includes(statusId)) set("status_id", statusId);
    if ("priority_id" in input) {
      const priority = PRIORITIES.find((p) => p.id === Number(input.priority_id));
      if (priority) set("priority_id", priority.id);
      else errors.push("Priority cannot be blank");
    }
    if (typeof input.subject === "string" && input.subject.trim() && tooLong(input.subject))
      errors.push(SUBJECT_TOO_LONG);
    if ("assigned_to_id" in input) {
      const raw = input.assigned_to_id;
      const assignee = raw == null || raw === "" ? undefined : users.find((u) => u.id === Number(raw));
      if (raw != null && raw !== "" && !assignee) errors.push("Assignee is invalid");
      else if (assignee?.id !== issue.assigned_to_id) {
        const old = issue.assigned_to_id;
        details.push({
          property: "attr",
          name: "assigned_to_id",
          old_value: old === undefined ? null : String(old),
          new_value: assignee ? String(assignee.id) : null,
        });
        if (assignee) next.assigned_to_id = assignee.id;
        else delete next.assigned_to_id;
      }
    }
    if (errors.length > 0) return invalid(errors);
    const cfDetails = cfChanges(issue, values);
    const notes = typeof input.notes === "string" ? input.notes : "";
    // save_attachments: a token Redmine does not find, or one already attached, fails the whole save.
    const unsaved = unsavedUploads(input.uploads);
    if (unsaved > 0) return invalid([`${unsaved} file(s) could not be saved.`]);
    const attached = attachUploads(issue, input.uploads);
    record(
      issue,
      next,
      [...details, ...cfDetails, ...attached],
      user,
      notes,
      input.private_notes === true || input.private_notes === "1" || input.private_notes === "true",
    );
    return head(204);
  }

  /** The uploads whose token is unknown or already attached (checked against Redmine 5.0.4: a 422). */
  function unsavedUploads(uploads: unknown): number {
    if (!Array.isArray(uploads)) return 0;
    return uploads.filter((entry) => {
      if (!isRecord(entry) || typeof entry.token !== "string") return false;
      return uploadOf(entry.token)?.issue_id !== null;
    }).length;
  }

  function uploadOf(token: string): RedmineAttachment | undefined {
    const [id, digest] = token.split(".");
    return attachments.find((a) => String(a.id) === id && a.digest === digest);
  }

  /**
   * `uploads: [{token, filename?, content_type?, description?}]` (acts_as_attachable#save_attachments):
   * each upload joins the issue, one `attachment` detail each; a non-blank filename or content type
   * replaces the upload's.
   */
  function attachUploads(issue: RedmineIssue, uploads: unknown): Detail[] {
    if (!Array.isArray(uploads)) return [];
    const details: Detail[] = [];
    for (const entry of uploads) {
      if (!isRecord(entry) || typeof entry.token !== "string") continue;
      const found = uploadOf(entry.token);
      if (!found || found.issue_id !== null) continue;
      found.issue_id = issue.id;
      if (typeof entry.filename === "string" && entry.filename.trim()) found.filename = entry.filename;
      if (typeof entry.content_type === "string" && entry.content_type.trim())
        found.content_type = entry.content_type;
      if (typeof entry.description === "string") found.description = entry.description;
      details.push({
        property: "attachment",
        name: String(found.id),
        old_value: null,
        new_value: found.filename,
      });
    }
    return details;
  }

  // POST /uploads.json (AttachmentsController#upload)
  function upload({ query, bytes, contentType, user }: Request): Reply {
    // Not parsed as params: Redmine insists on this type, and answers anything else with an empty 406.
    if (contentType !== "application/octet-stream") return head(406);
    if (!user) return unauthorized();
    if (bytes.length > maxAttachmentBytes) {
      return invalid([
        `This file cannot be uploaded because it exceeds the maximum allowed file size (${humanSize(maxAttachmentBytes)})`,
      ]);
    }
    // Redmine::Utils.random_hex(16): 32 hex digits.
    const filename = query.get("filename")?.trim() || randomBytes(16).toString("hex");
    const attachment = addAttachment(filename, query.get("content_type") ?? "", bytes, user.id);
    return ok({ upload: { id: attachment.id, token: `${attachment.id}.${attachment.digest}` } }, 201);
  }

  function addAttachment(filename: string, contentType: string, content: Buffer, authorId: number) {
    const attachment: RedmineAttachment = {
      id: nextAttachmentId++,
      issue_id: null,
      filename,
      filesize: content.length,
      // Redmine guesses the type from the name when none is given (Redmine::MimeType.of).
      content_type: contentType.trim() || mimeTypeOf(filename),
      description: "",
      content,
      digest: createHash("sha256").update(content).digest("hex"),
      author_id: authorId,
      created_on: stamp(),
    };
    attachments.push(attachment);
    return attachment;
  }

  // GET /attachments/download/:id(/:filename) (AttachmentsController#download)
  function downloadAttachment({ user }: Request, id: number, name: string | undefined): Reply {
    const attachment = attachments.find((a) => a.id === id);
    // find_attachment: a wrong file name in the URL is a 404 too (an HTML page: no API format here).
    if (!attachment || (name !== undefined && decodeURIComponent(name) !== attachment.filename))
      return { status: 404, body: NOT_FOUND_PAGE };
    const issue = issues.find((i) => i.id === attachment.issue_id);
    const visible = issue ? visibleTo(user, issue) : user?.id === attachment.author_id;
    if (!visible) return unauthorized();
    const image = attachment.content_type?.startsWith("image/") === true;
    return {
      status: 200,
      body: attachment.content,
      headers: {
        "Content-Type": attachment.content_type || "application/octet-stream",
        "Content-Disposition": `${image ? "inline" : "attachment"}; filename="${attachment.filename}"`,
        "Cache-Control": "private",
      },
    };
  }

  function cfChanges(issue: RedmineIssue, values: Record<number, string>): Detail[] {
    const details: Detail[] = [];
    for (const [key, value] of Object.entries(values)) {
      const old = issue.custom_fields[Number(key)];
      if ((old ?? "") === value) continue;
      details.push({ property: "cf", name: key, old_value: old ?? null, new_value: value });
    }
    return details;
  }

  /**
   * Saves an edit. Redmine's update starts a journal before anything else, and an issue with a journal
   * always gets a new updated_on (Issue#force_updated_on_change), so every accepted PUT moves it, even
   * one that changes nothing; the journal itself is kept only when something changed or notes were
   * given.
   */
  function record(
    issue: RedmineIssue,
    next: RedmineIssue,
    details: Detail[],
    user: User,
    notes: string,
    privateNotes: boolean,
  ): RedmineJournal | undefined {
    const when = stamp();
    const customFieldValues = { ...issue.custom_fields };
    for (const detail of details) {
      if (detail.property === "cf") customFieldValues[Number(detail.name)] = detail.new_value ?? "";
    }
    const closing = !isClosed(issue.status_id) && isClosed(next.status_id);
    Object.assign(issue, next, { custom_fields: customFieldValues, updated_on: when });
    if (!next.assigned_to_id) delete issue.assigned_to_id;
    if (closing) issue.closed_on = when; // reopening keeps the last closing time, like Redmine
    if (details.length === 0 && !notes.trim()) return undefined;
    const journal: RedmineJournal = {
      id: nextJournalId++,
      user: { id: user.id, name: user.name },
      notes,
      private_notes: privateNotes,
      created_on: when,
      details,
    };
    issue.journals.push(journal);
    return journal;
  }

  function deleteIssue({ user }: Request, id: number): Reply {
    const index = issues.findIndex((i) => i.id === id);
    if (index < 0) return head(404);
    if (!user) return unauthorized();
    issues.splice(index, 1);
    return head(204);
  }

  /** Whether the anonymous user may see this issue: only in a public project. */
  function visibleTo(user: User | null, issue: RedmineIssue): boolean {
    return user !== null || projects.find((p) => p.id === issue.project_id)?.is_public === true;
  }

  // GET /issues/:id.json (show.api.rsb)
  function showIssue({ query, user }: Request, id: number): Reply {
    const issue = issues.find((i) => i.id === id);
    if (!issue) return head(404);
    if (!visibleTo(user, issue)) return unauthorized(); // deny_access: log in first
    const include = new Set((query.get("include") ?? "").split(",").map((s) => s.trim()));
    return ok({ issue: issueView(issue, include, user) });
  }

  function issueView(issue: RedmineIssue, include: Set<string>, user: User | null): Record<string, unknown> {
    const view: Record<string, unknown> = {
      id: issue.id,
      project: named(projects, issue.project_id),
      tracker: named(trackers, issue.tracker_id),
      status: statusView(
        statuses.find((s) => s.id === issue.status_id) ?? { id: issue.status_id, name: "", is_closed: false },
      ),
      priority: named(PRIORITIES, issue.priority_id),
      author: named(users, issue.author_id),
    };
    if (issue.assigned_to_id !== undefined) view.assigned_to = named(users, issue.assigned_to_id);
    Object.assign(view, {
      subject: issue.subject,
      description: issue.description,
      start_date: issue.created_on.slice(0, 10),
      due_date: null,
      done_ratio: 0,
      is_private: false,
      estimated_hours: null,
      total_estimated_hours: null,
      // A field the issue never had a value for has no custom_values row: null.
      custom_fields: customFields.map((f) => ({
        id: f.id,
        name: f.name,
        value: issue.custom_fields[f.id] ?? null,
      })),
      created_on: issue.created_on,
      updated_on: issue.updated_on,
      closed_on: issue.closed_on,
    });
    if (include.has("attachments")) {
      view.attachments = attachments
        .filter((a) => a.issue_id === issue.id)
        .map((a) => ({
          id: a.id,
          filename: a.filename,
          filesize: a.filesize,
          content_type: a.content_type,
          description: a.description,
          content_url: `${url}/attachments/download/${a.id}/${encodeURIComponent(a.filename)}`,
          author: named(users, a.author_id),
          created_on: a.created_on,
        }));
    }
    if (include.has("relations")) view.relations = [];
    if (include.has("journals")) {
      // Journal.visible: private notes only for who may view them, and for their author.
      const mayView = (j: RedmineJournal) =>
        !j.private_notes || (user !== null && (user.viewPrivateNotes !== false || j.user.id === user.id));
      view.journals = issue.journals.filter(mayView).map((j) => ({
        id: j.id,
        user: j.user,
        notes: j.notes,
        created_on: j.created_on, // Redmine 5.0 journals have no updated_on (nor updated_by)
        private_notes: j.private_notes,
        details: j.details.map((d) => ({ ...d })),
      }));
    }
    if (include.has("allowed_statuses")) {
      view.allowed_statuses = statuses.filter((s) => allowedFor(user).includes(s.id)).map(statusView);
    }
    return view;
  }

  // GET /issues.json (index.api.rsb, IssueQuery)
  function listIssues({ query, user }: Request, projectRef?: string): Reply {
    // The project in the route or `project_id` scopes the query (find_optional_project): unknown is a 404.
    const scopeRef = projectRef ?? query.get("project_id") ?? undefined;
    const scope = scopeRef === undefined || scopeRef === "" ? undefined : findProject(scopeRef);
    if (scopeRef && !scope) return head(404);
    // The anonymous user may list a public project, or every public project's issues: never a 401.
    if (scope && !user && scope.is_public !== true) return unauthorized();
    let filters: Filter[];
    try {
      filters = readFilters(query);
    } catch (error) {
      if (error instanceof QueryError) return invalid([error.message]);
      throw error;
    }
    const found = issues
      .filter((issue) => !scope || issue.project_id === scope.id)
      .filter((issue) => visibleTo(user, issue))
      .filter((issue) => filters.every((filter) => matches(issue, filter, user)))
      .sort(sorter(query.get("sort")));
    const [start, limit] = offsetAndLimit(query);
    const page = found.slice(start, start + limit).map((issue) => issueView(issue, new Set(), user));
    return ok({ issues: page, total_count: found.length, offset: start, limit });
  }

  /** Query#build_from_params: the long form (`f[]`) when present, else the short form of every known filter. */
  function readFilters(query: URLSearchParams): Filter[] {
    const filters = new Map<string, Filter>();
    const fields = query.getAll("f[]");
    if (fields.length > 0) {
      for (const field of fields) {
        const type = filterType(field);
        const operator = query.get(`op[${field}]`);
        // An unknown field or an operator the field's type does not have is dropped silently.
        if (!type || operator === null || !OPERATORS[type].includes(operator)) continue;
        filters.set(field, { field, operator, values: query.getAll(`v[${field}][]`) });
      }
    } else {
      for (const [field, expression] of query) {
        const type = filterType(field);
        if (!type || field === "project_id") continue; // project_id is the route's scope
        // Query#add_short_filter: the operators, longest-looking first, else `=` with `|`-separated values.
        const operator = [...OPERATORS[type]]
          .sort()
          .reverse()
          .find((op) => expression.startsWith(op));
        const rest = operator === undefined ? expression : expression.slice(operator.length);
        const values =
          operator === undefined ? expression.split("|").filter(Boolean) : rest ? rest.split("|") : [""];
        filters.set(field, { field, operator: operator ?? "=", values });
      }
    }
    // IssueQuery's default filter: open issues only, unless the request filters on the status itself.
    if (!filters.has("status_id"))
      filters.set("status_id", { field: "status_id", operator: "o", values: [""] });
    for (const filter of filters.values()) validate(filter);
    return [...filters.values()];
  }

  function filterType(field: string): FilterType | undefined {
    const cf = /^cf_(\d+)$/.exec(field)?.[1];
    // A custom field that is not "Used as a filter" is no filter at all, so it is ignored.
    if (cf) return customFields.some((f) => f.id === Number(cf) && f.filterable) ? "string" : undefined;
    return FILTERS[field]?.type;
  }

  function label(field: string): string {
    const cf = /^cf_(\d+)$/.exec(field)?.[1];
    return cf
      ? (customFields.find((f) => f.id === Number(cf))?.name ?? field)
      : (FILTERS[field]?.label ?? field);
  }

  /** Query#validate_query_filters. */
  function validate({ field, operator, values }: Filter): void {
    if (["o", "c", "*", "!*"].includes(operator)) return;
    const present = values.filter((v) => v.trim() !== "");
    if (present.length === 0) throw new QueryError(`${label(field)} cannot be blank`);
    const type = filterType(field);
    const invalid = () => new QueryError(`${label(field)} is invalid`);
    if (type === "date") {
      if (present.some((v) => !DATETIME.test(v))) throw invalid();
      if (operator === "><" && present.length < 2) throw invalid();
    }
    if (type === "integer" && present.some((v) => !/^\d+(,\d+)*$/.test(v.replace(/\s/g, ""))))
      throw invalid();
    if (type === "status" && present.some((v) => !/^\d+$/.test(v))) throw invalid();
  }

  function matches(issue: RedmineIssue, { field, operator, values }: Filter, user: User | null): boolean {
    const type = filterType(field);
    const cf = /^cf_(\d+)$/.exec(field)?.[1];
    const cell: string | number | null | undefined = cf
      ? issue.custom_fields[Number(cf)] || null
      : field === "issue_id"
        ? issue.id
        : (issue[field as keyof RedmineIssue] as string | number | null | undefined);
    const present = cell !== null && cell !== undefined && cell !== "";
    if (operator === "*") return present;
    if (operator === "!*") return !present;
    if (operator === "o") return !isClosed(issue.status_id);
    if (operator === "c") return isClosed(issue.status_id);
    if (type === "date") return matchesDate(String(cell ?? ""), operator, values);
    const wanted = values.flatMap((v) => (type === "integer" ? v.split(",") : [v])).map((v) => v.trim());
    const ids = wanted.map((v) => (v === "me" ? String(user?.id ?? 0) : v));
    const text = present ? String(cell).toLowerCase() : "";
    // `=` and `!` are SQL IN / NOT IN: case-sensitive on SQLite and PostgreSQL (not on MySQL); the
    // "contains" operators are LIKE / ILIKE, case-insensitive everywhere.
    const exact = present ? String(cell) : "";
    switch (operator) {
      case "=":
        return type === "string" ? present && wanted.includes(exact) : present && ids.includes(exact);
      case "!":
        return type === "string" ? !wanted.includes(exact) : !ids.includes(exact);
      case ">=":
        return present && Number(cell) >= Number(wanted[0]);
      case "<=":
        return present && Number(cell) <= Number(wanted[0]);
      case "~":
        return wanted.every((v) => text.includes(v.toLowerCase()));
      case "!~":
        return !wanted.some((v) => text.includes(v.toLowerCase()));
      case "^":
        return present && text.startsWith((wanted[0] ?? "").toLowerCase());
      case "$":
        return present && text.endsWith((wanted[0] ?? "").toLowerCase());
      default:
        return true;
    }
  }

  /**
   * Query#date_clause: `from` is exclusive and `to` inclusive; a date-only value covers its whole (UTC)
   * day, and a datetime `from` is moved one second back (`> T - 1s`). Redmine stores times with
   * sub-second precision and shows them to the second, so `updated_on>=T` also returns what was saved
   * during the second before T: the fake, whose stamps are whole seconds, takes each as that second
   * plus half a second.
   */
  function matchesDate(cell: string, operator: string, values: string[]): boolean {
    if (!cell) return false;
    const at = Date.parse(cell) + 500;
    const bounds = (value: string | undefined): [number, number] => {
      const match = DATETIME.exec(value ?? "");
      if (!match) return [Number.NaN, Number.NaN];
      const [, day, hh, mm, ss] = match;
      if (hh === undefined) return [Date.parse(`${day}T00:00:00Z`) - 1, Date.parse(`${day}T23:59:59.999Z`)];
      const point = Date.parse(`${day}T${hh}:${mm}:${ss ?? "00"}Z`);
      return [point - 1000, point];
    };
    const [from, to] = bounds(values[0]);
    if (operator === ">=") return at > from;
    if (operator === "<=") return at <= to;
    if (operator === "=") return at > from && at <= to;
    if (operator === "><") return at > from && at <= bounds(values[1])[1];
    return true;
  }

  /** `sort=updated_on:asc,id`: up to three known keys, `asc` unless `:desc`; the default is `id:desc`. */
  function sorter(param: string | null): (a: RedmineIssue, b: RedmineIssue) => number {
    const keys: Record<string, (issue: RedmineIssue) => number | string> = {
      id: (i) => i.id,
      updated_on: (i) => i.updated_on,
      created_on: (i) => i.created_on,
      subject: (i) => i.subject.toLowerCase(),
      status: (i) => statuses.findIndex((s) => s.id === i.status_id),
      priority: (i) => i.priority_id,
      tracker: (i) => trackers.findIndex((t) => t.id === i.tracker_id),
      project: (i) => named(projects, i.project_id).name,
    };
    const criteria = (param ?? "")
      .split(",")
      .map((part) => part.trim().split(":"))
      .filter(([key]) => key !== undefined && key in keys)
      .slice(0, 3)
      .map(([key, dir]) => ({ key: keys[key!]!, sign: dir?.toLowerCase() === "desc" ? -1 : 1 }));
    if (criteria.length === 0) criteria.push({ key: keys.id!, sign: -1 });
    return (a, b) => {
      for (const { key, sign } of [...criteria, { key: keys.id!, sign: 1 }]) {
        const [x, y] = [key(a), key(b)];
        if (x < y) return -sign;
        if (x > y) return sign;
      }
      return 0;
    };
  }

  /** ApplicationController#api_offset_and_limit. */
  function offsetAndLimit(query: URLSearchParams): [number, number] {
    const toInt = (value: string | null) => Number.parseInt(value ?? "", 10) || 0;
    let limit = toInt(query.get("limit"));
    if (limit < 1) limit = 25;
    else if (limit > 100) limit = 100;
    let start: number;
    if (query.get("offset")) start = Math.max(0, toInt(query.get("offset")));
    else if (query.get("page")) start = Math.max(0, (toInt(query.get("page")) - 1) * limit);
    else start = 0;
    return [start, limit];
  }

  function isClosed(statusId: number): boolean {
    return statuses.find((s) => s.id === statusId)?.is_closed ?? false;
  }

  function named(list: { id: number; name: string }[], id: number): { id: number; name: string } {
    const found = list.find((item) => item.id === id);
    return { id, name: found?.name ?? "" };
  }

  function statusView(s: { id: number; name: string; is_closed: boolean }) {
    return { id: s.id, name: s.name, is_closed: s.is_closed };
  }

  function trackerView(t: { id: number; name: string }) {
    const first = statuses[0];
    return {
      id: t.id,
      name: t.name,
      default_status: first ? { id: first.id, name: first.name } : null,
      description: null,
      enabled_standard_fields: [
        "assigned_to_id",
        "category_id",
        "fixed_version_id",
        "parent_issue_id",
        "start_date",
        "due_date",
        "estimated_hours",
        "done_ratio",
        "description",
      ],
    };
  }

  function projectView(p: { id: number; identifier: string; name: string; is_public?: boolean }) {
    const created = iso(epoch);
    return {
      id: p.id,
      name: p.name,
      identifier: p.identifier,
      description: null,
      status: 1,
      is_public: p.is_public === true,
      inherit_members: false,
      created_on: created,
      updated_on: created,
    };
  }

  function currentUserView(user: User) {
    const [firstname, lastname] = splitName(user.name);
    return {
      id: user.id,
      login: user.login,
      admin: false,
      firstname,
      lastname,
      mail: mailOf(user),
      created_on: iso(epoch),
      updated_on: iso(epoch),
      last_login_on: null,
      passwd_changed_on: null,
      twofa_scheme: null,
      api_key: user.apiKey ?? null,
      status: 1,
    };
  }

  // suer/redmine_webhook payloads (lib/redmine_webhook/*_wrapper.rb); Rails encodes times with milliseconds.
  function pluginUser(id: number | undefined) {
    const user = users.find((u) => u.id === id);
    if (!user) return null;
    const [firstname, lastname] = splitName(user.name);
    const mail = mailOf(user);
    return {
      id: user.id,
      login: user.login,
      mail,
      firstname,
      lastname,
      identity_url: null,
      icon_url: `https://www.gravatar.com/avatar/${createHash("md5").update(mail).digest("hex")}?rating=PG&size=50&default=`,
    };
  }

  function pluginIssue(issue: RedmineIssue) {
    const project = projects.find((p) => p.id === issue.project_id);
    return {
      id: issue.id,
      subject: issue.subject,
      description: issue.description,
      created_on: railsTime(issue.created_on),
      updated_on: railsTime(issue.updated_on),
      closed_on: issue.closed_on === null ? null : railsTime(issue.closed_on),
      root_id: issue.id,
      parent_id: null,
      done_ratio: 0,
      start_date: issue.created_on.slice(0, 10),
      due_date: null,
      estimated_hours: null,
      is_private: false,
      lock_version: issue.journals.length,
      custom_field_values: customFields.map((f) => ({
        custom_field_id: f.id,
        custom_field_name: f.name,
        value: issue.custom_fields[f.id] ?? null,
      })),
      project: {
        id: issue.project_id,
        identifier: project?.identifier ?? "",
        name: project?.name ?? "",
        description: "",
        created_on: railsTime(iso(epoch)),
        homepage: "",
      },
      status: named(statuses, issue.status_id),
      tracker: named(trackers, issue.tracker_id),
      priority: named(PRIORITIES, issue.priority_id),
      author: pluginUser(issue.author_id),
      assignee: pluginUser(issue.assigned_to_id),
      watchers: [],
    };
  }

  function personOf(userId: number | undefined): User {
    const user =
      userId === undefined ? (users.find((u) => u !== bridge) ?? bridge) : users.find((u) => u.id === userId);
    if (!user) throw new Error(`the Redmine fake has no user ${userId}`);
    return user;
  }

  function personUpdates(issueId: number, change: PersonChange): unknown {
    const issue = issues.find((i) => i.id === issueId);
    if (!issue) throw new Error(`the Redmine fake has no issue ${issueId}`);
    const user = personOf(change.userId);
    const next = { ...issue };
    const details: Detail[] = [];
    if (change.status_id !== undefined && change.status_id !== issue.status_id) {
      if (!statuses.some((s) => s.id === change.status_id))
        throw new Error(`unknown status ${change.status_id}`);
      details.push({
        property: "attr",
        name: "status_id",
        old_value: String(issue.status_id),
        new_value: String(change.status_id),
      });
      next.status_id = change.status_id;
    }
    const values: Record<number, string> = {};
    for (const [key, value] of Object.entries(change.custom_fields ?? {})) {
      if (customFields.some((f) => f.id === Number(key))) values[Number(key)] = value;
    }
    details.push(...cfChanges(issue, values));
    for (const file of change.files ?? []) {
      const content = typeof file.content === "string" ? Buffer.from(file.content) : file.content;
      const attachment = addAttachment(file.filename, file.content_type ?? "", content, user.id);
      attachment.issue_id = issue.id;
      details.push({
        property: "attachment",
        name: String(attachment.id),
        old_value: null,
        new_value: file.filename,
      });
    }
    const journal = record(issue, next, details, user, change.notes ?? "", change.private_notes === true);
    const payload: Record<string, unknown> = {
      action: "updated",
      url: `${url}/issues/${issue.id}`,
      issue: pluginIssue(issue),
    };
    if (journal) {
      payload.journal = {
        id: journal.id,
        notes: journal.notes,
        created_on: railsTime(journal.created_on),
        private_notes: journal.private_notes,
        author: pluginUser(user.id),
        details: journal.details.map((d, index) => ({
          id: journal.id * 100 + index,
          property: d.property,
          prop_key: d.name,
          old_value: d.old_value,
          value: d.new_value,
        })),
      };
    }
    return { payload };
  }

  function personCreates(input: {
    project_id: number;
    subject: string;
    description?: string;
    custom_fields?: Record<number, string>;
    status_id?: number;
    userId?: number;
  }): { issue: RedmineIssue; payload: unknown } {
    if (!projects.some((p) => p.id === input.project_id))
      throw new Error(`unknown project ${input.project_id}`);
    const user = personOf(input.userId);
    const values: Record<number, string> = {};
    for (const [key, value] of Object.entries(input.custom_fields ?? {})) {
      if (customFields.some((f) => f.id === Number(key))) values[Number(key)] = value;
    }
    const issue = addIssue({
      project_id: input.project_id,
      status_id: statuses.some((s) => s.id === input.status_id) ? input.status_id : undefined,
      author_id: user.id,
      subject: input.subject,
      description: input.description ?? null,
      custom_fields: values,
    });
    const payload = {
      payload: { action: "opened", url: `${url}/issues/${issue.id}`, issue: pluginIssue(issue) },
    };
    return { issue, payload };
  }

  return {
    url,
    port,
    issues,
    attachments,
    calls,
    count: (method, path) =>
      calls.filter(
        (c) => c.method === method && (typeof path === "string" ? c.path === path : path.test(c.path)),
      ).length,
    personUpdates,
    personCreates,
    failNext: (times, fault, match = {}, options = {}) => plans.add(times, fault, match, options),
    setChaos: (chaos) => plans.setChaos(chaos),
    faultsInjected: () => plans.injected(),
    setDown: (value) => {
      down = value;
    },
    advanceClock: (seconds) => {
      // From the fake's current time, which writes may have pushed ahead of real time.
      offset = now() + seconds * 1000 - Date.now();
    },
    setAllowedStatusIds: (ids) => {
      allowed = ids ?? configuredAllowed;
    },
    revokeApiKey: (key) => {
      revoked.add(key);
    },
    restoreApiKey: (key) => {
      revoked.delete(key);
    },
    reset: () => {
      // Issue and journal ids keep counting, and the clock keeps its time: Redmine never reuses either.
      allowed = configuredAllowed;
      revoked.clear();
      issues.length = 0;
      attachments.length = 0;
      calls.length = 0;
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

/** An invalid query filter, answered 422 `{"errors":[message]}`. */
class QueryError extends Error {}

/** A rendered answer (200, 201): Rails' default Cache-Control for a fresh response. */
function ok(body: unknown, status = 200, headers: Record<string, string> = {}): Reply {
  return { status, body, headers: { "Cache-Control": "max-age=0, private, must-revalidate", ...headers } };
}

/** render_validation_errors: 422 `{"errors": […]}`. */
function invalid(errors: string[]): Reply {
  return { status: 422, body: { errors }, headers: { "Cache-Control": "no-cache" } };
}

/** Rails' `head` on a `.json` route: no body, yet the format's Content-Type (none on a 204). */
function head(status: number, headers: Record<string, string> = {}): Reply {
  const type: Record<string, string> = status === 204 ? {} : { "Content-Type": "application/json" };
  return { status, headers: { ...type, "Cache-Control": "no-cache", ...headers } };
}

/** require_login for an API request: the same for no key and for a key Redmine does not know. */
function unauthorized(): Reply {
  return head(401, { "WWW-Authenticate": 'Basic realm="Redmine API"' });
}

/** number_to_human_size as Redmine's error shows it: "5 MB", "500 KB". */
function humanSize(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${Number((bytes / 1024 / 1024).toFixed(1))} MB`;
  if (bytes >= 1024) return `${Number((bytes / 1024).toFixed(1))} KB`;
  return `${bytes} Bytes`;
}

/** Redmine::MimeType.of for the common cases; null when the extension is unknown. */
function mimeTypeOf(filename: string): string | null {
  const extension = /\.([^.]+)$/.exec(filename)?.[1]?.toLowerCase() ?? "";
  const types: Record<string, string> = {
    txt: "text/plain",
    log: "text/plain",
    csv: "text/csv",
    png: "image/png",
    jpg: "image/jpeg",
    jpeg: "image/jpeg",
    gif: "image/gif",
    pdf: "application/pdf",
    zip: "application/zip",
    json: "application/json",
    xml: "application/xml",
  };
  return types[extension] ?? null;
}

/** Ruby counts characters (code points), not UTF-16 units. */
function tooLong(subject: string): boolean {
  return [...subject].length > 255;
}

/** Redmine API timestamps: ISO-8601 UTC without milliseconds. */
function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** ActiveSupport's JSON encoding of a time (the webhook plugin's payload): milliseconds included. */
function railsTime(value: string): string {
  return new Date(value).toISOString();
}

function splitName(name: string): [string, string] {
  const space = name.indexOf(" ");
  return space < 0 ? [name, ""] : [name.slice(0, space), name.slice(space + 1)];
}

function mailOf(user: { login: string }): string {
  return `${user.login}@example.com`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * An undefined body is sent empty, with only the reply's headers; a string body verbatim as text/html
 * (a page: Redmine's 404, a proxy's); anything else as JSON.
 */
function send(res: ServerResponse, reply: Reply): void {
  if (res.destroyed || res.headersSent) return;
  const headers: Record<string, string> = {};
  let payload: string | Buffer = "";
  if (Buffer.isBuffer(reply.body)) {
    payload = reply.body;
  } else if (typeof reply.body === "string") {
    headers["Content-Type"] = "text/html; charset=utf-8";
    payload = reply.body;
  } else if (reply.body !== undefined) {
    headers["Content-Type"] = JSON_TYPE;
    payload = JSON.stringify(reply.body);
  }
  res.writeHead(reply.status, { ...headers, ...reply.headers });
  res.end(reply.status === 204 ? undefined : payload);
}
