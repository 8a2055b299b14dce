import { randomBytes } from "node:crypto";
import { type IncomingMessage, type ServerResponse, STATUS_CODES } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { cnpjWithCheckDigits, formatCnpj } from "../../lib/sync/glpi-forms/cnpj.ts";
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
 * An in-process fake of GLPI 10's legacy REST API (apirest.php) for integration tests and the local
 * sandbox, on 127.0.0.1 only. It answers in GLPI's real wire format, quirks included, following GLPI 10's
 * src/Api/APIRest.php, API.php and Search.php (summary: /work/shared/systems-api.md §5).
 * Modelled: initSession, killSession, changeActiveEntities, listSearchOptions/Entity, search/Entity (with
 * the CNPJ field of the Fields plugin; AND, OR and NOT links; paged with `range`), POST /Ticket,
 * GET /Ticket, GET /Ticket/:id. Other itemtypes GLPI
 * knows answer 501, so a call the fake does not model fails loudly instead of passing by accident.
 */

export interface GlpiEntitySeed {
  id: number;
  name: string;
  cnpj: string; // stored as given: formatted "11.222.333/0001-81" or digits only
}

export interface GlpiFakeOptions {
  appToken: string; // the API client's App-Token (mandatory on every call)
  userToken: string; // the bridge user's user_token
  cnpjSearchOptionId: number; // search-option id of the Fields plugin CNPJ field on Entity, e.g. 76674
  cnpjFieldName?: string; // default "cnpjfield": the field's name, shown in listSearchOptions
  entities?: GlpiEntitySeed[]; // seeded entities; entity 0 "Root entity" always exists (no CNPJ)
  port?: number; // default 0 (random)
  basePath?: string; // default "/apirest.php"
  latencyMs?: number; // default 0: how long every answer takes (a real GLPI takes tens of ms)
}

export type GlpiFault = NetworkFault;

export interface GlpiCall {
  method: string;
  path: string; // after basePath, e.g. "/initSession"
  query: URLSearchParams;
  status: number; // 0 for reset, hang, drop-response and crash
}

export interface GlpiTicket {
  id: number;
  input: Record<string, unknown>; // the `input` object as received
  dateCreation: string;
}

export interface GlpiFake {
  url: string; // e.g. "http://127.0.0.1:43123/apirest.php" (no trailing slash)
  port: number;
  tickets: GlpiTicket[]; // created tickets, in order
  calls: GlpiCall[]; // every request received, failed and faulted ones included
  count(method: string, path: string | RegExp): number; // calls matching method and path (string = exact)
  sessions(): number; // number of currently valid session tokens
  expireSessions(): void; // invalidate every session token (PHP session garbage collection)
  addEntity(entity: GlpiEntitySeed): void;
  removeEntity(id: number): void; // an entity deleted (purged) in GLPI
  setEntityCnpj(id: number, cnpj: string): void; // an entity's CNPJ field edited ("" clears it)
  setLatency(ms: number): void; // every later answer takes this long
  /**
   * The `times` matching requests after the first `options.after` ones (default 0) get the fault (a string
   * body is sent verbatim as text/html).
   */
  failNext(
    times: number,
    fault: GlpiFault,
    match?: { method?: string; path?: string | RegExp },
    options?: FaultPlanOptions,
  ): void;
  /** Seeded random faults for the matching calls no plan takes (undefined: off); reset() turns them off. */
  setChaos(chaos: FaultChaos<GlpiFault, { method?: string; path?: string | RegExp }> | undefined): void;
  /** The faults applied since the last reset(), plans and chaos alike, by kind. */
  faultsInjected(): FaultCounts;
  setDown(down: boolean): void; // while down, every request's socket is destroyed (a crashed server)
  reset(): void; // forget tickets, calls, sessions, fault plans, chaos, fault counts, added entities and the down flag
  close(): Promise<void>; // close the server and any hung socket
  /** The most requests in flight at once (each counted until answered or cut), since start or resetInFlight(). */
  readonly maxInFlight: number;
  /** Starts maxInFlight again from the requests in flight now. */
  resetInFlight(): void;
}

/** Demo customers with valid CNPJs (one alphanumeric), stored both ways GLPI admins store them. */
export const demoEntities: GlpiEntitySeed[] = [
  { id: 1, name: "ACME Comércio Ltda", cnpj: "11.222.333/0001-81" },
  { id: 2, name: "Padaria Pão Quente", cnpj: "13579246000101" },
  { id: 3, name: "Oficina Alfa & Filhos", cnpj: "12.ABC.345/01DE-35" },
  { id: 4, name: "Mercado Boa Vista", cnpj: "24681357000140" },
];

/**
 * `count` customer entities (ids from `firstId`, default 1000) with distinct valid CNPJs, drawn from
 * `seed`: half stored formatted (`11.222.333/0001-81`), half as digits, as GLPI admins store them.
 */
export function customerEntities(count: number, options: { seed?: number; firstId?: number } = {}) {
  let state = (options.seed ?? 19) >>> 0;
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const firstId = options.firstId ?? 1000;
  const seen = new Set<string>();
  const entities: GlpiEntitySeed[] = [];
  while (entities.length < count) {
    const root = String(Math.floor(random() * 1e8)).padStart(8, "0");
    const cnpj = cnpjWithCheckDigits(`${root}0001`);
    if (seen.has(cnpj) || /^(\d)\1{13}$/.test(cnpj)) continue;
    seen.add(cnpj);
    const id = firstId + entities.length;
    entities.push({ id, name: `Cliente ${id}`, cnpj: id % 2 === 0 ? formatCnpj(cnpj) : cnpj });
  }
  return entities;
}

/** GLPI's refusals: [HTTP status, message, whether returnError() appends the documentation link]. */
const ERRORS = {
  ERROR: [400, "Bad Request", true],
  ERROR_JSON_PAYLOAD_FORBIDDEN: [400, "GET Request should not have json payload (http body)", true],
  ERROR_JSON_PAYLOAD_INVALID: [400, "JSON payload seems not valid", false],
  ERROR_APP_TOKEN_PARAMETERS_MISSING: [400, "missing parameter app_token", true],
  ERROR_WRONG_APP_TOKEN_PARAMETER: [400, "parameter app_token seems wrong", true],
  ERROR_LOGIN_PARAMETERS_MISSING: [400, "parameter(s) login, password or user_token are missing", true],
  ERROR_LOGIN_WITH_CREDENTIALS_DISABLED: [
    400,
    "usage of initSession resource with credentials is disabled",
    false,
  ],
  ERROR_GLPI_LOGIN_USER_TOKEN: [401, "parameter user_token seems invalid", false],
  ERROR_SESSION_TOKEN_MISSING: [400, "parameter session_token is missing or empty", true],
  ERROR_SESSION_TOKEN_INVALID: [401, "session_token seems invalid", false],
  ERROR_RESOURCE_MISSING: [400, "missing resource", true],
  ERROR_RESOURCE_NOT_FOUND_NOR_COMMONDBTM: [400, "resource not found or not an instance of CommonDBTM", true],
  ERROR_METHOD_NOT_ALLOWED: [405, "Method Not Allowed", true],
  ERROR_ITEM_NOT_FOUND: [404, "Item not found", false],
  ERROR_BAD_ARRAY: [400, "input parameter must be an array of objects", true],
  ERROR_RANGE_EXCEED_TOTAL: [400, "Provided range exceed total count of data", true],
  ERROR_GLPI_ADD: [400, "", false],
} as const;

/** PHP's default max_input_vars, which GLPI advertises in Accept-Range. */
const MAX_INPUT_VARS = 1000;
/** GLPI's default priority matrix: row = urgency, column = impact. */
const PRIORITIES = ["11222", "12233", "22344", "23445", "23455"];
/** Itemtypes GLPI knows but this fake does not model (answered 501). */
const UNMODELLED = ["User", "Group", "ITILCategory", "ITILFollowup", "ITILSolution", "TicketTask"];
const TICKET_CHILDREN = ["ITILFollowup", "Document_Item", "TicketTask", "TicketValidation", "ITILSolution"];
const PERMISSION_DENIED = "You don't have permission to perform this action.";

interface Entity extends GlpiEntitySeed {
  cnpjRowId: number | null; // id of the entity's row in the Fields plugin table (null: no CNPJ)
  sortKey: string; // the folded complete name (GLPI sorts on option 1 by default)
}
interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}
interface Request {
  method: string;
  query: URLSearchParams;
  headers: IncomingMessage["headers"];
  body: unknown;
  session: string;
}
interface Criterion {
  or: boolean; // link "OR" or "OR NOT": starts another AND group (SQL: AND binds tighter than OR)
  negated: boolean; // link "AND NOT" or "OR NOT"
  field: number;
  searchtype: string;
  value: string;
}
type AddResult = { id: number; message: string } | { id: false; message: string };

/** A refusal that GLPI answers as `["ERROR_CODE", detail]`. */
class GlpiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: unknown,
  ) {
    super(code);
  }
}

/** Starts the fake on 127.0.0.1. */
export async function startGlpiFake(options: GlpiFakeOptions): Promise<GlpiFake> {
  const basePath = (options.basePath ?? "/apirest.php").replace(/\/+$/, "");
  const sid = options.cnpjSearchOptionId;
  const fieldName = options.cnpjFieldName ?? "cnpjfield";
  const seeds = [{ id: 0, name: "Root entity", cnpj: "" }, ...(options.entities ?? [])];
  const tickets: GlpiTicket[] = [];
  const calls: GlpiCall[] = [];
  const sessions = new Map<string, { entities: unknown; recursive: unknown }>();
  let entities: Entity[] = [];
  let sorted = true; // entities are in GLPI's default order (by complete name)
  let latencyMs = options.latencyMs ?? 0;
  let nextCnpjRow = 1;
  const plans = new FaultPlans<GlpiFault, { method?: string; path?: string | RegExp }, GlpiCall>(
    methodAndPath,
  );
  let down = false;
  let nextTicketId = 1;
  const addEntity = (seed: GlpiEntitySeed) => {
    const sortKey = fold(seed.id === 0 ? seed.name : `Root entity > ${seed.name}`);
    entities.push({ ...seed, cnpjRowId: seed.cnpj ? nextCnpjRow++ : null, sortKey });
    sorted = false;
  };
  const resetEntities = () => {
    entities = [];
    nextCnpjRow = 1;
    seeds.forEach(addEntity);
  };
  resetEntities();
  const entityById = (id: number) => {
    const entity = entities.find((e) => e.id === id);
    if (!entity) throw new Error(`the GLPI fake has no entity ${id}`);
    return entity;
  };

  const server = await listen(options.port, handle, (res, error) =>
    send(res, { status: 500, body: ["ERROR", String(error)] }),
  );
  const port = server.port;
  const url = `http://127.0.0.1:${port}${basePath}`;

  function fail(code: keyof typeof ERRORS, message?: string): GlpiError {
    const [status, text, doc] = ERRORS[code];
    const detail = message ?? text;
    return new GlpiError(
      status,
      code,
      doc ? `${detail}; view documentation in your browser at ${url}/#${code}` : detail,
    );
  }

  const routes: Record<string, Partial<Record<string, (request: Request, id: number) => Reply>>> = {
    killSession: { GET: killSession },
    changeActiveEntities: { POST: changeActiveEntities },
    "listSearchOptions/Entity": { GET: listEntitySearchOptions },
    "search/Entity": { GET: searchEntities },
    Ticket: { GET: listTickets, POST: createTickets },
    "Ticket/:id": { GET: getTicket },
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const parsed = new URL(req.url ?? "/", "http://127.0.0.1");
    const inBase = parsed.pathname === basePath || parsed.pathname.startsWith(`${basePath}/`);
    const path = inBase ? parsed.pathname.slice(basePath.length) || "/" : parsed.pathname;
    const call: GlpiCall = { method: req.method ?? "GET", path, query: parsed.searchParams, status: 0 };
    calls.push(call);
    if (down) return void req.socket.destroy();
    if (latencyMs > 0) await sleep(latencyMs);
    const reply = await plans.serve(req, call, (raw, fault) => {
      if (fault?.kind === "status") {
        const body = fault.body ?? ["ERROR", STATUS_CODES[fault.status] ?? "Error"];
        return { status: fault.status, body, headers: fault.headers ?? {} };
      }
      if (!inBase) return { status: 404, body: "<h1>Not Found</h1>" }; // the web server answers, not GLPI
      return answer(req, call, raw);
    });
    if (reply) send(res, reply);
  }

  /** In the order of GLPI's APIRest::call(): body, then App-Token, then session, then resource. */
  function answer(req: IncomingMessage, call: GlpiCall, raw: string): Reply {
    try {
      const body = parseBody(call.method, header(req.headers, "content-type"), raw);
      const request: Request = { ...call, headers: req.headers, body, session: "" };
      const appToken = header(req.headers, "app-token") ?? call.query.get("app_token") ?? "";
      if (!appToken) throw fail("ERROR_APP_TOKEN_PARAMETERS_MISSING");
      if (appToken !== options.appToken) throw fail("ERROR_WRONG_APP_TOKEN_PARAMETER");
      const segments = call.path.split("/").filter(Boolean); // GLPI trims the slashes around the path
      if (segments[0] === "initSession") {
        if (call.method !== "GET") throw fail("ERROR_METHOD_NOT_ALLOWED");
        return initSession(request);
      }
      request.session = header(req.headers, "session-token") ?? call.query.get("session_token") ?? "";
      if (!request.session) throw fail("ERROR_SESSION_TOKEN_MISSING");
      if (!sessions.has(request.session)) throw fail("ERROR_SESSION_TOKEN_INVALID");
      return dispatch(request, segments);
    } catch (error) {
      if (!(error instanceof GlpiError)) throw error;
      return { status: error.status, body: [error.code, error.detail] };
    }
  }

  function parseBody(method: string, contentType: string | undefined, raw: string): unknown {
    const text = raw.trim();
    if (text && method === "GET") throw fail("ERROR_JSON_PAYLOAD_FORBIDDEN");
    // Without a Content-Type GLPI assumes JSON; bodies of other types (form posts aside) are ignored.
    if (!text || (contentType && !contentType.includes("application/json"))) return undefined;
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {}
    // PHP tests json_decode()'s result for truthiness, so `[]`, `0`, `false`, `""` and `null` fail too.
    const falsy = !body || body === "0" || (Array.isArray(body) && body.length === 0);
    if (falsy) throw fail("ERROR_JSON_PAYLOAD_INVALID");
    return body;
  }

  function dispatch(request: Request, segments: string[]): Reply {
    const [first = "", second, third] = segments;
    let key = first;
    let id = 0;
    if (first === "search" || first === "listSearchOptions") key = `${first}/${itemtype(second)}`;
    else if (first !== "killSession" && first !== "changeActiveEntities") {
      // Like GLPI, a non-numeric or zero id means the collection (GET /Ticket/0 lists tickets).
      id = /^\d+$/.test(second ?? "") ? Number(second) : 0;
      key = itemtype(first) + (id > 0 ? "/:id" : "") + (third === undefined ? "" : `/${third}`);
    }
    const route = routes[key];
    if (!route) throw new GlpiError(501, "ERROR", `the GLPI fake does not model ${request.method} ${key}`);
    const handler = route[request.method];
    if (!handler) throw fail("ERROR_METHOD_NOT_ALLOWED");
    return handler(request, id);
  }

  /** PHP class names are case-insensitive, so `/ticket` is the Ticket itemtype. */
  function itemtype(name: string | undefined): string {
    if (!name) throw fail("ERROR_RESOURCE_MISSING");
    const known = ["Entity", "Ticket", ...UNMODELLED].find(
      (type) => type.toLowerCase() === name.toLowerCase(),
    );
    if (!known) throw fail("ERROR_RESOURCE_NOT_FOUND_NOR_COMMONDBTM");
    return known;
  }

  /** https://github.com/glpi-project/glpi/blob/10.0/bugfixes/apirest.md#init-session */
  function initSession(request: Request): Reply {
    const authorization = header(request.headers, "authorization") ?? "";
    // GLPI takes the word after the first space of any Authorization header that mentions user_token.
    const userToken = authorization.includes("user_token")
      ? (authorization.split(" ")[1] ?? "")
      : (request.query.get("user_token") ?? "");
    const basic = /^Basic\s+(\S+)/i.exec(authorization)?.[1];
    const [login, password] = basic ? Buffer.from(basic, "base64").toString().split(":") : [];
    if (!userToken && !(login && password)) throw fail("ERROR_LOGIN_PARAMETERS_MISSING");
    // A default install disables login/password on the API (enable_api_login_credentials = 0).
    if (!userToken) throw fail("ERROR_LOGIN_WITH_CREDENTIALS_DISABLED");
    if (userToken !== options.userToken) throw fail("ERROR_GLPI_LOGIN_USER_TOKEN");
    const token = randomBytes(20).toString("hex");
    sessions.set(token, { entities: 0, recursive: false });
    return { status: 200, body: { session_token: token } };
  }

  function killSession(request: Request): Reply {
    sessions.delete(request.session);
    return { status: 200, body: true };
  }

  /** Recorded per session; the fake does not restrict searches or creations to the active entities. */
  function changeActiveEntities(request: Request): Reply {
    const params = isRecord(request.body) ? request.body : {};
    sessions.set(request.session, { entities: params.entities_id ?? "all", recursive: params.is_recursive });
    return { status: 200, body: true };
  }

  /** https://github.com/glpi-project/glpi/blob/10.0/bugfixes/apirest.md#list-searchoptions */
  function listEntitySearchOptions(): Reply {
    const option = (name: string, field: string, datatype: string, table = "glpi_entities") => ({
      name,
      table,
      field,
      datatype,
      nosearch: false,
      nodisplay: false,
      available_searchtypes: ["contains", "notcontains", "equals", "notequals"],
      uid: table === "glpi_entities" ? `Entity.${field}` : `Entity.PluginFieldsEntitycnpj.${field}`,
    });
    const body = {
      common: "Characteristics", // section headers are plain strings among the options
      "1": option("Complete name", "completename", "itemlink"),
      "2": option("ID", "id", "number"),
      "14": option("Name", "name", "itemlink"),
      // The Fields plugin names its options "<container label> - <field label>".
      [sid]: option("Dados fiscais - CNPJ", fieldName, "string", "glpi_plugin_fields_entitycnpjs"),
    };
    return { status: 200, body };
  }

  /** https://github.com/glpi-project/glpi/blob/10.0/bugfixes/apirest.md#search-items */
  function searchEntities({ query }: Request): Reply {
    const criteria = readCriteria(query);
    const toview = new Set([1, 2]);
    for (const [key, value] of query) {
      if (/^forcedisplay\[\d*\]$/.test(key) && isOption(Number(value))) toview.add(Number(value));
    }
    for (const criterion of criteria) toview.add(criterion.field);
    // GLPI sorts on option 1 (the complete name) by default; `sort` and `order` are not modelled.
    if (!sorted) {
      entities.sort((a, b) => a.sortKey.localeCompare(b.sortKey));
      sorted = true;
    }
    const matches = criteriaMatcher(criteria);
    const rows = entities.filter(matches);
    const [start, last] = pageOf(query, rows.length);
    const page = rows.slice(start, last + 1);
    const body: Record<string, unknown> = {
      totalcount: rows.length,
      count: page.length,
      sort: [1],
      order: ["ASC"],
    };
    // `data` is only created when a row is added: an empty page has no `data` key at all.
    if (page.length > 0) {
      body.data = page.map((entity) =>
        Object.fromEntries([...toview].map((id) => [id, entityColumn(entity, id)])),
      );
    }
    body["content-range"] = `${start}-${last}/${rows.length}`;
    const headers: Record<string, string> = { "Accept-Range": `Entity ${MAX_INPUT_VARS}` };
    if (rows.length > 0) headers["Content-Range"] = `${start}-${last}/${rows.length}`;
    return { status: page.length >= rows.length ? 200 : 206, body, headers };
  }

  function readCriteria(query: URLSearchParams): Criterion[] {
    const byIndex = new Map<number, Record<string, string>>();
    for (const [key, value] of query) {
      const match = /^criteria\[(\d+)\]\[(\w+)\]/.exec(key); // nested criteria are not modelled
      if (match) byIndex.set(Number(match[1]), { ...byIndex.get(Number(match[1])), [match[2]!]: value });
    }
    return [...byIndex.entries()]
      .sort(([a], [b]) => a - b)
      .map(([, { field, searchtype, value, link = "AND" }]) => {
        if (field === undefined || searchtype === undefined || value === undefined) {
          throw fail("ERROR", "Malformed search criteria");
        }
        if (!/^\d+$/.test(field) || !isOption(Number(field)))
          throw fail("ERROR", "Bad field ID in search criteria");
        if (!/^(AND|OR)( NOT)?$/i.test(link.trim())) throw fail("ERROR", "Bad link in search criteria");
        return {
          or: /^OR/i.test(link.trim()),
          negated: /NOT/i.test(link),
          field: Number(field),
          searchtype,
          value,
        };
      });
  }

  /**
   * Search::constructCriteriaSQL joins the criteria's SQL with their links as written, so SQL's
   * precedence holds: `a AND b OR c` is `(a AND b) OR c`. The first criterion's OR is ignored.
   */
  function criteriaMatcher(criteria: Criterion[]): (entity: Entity) => boolean {
    const groups: ((entity: Entity) => boolean)[][] = [[]];
    criteria.forEach((criterion, i) => {
      if (criterion.value.trim() === "") return; // GLPI drops criteria whose value is empty
      if (criterion.or && i > 0 && groups.at(-1)?.length) groups.push([]);
      groups.at(-1)?.push(criterionMatcher(criterion));
    });
    return (entity) => groups.some((group) => group.every((matches) => matches(entity)));
  }

  function criterionMatcher({ negated, field, searchtype, value }: Criterion): (entity: Entity) => boolean {
    const not = negated !== searchtype.startsWith("not");
    const type = searchtype.replace(/^not/, "");
    if (type === "equals") {
      // Search::addWhere: `equals` on an itemlink compares the item's id, and on a joined table without
      // `searchequalsonfield` (the Fields plugin's) that table's row id: never the text.
      const wanted = Number.parseFloat(value);
      return (entity) => {
        const id = field === sid ? entity.cnpjRowId : entity.id;
        return (id !== null && id === wanted) !== not;
      };
    }
    if (type !== "contains") throw new GlpiError(501, "ERROR", `the GLPI fake does not model ${searchtype}`);
    if (/^null$/i.test(value.trim())) return (entity) => (entityColumn(entity, field) === null) !== not;
    const numeric = field === 2 && /^\d+$/.test(value.trim());
    const like = likeMatcher(value);
    return (entity) => {
      const cell = entityColumn(entity, field);
      // Negated text criteria get `OR field IS NULL`, so NOT LIKE also matches entities without a value.
      if (cell === null || cell === undefined) return not;
      return (numeric ? cell === Number(value) : like(String(cell))) !== not;
    };
  }

  function entityColumn(entity: Entity, id: number): string | number | null | undefined {
    if (id === 1) return entity.id === 0 ? entity.name : `Root entity > ${entity.name}`;
    if (id === 2) return entity.id;
    if (id === 14) return entity.name;
    if (id === sid) return entity.cnpj || null;
    return undefined;
  }

  function isOption(id: number): boolean {
    return [1, 2, 14, sid].includes(id);
  }

  /** https://github.com/glpi-project/glpi/blob/10.0/bugfixes/apirest.md#add-items */
  function createTickets(request: Request): Reply {
    const input = isRecord(request.body) ? request.body.input : undefined;
    if (Array.isArray(input)) {
      const results = input.map(addTicket);
      const failed = results.filter((result) => result.id === false).length;
      // The whole batch failing (an empty batch too: 0 of 0) is a 400, a partial failure a 207.
      if (failed === results.length) throw new GlpiError(400, "ERROR_GLPI_ADD", results);
      if (failed > 0) return { status: 207, body: ["ERROR_GLPI_PARTIAL_ADD", results] };
      const link = results.map((result) => `${url}/Ticket/${result.id}`).join(",");
      return { status: 201, body: results.map(({ id }) => ({ id, message: "" })), headers: { Link: link } };
    }
    if (!isRecord(input)) throw fail("ERROR_BAD_ARRAY");
    const result = addTicket(input);
    if (result.id === false) throw fail("ERROR_GLPI_ADD", result.message);
    return { status: 201, body: result, headers: { Location: `${url}/Ticket/${result.id}` } };
  }

  /** Like GLPI core, a refusal is no exception: the item gets `id: false` and GLPI's last UI message. */
  function addTicket(input: unknown): AddResult {
    if (!isRecord(input)) return { id: false, message: PERMISSION_DENIED };
    const entityId = input.entities_id;
    if (entityId !== undefined && !entities.some((entity) => entity.id === Number(entityId))) {
      return { id: false, message: PERMISSION_DENIED };
    }
    if (!text(input.content) && !text(input.name)) {
      return { id: false, message: "Mandatory fields are not filled. Please correct: Description" };
    }
    const id = nextTicketId++;
    tickets.push({ id, input, dateCreation: glpiDate(new Date()) });
    return { id, message: `Your ticket has been registered. (Ticket: ${id})` };
  }

  /** https://github.com/glpi-project/glpi/blob/10.0/bugfixes/apirest.md#get-an-item */
  function getTicket(request: Request, id: number): Reply {
    const ticket = tickets.find((t) => t.id === id);
    if (!ticket) throw fail("ERROR_ITEM_NOT_FOUND");
    const lastModified = new Date(`${ticket.dateCreation.replace(" ", "T")}Z`).toUTCString();
    return { status: 200, body: ticketView(ticket, request), headers: { "Last-Modified": lastModified } };
  }

  /** https://github.com/glpi-project/glpi/blob/10.0/bugfixes/apirest.md#get-all-items */
  function listTickets(request: Request): Reply {
    let found = tickets;
    for (const [key, value] of request.query) {
      const field = /^searchText\[(\w+)\]$/.exec(key)?.[1];
      // PHP's empty() skips "" and "0"; the rest is SQL LIKE on the stored column.
      if (!field || value === "" || value === "0") continue;
      found = found.filter((ticket) => {
        const cell = ticketFields(ticket)[field];
        return cell !== null && cell !== undefined && likeMatches(String(cell), value);
      });
    }
    const [start, last] = pageOf(request.query, found.length);
    const headers: Record<string, string> = { "Accept-Range": `Ticket ${MAX_INPUT_VARS}` };
    if (found.length > 0) headers["Content-Range"] = `${start}-${last}/${found.length}`;
    const body = found.slice(start, last + 1).map((ticket) => ticketView(ticket, request));
    return { status: last - start + 1 < found.length ? 206 : 200, body, headers };
  }

  function ticketView(ticket: GlpiTicket, request: Request): Record<string, unknown> {
    const fields = ticketFields(ticket);
    // GLPI 10 stores text HTML-encoded and answers it so unless the client sends
    // `X-GLPI-Sanitized-Content: false` (read with FILTER_VALIDATE_BOOLEAN; absent means true).
    const sanitized = header(request.headers, "x-glpi-sanitized-content");
    if (sanitized === undefined || /^(1|true|on|yes)$/i.test(sanitized.trim())) {
      for (const [key, value] of Object.entries(fields))
        if (typeof value === "string") fields[key] = encode(value);
    }
    if (["false", "0"].includes(request.query.get("get_hateoas") ?? "")) return fields;
    fields.links = [
      { rel: "Entity", href: `${url}/Entity/${fields.entities_id}` },
      ...TICKET_CHILDREN.map((rel) => ({ rel, href: `${url}/Ticket/${ticket.id}/${rel}/` })),
    ];
    return fields;
  }

  /** The glpi_tickets row GLPI would store for this input, with a fresh install's defaults. */
  function ticketFields({ id, input, dateCreation }: GlpiTicket): Record<string, unknown> {
    const urgency = int(input.urgency, 3);
    const impact = int(input.impact, 3);
    return {
      id,
      entities_id: int(input.entities_id, 0),
      // Without a title GLPI takes the first 70 characters of the description's text.
      name: text(input.name) || stripTags(text(input.content)).slice(0, 70),
      date: text(input.date) || dateCreation,
      closedate: null,
      solvedate: null,
      date_mod: dateCreation,
      // New, or "Processing (assigned)" when a technician is assigned at creation.
      status: int(input.status, input._users_id_assign ? 2 : 1),
      users_id_recipient: int(input.users_id_recipient, 2), // the user behind the user_token
      requesttypes_id: int(input.requesttypes_id, 1),
      content: text(input.content),
      urgency,
      impact,
      priority: int(input.priority, Number(PRIORITIES[urgency - 1]?.[impact - 1] ?? 3)),
      itilcategories_id: int(input.itilcategories_id, 0),
      type: int(input.type, 1),
      is_deleted: 0,
      date_creation: dateCreation,
      externalid: input.externalid == null ? null : String(input.externalid),
    };
  }

  /** `range=start-end` (default 0-49): GLPI checks the start and clamps the end to the last result. */
  function pageOf(query: URLSearchParams, total: number): [number, number] {
    const match = /^(\d+)-(\d+)$/.exec(query.get("range") ?? "0-49");
    if (!match) throw fail("ERROR", "range must be in format : [start-end] with integers");
    const start = Number(match[1]);
    if (start > total)
      throw fail("ERROR_RANGE_EXCEED_TOTAL", `Provided range exceed total count of data: ${total}`);
    return [start, Math.min(Number(match[2]), total - 1)];
  }

  return {
    url,
    port,
    tickets,
    calls,
    count: (method, path) =>
      calls.filter(
        (c) => c.method === method && (typeof path === "string" ? c.path === path : path.test(c.path)),
      ).length,
    sessions: () => sessions.size,
    expireSessions: () => sessions.clear(),
    addEntity,
    removeEntity: (id) => {
      const entity = entityById(id);
      entities = entities.filter((e) => e !== entity);
    },
    setEntityCnpj: (id, cnpj) => {
      const entity = entityById(id);
      entity.cnpj = cnpj;
      if (cnpj && entity.cnpjRowId === null) entity.cnpjRowId = nextCnpjRow++;
    },
    setLatency: (ms) => {
      latencyMs = ms;
    },
    failNext: (times, fault, match = {}, options = {}) => plans.add(times, fault, match, options),
    setChaos: (chaos) => plans.setChaos(chaos),
    faultsInjected: () => plans.injected(),
    setDown: (value) => {
      down = value;
    },
    reset: () => {
      // Ticket ids keep counting: GLPI never reuses an auto-increment id.
      tickets.length = 0;
      calls.length = 0;
      sessions.clear();
      plans.clear();
      down = false;
      latencyMs = options.latencyMs ?? 0;
      resetEntities();
    },
    close: () => server.close(),
    get maxInFlight() {
      return server.maxInFlight;
    },
    resetInFlight: () => server.resetInFlight(),
  };
}

/**
 * SQL LIKE as GLPI builds it (Search::makeTextSearchValue): `%value%` unless anchored with ^ or $,
 * `%` stays a wildcard, `_` is escaped, and the utf8mb4_unicode_ci collation ignores case and accents.
 */
function likeMatcher(value: string): (cell: string) => boolean {
  const trimmed = value.trim();
  const start = trimmed.startsWith("^") ? "^" : "";
  const end = trimmed.endsWith("$") && trimmed.length > start.length ? "$" : "";
  const inner = trimmed.slice(start.length, trimmed.length - end.length).trim();
  const escaped = fold(inner).replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const pattern = new RegExp(`${start}${escaped.replaceAll("%", ".*")}${end}`, "s");
  return (cell) => pattern.test(fold(cell));
}

function likeMatches(cell: string, value: string): boolean {
  return likeMatcher(value)(cell);
}

function fold(value: string): string {
  return value.normalize("NFD").replace(/\p{M}/gu, "").toLowerCase();
}

/** GLPI 10's Sanitizer: numeric entities for & < > (GLPI 9.x used &lt; and &gt;). */
function encode(value: string): string {
  return value.replace(/&/g, "&#38;").replace(/</g, "&#60;").replace(/>/g, "&#62;");
}

function stripTags(html: string): string {
  return html
    .replace(/<[^>]*>/g, "")
    .replace(/\s+/g, " ")
    .trim();
}

function int(value: unknown, fallback: number): number {
  const number = Number(value);
  return value == null || value === "" || !Number.isFinite(number) ? fallback : Math.trunc(number);
}

function text(value: unknown): string {
  return typeof value === "string" ? value.trim() : value == null ? "" : String(value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function header(headers: IncomingMessage["headers"], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function send(res: ServerResponse, reply: Reply): void {
  if (res.destroyed || res.headersSent) return;
  const verbatim = typeof reply.body === "string"; // a fault's proxy page, for instance
  res.writeHead(reply.status, {
    "Content-Type": verbatim ? "text/html; charset=UTF-8" : "application/json; charset=UTF-8",
    "Cache-Control": "no-store, no-cache, must-revalidate",
    ...reply.headers,
  });
  res.end(verbatim ? reply.body : JSON.stringify(reply.body));
}

/** GLPI datetimes: `YYYY-MM-DD HH:MM:SS` in the server's time zone (UTC here). */
function glpiDate(date: Date): string {
  return date.toISOString().slice(0, 19).replace("T", " ");
}
