import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

/**
 * A fake of GLPI's legacy REST API (apirest.php, GLPI 10) for tests and the local sandbox. It speaks
 * the real wire format, quirks included (../shared/systems-api.md §5): errors as `["ERROR_X", "msg"]`
 * arrays, App-Token on every call, Session-Token from initSession, 401 ERROR_SESSION_TOKEN_INVALID
 * after expiry, GET with a body refused, 206 + Content-Range for partial ranges, `data` absent from an
 * empty search, 201 + Location on create, HTML-encoded text unless `X-GLPI-Sanitized-Content: false`.
 */

export interface GlpiEntitySeed {
  id: number;
  name: string;
  /** Stored as given: formatted (`11.222.333/0001-81`) or digits only. */
  cnpj: string;
}

export interface GlpiFakeOptions {
  appToken: string;
  userToken: string;
  /** Search-option id of the Fields plugin CNPJ field on Entity (e.g. 76674). */
  cnpjSearchOptionId: number;
  cnpjFieldName?: string;
  entities?: GlpiEntitySeed[];
  /** 0 (default) = any free port. */
  port?: number;
  basePath?: string;
}

export type GlpiFault =
  | { kind: "status"; status: number; body?: unknown; headers?: Record<string, string> }
  /** Destroy the socket without answering. */
  | { kind: "reset" }
  /** Never answer (until close()). */
  | { kind: "hang" }
  /** Answer normally after `ms`. */
  | { kind: "delay"; ms: number }
  /** Do the work (a ticket is created), then drop the connection: the client never learns the outcome. */
  | { kind: "drop-response" };

export interface GlpiCall {
  method: string;
  /** After the base path, e.g. `/initSession`. */
  path: string;
  query: URLSearchParams;
  /** 0 when the connection was reset or left hanging. */
  status: number;
}

export interface GlpiTicket {
  id: number;
  input: Record<string, unknown>;
  dateCreation: string;
}

export interface GlpiFake {
  url: string;
  port: number;
  tickets: GlpiTicket[];
  calls: GlpiCall[];
  count(method: string, path: string | RegExp): number;
  sessions(): number;
  expireSessions(): void;
  addEntity(entity: GlpiEntitySeed): void;
  failNext(times: number, fault: GlpiFault, match?: { method?: string; path?: string | RegExp }): void;
  setDown(down: boolean): void;
  reset(): void;
  close(): Promise<void>;
}

/** Demo customers with valid CNPJs, stored both ways GLPI admins store them. */
export const demoEntities: GlpiEntitySeed[] = [
  { id: 1, name: "ACME Comércio Ltda", cnpj: "11.222.333/0001-81" },
  { id: 2, name: "Padaria Pão Quente", cnpj: "13579246000101" },
  { id: 3, name: "Oficina Alfa & Filhos", cnpj: "12.ABC.345/01DE-35" },
];

interface FaultPlan {
  remaining: number;
  fault: GlpiFault;
  method?: string | undefined;
  path?: string | RegExp | undefined;
}

interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

class GlpiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const DOC = "; view documentation in your browser at http://127.0.0.1/apirest.php/#";

export async function startGlpiFake(options: GlpiFakeOptions): Promise<GlpiFake> {
  const basePath = (options.basePath ?? "/apirest.php").replace(/\/+$/, "");
  const fieldName = options.cnpjFieldName ?? "cnpjfield";
  const sid = options.cnpjSearchOptionId;
  const seeded = [{ id: 0, name: "Root entity", cnpj: "" }, ...(options.entities ?? [])];
  let entities = [...seeded];
  let tickets: GlpiTicket[] = [];
  const calls: GlpiCall[] = [];
  const sessions = new Set<string>();
  let plans: FaultPlan[] = [];
  let down = false;
  const sockets = new Set<Socket>();
  let nextTicketId = 1;

  const server = createServer((req, res) => {
    void handle(req, res);
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}${basePath}`;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const parsed = new URL(req.url ?? "/", "http://127.0.0.1");
    const path = parsed.pathname.startsWith(basePath)
      ? parsed.pathname.slice(basePath.length) || "/"
      : parsed.pathname;
    const method = req.method ?? "GET";
    const call: GlpiCall = { method, path, query: parsed.searchParams, status: 0 };
    calls.push(call);
    const raw = await readBody(req);
    if (down) {
      req.socket.destroy();
      return;
    }
    const fault = takeFault(method, path);
    if (fault?.kind === "reset") return void req.socket.destroy();
    if (fault?.kind === "hang") return;
    if (fault?.kind === "delay") await new Promise((resolve) => setTimeout(resolve, fault.ms));
    if (fault?.kind === "status") {
      call.status = fault.status;
      return send(res, {
        status: fault.status,
        body: fault.body ?? ["ERROR", "fault"],
        headers: fault.headers ?? {},
      });
    }
    let reply: Reply;
    try {
      reply = route(method, path, parsed.searchParams, raw, req);
    } catch (error) {
      if (!(error instanceof GlpiError)) throw error;
      reply = { status: error.status, body: [error.code, error.message] };
    }
    if (fault?.kind === "drop-response") return void req.socket.destroy();
    call.status = reply.status;
    send(res, reply);
  }

  function takeFault(method: string, path: string): GlpiFault | undefined {
    const plan = plans.find(
      (p) =>
        p.remaining > 0 &&
        (p.method === undefined || p.method === method) &&
        (p.path === undefined || (typeof p.path === "string" ? p.path === path : p.path.test(path))),
    );
    if (!plan) return undefined;
    plan.remaining -= 1;
    plans = plans.filter((p) => p.remaining > 0);
    return plan.fault;
  }

  function route(
    method: string,
    path: string,
    query: URLSearchParams,
    raw: string,
    req: IncomingMessage,
  ): Reply {
    // Every call must come from a known API client: the App-Token is checked first.
    const appToken = header(req, "app-token") ?? query.get("app_token");
    if (!appToken)
      throw new GlpiError(400, "ERROR_APP_TOKEN_PARAMETERS_MISSING", `missing parameter app_token${DOC}`);
    if (appToken !== options.appToken)
      throw new GlpiError(400, "ERROR_WRONG_APP_TOKEN_PARAMETER", `parameter app_token seems wrong${DOC}`);
    // GLPI refuses a body on GET, and invalid JSON on writes.
    if (method === "GET" && raw.length > 0) {
      throw new GlpiError(
        400,
        "ERROR_JSON_PAYLOAD_FORBIDDEN",
        "GET Request should not have json payload (http body)",
      );
    }
    let body: unknown;
    if (method !== "GET" && raw.length > 0) {
      try {
        body = JSON.parse(raw);
      } catch {
        throw new GlpiError(400, "ERROR_JSON_PAYLOAD_INVALID", "JSON payload seems not valid");
      }
    }
    if (path === "/initSession") return method === "GET" ? initSession(req) : notAllowed();
    const session = header(req, "session-token") ?? query.get("session_token");
    if (!session)
      throw new GlpiError(
        400,
        "ERROR_SESSION_TOKEN_MISSING",
        `parameter session_token is missing or empty${DOC}`,
      );
    if (!sessions.has(session))
      throw new GlpiError(401, "ERROR_SESSION_TOKEN_INVALID", `session_token seems invalid${DOC}`);
    const raw_ = header(req, "x-glpi-sanitized-content");
    const sanitized = raw_ === undefined || raw_.toLowerCase() !== "false";

    if (path === "/killSession") {
      if (method !== "GET") return notAllowed();
      sessions.delete(session);
      return { status: 200, body: true };
    }
    if (path === "/changeActiveEntities")
      return method === "POST" ? { status: 200, body: true } : notAllowed();
    if (path === "/listSearchOptions/Entity") return { status: 200, body: entitySearchOptions() };
    const search = /^\/search\/([^/]+)$/.exec(path);
    if (search) {
      if (search[1] !== "Entity") throw unknownItemtype();
      return method === "GET" ? searchEntities(query) : notAllowed();
    }
    if (path === "/Ticket") {
      if (method === "POST") return createTickets(body);
      if (method === "GET") return listTickets(query, sanitized);
      return notAllowed();
    }
    const ticket = /^\/Ticket\/(\d+)$/.exec(path);
    if (ticket) {
      if (method !== "GET") return notAllowed();
      const found = tickets.find((t) => t.id === Number(ticket[1]));
      if (!found) throw new GlpiError(404, "ERROR_ITEM_NOT_FOUND", "Item not found");
      return {
        status: 200,
        body: {
          ...ticketView(found, sanitized),
          links: [{ rel: "Entity", href: `${url}/Entity/${found.input.entities_id}` }],
        },
      };
    }
    throw unknownItemtype();
  }

  function initSession(req: IncomingMessage): Reply {
    const auth = header(req, "authorization");
    if (!auth)
      throw new GlpiError(
        400,
        "ERROR_LOGIN_PARAMETERS_MISSING",
        `parameter(s) login, password or user_token are missing${DOC}`,
      );
    if (/^basic /i.test(auth)) {
      // A default install disables login/password on the API.
      throw new GlpiError(
        400,
        "ERROR_LOGIN_WITH_CREDENTIALS_DISABLED",
        `cannot login with credentials (login/password)${DOC}`,
      );
    }
    const token = /^user_token\s+(.+)$/i.exec(auth)?.[1]?.trim();
    if (token !== options.userToken)
      throw new GlpiError(401, "ERROR_GLPI_LOGIN_USER_TOKEN", `parameter user_token seems invalid${DOC}`);
    const session = randomBytes(13).toString("hex");
    sessions.add(session);
    return { status: 200, body: { session_token: session } };
  }

  function searchEntities(query: URLSearchParams): Reply {
    const criteria: { field: string; searchtype: string; value: string }[] = [];
    for (
      let i = 0;
      query.has(`criteria[${i}][field]`) ||
      query.has(`criteria[${i}][value]`) ||
      query.has(`criteria[${i}][searchtype]`);
      i++
    ) {
      const field = query.get(`criteria[${i}][field]`);
      const searchtype = query.get(`criteria[${i}][searchtype]`);
      const value = query.get(`criteria[${i}][value]`);
      if (field === null || searchtype === null || value === null)
        throw new GlpiError(400, "ERROR", "Malformed search criteria");
      if (!["1", "2", String(sid)].includes(field))
        throw new GlpiError(400, "ERROR", "Bad field ID in search criteria");
      criteria.push({ field, searchtype, value });
    }
    const columnOf = (entity: GlpiEntitySeed, field: string): string =>
      field === "1" ? entity.name : field === "2" ? String(entity.id) : entity.cnpj;
    const matches = entities.filter((entity) =>
      criteria.every(({ field, searchtype, value }) => {
        const cell = columnOf(entity, field);
        // GLPI's "contains" is SQL LIKE '%value%' (case-insensitive collation).
        if (searchtype === "contains") return cell.toLowerCase().includes(value.toLowerCase());
        if (searchtype === "equals") return cell === value;
        if (searchtype === "notequals") return cell !== value;
        throw new GlpiError(400, "ERROR", "Malformed search criteria");
      }),
    );
    const displayed = new Set(["1", "2", "80"]);
    for (const [key, value] of query) if (/^forcedisplay\[\d+\]$/.test(key)) displayed.add(value);
    for (const c of criteria) displayed.add(c.field);
    const [start, end] = range(query, matches.length);
    const page = matches.slice(start, end + 1);
    const total = matches.length;
    const body: Record<string, unknown> = {
      totalcount: total,
      count: page.length,
      sort: [1],
      order: ["ASC"],
    };
    if (total > 0) {
      body.data = page.map((entity) => {
        const row: Record<string, unknown> = {};
        for (const column of displayed) {
          if (column === "1") row["1"] = entity.name;
          else if (column === "2") row["2"] = entity.id;
          else if (column === "80")
            row["80"] = entity.id === 0 ? "Root entity" : `Root entity > ${entity.name}`;
          else if (column === String(sid)) row[column] = entity.cnpj || null;
        }
        return row;
      });
    }
    body["content-range"] = `${start}-${Math.max(start, start + page.length - 1)}/${total}`;
    const partial = page.length < total;
    return {
      status: partial ? 206 : 200,
      body,
      headers: {
        "Content-Range": `${start}-${start + page.length - 1}/${total}`,
        "Accept-Range": "Entity 1000",
      },
    };
  }

  function createTickets(body: unknown): Reply {
    const input = typeof body === "object" && body !== null ? (body as { input?: unknown }).input : undefined;
    if (Array.isArray(input)) {
      return { status: 201, body: input.map((one) => ({ id: addTicket(one), message: "" })) };
    }
    if (typeof input !== "object" || input === null) {
      throw new GlpiError(400, "ERROR_BAD_ARRAY", "input parameter must be an array of objects");
    }
    const id = addTicket(input);
    return {
      status: 201,
      body: { id, message: `Your ticket has been registered. (Ticket: ${id})` },
      headers: { Location: `${url}/Ticket/${id}` },
    };
  }

  function addTicket(raw: unknown): number {
    if (typeof raw !== "object" || raw === null)
      throw new GlpiError(400, "ERROR_BAD_ARRAY", "input parameter must be an array of objects");
    const input = raw as Record<string, unknown>;
    // Like GLPI core: an unknown entity or an empty description is refused with the last UI message.
    if (input.entities_id !== undefined && !entities.some((e) => e.id === Number(input.entities_id))) {
      throw new GlpiError(400, "ERROR_GLPI_ADD", "You don't have permission to perform this action.");
    }
    if (!String(input.content ?? "").trim() && !String(input.name ?? "").trim()) {
      throw new GlpiError(
        400,
        "ERROR_GLPI_ADD",
        "Mandatory fields are not filled. Please correct: Description",
      );
    }
    const id = nextTicketId++;
    tickets.push({ id, input: { ...input }, dateCreation: glpiDate(new Date()) });
    return id;
  }

  function listTickets(query: URLSearchParams, sanitized: boolean): Reply {
    let found = tickets;
    for (const [key, value] of query) {
      const field = /^searchText\[(\w+)\]$/.exec(key)?.[1];
      if (field)
        found = found.filter((t) =>
          String(ticketView(t, false)[field] ?? "")
            .toLowerCase()
            .includes(value.toLowerCase()),
        );
    }
    if (found.length === 0) return { status: 200, body: [] };
    const [start, end] = range(query, found.length);
    const page = found.slice(start, end + 1);
    return {
      status: page.length < found.length ? 206 : 200,
      body: page.map((t) => ticketView(t, sanitized)),
      headers: {
        "Content-Range": `${start}-${start + page.length - 1}/${found.length}`,
        "Accept-Range": "Ticket 1000",
      },
    };
  }

  function ticketView(ticket: GlpiTicket, sanitized: boolean): Record<string, unknown> {
    const view: Record<string, unknown> = {
      id: ticket.id,
      entities_id: ticket.input.entities_id ?? 0,
      name: ticket.input.name ?? "",
      content: ticket.input.content ?? "",
      externalid: ticket.input.externalid ?? null,
      status: ticket.input.status ?? 1,
      type: ticket.input.type ?? 1,
      urgency: ticket.input.urgency ?? 3,
      impact: ticket.input.impact ?? 3,
      itilcategories_id: ticket.input.itilcategories_id ?? 0,
      requesttypes_id: ticket.input.requesttypes_id ?? 1,
      users_id_recipient: ticket.input.users_id_recipient ?? 0,
      date: ticket.dateCreation,
      date_creation: ticket.dateCreation,
      date_mod: ticket.dateCreation,
    };
    if (!sanitized) return view;
    // GLPI 10 answers text HTML-encoded unless the client sends X-GLPI-Sanitized-Content: false.
    for (const [key, value] of Object.entries(view)) {
      if (typeof value === "string")
        view[key] = value.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
    }
    return view;
  }

  function entitySearchOptions(): Record<string, unknown> {
    const text = ["contains", "notcontains", "equals", "notequals"];
    return {
      common: { name: "Characteristics" },
      "1": {
        name: "Name",
        table: "glpi_entities",
        field: "name",
        datatype: "itemlink",
        uid: "Entity.name",
        available_searchtypes: text,
      },
      "2": {
        name: "ID",
        table: "glpi_entities",
        field: "id",
        datatype: "number",
        uid: "Entity.id",
        available_searchtypes: ["contains", "equals", "notequals"],
      },
      [String(sid)]: {
        name: "CNPJ",
        table: "glpi_plugin_fields_entitycnpjs",
        field: fieldName,
        datatype: "string",
        uid: `Entity.PluginFieldsEntitycnpj.${fieldName}`,
        available_searchtypes: text,
      },
    };
  }

  function range(query: URLSearchParams, total: number): [number, number] {
    const match = /^(\d+)-(\d+)$/.exec(query.get("range") ?? "0-49");
    const start = Number(match?.[1] ?? 0);
    const end = Number(match?.[2] ?? 49);
    if (total > 0 && start >= total)
      throw new GlpiError(400, "ERROR_RANGE_EXCEED_TOTAL", `Provided range exceed total count of data${DOC}`);
    return [start, end];
  }

  return {
    url,
    port,
    get tickets() {
      return tickets;
    },
    calls,
    count: (method, path) =>
      calls.filter(
        (c) => c.method === method && (typeof path === "string" ? c.path === path : path.test(c.path)),
      ).length,
    sessions: () => sessions.size,
    expireSessions: () => sessions.clear(),
    addEntity: (entity) => {
      entities.push(entity);
    },
    failNext: (times, fault, match = {}) => {
      plans.push({ remaining: times, fault, method: match.method, path: match.path });
    },
    setDown: (value) => {
      down = value;
    },
    reset: () => {
      tickets = [];
      calls.length = 0;
      sessions.clear();
      plans = [];
      down = false;
      entities = [...seeded];
      nextTicketId = 1;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

function notAllowed(): never {
  throw new GlpiError(
    405,
    "ERROR_METHOD_NOT_ALLOWED",
    `You can't use this HTTP method for this resource${DOC}`,
  );
}

function unknownItemtype(): GlpiError {
  return new GlpiError(
    400,
    "ERROR_RESOURCE_NOT_FOUND_NOR_COMMONDBTM",
    `resource not found or not an instance of CommonDBTM${DOC}`,
  );
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", () => resolve(""));
  });
}

function send(res: ServerResponse, reply: Reply): void {
  res.writeHead(reply.status, { "Content-Type": "application/json; charset=UTF-8", ...reply.headers });
  res.end(JSON.stringify(reply.body));
}

function glpiDate(date: Date): string {
  return date.toISOString().slice(0, 19).replace("T", " ");
}
