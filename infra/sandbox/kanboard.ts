import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { Readable } from "node:stream";
import {
  type AnswerFault,
  type FaultChaos,
  type FaultCounts,
  type FaultPlanOptions,
  FaultPlans,
  listen,
  type NetworkFault,
  readBody,
} from "./faults.ts";

/**
 * An in-process fake of Kanboard's JSON-RPC API (`POST /jsonrpc.php`) for integration tests and the local
 * sandbox, on 127.0.0.1 only (summary: /work/shared/systems-api.md §7.2). It follows Kanboard's own code
 * (libs/jsonrpc, app/Api, app/Model on SQLite): HTTP Basic with user "jsonrpc" + the API token or a
 * user's password; 401/403 as one error object with a null id; protocol errors -32700/-32600/-32601/
 * -32602; batches; params by name or by position; procedure failures as HTTP 200 with `false` or `null`;
 * task rows with every column, `url` and `color`. It sends no webhooks (Kanboard has no task.remove
 * event; a bridge polls). Procedures Kanboard has but the fake does not model answer HTTP 500 with a
 * text body saying so, so a test never mistakes a gap in the fake for Kanboard's behaviour.
 */

/** Kanboard's application roles (app/Core/Security/Role.php). */
export type KanboardRole = "app-admin" | "app-manager" | "app-user";

/** How the fake starts. */
export interface KanboardFakeOptions {
  port?: number; // default 0 (random); 127.0.0.1 only
  apiToken: string; // Application API token (user "jsonrpc")
  /** Default: admin (id 1, password "admin", app-admin, like a fresh install). Others default to app-user. */
  users?: {
    id: number;
    username: string;
    name: string;
    password?: string;
    role?: KanboardRole;
    email?: string;
    /** A personal access token, accepted instead of the password (app/Auth/ApiAccessTokenAuth.php). */
    apiAccessToken?: string;
    active?: boolean; // default true; inactive users can neither log in nor be assigned
  }[];
  /** Projects with their columns (titles, in order) and swimlanes (default one "Default swimlane"); members = user ids assignable (default: all users). */
  projects?: {
    id: number;
    name: string;
    columns: string[];
    swimlanes?: string[];
    members?: number[];
    identifier?: string;
    description?: string;
  }[];
  /**
   * How row values are typed. "strings" (default): every value a string, as PHP < 8.1 returns them
   * (Kanboard's documentation shows this). "native": PHP >= 8.1 with pdo_sqlite/pdo_mysql, which returns
   * INTEGER columns as numbers; current Kanboard (composer.json: php >= 8.1) answers like this.
   */
  valueTypes?: "strings" | "native";
  /** Kanboard's "Application URL" setting; the base of `url` in task and project rows. Default: Kanboard's fallback. */
  applicationUrl?: string; // default "http://localhost/" (app/Helper/UrlHelper.php::base)
  /** API_AUTHENTICATION_HEADER: a header carrying base64("user:password") instead of Authorization. */
  authenticationHeader?: string;
  version?: string; // answered by getVersion; default "1.2.53"
  /** The clock in milliseconds (default Date.now); advanceClock() moves it forward. */
  now?: () => number;
}

/** A task as the fake stores it (numbers as numbers; the wire format is a row of strings). */
export interface KanboardTask {
  id: number;
  project_id: number;
  column_id: number;
  swimlane_id: number;
  title: string;
  description: string;
  owner_id: number;
  creator_id: number;
  priority: number;
  reference: string;
  is_active: 0 | 1;
  position: number;
  color_id: string;
  date_creation: number;
  date_modification: number;
  date_moved: number;
  date_completed: number | null;
  date_due: number;
  date_started: number;
  score: number;
  category_id: number;
  tags: string[];
}

/** One procedure call the fake received. */
export interface KanboardCall {
  method: string; // JSON-RPC method ("createTask"); "(invalid)" for a request without one; "(batch)" for an empty batch `[]`
  params: unknown;
  httpStatus: number; // 0 when the socket was reset/hung/dropped or while down
  user?: string; // the Basic (or authentication header) username
  result?: unknown;
  error?: { code: number; message: string };
}

/** What failNext can do to a procedure call. */
export type KanboardFault =
  | NetworkFault
  | { kind: "rpc-error"; code: number; message: string }
  | { kind: "result"; value: false | null };

/** The running fake. */
export interface KanboardFake {
  url: string; // "http://127.0.0.1:<port>/jsonrpc.php"
  port: number;
  calls: KanboardCall[]; // one per procedure call (a batch adds one per inner call)
  count(method: string): number; // calls of that procedure that were answered
  tasks(projectId?: number): KanboardTask[]; // active and closed
  task(id: number): KanboardTask | undefined;
  columns(projectId: number): { id: number; title: string; position: number }[];
  columnTitle(taskId: number): string | undefined;
  /** What people do on the board in the browser (no HTTP, not in calls). */
  personMovesTask(taskId: number, columnTitle: string): void;
  personRemovesTask(taskId: number): void;
  personCreatesTask(input: {
    projectId: number;
    title: string;
    columnTitle?: string;
    reference?: string;
    userId?: number; // the creator; default the first user
  }): KanboardTask;
  /** A person closes the task (task view → Close this task). */
  personClosesTask(taskId: number): void;
  /** Per procedure call: the `times` matching calls after the first `options.after` ones get the fault. */
  failNext(
    times: number,
    fault: KanboardFault,
    match?: { method?: string },
    options?: FaultPlanOptions,
  ): void;
  /** Seeded random faults for the matching calls no plan takes (undefined: off); reset() turns them off. */
  setChaos(chaos: FaultChaos<KanboardFault, { method?: string }> | undefined): void;
  /** The faults applied since the last reset(), plans and chaos alike, by kind. */
  faultsInjected(): FaultCounts;
  setDown(down: boolean): void; // every request's socket destroyed while down
  /** Moves the fake's clock forward (date_* stamps, lockouts, search dates), for poller tests. */
  advanceClock(seconds: number): void;
  reset(): void; // forget tasks, calls, plans, chaos, fault counts, down, failed logins; ids keep counting; projects/columns/users stay
  close(): Promise<void>;
  /** The most requests in flight at once (each counted until answered or cut), since start or resetInFlight(). */
  readonly maxInFlight: number;
  /** Starts maxInFlight again from the requests in flight now. */
  resetInFlight(): void;
}

// ---- Storage: rows as SQLite stores them ----

/** A stored SQLite value: INTEGER columns keep text they cannot convert, like SQLite's type affinity. */
type Cell = number | string | null;
type ColumnType = "int" | "text";

// app/Schema/Sqlite.php: the tasks table as version_125 rebuilt it, in column order (SELECT * order).
const TASK_COLUMNS = [
  ["id", "int"],
  ["title", "text"],
  ["description", "text"],
  ["date_creation", "int"],
  ["color_id", "text"],
  ["project_id", "int"],
  ["column_id", "int"],
  ["owner_id", "int"],
  ["position", "int"],
  ["is_active", "int"],
  ["date_completed", "int"],
  ["score", "int"],
  ["date_due", "int"],
  ["category_id", "int"],
  ["creator_id", "int"],
  ["date_modification", "int"],
  ["reference", "text"],
  ["date_started", "int"],
  ["time_spent", "int"], // NUMERIC: numbers either way
  ["time_estimated", "int"],
  ["swimlane_id", "int"],
  ["date_moved", "int"],
  ["recurrence_status", "int"],
  ["recurrence_trigger", "int"],
  ["recurrence_factor", "int"],
  ["recurrence_timeframe", "int"],
  ["recurrence_basedate", "int"],
  ["recurrence_parent", "int"],
  ["recurrence_child", "int"],
  ["priority", "int"],
  ["external_provider", "text"],
  ["external_uri", "text"],
] as const satisfies readonly (readonly [string, ColumnType])[];

type TaskColumn = (typeof TASK_COLUMNS)[number][0];
type TaskRow = Record<TaskColumn, Cell> & { id: number; tags: string[] }; // an INTEGER PRIMARY KEY is a number

/** Writes one column of a row (TaskRow's id is narrower than the other cells). */
function setCell(row: TaskRow, name: TaskColumn, value: Cell): void {
  (row as unknown as Record<string, Cell>)[name] = value;
}

const COLUMN_COLUMNS: [string, ColumnType][] = [
  ["id", "int"],
  ["title", "text"],
  ["position", "int"],
  ["project_id", "int"],
  ["task_limit", "int"],
  ["description", "text"],
  ["hide_in_dashboard", "int"],
];
const SWIMLANE_COLUMNS: [string, ColumnType][] = [
  ["id", "int"],
  ["name", "text"],
  ["position", "int"],
  ["is_active", "int"],
  ["project_id", "int"],
  ["description", "text"],
  ["task_limit", "int"],
];
const PROJECT_COLUMNS: [string, ColumnType][] = [
  ["id", "int"],
  ["name", "text"],
  ["is_active", "int"],
  ["token", "text"],
  ["last_modified", "int"],
  ["is_public", "int"],
  ["is_private", "int"],
  ["is_everybody_allowed", "int"],
  ["default_swimlane", "text"],
  ["show_default_swimlane", "int"],
  ["description", "text"],
  ["identifier", "text"],
  ["start_date", "text"],
  ["end_date", "text"],
  ["owner_id", "int"],
  ["priority_default", "int"],
  ["priority_start", "int"],
  ["priority_end", "int"],
  ["email", "text"],
  ["predefined_email_subjects", "text"],
  ["per_swimlane_task_limits", "int"],
  ["task_limit", "int"],
  ["enable_global_tags", "int"],
];
const USER_COLUMNS: [string, ColumnType][] = [
  ["id", "int"],
  ["username", "text"],
  ["password", "text"],
  ["is_admin", "int"],
  ["is_ldap_user", "int"],
  ["name", "text"],
  ["email", "text"],
  ["google_id", "text"],
  ["github_id", "text"],
  ["notifications_enabled", "int"],
  ["timezone", "text"],
  ["language", "text"],
  ["disable_login_form", "int"],
  ["twofactor_activated", "int"],
  ["twofactor_secret", "text"],
  ["token", "text"],
  ["notifications_filter", "int"],
  ["nb_failed_login", "int"],
  ["lock_expiration_date", "int"],
  ["is_project_admin", "int"],
  ["gitlab_id", "int"],
  ["role", "text"],
  ["is_active", "int"],
  ["avatar_path", "text"],
  ["api_access_token", "text"],
  ["filter", "text"],
  ["theme", "text"],
];
// TaskFinderModel::getExtendedQuery (what searchTasks answers): counts first, then task and joined columns.
const EXTENDED_COUNTS = [
  "nb_comments",
  "nb_files",
  "nb_subtasks",
  "nb_completed_subtasks",
  "nb_links",
  "nb_external_links",
];
const EXTENDED_TASK_COLUMNS: TaskColumn[] = [
  "id",
  "reference",
  "title",
  "description",
  "date_creation",
  "date_modification",
  "date_completed",
  "date_started",
  "date_due",
  "color_id",
  "project_id",
  "column_id",
  "swimlane_id",
  "owner_id",
  "creator_id",
  "position",
  "is_active",
  "score",
  "category_id",
  "priority",
  "date_moved",
  "recurrence_status",
  "recurrence_trigger",
  "recurrence_factor",
  "recurrence_timeframe",
  "recurrence_basedate",
  "recurrence_parent",
  "recurrence_child",
  "time_estimated",
  "time_spent",
];

// app/Model/ColorModel.php
const COLORS: Record<string, { name: string; background: string; border: string }> = {
  yellow: { name: "Yellow", background: "rgb(245, 247, 196)", border: "rgb(223, 227, 45)" },
  blue: { name: "Blue", background: "rgb(219, 235, 255)", border: "rgb(168, 207, 255)" },
  green: { name: "Green", background: "rgb(189, 244, 203)", border: "rgb(74, 227, 113)" },
  purple: { name: "Purple", background: "rgb(223, 176, 255)", border: "rgb(205, 133, 254)" },
  red: { name: "Red", background: "rgb(255, 187, 187)", border: "rgb(255, 151, 151)" },
  orange: { name: "Orange", background: "rgb(255, 215, 179)", border: "rgb(255, 172, 98)" },
  grey: { name: "Grey", background: "rgb(238, 238, 238)", border: "rgb(204, 204, 204)" },
  brown: { name: "Brown", background: "#d7ccc8", border: "#4e342e" },
  deep_orange: { name: "Deep Orange", background: "#ffab91", border: "#e64a19" },
  dark_grey: { name: "Dark Grey", background: "#cfd8dc", border: "#455a64" },
  pink: { name: "Pink", background: "#f48fb1", border: "#d81b60" },
  teal: { name: "Teal", background: "#80cbc4", border: "#00695c" },
  cyan: { name: "Cyan", background: "#b2ebf2", border: "#00bcd4" },
  lime: { name: "Lime", background: "#e6ee9c", border: "#afb42b" },
  light_green: { name: "Light Green", background: "#dcedc8", border: "#689f38" },
  amber: { name: "Amber", background: "#ffe082", border: "#ffa000" },
};
const DEFAULT_COLOR = "yellow";

// app/Api/Authorization/ProcedureAuthorization.php: refused to the application API.
const USER_SPECIFIC_PROCEDURES = [
  "getMe",
  "getMyDashboard",
  "getMyActivityStream",
  "createMyPrivateProject",
  "getMyProjectsList",
  "getMyProjects",
  "getMyOverdueTasks",
];
/** Every public procedure of app/Api/Procedure/*.php: those the fake does not model answer HTTP 500. */
const KANBOARD_PROCEDURES =
  "addColumn addGroupMember addProjectGroup addProjectUser addSwimlane changeColumnPosition changeProjectGroupRole changeProjectUserRole changeSwimlanePosition closeTask createAction createCategory createComment createExternalTaskLink createGroup createLdapUser createLink createMyPrivateProject createProject createProjectFile createSubtask createTag createTask createTaskFile createTaskLink createUser disableProject disableProjectPublicAccess disableSwimlane disableUser downloadProjectFile downloadTaskFile duplicateTaskToProject enableProject enableProjectPublicAccess enableSwimlane enableUser getActions getActiveSwimlanes getAllCategories getAllComments getAllExternalTaskLinks getAllGroups getAllLinks getAllProjectFiles getAllProjects getAllSubtasks getAllSwimlanes getAllTags getAllTaskFiles getAllTaskLinks getAllTasks getAllUsers getApplicationRoles getAssignableUsers getAvailableActionEvents getAvailableActions getBoard getCategory getColorList getColumn getColumns getComment getCompatibleActionEvents getDefaultTaskColor getDefaultTaskColors getExternalTaskLinkById getExternalTaskLinkProviderDependencies getExternalTaskLinkTypes getGroup getGroupMembers getLinkById getLinkByLabel getMe getMemberGroups getMyActivityStream getMyDashboard getMyOverdueTasks getMyProjects getMyProjectsList getOppositeLinkId getOverdueTasks getOverdueTasksByProject getProjectActivities getProjectActivity getProjectByEmail getProjectById getProjectByIdentifier getProjectByName getProjectFile getProjectMetadata getProjectMetadataByName getProjectRoles getProjectUserRole getProjectUsers getSubtask getSubtaskTimeSpent getSwimlane getSwimlaneById getSwimlaneByName getTagsByProject getTask getTaskByReference getTaskFile getTaskLinkById getTaskMetadata getTaskMetadataByName getTaskTags getTimezone getUser getUserByName getVersion hasSubtaskTimer isActiveUser isGroupMember moveTaskPosition moveTaskToProject openTask removeAction removeAllProjectFiles removeAllTaskFiles removeCategory removeColumn removeComment removeExternalTaskLink removeGroup removeGroupMember removeLink removeProject removeProjectFile removeProjectGroup removeProjectMetadata removeProjectUser removeSubtask removeSwimlane removeTag removeTask removeTaskFile removeTaskLink removeTaskMetadata removeUser saveProjectMetadata saveTaskMetadata searchTasks setSubtaskEndTime setSubtaskStartTime setTaskTags updateCategory updateColumn updateComment updateExternalTaskLink updateGroup updateLink updateProject updateSubtask updateSwimlane updateTag updateTask updateTaskLink updateUser".split(
    " ",
  );

// app/Core/Filter/Lexer.php: the default token map (after the filters' attribute tokens).
const LEXER_TOKENS: [RegExp, "T_WHITESPACE" | "T_STRING"][] = [
  [/^([\t\n\v\f\r ]+)/u, "T_WHITESPACE"],
  [/^([<=>]{0,2}[0-9]{4}-[0-9]{2}-[0-9]{2})/u, "T_STRING"],
  [/^([<=>]{1,2}\w+)/u, "T_STRING"],
  [/^([<=>]{1,2}".+")/u, "T_STRING"],
  [/^("(.*?)")/u, "T_STRING"],
  [/^([^\t\n\v\f\r ]+)/u, "T_STRING"],
  [/^(#\d+)/u, "T_STRING"],
];
// app/ServiceProvider/FilterProvider.php: every attribute taskLexer knows, and those the fake evaluates.
const SEARCH_ATTRIBUTES =
  "assignee category color colour priority column comment created createdRange creator description desc due started completed completedRange id link updated modified updatedRange modifiedRange moved movedRange project reference ref score complexity status subtask:assignee swimlane tag search title".split(
    " ",
  );
const MODELLED_ATTRIBUTES = new Set(
  "assignee column created completed description desc id updated modified moved project reference ref status swimlane title".split(
    " ",
  ),
);

const JSON_TYPE = "application/json";
const LOCKDOWN_AFTER = 6; // BRUTEFORCE_LOCKDOWN (app/constants.php): locked when failures exceed it
const LOCKDOWN_SECONDS = 15 * 60; // BRUTEFORCE_LOCKDOWN_DURATION

interface User {
  id: number;
  username: string;
  name: string | null;
  password: string | undefined;
  role: KanboardRole;
  email: string | null;
  apiAccessToken: string | null;
  active: boolean;
  isAdminColumn: number; // the legacy users.is_admin column: 1 only for the installer's admin
  failedLogins: number;
  lockUntil: number;
}
interface Project {
  id: number;
  name: string;
  description: string | null;
  identifier: string;
  members: Set<number>;
  lastModified: number;
}
interface ColumnRow {
  id: number;
  title: string;
  position: number;
  project_id: number;
  task_limit: number;
  description: string;
  hide_in_dashboard: number;
}
interface SwimlaneRow {
  id: number;
  name: string;
  position: number;
  is_active: number;
  project_id: number;
  description: string;
  task_limit: number;
}

type Session = { kind: "app" } | { kind: "user"; user: User };
type Args = Record<string, unknown>;
const REQUIRED = Symbol("required");

interface Procedure {
  name: string;
  className: string; // the API access map is per class (AuthenticationProvider::getApiAccessMap)
  params: [string, unknown][]; // [name, default or REQUIRED], in PHP signature order
  arrayParams?: string[]; // `array $x` parameters: anything else is a PHP TypeError (HTTP 500)
  run(args: Args, session: Session): unknown;
}

/** A JSON-RPC error object for this call (ResponseBuilder::handleExceptions). */
class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: string,
  ) {
    super(message);
  }
}
/** AuthenticationFailureException / AccessDeniedException: one error object for the whole HTTP request. */
class DeniedError extends Error {
  constructor(readonly status: 401 | 403) {
    super(status === 401 ? "Unauthorized" : "Forbidden");
  }
}
/** A PHP fatal error (an uncaught TypeError): HTTP 500 with an empty body. */
class FatalError extends Error {}
/** Kanboard does this, the fake does not: HTTP 500 with a text body saying so. */
class NotModelled extends Error {}

interface HttpReply {
  status: number;
  headers?: Record<string, string>;
  body: string; // "" for an empty body
  contentType?: string;
}
interface UnitReply {
  status: number;
  ok: boolean; // the procedure did its work (a drop-response or crash plan waits otherwise)
  output?: unknown; // the response object; undefined for a notification
  http?: HttpReply; // replaces the whole HTTP answer
}
interface Unit {
  payload: unknown;
  method: string;
  params: unknown;
}

/** Starts the fake on 127.0.0.1. */
export async function startKanboardFake(options: KanboardFakeOptions): Promise<KanboardFake> {
  const mode = options.valueTypes ?? "strings";
  const applicationUrl = options.applicationUrl ?? "http://localhost/";
  const clock = options.now ?? Date.now;
  let offset = 0; // advanceClock(), in seconds
  const now = (): number => Math.floor(clock() / 1000) + offset;

  const users: User[] = (
    options.users ?? [{ id: 1, username: "admin", name: "", password: "admin", role: "app-admin" as const }]
  ).map((u) => ({
    id: u.id,
    username: u.username,
    // The installer's admin has no name or email (app/Schema/Sqlite.php version_1).
    name: options.users ? u.name : null,
    password: u.password,
    role: u.role ?? "app-user",
    email: options.users ? (u.email ?? "") : null,
    apiAccessToken: u.apiAccessToken ?? null,
    active: u.active ?? true,
    isAdminColumn: options.users ? 0 : 1,
    failedLogins: 0,
    lockUntil: 0,
  }));
  const columnRows: ColumnRow[] = [];
  const swimlaneRows: SwimlaneRow[] = [];
  const projects: Project[] = [];
  let nextColumnId = 1;
  let nextSwimlaneId = 1;
  for (const p of options.projects ?? [
    { id: 1, name: "Bridge", columns: ["Backlog", "Ready", "Work in progress", "Done"] },
  ]) {
    projects.push({
      id: p.id,
      name: p.name,
      description: p.description ?? null,
      identifier: (p.identifier ?? "").toUpperCase(),
      members: new Set(p.members ?? users.map((u) => u.id)),
      lastModified: now(),
    });
    // BoardModel::create and SwimlaneModel::create: positions from 1, ids shared by all projects.
    for (const [index, title] of p.columns.entries()) {
      columnRows.push({
        id: nextColumnId++,
        title,
        position: index + 1,
        project_id: p.id,
        task_limit: 0,
        description: "",
        hide_in_dashboard: 0,
      });
    }
    for (const [index, name] of (p.swimlanes ?? ["Default swimlane"]).entries()) {
      swimlaneRows.push({
        id: nextSwimlaneId++,
        name,
        position: index + 1,
        is_active: 1,
        project_id: p.id,
        description: "",
        task_limit: 0,
      });
    }
  }

  let rows: TaskRow[] = [];
  const calls: KanboardCall[] = [];
  const plans = new FaultPlans<KanboardFault, { method?: string }, { status: number; method: string }>(
    (match, call) => match.method === undefined || match.method === call.method,
  );
  let down = false;
  let nextTaskId = 1;

  const server = await listen(options.port, handle, (res, error) =>
    send(res, { status: 500, body: String(error), contentType: "text/plain; charset=utf-8" }),
  );
  const port = server.port;
  const url = `http://127.0.0.1:${port}/jsonrpc.php`;

  // ---- HTTP ----

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? "/", "http://127.0.0.1").pathname;
    // The procedure is only known from the body: read it first (even while down, for the calls log).
    const raw = await readBody(req);
    if (path !== "/jsonrpc.php") {
      if (down) return void req.socket.destroy();
      return send(res, { status: 404, body: "Not Found", contentType: "text/plain; charset=utf-8" });
    }
    const credentials = credentialsOf(req);
    const { units, batch } = unitsOf(raw);
    const entries = units.map((unit): KanboardCall => {
      const entry: KanboardCall = { method: unit.method, params: unit.params, httpStatus: 0 };
      if (credentials) entry.user = credentials.username;
      return entry;
    });
    calls.push(...entries);
    if (down) return void req.socket.destroy();

    // Fault plans are per procedure call: each call of a batch goes through them in turn.
    const outputs: unknown[] = [];
    let http: HttpReply | undefined;
    let lost = false; // a drop-response or crash destroyed the socket: the rest of the batch still runs
    for (const [index, unit] of units.entries()) {
      const entry = entries[index]!;
      if (lost) {
        answerUnit(unit, entry, credentials, undefined);
        continue;
      }
      const attempt = { status: 0, method: unit.method };
      let answered = false;
      const replay = Object.assign(Readable.from([Buffer.from(raw)]), { socket: req.socket });
      const reply = await plans.serve(
        replay as unknown as IncomingMessage,
        attempt,
        (_body, fault): UnitReply => {
          answered = true;
          return answerUnit(unit, entry, credentials, fault);
        },
        (r) => r.ok,
      );
      if (!reply) {
        if (!answered) return; // reset or hang: nothing more happens
        lost = true;
        continue;
      }
      if (reply.http) {
        http = reply.http;
        break;
      }
      if (reply.output !== undefined) outputs.push(reply.output);
    }
    if (lost) return;
    const status = http?.status ?? 200;
    for (const entry of entries) entry.httpStatus = status;
    if (http) return send(res, http);
    // BatchRequestParser::parse: notifications leave no answer; nothing at all is an empty body.
    const body = batch
      ? outputs.length > 0
        ? `[${outputs.map(encode).join(",")}]`
        : ""
      : outputs.length > 0
        ? encode(outputs[0])
        : "";
    send(res, { status: 200, body });
  }

  /** Basic auth as PHP parses it (PHP_AUTH_USER/PW), or API_AUTHENTICATION_HEADER first (JsonRPC\Server). */
  function credentialsOf(req: IncomingMessage): { username: string; password: string } | undefined {
    if (options.authenticationHeader) {
      const value = req.headers[options.authenticationHeader.toLowerCase()];
      const text = Array.isArray(value) ? value[0] : value;
      if (text) {
        // Server::setAuthenticationHeader: list($user, $password) = explode(':', base64_decode($value)).
        const [username = "", password = ""] = Buffer.from(text, "base64").toString("utf8").split(":");
        if (username) return { username, password };
      }
    }
    const header = req.headers.authorization ?? "";
    const match = /^basic\s+(.+)$/i.exec(header);
    if (!match) return undefined;
    const decoded = Buffer.from(match[1] ?? "", "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon < 0) return undefined;
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }

  /** The calls of one HTTP request: a batch's elements, or the single payload (PHP json_decode: '' is null). */
  function unitsOf(raw: string): { units: Unit[]; batch: boolean } {
    let payload: unknown;
    try {
      payload = raw.trim() === "" ? null : JSON.parse(raw);
    } catch {
      payload = null; // json_decode fails: a parse error
    }
    const unit = (p: unknown): Unit => ({
      payload: p,
      method: isRecord(p) && typeof p.method === "string" ? p.method : "(invalid)",
      params: isRecord(p) ? p.params : undefined,
    });
    const list = phpList(payload);
    // BatchRequestParser::isBatchRequest: array_keys === range(0, n-1), false for [] (range(0,-1) is [0,-1]).
    if (list && list.length > 0) return { units: list.map(unit), batch: true };
    if (list) return { units: [{ payload, method: "(batch)", params: undefined }], batch: false };
    return { units: [unit(payload)], batch: false };
  }

  function answerUnit(
    unit: Unit,
    entry: KanboardCall,
    credentials: { username: string; password: string } | undefined,
    fault: AnswerFault<KanboardFault> | undefined,
  ): UnitReply {
    const p = unit.payload;
    const id = isRecord(p) && p.id !== undefined ? p.id : null;
    const notification = isRecord(p) && (p.id === undefined || p.id === null);
    if (fault?.kind === "status") {
      const body = fault.body;
      return {
        status: fault.status,
        ok: false,
        http: {
          status: fault.status,
          headers: fault.headers ?? {},
          body: body === undefined ? "" : typeof body === "string" ? body : encode(body),
          contentType: typeof body === "string" ? "text/html; charset=UTF-8" : JSON_TYPE,
        },
      };
    }
    if (fault?.kind === "rpc-error") {
      entry.error = { code: fault.code, message: fault.message };
      const output = notification ? undefined : errorEnvelope(id, fault.code, fault.message);
      return { status: 200, ok: false, output };
    }
    if (fault?.kind === "result") {
      entry.result = fault.value;
      return { status: 200, ok: false, output: notification ? undefined : resultEnvelope(id, fault.value) };
    }
    try {
      return execute(unit, entry, credentials);
    } catch (error) {
      if (error instanceof DeniedError) {
        entry.error = { code: error.status, message: error.message };
        // Server::handleExceptions answers these with the server's ResponseBuilder: the id is never set.
        const headers: Record<string, string> =
          error.status === 401 ? { "WWW-Authenticate": 'Basic realm="JsonRPC"' } : {};
        const body = encode(errorEnvelope(null, error.status, error.message));
        return { status: error.status, ok: false, http: { status: error.status, headers, body } };
      }
      if (error instanceof FatalError) {
        return {
          status: 500,
          ok: false,
          http: { status: 500, body: "", contentType: "text/html; charset=UTF-8" },
        };
      }
      if (error instanceof NotModelled) {
        const body = `the Kanboard fake does not model this: ${error.message}`;
        return {
          status: 500,
          ok: false,
          http: { status: 500, body, contentType: "text/plain; charset=utf-8" },
        };
      }
      throw error;
    }
  }

  /** RequestParser::parse for one payload. */
  function execute(
    unit: Unit,
    entry: KanboardCall,
    credentials: { username: string; password: string } | undefined,
  ): UnitReply {
    const p = unit.payload;
    // JsonFormatValidator: not an array (object or list) → -32700 with a null id, notification or not.
    if (!isRecord(p) && !Array.isArray(p)) return protocolError(entry, -32700, "Parse error");
    // RpcFormatValidator → -32600 with a null id, answered even without an id.
    const valid =
      isRecord(p) &&
      p.jsonrpc === "2.0" &&
      typeof p.method === "string" &&
      (p.params === undefined || p.params === null || isRecord(p.params) || Array.isArray(p.params));
    if (!isRecord(p) || !valid) return protocolError(entry, -32600, "Invalid Request");
    const id = p.id;
    const notification = id === undefined || id === null; // RequestParser::isNotification uses isset()
    const method = p.method as string;
    try {
      // The authentication middleware runs before the procedure is looked up: an unknown one is still a 401.
      const session = authenticate(credentials);
      const procedure = lookup(method, session);
      beforeProcedure(procedure, session);
      const args = bind(procedure, phpEmpty(p.params) ? [] : p.params);
      const result = procedure.run(args, session);
      entry.result = result;
      // false, null, and createTask's 0 (a failed INSERT) are refusals: no work was done.
      const ok = result !== false && result !== null && result !== 0;
      return { status: 200, ok, output: notification ? undefined : resultEnvelope(id, result) };
    } catch (error) {
      if (!(error instanceof RpcError)) throw error;
      entry.error = { code: error.code, message: error.message };
      if (notification) return { status: 200, ok: false };
      return { status: 200, ok: false, output: errorEnvelope(id, error.code, error.message, error.data) };
    }
  }

  function protocolError(entry: KanboardCall, code: number, message: string): UnitReply {
    entry.error = { code, message };
    return { status: 200, ok: false, output: errorEnvelope(null, code, message) };
  }

  // ---- Authentication and authorization ----

  /** app/Api/Middleware/AuthenticationMiddleware.php: a user's password or token first, then "jsonrpc". */
  function authenticate(credentials: { username: string; password: string } | undefined): Session {
    const username = credentials?.username ?? "";
    const password = credentials?.password ?? "";
    if (username !== "jsonrpc") {
      const user = users.find((u) => u.username === username);
      const locked = user !== undefined && user.lockUntil !== 0 && user.lockUntil >= now();
      if (!locked) {
        // DatabaseAuth, then ApiAccessTokenAuth; both need an active user.
        const ok =
          user?.active === true &&
          ((user.password !== undefined && user.password === password) ||
            (user.apiAccessToken !== null && user.apiAccessToken === password));
        if (ok && user) {
          user.failedLogins = 0; // AuthSubscriber::afterLogin
          user.lockUntil = 0;
          return { kind: "user", user };
        }
        // AuthSubscriber::onLoginFailure: count, and lock for 15 minutes past BRUTEFORCE_LOCKDOWN.
        if (user && username !== "") {
          user.failedLogins += 1;
          if (user.failedLogins > LOCKDOWN_AFTER) user.lockUntil = now() + LOCKDOWN_SECONDS;
        }
      }
      throw new DeniedError(401);
    }
    if (safeEqual(options.apiToken, password)) return { kind: "app" };
    throw new DeniedError(401);
  }

  /** ProcedureHandler::executeProcedure: method_exists() is case-insensitive, like PHP method names. */
  function lookup(method: string, session: Session): Procedure {
    const procedure = PROCEDURES.get(method.toLowerCase());
    if (procedure) return procedure;
    const known = KANBOARD_PROCEDURES.find((name) => name.toLowerCase() === method.toLowerCase());
    if (!known) throw new RpcError(-32601, "Method not found");
    if (session.kind === "app" && USER_SPECIFIC_PROCEDURES.includes(method)) throw new DeniedError(403);
    throw new NotModelled(`the procedure ${known}`);
  }

  /** BaseProcedure::beforeProcedure: UserAuthorization checks the user's application role per class. */
  function beforeProcedure(procedure: Procedure, session: Session): void {
    if (session.kind !== "user") return;
    // AuthenticationProvider::getApiAccessMap: UserProcedure is for app-admin only.
    const adminOnly = procedure.className === "UserProcedure";
    if (adminOnly && session.user.role !== "app-admin") throw new DeniedError(403);
  }

  /** ProjectAuthorization::check (user API only): no project, or no role in it, is a 403. */
  function checkProject(session: Session, projectId: unknown): void {
    if (session.kind !== "user") return;
    if (phpEmpty(projectId)) throw new DeniedError(403);
    const project = projects.find((p) => sqlIntEq(p.id, projectId));
    // Every member is a project-member, which the API project access map allows for all task procedures.
    if (!project?.members.has(session.user.id)) throw new DeniedError(403);
  }

  /** TaskAuthorization::check: the task's project (0 for an unknown task, hence a 403). */
  function checkTask(session: Session, taskId: unknown): void {
    if (session.kind === "user") checkProject(session, projectIdOf(taskId));
  }

  /** ProjectPermissionModel::isAssignable: an active user with a role other than viewer. */
  function isAssignable(projectId: unknown, userId: unknown): boolean {
    const user = users.find((u) => sqlIntEq(u.id, userId));
    const project = projects.find((p) => sqlIntEq(p.id, projectId));
    return user?.active === true && project?.members.has(user.id) === true;
  }

  /** ProcedureHandler::getArguments: counts first, then positional or named binding. */
  function bind(procedure: Procedure, params: unknown): Args {
    const list = phpList(params);
    const values = list ?? (isRecord(params) ? params : {});
    const count = list ? list.length : Object.keys(values).length;
    const required = procedure.params.filter(([, fallback]) => fallback === REQUIRED).length;
    if (count < required) throw new RpcError(-32602, "Invalid params", "Wrong number of arguments");
    if (count > procedure.params.length) throw new RpcError(-32602, "Invalid params", "Too many arguments");
    const args: Args = {};
    procedure.params.forEach(([name, fallback], index) => {
      if (list) {
        args[name] = index < list.length ? list[index] : fallback;
      } else if (Object.hasOwn(values, name)) {
        args[name] = (values as Record<string, unknown>)[name];
      } else if (fallback !== REQUIRED) {
        args[name] = fallback;
      } else {
        throw new RpcError(-32602, "Invalid params", `Missing argument: ${name}`);
      }
    });
    // A typed `array $tags` refuses anything else with a TypeError, which PHP does not catch as Exception.
    for (const name of procedure.arrayParams ?? []) {
      if (!isRecord(args[name]) && !Array.isArray(args[name])) throw new FatalError(name);
    }
    return args;
  }

  // ---- Procedures (app/Api/Procedure/*.php) ----

  const PROCEDURES = new Map<string, Procedure>();
  const define = (procedure: Procedure) => PROCEDURES.set(procedure.name.toLowerCase(), procedure);

  define({
    name: "getVersion",
    className: "AppProcedure",
    params: [],
    run: () => options.version ?? "1.2.53",
  });

  define({
    name: "getTask",
    className: "TaskProcedure",
    params: [["task_id", REQUIRED]],
    run: ({ task_id }, s) => {
      checkTask(s, task_id);
      return formatTask(rows.find((r) => sqlIntEq(r.id, task_id)));
    },
  });

  define({
    name: "getTaskByReference",
    className: "TaskProcedure",
    params: [
      ["project_id", REQUIRED],
      ["reference", REQUIRED],
    ],
    run: ({ project_id, reference }, s) => {
      checkProject(s, project_id);
      // TaskFinderModel::getByReference: findOne() of a non-unique column, the lowest id first.
      const found = rows.find((r) => sqlIntEq(r.project_id, project_id) && sqlTextEq(r.reference, reference));
      return formatTask(found);
    },
  });

  define({
    name: "getAllTasks",
    className: "TaskProcedure",
    params: [
      ["project_id", REQUIRED],
      ["status_id", 1],
    ],
    run: ({ project_id, status_id }, s) => {
      checkProject(s, project_id);
      return rows
        .filter((r) => sqlIntEq(r.project_id, project_id) && sqlIntEq(r.is_active, status_id))
        .map((r) => formatTask(r));
    },
  });

  define({
    name: "searchTasks",
    className: "TaskProcedure",
    params: [
      ["project_id", REQUIRED],
      ["query", REQUIRED],
    ],
    run: ({ project_id, query }, s) => {
      checkProject(s, project_id);
      const matches = buildSearch(query, s);
      const inProject = projectFilter(project_id);
      return rows.filter((r) => inProject(r) && matches(r)).map(extendedRow);
    },
  });

  define({
    name: "openTask",
    className: "TaskProcedure",
    params: [["task_id", REQUIRED]],
    run: ({ task_id }, s) => {
      checkTask(s, task_id);
      return changeStatus(task_id, 1, 0); // TaskStatusModel::open: date_completed 0, not NULL
    },
  });

  define({
    name: "closeTask",
    className: "TaskProcedure",
    params: [["task_id", REQUIRED]],
    run: ({ task_id }, s) => {
      checkTask(s, task_id);
      return changeStatus(task_id, 0, now());
    },
  });

  define({
    name: "removeTask",
    className: "TaskProcedure",
    params: [["task_id", REQUIRED]],
    run: ({ task_id }, s) => {
      checkTask(s, task_id);
      return removeRow(task_id);
    },
  });

  define({
    name: "moveTaskPosition",
    className: "TaskProcedure",
    params: [
      ["project_id", REQUIRED],
      ["task_id", REQUIRED],
      ["column_id", REQUIRED],
      ["position", REQUIRED],
      ["swimlane_id", REQUIRED],
    ],
    run: ({ project_id, task_id, column_id, position, swimlane_id }, s) => {
      checkTask(s, task_id);
      // TaskProcedure::moveTaskPosition: a task of another project (or none) is refused with false.
      if (projectIdOf(task_id) !== phpInt(project_id)) return false;
      checkProject(s, project_id);
      return movePosition(project_id, task_id, column_id, position, swimlane_id, false);
    },
  });

  define({
    name: "createTask",
    className: "TaskProcedure",
    params: [
      ["title", REQUIRED],
      ["project_id", REQUIRED],
      ["color_id", ""],
      ["column_id", 0],
      ["owner_id", 0],
      ["creator_id", 0],
      ["date_due", ""],
      ["description", ""],
      ["category_id", 0],
      ["score", 0],
      ["swimlane_id", null],
      ["priority", 0],
      ["recurrence_status", 0],
      ["recurrence_trigger", 0],
      ["recurrence_factor", 0],
      ["recurrence_timeframe", 0],
      ["recurrence_basedate", 0],
      ["reference", ""],
      ["tags", []],
      ["date_started", ""],
      ["time_spent", null],
      ["time_estimated", null],
    ],
    arrayParams: ["tags"],
    run: (a, s) => {
      checkProject(s, a.project_id);
      // Strict !== 0: a "0" string or a null owner is looked up, found unassignable, and refused.
      if (a.owner_id !== 0 && !isAssignable(a.project_id, a.owner_id)) return false;
      if (a.creator_id !== 0 && !isAssignable(a.project_id, a.creator_id)) return false;
      const values: Args = { ...a };
      if (!validate(values, ["project_id", "title"])) return false;
      return createRow(values, s);
    },
  });

  define({
    name: "updateTask",
    className: "TaskProcedure",
    params: [
      ["id", REQUIRED],
      ...[
        "title",
        "color_id",
        "owner_id",
        "date_due",
        "description",
        "category_id",
        "score",
        "priority",
        "recurrence_status",
        "recurrence_trigger",
        "recurrence_factor",
        "recurrence_timeframe",
        "recurrence_basedate",
        "reference",
        "tags",
        "date_started",
        "time_spent",
        "time_estimated",
      ].map((name): [string, unknown] => [name, null]),
    ],
    run: (a, s) => {
      checkTask(s, a.id);
      const projectId = projectIdOf(a.id);
      if (projectId === 0) return false;
      const owner = a.owner_id;
      if (owner !== null && !phpLooseEqInt(0, owner) && !isAssignable(projectId, owner)) return false;
      // BaseProcedure::filterValues drops nulls: only the given fields change. No column or position here.
      const values: Args = {};
      for (const [key, value] of Object.entries(a)) if (value !== null) values[key] = value;
      if (!validate(values, ["id"])) return false;
      return updateRow(values);
    },
  });

  define({
    name: "getColumns",
    className: "ColumnProcedure",
    params: [["project_id", REQUIRED]],
    run: ({ project_id }, s) => {
      checkProject(s, project_id);
      return columnRows
        .filter((c) => sqlIntEq(c.project_id, project_id))
        .sort((x, y) => x.position - y.position)
        .map(columnView);
    },
  });

  define({
    name: "getColumn",
    className: "ColumnProcedure",
    params: [["column_id", REQUIRED]],
    run: ({ column_id }, s) => {
      const column = columnRows.find((c) => sqlIntEq(c.id, column_id));
      // ColumnAuthorization::check: the column's project, false for an unknown column (a 403).
      if (s.kind === "user") checkProject(s, column?.project_id ?? false);
      return column ? columnView(column) : null;
    },
  });

  define({
    name: "getActiveSwimlanes",
    className: "SwimlaneProcedure",
    params: [["project_id", REQUIRED]],
    run: ({ project_id }, s) => {
      checkProject(s, project_id);
      return swimlaneRows
        .filter((l) => sqlIntEq(l.project_id, project_id) && l.is_active === 1)
        .sort((x, y) => x.position - y.position)
        .map((l) => render(SWIMLANE_COLUMNS, l as unknown as Record<string, Cell>));
    },
  });

  define({
    name: "getProjectById",
    className: "ProjectProcedure",
    params: [["project_id", REQUIRED]],
    run: ({ project_id }, s) => {
      checkProject(s, project_id);
      const project = projects.find((p) => sqlIntEq(p.id, project_id));
      return project ? projectView(project) : null;
    },
  });

  define({
    name: "getUserByName",
    className: "UserProcedure",
    params: [["username", REQUIRED]],
    run: ({ username }) => {
      // UserModel::getByUsername: findOne() is null when nobody has that (case-sensitive) username.
      const user = users.find((u) => sqlTextEq(u.username, username));
      return user ? userView(user) : null;
    },
  });

  // ---- Models ----

  function projectIdOf(taskId: unknown): number {
    // TaskFinderModel::getProjectId: (int) …findOneColumn('project_id') ?: 0
    const row = rows.find((r) => sqlIntEq(r.id, taskId));
    return row ? phpInt(row.project_id) : 0;
  }

  /** TaskValidator: the given Required fields, then commonValidationRules, then start <= due. */
  function validate(values: Args, required: string[]): boolean {
    let valid = required.every((field) => notEmpty(values[field]));
    const integers = [
      "id",
      "project_id",
      "column_id",
      "owner_id",
      "creator_id",
      "score",
      "category_id",
      "swimlane_id",
      "recurrence_child",
      "recurrence_parent",
      "recurrence_factor",
      "recurrence_timeframe",
      "recurrence_basedate",
      "recurrence_trigger",
      "recurrence_status",
      "priority",
    ];
    for (const field of integers) if (!isIntegerValue(values[field])) valid = false;
    const score = values.score;
    if (notEmpty(score) && !(isNumeric(score) && Math.abs(Number(score)) <= 2147483647)) valid = false;
    // GreaterThan('swimlane_id', 0): an explicit 0 is invalid; only null or '' mean "the first swimlane".
    if (notEmpty(values.swimlane_id) && !(Number(values.swimlane_id) > 0)) valid = false;
    if (!maxLength(values.title, 65535) || !maxLength(values.reference, 191)) valid = false;
    for (const field of ["date_due", "date_started"]) {
      const value = values[field];
      if (notEmpty(value) && parseDate(value) === undefined) valid = false;
    }
    for (const field of ["time_spent", "time_estimated"]) {
      if (notEmpty(values[field]) && !isNumeric(values[field])) valid = false;
    }
    if (!valid) return false;
    // validateStartAndDueDate
    if (!phpEmpty(values.date_started) && !phpEmpty(values.date_due)) {
      if (timestampOf(values.date_started) > timestampOf(values.date_due)) return false;
    }
    return true;
  }

  /** TaskCreationModel::create and prepare. */
  function createRow(values: Args, s: Session): number {
    const tags = values.tags;
    delete values.tags;
    for (const field of ["date_due", "date_started"]) {
      if (!phpEmpty(values[field])) values[field] = timestampOf(values[field]);
    }
    resetFields(values, [
      "creator_id",
      "owner_id",
      "date_due",
      "date_started",
      "score",
      "category_id",
      "time_estimated",
      "time_spent",
    ]);
    // ColumnModel::getFirstColumnId: by position; false (bound as '') when the project has none.
    if (phpEmpty(values.column_id)) values.column_id = firstColumnId(values.project_id) ?? false;
    if (phpEmpty(values.color_id)) values.color_id = DEFAULT_COLOR;
    if (phpEmpty(values.title)) values.title = "Untitled"; // "0" too: PHP's empty()
    if (phpEmpty(values.creator_id) && s.kind === "user") values.creator_id = s.user.id;
    // SwimlaneModel::getFirstActiveSwimlaneId: (int), so 0 when there is none.
    if (phpEmpty(values.swimlane_id)) values.swimlane_id = firstActiveSwimlaneId(values.project_id);
    const created = now();
    values.date_creation = created;
    values.date_modification = created;
    values.date_moved = created;
    values.position =
      rows.filter(
        (r) =>
          sqlIntEq(r.project_id, values.project_id) &&
          sqlIntEq(r.column_id, values.column_id) &&
          sqlIntEq(r.swimlane_id, values.swimlane_id) &&
          r.is_active === 1,
      ).length + 1;
    const row = emptyRow();
    for (const [name, type] of TASK_COLUMNS) {
      if (name in values)
        setCell(row, name, type === "int" ? intAffinity(values[name]) : textAffinity(values[name]));
    }
    // The INSERT fails on a NOT NULL or FOREIGN KEY constraint (SQLSTATE 23000, which PicoDb's SQLite
    // driver takes for a duplicate key and answers false): TaskCreationModel returns (int) false, 0.
    const notNull: TaskColumn[] = [
      "title",
      "recurrence_status",
      "recurrence_trigger",
      "recurrence_factor",
      "recurrence_timeframe",
      "recurrence_basedate",
    ];
    if (notNull.some((name) => row[name] === null)) return 0;
    if (!references(row.project_id, projects) || !references(row.column_id, columnRows)) return 0;
    if (!references(row.swimlane_id, swimlaneRows)) return 0;
    row.id = nextTaskId++;
    row.tags = tagList(tags);
    rows.push(row);
    return row.id;
  }

  /** TaskModificationModel::update and prepare; the answer is PicoDb's update(): true. */
  function updateRow(values: Args): boolean {
    const row = rows.find((r) => sqlIntEq(r.id, values.id));
    if (!row) return false;
    if ("tags" in values) {
      // TaskTagModel::save(…, array $tags): anything but an array is a TypeError.
      if (!isRecord(values.tags) && !Array.isArray(values.tags)) throw new FatalError("tags");
      row.tags = tagList(values.tags);
      delete values.tags;
    }
    for (const field of ["date_due", "date_started"]) {
      if (!phpEmpty(values[field])) values[field] = timestampOf(values[field]);
    }
    delete values.id;
    resetFields(values, ["date_due", "date_started", "score", "category_id", "time_estimated", "time_spent"]);
    for (const field of [
      "priority",
      "recurrence_status",
      "recurrence_trigger",
      "recurrence_factor",
      "recurrence_timeframe",
      "recurrence_basedate",
    ]) {
      if (field in values) values[field] = phpInt(values[field]);
    }
    values.date_modification = now();
    for (const [name, type] of TASK_COLUMNS) {
      if (name in values)
        setCell(row, name, type === "int" ? intAffinity(values[name]) : textAffinity(values[name]));
    }
    return true;
  }

  /** TaskStatusModel::changeStatus: false only for an unknown task; closing a closed task is true again. */
  function changeStatus(taskId: unknown, status: 0 | 1, completed: number): boolean {
    const row = rows.find((r) => sqlIntEq(r.id, taskId));
    if (!row) return false;
    row.is_active = status;
    row.date_completed = completed;
    row.date_modification = now();
    return true;
  }

  /** TaskModel::remove: a hard delete; the other tasks keep their positions. */
  function removeRow(taskId: unknown): boolean {
    const before = rows.length;
    rows = rows.filter((r) => !sqlIntEq(r.id, taskId));
    return rows.length < before;
  }

  /**
   * TaskPositionModel::movePosition. False when position < 1 or nothing changes (same swimlane, column
   * and position). Swimlane 0 means the task's own. The API passes onlyOpen=false, so closed tasks move.
   */
  function movePosition(
    projectId: unknown,
    taskId: unknown,
    columnId: unknown,
    position: unknown,
    swimlaneId: unknown,
    onlyOpen: boolean,
  ): boolean {
    if (phpLess(position, 1)) return false;
    const task = rows.find((r) => sqlIntEq(r.id, taskId));
    if (!task) return false;
    const swimlane = phpLooseEqInt(0, swimlaneId) ? task.swimlane_id : swimlaneId;
    if (onlyOpen && task.is_active === 0) return true;
    const snapshot = rows.map((r) => ({ ...r }));
    /** saveTaskPosition: the UPDATE's FOREIGN KEY check fails on an unknown column or swimlane (rolled back). */
    const save = (id: number, at: number, column: unknown, lane: unknown): boolean => {
      const target = rows.find((r) => r.id === id);
      const columnCell = intAffinity(column);
      const laneCell = intAffinity(lane);
      if (!target || !references(columnCell, columnRows) || !references(laneCell, swimlaneRows)) return false;
      Object.assign(target, { position: at, column_id: columnCell, swimlane_id: laneCell });
      return true;
    };
    /** saveTaskPositions: renumber the open tasks of one column, inserting the task at `at` (0: nowhere). */
    const renumber = (at: unknown, column: unknown, lane: unknown): boolean => {
      const others = rows
        .filter(
          (r) =>
            r.is_active === 1 &&
            sqlIntEq(r.swimlane_id, lane) &&
            sqlIntEq(r.project_id, projectId) &&
            sqlIntEq(r.column_id, column) &&
            r.id !== task.id,
        )
        .sort((x, y) => phpInt(x.position) - phpInt(y.position) || x.id - y.id);
      let offset = 1;
      for (const other of others) {
        if (phpLooseEqInt(offset, at)) {
          if (!save(task.id, offset, column, lane)) return false;
          offset++;
        }
        if (!save(other.id, offset, column, lane)) return false;
        offset++;
      }
      // "Insert the new task at the bottom and normalize bad position"
      return !(phpGreaterOrEqual(at, offset) && !save(task.id, offset, column, lane));
    };
    const stamp = () => {
      task.date_moved = now();
      task.date_modification = task.date_moved;
      return true;
    };
    let result = false;
    if (!phpLooseEqCell(task.swimlane_id, swimlane)) {
      // saveSwimlaneChange
      result =
        renumber(0, task.column_id, task.swimlane_id) && renumber(position, columnId, swimlane) && stamp();
    } else if (!phpLooseEqCell(task.column_id, columnId)) {
      // saveColumnChange
      result = renumber(0, task.column_id, swimlane) && renumber(position, columnId, swimlane) && stamp();
    } else if (!phpLooseEqCell(task.position, position)) {
      // savePositionChange: no saveTaskTimestamps, so date_moved and date_modification stay.
      result = renumber(position, columnId, swimlane);
    }
    if (!result) {
      for (const [index, r] of rows.entries()) Object.assign(r, snapshot[index]);
    }
    return result;
  }

  function firstColumnId(projectId: unknown): number | undefined {
    return columnRows
      .filter((c) => sqlIntEq(c.project_id, projectId))
      .sort((x, y) => x.position - y.position)[0]?.id;
  }

  function firstActiveSwimlaneId(projectId: unknown): number {
    return (
      swimlaneRows
        .filter((l) => sqlIntEq(l.project_id, projectId) && l.is_active === 1)
        .sort((x, y) => x.position - y.position)[0]?.id ?? 0
    );
  }

  // ---- Search (app/Core/Filter/Lexer.php, LexerBuilder.php, app/Filter/Task*Filter.php) ----

  type Predicate = (row: TaskRow) => boolean;

  function buildSearch(input: unknown, s: Session): Predicate {
    const text = input === null || input === undefined ? "" : phpString(input);
    const tokens: { match: string; token: string }[] = [];
    let rest = text;
    while (rest.length > 0) {
      let matched: { match: string; token: string; length: number } | undefined;
      // Attribute tokens (/^(attr:)/i) come before the default map; an attribute's token is its name.
      for (const attribute of SEARCH_ATTRIBUTES) {
        if (rest.toLowerCase().startsWith(`${attribute.toLowerCase()}:`)) {
          matched = {
            match: rest.slice(0, attribute.length + 1),
            token: attribute,
            length: attribute.length + 1,
          };
          break;
        }
      }
      if (!matched) {
        for (const [pattern, token] of LEXER_TOKENS) {
          const m = pattern.exec(rest);
          if (m?.[1] !== undefined) {
            matched = { match: m[1].replaceAll('"', ""), token, length: m[1].length };
            break;
          }
        }
      }
      if (!matched) break;
      tokens.push({ match: matched.match, token: matched.token });
      rest = rest.slice(matched.length);
    }
    // Lexer::map: an attribute takes the next token only when it is a string; the rest is the title filter.
    const map = new Map<string, string[]>();
    let leftOver = "";
    for (let index = 0; index < tokens.length; index++) {
      const token = tokens[index]!;
      if (token.token === "T_STRING" || token.token === "T_WHITESPACE") {
        leftOver += token.match;
      } else {
        index++;
        const next = tokens[index];
        if (next?.token === "T_STRING") map.set(token.token, [...(map.get(token.token) ?? []), next.match]);
      }
    }
    leftOver = leftOver.trim();
    if (leftOver !== "") map.set("title", [leftOver]);
    const predicates: Predicate[] = [];
    for (const [attribute, values] of map) {
      if (!MODELLED_ATTRIBUTES.has(attribute)) throw new NotModelled(`the search filter ${attribute}:`);
      const filters = values.map((value) => searchFilter(attribute, value, s));
      // LexerBuilder::applyFilters: several values of one attribute are OR'ed.
      predicates.push((row) => filters.some((filter) => filter(row)));
    }
    return (row) => predicates.every((predicate) => predicate(row));
  }

  function searchFilter(attribute: string, value: string, s: Session): Predicate {
    switch (attribute) {
      case "reference":
      case "ref":
        if (value === "none") return (r) => r.reference === "" || r.reference === null;
        // TaskReferenceFilter: `strpos($value, '*') >= 0` is true even without a '*' (false >= 0), so
        // every reference is an ILIKE: case-insensitive, and '_' and '%' are wildcards too.
        return (r) => sqlLike(r.reference, value.replaceAll("*", "%"));
      case "status":
        if (value === "open" || value === "closed") return (r) => r.is_active === (value === "open" ? 1 : 0);
        if (ctypeDigit(value)) return (r) => sqlIntEq(r.is_active, value);
        return () => true;
      case "title":
        // TaskTitleFilter: digits or #digits also match the id.
        if (ctypeDigit(value) || (value.length > 1 && value[0] === "#" && ctypeDigit(value.slice(1)))) {
          return (r) => sqlIntEq(r.id, value.replace("#", "")) || sqlLike(r.title, `%${value}%`);
        }
        return (r) => sqlLike(r.title, `%${value}%`);
      case "id":
        return (r) => sqlIntEq(r.id, value);
      case "description":
      case "desc":
        return (r) => sqlLike(r.description, `%${value}%`);
      case "column":
        if (ctypeDigit(value)) return (r) => sqlIntEq(r.column_id, value);
        return (r) => columnRows.find((c) => sqlIntEq(c.id, r.column_id))?.title === value;
      case "swimlane":
        return (r) => sqlLike(swimlaneRows.find((l) => sqlIntEq(l.id, r.swimlane_id))?.name ?? null, value);
      case "project":
        return projectFilter(value);
      case "assignee":
        return assigneeFilter(value, s);
      default:
        return dateFilter(
          {
            created: "date_creation",
            completed: "date_completed",
            moved: "date_moved",
            updated: "date_modification",
            modified: "date_modification",
          }[attribute] as TaskColumn,
          value,
        );
    }
  }

  /** TaskProjectFilter: digits are the id, anything else an ILIKE on the project's name. */
  function projectFilter(value: unknown): Predicate {
    if (Number.isInteger(value) || (ctypeDigit(phpString(value)) && Number(value) < 2147483647)) {
      return (r) => sqlIntEq(r.project_id, value);
    }
    const pattern = phpString(value);
    return (r) => sqlLike(projects.find((p) => sqlIntEq(p.id, r.project_id))?.name ?? null, pattern);
  }

  /** TaskAssigneeFilter: an id, me, nobody, anybody, or an ILIKE on username or name. */
  function assigneeFilter(value: string, s: Session): Predicate {
    if (ctypeDigit(value)) return (r) => sqlIntEq(r.owner_id, value);
    if (value === "me") return (r) => sqlIntEq(r.owner_id, s.kind === "user" ? s.user.id : 0);
    if (value === "nobody") return (r) => sqlIntEq(r.owner_id, 0);
    if (value === "anybody") return (r) => typeof r.owner_id === "number" && r.owner_id > 0;
    return (r) => {
      const owner = users.find((u) => sqlIntEq(u.id, r.owner_id));
      return sqlLike(owner?.username ?? null, `%${value}%`) || sqlLike(owner?.name ?? null, `%${value}%`);
    };
  }

  /** BaseDateFilter::applyDateFilter: whole days (UTC), even for a Unix timestamp. */
  function dateFilter(column: TaskColumn, input: string): Predicate {
    const operator = ["<=", ">=", "<", ">"].find((op) => input.startsWith(op)) ?? "";
    const day = isoDay(input.slice(operator.length));
    const cell = (r: TaskRow) => (typeof r[column] === "number" ? (r[column] as number) : undefined);
    const compare = (test: (at: number) => boolean): Predicate => {
      return (r) => {
        const at = cell(r);
        return at !== undefined && test(at);
      };
    };
    if (operator === "<=") return compare((at) => at <= day + 86399);
    if (operator === ">=") return compare((at) => at >= day);
    if (operator === "<") return compare((at) => at < day);
    if (operator === ">") return compare((at) => at > day + 86400);
    return compare((at) => at >= day && at <= day + 86399);
  }

  /** DateParser::getTimestampFromIsoFormat: digits or strtotime(), then midnight of that day. */
  function isoDay(value: string): number {
    let seconds: number;
    if (ctypeDigit(value)) seconds = Number(value);
    else if (/^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2})?)?$/.test(value)) {
      seconds = Date.parse(`${value.replace(" ", "T").slice(0, 10)}T00:00:00Z`) / 1000;
    } else if (["today", "now", "yesterday", "tomorrow"].includes(value.toLowerCase())) {
      const shift = { today: 0, now: 0, yesterday: -86400, tomorrow: 86400 }[value.toLowerCase()] ?? 0;
      seconds = now() + shift;
    } else throw new NotModelled(`the search date ${JSON.stringify(value)} (strtotime)`);
    if (Number.isNaN(seconds)) throw new NotModelled(`the search date ${JSON.stringify(value)}`);
    return seconds - (((seconds % 86400) + 86400) % 86400);
  }

  // ---- Dates (app/Core/DateParser.php, SimpleValidator Date) ----

  /**
   * DateTime::createFromFormat over getParserFormats() (m/d/Y, Y-m-d, Y_m_d, each also with " H:i"), in the
   * server's time zone (UTC here). Without "!" the fields a format lacks come from the current time, so
   * "2024-05-31" keeps the current time of day. undefined: no format matches (an invalid date).
   */
  function parseDate(value: unknown): number | undefined {
    if (typeof value === "object") throw new FatalError("date"); // createFromFormat() with an array: a TypeError
    const text = phpString(value);
    const formats: [RegExp, (m: RegExpExecArray) => [string, string, string]][] = [
      [/^(\d{1,2})\/(\d{1,2})\/(\d{1,4})(?: (\d{1,2}):(\d{2}))?$/, (m) => [m[3]!, m[1]!, m[2]!]],
      [/^(\d{1,4})-(\d{1,2})-(\d{1,2})(?: (\d{1,2}):(\d{2}))?$/, (m) => [m[1]!, m[2]!, m[3]!]],
      [/^(\d{1,4})_(\d{1,2})_(\d{1,2})(?: (\d{1,2}):(\d{2}))?$/, (m) => [m[1]!, m[2]!, m[3]!]],
    ];
    for (const [pattern, parts] of formats) {
      const m = pattern.exec(text);
      if (!m) continue;
      const [year, month, day] = parts(m).map(Number) as [number, number, number];
      const current = new Date(now() * 1000);
      const hours = m[4] === undefined ? current.getUTCHours() : Number(m[4]);
      const minutes = m[5] === undefined ? current.getUTCMinutes() : Number(m[5]);
      const at = new Date(Date.UTC(year, month - 1, day, hours, minutes, current.getUTCSeconds()));
      at.setUTCFullYear(year); // Date.UTC maps years 0-99 to 1900-1999
      // A warning ("The parsed date was invalid") makes the value invalid: no overflowing fields.
      const exact =
        at.getUTCFullYear() === year &&
        at.getUTCMonth() === month - 1 &&
        at.getUTCDate() === day &&
        hours < 24 &&
        minutes < 60;
      const seconds = Math.floor(at.getTime() / 1000);
      if (exact && seconds > 0) return seconds;
    }
    return undefined;
  }

  /** DateParser::getTimestamp: digits as they are, else the first format that parses, else 0. */
  function timestampOf(value: unknown): number {
    if (ctypeDigit(phpString(value))) return Number(value);
    return parseDate(value) ?? 0;
  }

  // ---- Views (what PicoDb returns, through the API formatters) ----

  function render(columns: [string, ColumnType][], source: Record<string, Cell>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [name] of columns) out[name] = cellValue(source[name] ?? null);
    return out;
  }

  /** PHP < 8.1 returns every non-NULL value as a string; PHP >= 8.1 keeps SQLite's storage class. */
  function cellValue(cell: Cell): unknown {
    if (cell === null) return null;
    return mode === "strings" ? String(cell) : cell;
  }

  /** TaskApiFormatter::format: the row, then `url` and `color`; null stays null. */
  function formatTask(row: TaskRow | undefined): Record<string, unknown> | null {
    if (!row) return null;
    const out = render(
      TASK_COLUMNS as unknown as [string, ColumnType][],
      row as unknown as Record<string, Cell>,
    );
    out.url = `${applicationUrl}?controller=TaskViewController&action=show&task_id=${row.id}`;
    out.color = { ...(COLORS[String(row.color_id)] ?? COLORS[DEFAULT_COLOR]!) };
    return out;
  }

  function extendedRow(row: TaskRow): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const name of EXTENDED_COUNTS) out[name] = cellValue(0);
    out.is_milestone = null;
    for (const name of EXTENDED_TASK_COLUMNS) out[name] = cellValue(row[name]);
    const owner = users.find((u) => sqlIntEq(u.id, row.owner_id));
    const column = columnRows.find((c) => sqlIntEq(c.id, row.column_id));
    const lane = swimlaneRows.find((l) => sqlIntEq(l.id, row.swimlane_id));
    const project = projects.find((p) => sqlIntEq(p.id, row.project_id));
    Object.assign(out, {
      assignee_username: cellValue(owner?.username ?? null),
      assignee_name: cellValue(owner?.name ?? null),
      assignee_email: cellValue(owner?.email ?? null),
      assignee_avatar_path: null,
      category_name: null,
      category_description: null,
      category_color_id: null,
      column_name: cellValue(column?.title ?? null),
      column_position: cellValue(column?.position ?? null),
      swimlane_name: cellValue(lane?.name ?? null),
      project_name: cellValue(project?.name ?? null),
    });
    return out;
  }

  function columnView(column: ColumnRow): Record<string, unknown> {
    return render(COLUMN_COLUMNS, column as unknown as Record<string, Cell>);
  }

  /** ProjectModel::getById through ProjectApiFormatter (adds the board and list URLs). */
  function projectView(project: Project): Record<string, unknown> {
    const out = render(PROJECT_COLUMNS, {
      id: project.id,
      name: project.name,
      is_active: 1,
      token: "",
      last_modified: project.lastModified,
      is_public: 0,
      is_private: 0,
      is_everybody_allowed: 0,
      default_swimlane: "Default swimlane",
      show_default_swimlane: 1,
      description: project.description,
      identifier: project.identifier,
      start_date: "",
      end_date: "",
      owner_id: 0,
      priority_default: 0,
      priority_start: 0,
      priority_end: 3,
      email: null,
      predefined_email_subjects: null,
      per_swimlane_task_limits: 0,
      task_limit: 0,
      enable_global_tags: 1,
    });
    out.url = {
      board: `${applicationUrl}?controller=BoardViewController&action=show&project_id=${project.id}`,
      list: `${applicationUrl}?controller=TaskListController&action=show&project_id=${project.id}`,
    };
    return out;
  }

  /** The whole users row, password hash included, as UserModel::getByUsername returns it. */
  function userView(user: User): Record<string, unknown> {
    const hash = createHash("sha512")
      .update(`${user.username}:${user.password ?? ""}`)
      .digest("base64url")
      .replaceAll("-", ".")
      .replaceAll("_", "/");
    return render(USER_COLUMNS, {
      id: user.id,
      username: user.username,
      password: `$2y$10$${hash.slice(0, 53)}`, // a bcrypt-shaped placeholder, not a real hash
      is_admin: user.isAdminColumn,
      is_ldap_user: 0,
      name: user.name,
      email: user.email,
      google_id: null,
      github_id: null,
      notifications_enabled: 0,
      timezone: null,
      language: null,
      disable_login_form: 0,
      twofactor_activated: 0,
      twofactor_secret: null,
      token: "",
      notifications_filter: 4,
      nb_failed_login: user.failedLogins,
      lock_expiration_date: user.lockUntil,
      is_project_admin: 0,
      gitlab_id: null,
      role: user.role,
      is_active: user.active ? 1 : 0,
      avatar_path: null,
      api_access_token: user.apiAccessToken,
      filter: null,
      theme: "light",
    });
  }

  function view(row: TaskRow): KanboardTask {
    const int = (cell: Cell) => phpInt(cell);
    return {
      id: int(row.id),
      project_id: int(row.project_id),
      column_id: int(row.column_id),
      swimlane_id: int(row.swimlane_id),
      title: String(row.title ?? ""),
      description: String(row.description ?? ""),
      owner_id: int(row.owner_id),
      creator_id: int(row.creator_id),
      priority: int(row.priority),
      reference: String(row.reference ?? ""),
      is_active: row.is_active === 0 ? 0 : 1,
      position: int(row.position),
      color_id: String(row.color_id ?? ""),
      date_creation: int(row.date_creation),
      date_modification: int(row.date_modification),
      date_moved: int(row.date_moved),
      date_completed: row.date_completed === null ? null : int(row.date_completed),
      date_due: int(row.date_due),
      date_started: int(row.date_started),
      score: int(row.score),
      category_id: int(row.category_id),
      tags: [...row.tags],
    };
  }

  // ---- People on the board ----

  function rowOf(taskId: number): TaskRow {
    const row = rows.find((r) => r.id === taskId);
    if (!row) throw new Error(`the Kanboard fake has no task ${taskId}`);
    return row;
  }

  function columnNamed(projectId: number, title: string): ColumnRow {
    const column = columnRows.find((c) => c.project_id === projectId && c.title === title);
    if (!column) throw new Error(`project ${projectId} has no column "${title}"`);
    return column;
  }

  return {
    url,
    port,
    calls,
    count: (method) => calls.filter((c) => c.method === method && c.httpStatus !== 0).length,
    tasks: (projectId) =>
      rows.filter((r) => projectId === undefined || r.project_id === projectId).map((r) => view(r)),
    task: (id) => {
      const row = rows.find((r) => r.id === id);
      return row ? view(row) : undefined;
    },
    columns: (projectId) =>
      columnRows
        .filter((c) => c.project_id === projectId)
        .sort((x, y) => x.position - y.position)
        .map((c) => ({ id: c.id, title: c.title, position: c.position })),
    columnTitle: (taskId) => {
      const row = rows.find((r) => r.id === taskId);
      return row ? columnRows.find((c) => sqlIntEq(c.id, row.column_id))?.title : undefined;
    },
    personMovesTask: (taskId, columnTitle) => {
      const row = rowOf(taskId);
      if (row.is_active === 0) throw new Error(`task ${taskId} is closed: it is not on the board`);
      const column = columnNamed(phpInt(row.project_id), columnTitle);
      // BoardAjaxController::save → movePosition with onlyOpen; dropped at the bottom of the column.
      const bottom =
        rows.filter(
          (r) =>
            r.is_active === 1 &&
            r.id !== row.id &&
            r.column_id === column.id &&
            r.swimlane_id === row.swimlane_id,
        ).length + 1;
      movePosition(row.project_id, row.id, column.id, bottom, row.swimlane_id, true);
    },
    personRemovesTask: (taskId) => {
      rowOf(taskId);
      removeRow(taskId);
    },
    personCreatesTask: (input) => {
      if (!projects.some((p) => p.id === input.projectId))
        throw new Error(`unknown project ${input.projectId}`);
      const creator = input.userId ?? users[0]?.id ?? 0;
      const column = input.columnTitle ? columnNamed(input.projectId, input.columnTitle).id : 0;
      // The task form (TaskCreationController) sends empty strings, which prepare() resets to 0.
      const id = createRow(
        {
          title: input.title,
          project_id: input.projectId,
          column_id: column,
          owner_id: 0,
          creator_id: creator,
          color_id: "",
          description: "",
          reference: input.reference ?? "",
          date_due: "",
          date_started: "",
          score: "",
          category_id: "",
          time_estimated: "",
          time_spent: "",
          swimlane_id: 0,
          priority: 0,
          recurrence_status: 0,
          recurrence_trigger: 0,
          recurrence_factor: 0,
          recurrence_timeframe: 0,
          recurrence_basedate: 0,
        },
        { kind: "app" },
      );
      return view(rowOf(id));
    },
    personClosesTask: (taskId) => {
      rowOf(taskId);
      changeStatus(taskId, 0, now());
    },
    failNext: (times, fault, match = {}, options = {}) => plans.add(times, fault, match, options),
    setChaos: (chaos) => plans.setChaos(chaos),
    faultsInjected: () => plans.injected(),
    setDown: (value) => {
      down = value;
    },
    advanceClock: (seconds) => {
      offset += seconds;
    },
    reset: () => {
      // Task ids keep counting: SQLite's INTEGER PRIMARY KEY never hands a removed id out again here.
      rows = [];
      calls.length = 0;
      plans.clear();
      down = false;
      for (const user of users) {
        user.failedLogins = 0;
        user.lockUntil = 0;
      }
    },
    close: () => server.close(),
    get maxInFlight() {
      return server.maxInFlight;
    },
    resetInFlight: () => server.resetInFlight(),
  };
}

// ---- PHP and SQLite semantics ----

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The values of a PHP list: a JSON array, or an object keyed exactly "0".."n-1" (json_decode makes both lists). */
function phpList(value: unknown): unknown[] | undefined {
  if (Array.isArray(value)) return value;
  if (!isRecord(value)) return undefined;
  const keys = Object.keys(value);
  if (keys.length === 0 || !keys.every((key, index) => key === String(index))) return undefined;
  return keys.map((key) => value[key]);
}

/** PHP's empty(). */
function phpEmpty(value: unknown): boolean {
  if (value === undefined || value === null || value === false || value === 0 || value === "") return true;
  if (value === "0") return true;
  if (Array.isArray(value)) return value.length === 0;
  if (isRecord(value)) return Object.keys(value).length === 0;
  return false;
}

/** SimpleValidator's isFieldNotEmpty: isset() and !== ''. */
function notEmpty(value: unknown): boolean {
  return value !== undefined && value !== null && value !== "";
}

/** What a PHP value is as a string (arrays are "Array", false is ""). */
function phpString(value: unknown): string {
  if (value === null || value === undefined || value === false) return "";
  if (value === true) return "1";
  if (typeof value === "object") return "Array";
  return String(value);
}

/** PHP's (int) cast. */
function phpInt(value: unknown): number {
  if (typeof value === "number") return Number.isFinite(value) ? Math.trunc(value) : 0;
  if (typeof value === "boolean") return value ? 1 : 0;
  if (typeof value === "string") {
    const m = /^[ \t\n\r\v\f]*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)/.exec(value);
    return m ? Math.trunc(Number(m[1])) : 0;
  }
  if (Array.isArray(value)) return value.length > 0 ? 1 : 0;
  if (isRecord(value)) return Object.keys(value).length > 0 ? 1 : 0;
  return 0;
}

/** A numeric string (PHP is_numeric, SQLite's numeric text): its number, else undefined. */
function numericText(text: string): number | undefined {
  const trimmed = text.trim();
  if (!/^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/.test(trimmed)) return undefined;
  return Number(trimmed);
}

function isNumeric(value: unknown): boolean {
  return (
    (typeof value === "number" && Number.isFinite(value)) ||
    (typeof value === "string" && numericText(value) !== undefined)
  );
}

function ctypeDigit(text: string): boolean {
  return /^\d+$/.test(text);
}

/** Validators\Integer: digit strings (with an optional leading "-") or a PHP int; null and '' pass. */
function isIntegerValue(value: unknown): boolean {
  if (!notEmpty(value)) return true;
  if (typeof value === "string") return ctypeDigit(value[0] === "-" ? value.slice(1) : value);
  return typeof value === "number" && Number.isInteger(value);
}

/** Validators\MaxLength (mb_strlen; an array is a TypeError). */
function maxLength(value: unknown, max: number): boolean {
  if (!notEmpty(value)) return true;
  if (typeof value === "object") throw new FatalError("mb_strlen");
  return [...phpString(value)].length <= max;
}

/** ModelHelper::resetFields: isset() and empty() → 0. */
function resetFields(values: Args, fields: string[]): void {
  for (const field of fields) {
    if (values[field] !== undefined && values[field] !== null && phpEmpty(values[field])) values[field] = 0;
  }
}

/** PDO binds every value as a string (PicoDb StatementHandler::bindParams); null stays NULL. */
function sqlParam(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  return phpString(value);
}

/** `integer_column = ?` with a string parameter: SQLite converts numeric text to a number first. */
function sqlIntEq(cell: Cell | number, param: unknown): boolean {
  const text = sqlParam(param);
  if (text === null || cell === null) return false;
  if (typeof cell === "string") return cell === text;
  return numericText(text) === cell;
}

/** `text_column = ?`: binary comparison. */
function sqlTextEq(cell: Cell, param: unknown): boolean {
  const text = sqlParam(param);
  return cell !== null && text !== null && String(cell) === text;
}

/** SQLite LIKE (what PicoDb's ilike() becomes): % and _ wildcards, case-insensitive for ASCII only. */
function sqlLike(cell: Cell, pattern: string): boolean {
  if (cell === null) return false;
  const lower = (text: string) => text.replace(/[A-Z]/g, (c) => c.toLowerCase());
  const source = [...lower(pattern)]
    .map((c) =>
      c === "%" ? "[\\s\\S]*" : c === "_" ? "[\\s\\S]" : c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&"),
    )
    .join("");
  return new RegExp(`^${source}$`, "u").test(lower(String(cell)));
}

/** INTEGER affinity: numeric text becomes a number; other text stays text (false is bound as ''). */
function intAffinity(value: unknown): Cell {
  const text = sqlParam(value);
  if (text === null) return null;
  if (typeof value === "number") return value;
  return numericText(text) ?? text;
}

/** TEXT affinity: the bound string. */
function textAffinity(value: unknown): Cell {
  return sqlParam(value);
}

/** A FOREIGN KEY: NULL, or the id of an existing row. */
function references(cell: Cell, table: { id: number }[]): boolean {
  return cell === null || (typeof cell === "number" && table.some((row) => row.id === cell));
}

/** PHP 8's `$int == $value` (a stored integer against a request parameter). */
function phpLooseEqInt(int: number, value: unknown): boolean {
  if (typeof value === "number") return value === int;
  if (typeof value === "boolean") return value === (int !== 0);
  if (value === null || value === undefined) return int === 0;
  if (typeof value === "string") {
    const n = numericText(value);
    return n === undefined ? String(int) === value : n === int;
  }
  return false;
}

/** `$row[$column] != $value` against a stored cell. */
function phpLooseEqCell(cell: Cell, value: unknown): boolean {
  if (typeof cell === "number") return phpLooseEqInt(cell, value);
  return phpString(cell) === phpString(value);
}

/** PHP 8's `$value < $int`. */
function phpLess(value: unknown, int: number): boolean {
  if (typeof value === "number") return value < int;
  if (value === null || value === undefined || value === false) return int !== 0;
  if (value === true) return false;
  if (typeof value === "string") {
    const n = numericText(value);
    return n === undefined ? value < String(int) : n < int;
  }
  return false; // an array is always greater
}

/** PHP 8's `$value >= $int`. */
function phpGreaterOrEqual(value: unknown, int: number): boolean {
  return !phpLess(value, int);
}

function tagList(tags: unknown): string[] {
  const list = phpList(tags) ?? (isRecord(tags) ? Object.values(tags) : []);
  return list.filter((tag) => !phpEmpty(tag)).map(phpString); // array_filter()
}

function emptyRow(): TaskRow {
  const row = { tags: [] as string[] } as unknown as TaskRow;
  for (const [name] of TASK_COLUMNS) setCell(row, name, null);
  row.id = 0;
  // Column defaults (app/Schema/Sqlite.php) for what TaskCreationModel does not insert.
  row.is_active = 1;
  return row;
}

function resultEnvelope(id: unknown, result: unknown): unknown {
  return { jsonrpc: "2.0", result, id };
}

function errorEnvelope(id: unknown, code: number, message: string, data?: string): unknown {
  // ResponseBuilder::buildErrorResponse: `data` only when not empty.
  const error: Record<string, unknown> = { code, message };
  if (data) error.data = data;
  return { jsonrpc: "2.0", error, id };
}

function safeEqual(expected: string, given: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b); // hash_equals()
}

/** json_encode with JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE: U+2028/2029 are still escaped. */
function encode(value: unknown): string {
  return JSON.stringify(value)
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

/** ResponseBuilder::sendHeaders: Content-Type application/json on every JSON-RPC answer. */
function send(res: ServerResponse, reply: HttpReply): void {
  if (res.destroyed || res.headersSent) return;
  res.writeHead(reply.status, { "Content-Type": reply.contentType ?? JSON_TYPE, ...reply.headers });
  res.end(reply.body);
}
