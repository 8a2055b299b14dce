import { randomBytes } from "node:crypto";
import { type IncomingMessage, type ServerResponse, STATUS_CODES } from "node:http";
import {
  type FaultChaos,
  type FaultCounts,
  type FaultPlanOptions,
  FaultPlans,
  listen,
  type NetworkFault,
} from "./faults.ts";

/**
 * An in-process fake of the OTRS 6 / Znuny GenericInterface REST provider (the GenericTicketConnectorREST
 * sample web service) for integration tests and the local sandbox, on 127.0.0.1 only. It answers in the
 * real wire format, quirks included (summary: /work/shared/systems-api.md §1): business and auth errors
 * are HTTP 200 with `{"Error": {…}}`, ids are JSON strings, an empty search is `{}`, GET bodies are
 * ignored and an article without `IsVisibleForCustomer` is customer-visible.
 * Modelled: SessionCreate, TicketCreate, TicketGet, TicketSearch (GET /Ticket and POST /TicketSearch) and
 * TicketUpdate (PATCH, POST or PUT /Ticket/:TicketID). Attachments: TicketCreate/TicketUpdate's top-level
 * `Attachment` (one object or a list; Content, ContentType and Filename required) goes on the article
 * created by the same call, and is ignored without one; TicketGet lists them per article only with
 * `Attachments=1` (TicketGet.pm: ArticleAttachment() plus FileID, Content base64 without line breaks,
 * emptied by `GetAttachmentContents=0`; no `Attachment` key on an article without any). Any other URI gets REST.pm's 500 text/plain.
 * A `status` fault without a body answers as the web server in front of OTRS would (an HTML page);
 * a `fault` answers as a failed operation does (500 with `{"faultcode":"Server","faultstring"}`).
 */

export interface OtrsFakeOptions {
  login: string; // the bridge agent's credentials
  password: string;
  port?: number; // default 0 (random)
  webservice?: string; // default "deskbridge"; base path = /otrs/nph-genericinterface.pl/Webservice/<name>
  states?: string[]; // known state names
  dynamicFields?: string[]; // known ticket dynamic field names; default ["RedmineID"]
  queues?: string[]; // default ["Raw", "Desenvolvimento", "Suporte"]
}

export type OtrsFault =
  | NetworkFault
  | { kind: "error200"; code: string; message: string } // HTTP 200 with {"Error": {…}}, without doing the work
  /**
   * An operation that failed (returned Success 0 with an ErrorMessage, e.g. TicketCreate's "Ticket
   * could not be created, please contact the system administrator"), answered as the provider does:
   * HTTP 500, `Content-Type: text/plain; charset=UTF-8`, body `{"faultcode":"Server","faultstring":…}`
   * (REST.pm ProviderGenerateResponse; _Output sends application/json only with 200), without the work.
   */
  | { kind: "fault"; message: string };

export interface OtrsArticle {
  ArticleID: string;
  Subject: string;
  Body: string;
  From: string;
  SenderType: string;
  CommunicationChannel: string;
  IsVisibleForCustomer: 0 | 1;
  ContentType: string;
  CreateTime: string;
  CreatedBy: string; // login of who created it
  Attachments: OtrsAttachment[];
}

/** A file on an article (stored as bytes; TicketGet sends it base64). */
export interface OtrsAttachment {
  Filename: string;
  ContentType: string;
  Content: Buffer;
}

/** An article a person adds in OTRS (not through the API): a customer's reply or an agent's note. */
export interface OtrsArticleSeed {
  Subject?: string;
  Body: string;
  /** Default customer (an e-mail reply, visible to the customer). */
  SenderType?: "customer" | "agent" | "system";
  CommunicationChannel?: "Email" | "Phone" | "Internal" | "Chat";
  /** Default: 1 for customers, 0 for agents. */
  IsVisibleForCustomer?: 0 | 1;
  From?: string;
  /** Who adds it (default: the ticket's customer, or root@localhost for agents and the system). */
  CreatedBy?: string;
  Attachments?: { Filename: string; ContentType?: string; Content: Buffer | string }[];
}

export interface OtrsTicket {
  TicketID: string;
  TicketNumber: string;
  Title: string;
  State: string;
  Queue: string;
  Priority: string;
  Owner: string;
  CustomerUserID: string;
  CustomerID: string;
  Created: string;
  Changed: string;
  ChangedBy: string; // login of the last changer
  DynamicFields: Record<string, string>;
  Articles: OtrsArticle[];
}

export interface OtrsCall {
  method: string;
  path: string; // after the base path, e.g. "/Ticket/12"
  query: URLSearchParams;
  status: number; // 0 for reset, hang, drop-response and crash
  operation?: string; // "SessionCreate" | "TicketGet" | "TicketSearch" | "TicketUpdate" | "TicketCreate"
}

export interface OtrsTicketSeed {
  Title: string;
  Queue: string;
  State: string;
  CustomerUserID?: string;
  /** The customer's company (default: the customer user id). */
  CustomerID?: string;
  /** The customer's real name, shown in the From of their articles (default: the login). */
  CustomerName?: string;
  Priority?: string;
  Articles?: { Subject: string; Body: string }[];
  DynamicFields?: Record<string, string>;
}

export interface OtrsFake {
  url: string; // http://127.0.0.1:<port>/otrs/nph-genericinterface.pl/Webservice/<name> (no trailing slash)
  port: number;
  tickets: OtrsTicket[]; // every ticket, in order of creation
  calls: OtrsCall[]; // every request received, failed and faulted ones included
  count(operation: string): number; // calls routed to this operation
  /** Adds a ticket as a customer would (not through the API); articles are created by "customer". */
  addTicket(t: OtrsTicketSeed): OtrsTicket;
  /**
   * A person adds an article to a ticket (a customer's e-mail reply, an agent's note); returns it and
   * what the ArticleCreate invoker (Test::TestSimple / Generic::Tunnel) POSTs: `{TicketID, ArticleID}`.
   */
  addArticle(
    ticketId: string,
    article: OtrsArticleSeed,
  ): { article: OtrsArticle; event: Record<string, string> };
  /** Changes a ticket as a human agent would (not through the API), returning the event payload OTRS's invoker would POST for it. */
  agentSetState(
    ticketId: string,
    state: string,
    agent?: string,
  ): { TicketID: string; OldTicketData: Record<string, unknown> };
  /**
   * What OTRS POSTs for a ticket event (§1.10): `Ticket::Generic` (Znuny: the event and the whole
   * ticket, dynamic fields as flat `DynamicField_<Name>` keys, its articles), `Test::TestSimple` (the
   * raw event data: just the TicketID), or Znuny's "Web service" notification transport.
   */
  eventPayload(
    ticketId: string,
    event: string,
    kind: "Ticket::Generic" | "Test::TestSimple" | "Notification",
    options?: {
      /**
       * Whether the event data carries the event's name (`Event.Event` in Ticket::Generic's payload).
       * Default true; false is the older event handler (Kernel/GenericInterface/Event/Handler.pm passes
       * the event's data on as it is: `{TicketID, OldTicketData}`, without the name).
       */
      eventName?: boolean;
    },
  ): Record<string, unknown>;
  /**
   * The request Znuny's HTTP::REST requester makes for an invoker's data through a controller
   * (Kernel/GenericInterface/Transport/HTTP/REST.pm, RequesterPerformRequest): each `:Name` in the
   * controller's path and query is replaced with the data's top-level `Name` (URI-escaped), and that
   * field is removed from the body; the controller's query string is kept only if one of its
   * placeholders was replaced; what is left of the data is the JSON body, or there is no body at all.
   */
  requesterRequest(
    controller: string,
    data: Record<string, unknown>,
  ): { path: string; query: Record<string, string>; body: string | undefined };
  expireSessions(): void; // invalidate every SessionID (SessionMaxTime passed)
  /**
   * The `times` matching requests after the first `options.after` ones (default 0) get the fault (a string
   * body is sent verbatim as text/html).
   */
  failNext(times: number, fault: OtrsFault, match?: { operation?: string }, options?: FaultPlanOptions): void;
  /** Seeded random faults for the matching calls no plan takes (undefined: off); reset() turns them off. */
  setChaos(chaos: FaultChaos<OtrsFault, { operation?: string }> | undefined): void;
  /** The faults applied since the last reset(), plans and chaos alike, by kind. */
  faultsInjected(): FaultCounts;
  setDown(down: boolean): void; // while down, every request's socket is destroyed (a crashed server)
  reset(): void; // forget tickets, calls, fault plans, chaos, fault counts and the down flag; sessions stay valid
  close(): Promise<void>; // close the server and any hung socket
  /** The most requests in flight at once (each counted until answered or cut), since start or resetInFlight(). */
  readonly maxInFlight: number;
  /** Starts maxInFlight again from the requests in flight now. */
  resetInFlight(): void;
}

export const DEFAULT_STATES = [
  "new",
  "open",
  "closed successful",
  "Novo",
  "Aberto",
  "Em Atendimento",
  "Em Desenvolvimento",
  "Aguardando deploy",
  "Fechado com sucesso",
];
const PRIORITIES = ["1 very low", "2 low", "3 normal", "4 high", "5 very high"];
const CHANNELS = ["Email", "Phone", "Internal", "Chat"]; // CommunicationChannelID = index + 1
const SENDER_TYPES = ["agent", "system", "customer"]; // SenderTypeID = index + 1
const SYSTEM_ID = "10";

/** Demo tickets: a development request in "Em Atendimento" and a support ticket. */
export const demoTickets: OtrsTicketSeed[] = [
  {
    Title: "Erro ao emitir nota fiscal",
    Queue: "Desenvolvimento",
    State: "Em Atendimento",
    CustomerUserID: "maria.souza",
    CustomerName: "Maria Souza",
    Articles: [
      {
        Subject: "Erro ao emitir nota fiscal",
        Body: 'Ao clicar em "Emitir NF-e" o sistema mostra "Falha na assinatura" e a nota não é gerada.',
      },
    ],
  },
  {
    Title: "Impressora não imprime boletos",
    Queue: "Suporte",
    State: "Aberto",
    CustomerUserID: "joao.lima",
    CustomerName: "João Lima",
    Articles: [
      { Subject: "Impressora parada", Body: "A impressora do caixa não imprime os boletos desde ontem." },
    ],
  },
  {
    Title: "Acesso ao portal",
    Queue: "Raw",
    State: "Novo",
    CustomerUserID: "ana.costa",
    CustomerName: "Ana Costa",
    Articles: [{ Subject: "Acesso ao portal", Body: "Esqueci minha senha do portal do cliente." }],
  },
];

type Data = Record<string, unknown>;
type Operation = "SessionCreate" | "TicketCreate" | "TicketGet" | "TicketSearch" | "TicketUpdate";

interface Route {
  name: string; // the operation's name in the web service (routes are tried in this order)
  operation: Operation; // its type, which names the error codes
  methods: string[];
  pattern: RegExp;
}
interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** GenericTicketConnectorREST plus the POST search route the Znuny manual recommends. */
const ROUTES: Route[] = (
  [
    { name: "SessionCreate", operation: "SessionCreate", methods: ["POST"], route: "/Session" },
    { name: "TicketCreate", operation: "TicketCreate", methods: ["POST"], route: "/Ticket" },
    { name: "TicketGet", operation: "TicketGet", methods: ["GET"], route: "/Ticket/:TicketID" },
    { name: "TicketSearch", operation: "TicketSearch", methods: ["GET"], route: "/Ticket" },
    { name: "TicketSearchPost", operation: "TicketSearch", methods: ["POST"], route: "/TicketSearch" },
    {
      name: "TicketUpdate",
      operation: "TicketUpdate",
      methods: ["PATCH", "POST", "PUT"],
      route: "/Ticket/:TicketID",
    },
  ] as const
)
  .map(({ route, ...rest }) => ({
    ...rest,
    methods: [...rest.methods],
    pattern: new RegExp(`^${route.replace(/:(\w+)/g, "(?<$1>[^/]+)")}$`),
  }))
  .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

/** A refusal OTRS answers with HTTP 200 and `{"Error": {ErrorCode, ErrorMessage}}`. */
class GiError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Starts the fake on 127.0.0.1. */
export async function startOtrsFake(options: OtrsFakeOptions): Promise<OtrsFake> {
  const basePath = `/otrs/nph-genericinterface.pl/Webservice/${options.webservice ?? "deskbridge"}`;
  const states = options.states ?? DEFAULT_STATES;
  const queues = options.queues ?? ["Raw", "Desenvolvimento", "Suporte"];
  const dynamicFields = options.dynamicFields ?? ["RedmineID"];
  const tickets: OtrsTicket[] = [];
  const calls: OtrsCall[] = [];
  const sessions = new Map<string, string>(); // SessionID → login
  const userIds = new Map<string, number>([
    ["root@localhost", 1],
    [options.login, 2],
  ]);
  const plans = new FaultPlans<OtrsFault, { operation?: string }, OtrsCall>(
    (match, call) => match.operation === undefined || match.operation === call.operation,
  );
  let down = false;
  // Ids and the ticket number counter keep counting across reset(): OTRS never reuses them.
  let nextTicketId = 1;
  let nextArticleId = 1;

  const server = await listen(options.port, handle, (res, error) =>
    send(res, { status: 500, body: `Internal error: ${String(error)}` }),
  );
  const port = server.port;
  const url = `http://127.0.0.1:${port}${basePath}`;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const parsed = new URL(req.url ?? "/", "http://127.0.0.1");
    const inBase = parsed.pathname === basePath || parsed.pathname.startsWith(`${basePath}/`);
    const path = inBase ? parsed.pathname.slice(basePath.length) || "/" : parsed.pathname;
    const method = req.method ?? "GET";
    const call: OtrsCall = { method, path, query: parsed.searchParams, status: 0 };
    calls.push(call);
    if (down) return void req.socket.destroy();
    const routed = inBase ? route(method, path) : undefined;
    if (routed) call.operation = routed.route.operation;
    const reply = await plans.serve(
      req,
      call,
      (raw, fault): Reply => {
        if (fault?.kind === "status") {
          const body = fault.body ?? `<h1>${STATUS_CODES[fault.status] ?? "Error"}</h1>`;
          return { status: fault.status, body, headers: fault.headers ?? {} };
        }
        if (fault?.kind === "fault") return operationFault(fault.message);
        if (fault?.kind === "error200")
          return { status: 200, body: { Error: { ErrorCode: fault.code, ErrorMessage: fault.message } } };
        if (!inBase) return { status: 404, body: "<h1>Not Found</h1>" }; // the web server answers, not OTRS
        if (!routed) return plain(`HTTP::REST Error while determine Operation for request URI '${path}'.`);
        return answer(req, routed.route.operation, routed.params, parsed.search, raw);
      },
      (reply) => reply.status === 200 && !(isRecord(reply.body) && "Error" in reply.body),
    );
    if (reply) send(res, reply);
  }

  /** REST.pm: the first route, by operation name, whose methods and pattern match. */
  function route(method: string, path: string): { route: Route; params: Data } | undefined {
    for (const candidate of ROUTES) {
      if (!candidate.methods.includes(method)) continue;
      const match = candidate.pattern.exec(path);
      if (!match) continue;
      const params: Data = {};
      for (const [key, value] of Object.entries(match.groups ?? {})) params[key] = safeDecode(value);
      return { route: candidate, params };
    }
    return undefined;
  }

  /** Request data = JSON body (not for GET), overridden by query parameters, overridden by URI parameters. */
  function answer(
    req: IncomingMessage,
    operation: Operation,
    params: Data,
    search: string,
    raw: string,
  ): Reply {
    let data: Data = {};
    if (req.method !== "GET" && raw.length > 0) {
      let decoded: unknown;
      try {
        decoded = JSON.parse(raw);
      } catch {
        return plain("Error while decoding request content.");
      }
      if (isRecord(decoded) && Object.keys(decoded).length > 0) data = decoded;
      else if (!(Array.isArray(decoded) && decoded.length > 0))
        return plain("Unsupported request content type!");
    }
    Object.assign(data, queryData(search), params);
    // Znuny's header authentication.
    for (const key of ["UserLogin", "Password", "SessionID", "CustomerUserLogin"]) {
      const value = header(req.headers, `x-otrs-header-${key.toLowerCase()}`);
      if (value) data[key] = value;
    }
    try {
      const body =
        operation === "SessionCreate"
          ? sessionCreate(data)
          : operations[operation](data, authenticate(operation, data));
      return { status: 200, body };
    } catch (error) {
      if (!(error instanceof GiError)) throw error;
      return { status: 200, body: { Error: { ErrorCode: error.code, ErrorMessage: error.message } } };
    }
  }

  /** Operation/Common.pm Auth(): a SessionID wins; otherwise UserLogin and Password. */
  function authenticate(operation: Operation, data: Data): string {
    const sessionId = text(data.SessionID);
    const login = sessionId
      ? sessions.get(sessionId)
      : text(data.UserLogin) &&
          text(data.UserLogin) === options.login &&
          text(data.Password) === options.password
        ? options.login
        : undefined;
    if (!login) throw new GiError(`${operation}.AuthFail`, `${operation}: Authorization failing!`);
    return login;
  }

  function sessionCreate(data: Data): Data {
    if (Object.keys(data).length === 0)
      throw new GiError("SessionCreate.MissingParameter", "SessionCreate: The request is empty!");
    if (!text(data.Password))
      throw new GiError(
        "SessionCreate.MissingParameter",
        "SessionCreate: Password parameter is missing or not valid!",
      );
    const login = text(data.UserLogin) || text(data.CustomerUserLogin);
    if (!login)
      throw new GiError(
        "SessionCreate.MissingParameter",
        "SessionCreate: UserLogin or CustomerUserLogin parameter is needed!",
      );
    // Customer users are not modelled: only the bridge agent can log in.
    if (!text(data.UserLogin) || login !== options.login || text(data.Password) !== options.password) {
      throw new GiError("SessionCreate.AuthFail", "SessionCreate: Authorization failing!");
    }
    const sessionId = randomBytes(24).toString("base64url");
    sessions.set(sessionId, login);
    return { SessionID: sessionId };
  }

  const operations: Record<Exclude<Operation, "SessionCreate">, (data: Data, login: string) => Data> = {
    TicketCreate: ticketCreate,
    TicketGet: ticketGet,
    TicketSearch: ticketSearch,
    TicketUpdate: ticketUpdate,
  };

  /** §1.7: `{"Ticket": [ … ]}`; TicketID may be comma-separated. */
  function ticketGet(data: Data): Data {
    const raw = data.TicketID;
    if (raw === undefined || raw === "")
      throw new GiError("TicketGet.MissingParameter", "TicketGet: TicketID parameter is missing!");
    const ids = Array.isArray(raw) ? raw.map(text) : text(raw).split(",");
    if (ids.some((id) => !/^\d+$/.test(id.trim())))
      throw new GiError("TicketGet.WrongStructure", "TicketGet: Structure for TicketID is not correct!");
    const found = ids.map((id) => tickets.find((t) => t.TicketID === String(Number(id))));
    const owned = found.filter((t): t is OtrsTicket => t !== undefined);
    if (owned.length !== found.length)
      throw new GiError("TicketGet.AccessDenied", "TicketGet: User does not have access to the ticket!");
    return { Ticket: owned.map((ticket) => ticketView(ticket, data)) };
  }

  function ticketView(ticket: OtrsTicket, data: Data): Data {
    const view: Data = {
      ...flatTicket(ticket),
      Age: Math.max(0, Math.floor((Date.now() - parseOtrsDate(ticket.Created)) / 1000)),
      TimeUnit: 0,
    };
    if (flag(data.DynamicFields)) {
      const fields = Object.entries(ticket.DynamicFields).filter(([, value]) => value !== "");
      if (fields.length > 0) view.DynamicField = fields.map(([Name, Value]) => ({ Name, Value }));
    }
    if (flag(data.AllArticles)) {
      const senderTypes = list(data.ArticleSenderType);
      let articles = ticket.Articles.filter(
        (a) => senderTypes.length === 0 || senderTypes.includes(a.SenderType),
      );
      if (text(data.ArticleOrder).toUpperCase() === "DESC") articles = [...articles].reverse();
      const limit = Number(text(data.ArticleLimit));
      if (Number.isInteger(limit) && limit > 0) articles = articles.slice(0, limit);
      if (articles.length > 0) {
        const files = flag(data.Attachments);
        // GetAttachmentContents defaults to 1 (`// 1`): only an explicit 0 empties the contents.
        const contents = data.GetAttachmentContents === undefined || flag(data.GetAttachmentContents);
        view.Article = articles.map((article) => {
          const item = articleView(ticket, article);
          if (files && article.Attachments.length > 0)
            item.Attachment = article.Attachments.map((file, index) =>
              attachmentView(file, index + 1, contents),
            );
          return item;
        });
      }
    }
    return view;
  }

  /** ArticleAttachment() with FileID, as TicketGet adds it (the plain and HTML bodies left out). */
  function attachmentView(file: OtrsAttachment, fileId: number, contents: boolean): Data {
    return {
      Content: contents ? file.Content.toString("base64") : "",
      ContentAlternative: "",
      ContentID: "",
      ContentType: file.ContentType,
      Disposition: "attachment",
      FileID: String(fileId),
      Filename: file.Filename,
      FilesizeRaw: String(file.Content.length),
    };
  }

  /** The ticket's attributes as TicketGet() returns them (without dynamic fields), all strings. */
  function flatTicket(ticket: OtrsTicket): Data {
    return {
      TicketID: ticket.TicketID,
      TicketNumber: ticket.TicketNumber,
      Title: ticket.Title,
      State: ticket.State,
      StateID: String(states.indexOf(ticket.State) + 1),
      StateType: stateType(ticket.State),
      Queue: ticket.Queue,
      QueueID: String(queues.indexOf(ticket.Queue) + 1),
      Priority: ticket.Priority,
      PriorityID: String(PRIORITIES.indexOf(ticket.Priority) + 1 || 3),
      Type: "Unclassified",
      TypeID: "1",
      Lock: "unlock",
      LockID: "1",
      Owner: ticket.Owner,
      OwnerID: userId(ticket.Owner),
      Responsible: "root@localhost",
      ResponsibleID: "1",
      CustomerUserID: ticket.CustomerUserID,
      CustomerID: ticket.CustomerID,
      Created: ticket.Created,
      CreateBy: "1",
      Changed: ticket.Changed,
      ChangeBy: userId(ticket.ChangedBy),
      ArchiveFlag: "n",
      UntilTime: 0,
      UnlockTimeout: "0",
      GroupID: "1",
    };
  }

  function articleView(ticket: OtrsTicket, article: OtrsArticle): Data {
    const [mimeType = "text/plain", charset = ""] = article.ContentType.split(/;\s*charset=/i);
    const unix = String(Math.floor(parseOtrsDate(article.CreateTime) / 1000));
    return {
      ArticleID: article.ArticleID,
      TicketID: ticket.TicketID,
      ArticleNumber: String(ticket.Articles.indexOf(article) + 1),
      Subject: article.Subject,
      Body: article.Body,
      From: article.From,
      To: article.SenderType === "customer" ? ticket.Queue : "",
      Cc: "",
      SenderType: article.SenderType,
      SenderTypeID: String(SENDER_TYPES.indexOf(article.SenderType) + 1),
      CommunicationChannelID: String(CHANNELS.indexOf(article.CommunicationChannel) + 1),
      IsVisibleForCustomer: String(article.IsVisibleForCustomer),
      ContentType: article.ContentType,
      MimeType: mimeType.trim(),
      Charset: charset.trim(),
      IncomingTime: unix,
      CreateTime: article.CreateTime,
      CreateBy: userId(article.CreatedBy),
      ChangeTime: article.CreateTime,
      ChangeBy: userId(article.CreatedBy),
    };
  }

  /** §1.8: `{"TicketID": ["12", "15"]}`, or `{}` when nothing matched. */
  function ticketSearch(data: Data): Data {
    let found = [...tickets];
    const number = text(data.TicketNumber);
    if (number) found = found.filter((t) => wildcard(t.TicketNumber, number));
    const title = text(data.Title);
    if (title) found = found.filter((t) => wildcard(t.Title, title, true));
    const wantedQueues = [
      ...list(data.Queues),
      ...list(data.QueueIDs).map((id) => queues[Number(id) - 1] ?? ""),
    ];
    if (wantedQueues.length > 0) found = found.filter((t) => wantedQueues.includes(t.Queue));
    const wantedStates = [
      ...list(data.States),
      ...list(data.StateIDs).map((id) => states[Number(id) - 1] ?? ""),
    ];
    if (wantedStates.length > 0) found = found.filter((t) => wantedStates.includes(t.State));
    const types = list(data.StateType).map((type) => type.toLowerCase());
    if (types.length > 0) found = found.filter((t) => types.includes(stateType(t.State)));
    const customerIds = list(data.CustomerID);
    if (customerIds.length > 0) found = found.filter((t) => customerIds.includes(t.CustomerID));
    const customerUsers = list(data.CustomerUserLogin);
    if (customerUsers.length > 0) found = found.filter((t) => customerUsers.includes(t.CustomerUserID));
    const changedAfter = text(data.TicketLastChangeTimeNewerDate);
    if (changedAfter) found = found.filter((t) => t.Changed >= changedAfter);
    const changedBefore = text(data.TicketLastChangeTimeOlderDate);
    if (changedBefore) found = found.filter((t) => t.Changed <= changedBefore);
    const createdAfter = text(data.TicketCreateTimeNewerDate);
    if (createdAfter) found = found.filter((t) => t.Created >= createdAfter);
    for (const [key, criterion] of Object.entries(data)) {
      const name = /^DynamicField_(.+)$/.exec(key)?.[1];
      if (!name || !isRecord(criterion)) continue;
      if (!dynamicFields.includes(name)) continue; // OTRS ignores unknown fields
      for (const [operator, value] of Object.entries(criterion)) {
        const values = (Array.isArray(value) ? value : [value]).map(text);
        found = found.filter((t) => {
          const cell = t.DynamicFields[name] ?? "";
          if (operator === "Equals") return values.includes(cell);
          if (operator === "Like") return values.some((v) => wildcard(cell, v, true));
          if (operator === "Empty") return (cell === "") === Boolean(Number(values[0] ?? "1"));
          return true; // other operators are not modelled
        });
      }
    }
    const sortBy = text(data.SortBy) || "Age";
    const key = (t: OtrsTicket) =>
      sortBy === "Changed"
        ? t.Changed
        : sortBy === "TicketNumber"
          ? t.TicketNumber
          : sortBy === "Title"
            ? t.Title
            : t.Created;
    found.sort((a, b) => key(a).localeCompare(key(b)) || Number(a.TicketID) - Number(b.TicketID));
    // Age sorts by creation time, so "Down" (the default) lists the oldest first, as OTRS does.
    const down = (text(data.OrderBy) || "Down") === "Down";
    if (down !== (sortBy === "Age")) found.reverse();
    const limit = Number(text(data.Limit) || "500");
    const ids = found.slice(0, Number.isInteger(limit) && limit > 0 ? limit : 500).map((t) => t.TicketID);
    return ids.length > 0 ? { TicketID: ids } : {};
  }

  /** §1.5: `{"TicketNumber", "TicketID", "ArticleID"}`. */
  function ticketCreate(data: Data, login: string): Data {
    const missing = (message: string) =>
      new GiError("TicketCreate.MissingParameter", `TicketCreate: ${message}`);
    const invalid = (message: string) =>
      new GiError("TicketCreate.InvalidParameter", `TicketCreate: ${message}`);
    const ticket = data.Ticket;
    if (!isRecord(ticket)) throw missing("Ticket parameter is missing or not valid!");
    const article = data.Article;
    if (!isRecord(article)) throw missing("Article parameter is missing or not valid!");
    if (!text(ticket.Title)) throw missing("Ticket->Title parameter is missing!");
    if (!text(ticket.CustomerUser)) throw missing("Ticket->CustomerUser parameter is missing!");
    const queue = text(ticket.Queue) || queues[Number(ticket.QueueID) - 1] || "";
    if (!text(ticket.Queue) && !text(ticket.QueueID))
      throw missing("Ticket->QueueID or Ticket->Queue parameter is required!");
    if (!queues.includes(queue)) throw invalid("Ticket->Queue parameter is invalid!");
    const state = text(ticket.State) || states[Number(ticket.StateID) - 1] || "";
    if (!text(ticket.State) && !text(ticket.StateID))
      throw missing("Ticket->StateID or Ticket->State parameter is required!");
    if (!states.includes(state)) throw invalid("Ticket->State parameter is invalid!");
    const priority = text(ticket.Priority) || PRIORITIES[Number(ticket.PriorityID) - 1] || "";
    if (!text(ticket.Priority) && !text(ticket.PriorityID))
      throw missing("Ticket->PriorityID or Ticket->Priority parameter is required!");
    if (!PRIORITIES.includes(priority)) throw invalid("Ticket->Priority parameter is invalid!");
    const newArticle = checkArticle("TicketCreate", article, login);
    const fields = checkDynamicFields("TicketCreate", data.DynamicField);
    newArticle.Attachments = checkAttachments("TicketCreate", data.Attachment);
    const customerUser = text(ticket.CustomerUser);
    const created = createTicket({
      Title: text(ticket.Title),
      Queue: queue,
      State: state,
      Priority: priority,
      Owner: text(ticket.Owner) || "root@localhost",
      CustomerUserID: customerUser,
      CustomerID: text(ticket.CustomerID) || customerUser,
      ChangedBy: login,
      DynamicFields: fields,
    });
    const stored = { ...newArticle, ArticleID: String(nextArticleId++) };
    created.Articles.push(stored);
    return { TicketNumber: created.TicketNumber, TicketID: created.TicketID, ArticleID: stored.ArticleID };
  }

  /** §1.6: `{"TicketID", "TicketNumber", "ArticleID"?}`; validates everything, then applies what differs. */
  function ticketUpdate(data: Data, login: string): Data {
    const number = text(data.TicketNumber);
    const id = text(data.TicketID);
    if (!id && !number)
      throw new GiError(
        "TicketUpdate.MissingParameter",
        "TicketUpdate: TicketID or TicketNumber is required!",
      );
    const ticket = number
      ? tickets.find((t) => t.TicketNumber === number)
      : tickets.find((t) => t.TicketID === id);
    if (!ticket)
      throw new GiError("TicketUpdate.AccessDenied", "TicketUpdate: TicketID or TicketNumber is invalid!");
    const invalid = (message: string) =>
      new GiError("TicketUpdate.InvalidParameter", `TicketUpdate: ${message}`);
    const changes: Partial<Pick<OtrsTicket, "Title" | "State" | "Queue" | "Priority" | "Owner">> = {};
    if (data.Ticket !== undefined && data.Ticket !== "") {
      const input = data.Ticket;
      if (!isRecord(input)) throw invalid("Ticket parameter is invalid!");
      if (input.Title !== undefined) {
        if (!text(input.Title)) throw invalid("Ticket->Title parameter is invalid!");
        changes.Title = text(input.Title);
      }
      if (input.State !== undefined || input.StateID !== undefined) {
        const state = text(input.State) || states[Number(input.StateID) - 1] || "";
        if (!states.includes(state)) throw invalid("Ticket->State parameter is invalid!");
        if (/^pending/i.test(state) && !isRecord(input.PendingTime)) {
          throw new GiError(
            "TicketUpdate.MissingParameter",
            "TicketUpdate: Can't set a ticket on a pending state without pendig time!",
          );
        }
        changes.State = state;
      }
      if (input.Queue !== undefined || input.QueueID !== undefined) {
        const queue = text(input.Queue) || queues[Number(input.QueueID) - 1] || "";
        if (!queues.includes(queue)) throw invalid("Ticket->Queue parameter is invalid!");
        changes.Queue = queue;
      }
      if (input.Priority !== undefined || input.PriorityID !== undefined) {
        const priority = text(input.Priority) || PRIORITIES[Number(input.PriorityID) - 1] || "";
        if (!PRIORITIES.includes(priority)) throw invalid("Ticket->Priority parameter is invalid!");
        changes.Priority = priority;
      }
      if (input.Owner !== undefined) changes.Owner = text(input.Owner);
    }
    const article =
      data.Article !== undefined && data.Article !== ""
        ? checkArticle("TicketUpdate", data.Article, login)
        : undefined;
    const fields = checkDynamicFields("TicketUpdate", data.DynamicField);
    // Validated in any case; stored only on the article this call creates (_TicketUpdate).
    const files = checkAttachments("TicketUpdate", data.Attachment);
    if (article) article.Attachments = files;

    let changed = false;
    for (const [key, value] of Object.entries(changes) as [keyof typeof changes, string][]) {
      if (ticket[key] === value) continue;
      ticket[key] = value;
      changed = true;
    }
    for (const [name, value] of Object.entries(fields)) {
      if ((ticket.DynamicFields[name] ?? "") === value) continue;
      ticket.DynamicFields[name] = value;
      changed = true;
    }
    const reply: Data = { TicketID: ticket.TicketID, TicketNumber: ticket.TicketNumber };
    if (article) {
      const stored = { ...article, ArticleID: String(nextArticleId++) };
      ticket.Articles.push(stored);
      reply.ArticleID = stored.ArticleID;
      changed = true;
    }
    if (changed) {
      ticket.Changed = otrsDate(new Date());
      ticket.ChangedBy = login;
    }
    return reply;
  }

  /** The article as OTRS would store it; IsVisibleForCustomer defaults to 1 (the quirk). */
  function checkArticle(operation: string, input: unknown, login: string): Omit<OtrsArticle, "ArticleID"> {
    const missing = (message: string) =>
      new GiError(`${operation}.MissingParameter`, `${operation}: ${message}`);
    const invalid = (message: string) =>
      new GiError(`${operation}.InvalidParameter`, `${operation}: ${message}`);
    if (!isRecord(input)) throw invalid("Article parameter is invalid!");
    if (!text(input.Subject)) throw missing("Article->Subject parameter is missing!");
    if (!text(input.Body)) throw missing("Article->Body parameter is missing!");
    let contentType = text(input.ContentType).toLowerCase();
    if (!contentType) {
      if (!text(input.MimeType) || !text(input.Charset)) {
        throw missing(
          "Article->ContentType or Article->MimeType and Article->Charset parameters are required!",
        );
      }
      contentType = `${text(input.MimeType)}; charset=${text(input.Charset)}`.toLowerCase();
    }
    if (!/^[\w.+-]+\/[\w.+-]+(;\s*charset=["']?[\w-]+["']?)?$/.test(contentType)) {
      throw invalid("Article->ContentType is invalid!");
    }
    const channel = text(input.CommunicationChannel) || "Internal";
    if (!CHANNELS.slice(0, 3).includes(channel))
      throw invalid("Article->CommunicationChannel parameter is invalid!");
    const senderType = text(input.SenderType) || "agent";
    if (!SENDER_TYPES.includes(senderType)) throw invalid("Article->SenderType parameter is invalid!");
    const visible = input.IsVisibleForCustomer;
    if (visible !== undefined && !["0", "1"].includes(text(visible)))
      throw invalid("Article->IsVisibleForCustomer parameter is invalid!");
    return {
      Subject: text(input.Subject),
      Body: text(input.Body),
      From: text(input.From) || `${login} <${login}@localhost>`,
      SenderType: senderType,
      CommunicationChannel: channel,
      IsVisibleForCustomer: visible === undefined || text(visible) === "1" ? 1 : 0,
      ContentType: contentType,
      CreateTime: otrsDate(new Date()),
      CreatedBy: login,
      Attachments: [],
    };
  }

  /** `Attachment`: one object or a list; Content (base64), ContentType and Filename each required. */
  function checkAttachments(operation: string, input: unknown): OtrsAttachment[] {
    if (input === undefined) return [];
    if (!isRecord(input) && !(Array.isArray(input) && input.length > 0))
      throw new GiError(
        `${operation}.MissingParameter`,
        `${operation}: Attachment parameter is missing or not valid!`,
      );
    const files: OtrsAttachment[] = [];
    for (const item of Array.isArray(input) ? input : [input]) {
      if (!isRecord(item))
        throw new GiError(
          `${operation}.InvalidParameter`,
          `${operation}: Ticket->Attachment parameter is invalid!`,
        );
      for (const name of ["Content", "ContentType", "Filename"]) {
        if (!text(item[name]).trim())
          throw new GiError(
            `${operation}.MissingParameter`,
            `${operation}: Attachment->${name} parameter is missing!`,
          );
      }
      const contentType = text(item.ContentType).trim();
      if (!/^[\w.+-]+\/[\w.+-]+(;\s*charset=["']?[\w-]+["']?)?$/i.test(contentType))
        throw new GiError(
          `${operation}.InvalidParameter`,
          `${operation}: Attachment->ContentType is invalid!`,
        );
      files.push({
        Filename: text(item.Filename).trim(),
        ContentType: contentType,
        Content: Buffer.from(text(item.Content).trim(), "base64"),
      });
    }
    return files;
  }

  /** `DynamicField` is one `{Name, Value}` or an array of them; values are stored as strings. */
  function checkDynamicFields(operation: string, input: unknown): Record<string, string> {
    if (input === undefined || input === "") return {};
    const fields: Record<string, string> = {};
    for (const field of Array.isArray(input) ? input : [input]) {
      if (!isRecord(field))
        throw new GiError(
          `${operation}.InvalidParameter`,
          `${operation}: DynamicField parameter is invalid!`,
        );
      if (!text(field.Name))
        throw new GiError(
          `${operation}.MissingParameter`,
          `${operation}: DynamicField->Name parameter is missing!`,
        );
      if (!dynamicFields.includes(text(field.Name)))
        throw new GiError(
          `${operation}.InvalidParameter`,
          `${operation}: DynamicField->Name parameter is invalid!`,
        );
      if (!("Value" in field))
        throw new GiError(
          `${operation}.MissingParameter`,
          `${operation}: DynamicField->Value parameter is missing!`,
        );
      if (isRecord(field.Value))
        throw new GiError(
          `${operation}.InvalidParameter`,
          `${operation}: DynamicField->Value parameter is invalid!`,
        );
      const value = Array.isArray(field.Value) ? field.Value.map(text).join(",") : text(field.Value);
      fields[text(field.Name)] = value;
    }
    return fields;
  }

  function createTicket(
    seed: Omit<OtrsTicket, "TicketID" | "TicketNumber" | "Created" | "Changed" | "Articles">,
  ) {
    const id = nextTicketId++;
    const now = otrsDate(new Date());
    const ticket: OtrsTicket = {
      TicketID: String(id),
      TicketNumber: ticketNumber(id),
      Created: now,
      Changed: now,
      Articles: [],
      ...seed,
    };
    tickets.push(ticket);
    return ticket;
  }

  function userId(login: string): string {
    if (!userIds.has(login)) userIds.set(login, userIds.size + 1);
    return String(userIds.get(login));
  }

  function stateType(state: string): string {
    return /^(closed|fechado)/i.test(state)
      ? "closed"
      : /^pending/i.test(state)
        ? "pending reminder"
        : "open";
  }

  return {
    url,
    port,
    tickets,
    calls,
    count: (operation) => calls.filter((c) => c.operation === operation).length,
    addTicket: (seed) => {
      if (!queues.includes(seed.Queue)) throw new Error(`OTRS fake: unknown queue ${seed.Queue}`);
      if (!states.includes(seed.State)) throw new Error(`OTRS fake: unknown state ${seed.State}`);
      for (const name of Object.keys(seed.DynamicFields ?? {})) {
        if (!dynamicFields.includes(name)) throw new Error(`OTRS fake: unknown dynamic field ${name}`);
      }
      const customer = seed.CustomerUserID ?? "customer";
      const ticket = createTicket({
        Title: seed.Title,
        Queue: seed.Queue,
        State: seed.State,
        Priority: seed.Priority ?? "3 normal",
        Owner: "root@localhost",
        CustomerUserID: customer,
        CustomerID: seed.CustomerID ?? customer,
        ChangedBy: "customer",
        DynamicFields: { ...seed.DynamicFields },
      });
      for (const article of seed.Articles ?? []) {
        ticket.Articles.push({
          ArticleID: String(nextArticleId++),
          Subject: article.Subject,
          Body: article.Body,
          From: `${seed.CustomerName ? `"${seed.CustomerName}"` : customer} <${customer}@example.com>`,
          SenderType: "customer",
          CommunicationChannel: "Phone",
          IsVisibleForCustomer: 1,
          ContentType: "text/plain; charset=utf-8",
          CreateTime: ticket.Created,
          CreatedBy: "customer",
          Attachments: [],
        });
      }
      return ticket;
    },
    addArticle: (ticketId, seed) => {
      const ticket = tickets.find((t) => t.TicketID === ticketId);
      if (!ticket) throw new Error(`OTRS fake: no ticket ${ticketId}`);
      const senderType = seed.SenderType ?? "customer";
      const customer = senderType === "customer";
      const by = seed.CreatedBy ?? (customer ? ticket.CustomerUserID : "root@localhost");
      const article: OtrsArticle = {
        ArticleID: String(nextArticleId++),
        Subject: seed.Subject ?? `Re: ${ticket.Title}`,
        Body: seed.Body,
        // A customer's reply comes from the address (and name) the ticket's customer wrote from.
        From:
          seed.From ??
          (customer
            ? (ticket.Articles.find((a) => a.SenderType === "customer")?.From ?? `${by} <${by}@example.com>`)
            : `${by} <${by}>`),
        SenderType: senderType,
        CommunicationChannel: seed.CommunicationChannel ?? (customer ? "Email" : "Internal"),
        IsVisibleForCustomer: seed.IsVisibleForCustomer ?? (customer ? 1 : 0),
        ContentType: "text/plain; charset=utf-8",
        CreateTime: otrsDate(new Date()),
        CreatedBy: customer ? "customer" : by,
        Attachments: (seed.Attachments ?? []).map((file) => ({
          Filename: file.Filename,
          ContentType: file.ContentType ?? "application/octet-stream",
          Content: typeof file.Content === "string" ? Buffer.from(file.Content) : file.Content,
        })),
      };
      ticket.Articles.push(article);
      ticket.Changed = otrsDate(new Date());
      ticket.ChangedBy = article.CreatedBy;
      return { article, event: { TicketID: ticket.TicketID, ArticleID: article.ArticleID } };
    },
    agentSetState: (ticketId, state, agent = "root@localhost") => {
      const ticket = tickets.find((t) => t.TicketID === ticketId);
      if (!ticket) throw new Error(`OTRS fake: no ticket ${ticketId}`);
      if (!states.includes(state)) throw new Error(`OTRS fake: unknown state ${state}`);
      // TicketStateSet() reads the ticket without dynamic fields for the event's OldTicketData.
      const old = flatTicket(ticket);
      ticket.State = state;
      ticket.Changed = otrsDate(new Date());
      ticket.ChangedBy = agent;
      return { TicketID: ticket.TicketID, OldTicketData: old };
    },
    requesterRequest: (controller, data) => requesterRequest(controller, data),
    eventPayload: (ticketId, event, kind, options = {}) => {
      const ticket = tickets.find((t) => t.TicketID === ticketId);
      if (!ticket) throw new Error(`OTRS fake: no ticket ${ticketId}`);
      if (kind === "Test::TestSimple") return { TicketID: ticket.TicketID };
      if (kind === "Notification") {
        // Kernel/System/Ticket/Event/NotificationEvent/Transport/Webservice.pm: one call per recipient.
        const body = ticket.Articles[0]?.Body ?? "";
        return {
          TicketID: ticket.TicketID,
          TicketNumber: ticket.TicketNumber,
          NotificationSubject: `[Ticket#${ticket.TicketNumber}] ${ticket.Title}`,
          NotificationBody: body,
          NotificationPlainBody: body,
          NotificationContentType: "text/plain",
          Attachments: [],
          Recipient: { UserLogin: "root@localhost", UserEmail: "root@localhost" },
        };
      }
      // Kernel/GenericInterface/Invoker/Ticket/Generic.pm: flat DynamicField_<Name>, all articles.
      const flat: Data = { ...flatTicket(ticket) };
      for (const [name, value] of Object.entries(ticket.DynamicFields)) flat[`DynamicField_${name}`] = value;
      flat.Articles = ticket.Articles.map((article) => articleView(ticket, article));
      const eventData = { TicketID: ticket.TicketID };
      return {
        Event: options.eventName === false ? eventData : { Event: event, ...eventData },
        Ticket: flat,
      };
    },
    expireSessions: () => sessions.clear(),
    failNext: (times, fault, match = {}, options = {}) => plans.add(times, fault, match, options),
    setChaos: (chaos) => plans.setChaos(chaos),
    faultsInjected: () => plans.injected(),
    setDown: (value) => {
      down = value;
    },
    reset: () => {
      tickets.length = 0;
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

/** The DateChecksum number generator: date, SystemID, 5-digit counter and a check digit. */
function ticketNumber(counter: number): string {
  const base = `${otrsDate(new Date()).slice(0, 10).replaceAll("-", "")}${SYSTEM_ID}${String(counter).padStart(5, "0")}`;
  let sum = 0;
  let multiplier = 1;
  for (const digit of base) {
    sum += multiplier * Number(digit);
    multiplier = multiplier === 2 ? 1 : multiplier + 1;
  }
  const check = 10 - (sum % 10);
  return `${base}${check === 10 ? 1 : check}`;
}

/** REST.pm RequesterPerformRequest: the controller filled in from the data, the rest as the body. */
function requesterRequest(
  controller: string,
  data: Record<string, unknown>,
): { path: string; query: Record<string, string>; body: string | undefined } {
  const remaining: Record<string, unknown> = { ...data };
  const at = controller.indexOf("?");
  let path = at < 0 ? controller : controller.slice(0, at);
  let query = at < 0 ? "" : controller.slice(at);
  let replacedInQuery = false;
  for (const name of Object.keys(data).sort()) {
    const value = uriEscape(String(data[name]));
    const inPath = new RegExp(`:${escapeRegExp(name)}(?=/|\\?|$)`, "g");
    const inQuery = new RegExp(`:${escapeRegExp(name)}(?=&|$)`, "g");
    if (inPath.test(path)) {
      path = path.replace(inPath, value);
      delete remaining[name];
    }
    if (query && inQuery.test(query)) {
      query = query.replace(inQuery, value);
      delete remaining[name];
      replacedInQuery = true;
    }
  }
  return {
    path,
    query: replacedInQuery ? Object.fromEntries(new URLSearchParams(query.slice(1))) : {},
    body: Object.keys(remaining).length > 0 ? JSON.stringify(remaining) : undefined,
  };
}

/** URI::Escape's uri_escape_utf8: everything but A-Z a-z 0-9 - _ . ~ is %-escaped. */
function uriEscape(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** REST.pm's query parsing: `&` or `;` separated, `+` is a space, repeated keys become arrays. */
function queryData(search: string): Data {
  const data: Data = {};
  for (const pair of search.replace(/^\?/, "").split(/[;&]/)) {
    if (!pair) continue;
    const [rawKey = "", rawValue = ""] = pair.split("=");
    const key = safeDecode(rawKey.replace(/\+/g, " "));
    const value = safeDecode(rawValue.replace(/\+/g, " "));
    const existing = data[key];
    if (existing === undefined) data[key] = value;
    else data[key] = Array.isArray(existing) ? [...existing, value] : [existing, value];
  }
  return data;
}

/** SQL LIKE on the column: `%` (and `*` in Title and dynamic-field searches) is a wildcard, otherwise exact. */
function wildcard(cell: string, pattern: string, star = false): boolean {
  const escaped = pattern.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replaceAll("%", ".*");
  const regex = star ? escaped.replaceAll("\\*", ".*") : escaped;
  return new RegExp(`^${regex}$`, "is").test(cell);
}

function list(value: unknown): string[] {
  if (value === undefined || value === null || value === "") return [];
  return (Array.isArray(value) ? value : [value]).map(text).filter(Boolean);
}

function flag(value: unknown): boolean {
  return text(value) !== "" && text(value) !== "0";
}

function text(value: unknown): string {
  return typeof value === "string" ? value.trim() : value == null ? "" : String(value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

function header(headers: IncomingMessage["headers"], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** REST.pm's answer to an operation that failed: 500, text/plain, the fault structure as JSON. */
function operationFault(message: string): Reply {
  return {
    status: 500,
    body: JSON.stringify({ faultcode: "Server", faultstring: message || "Unknown" }),
    headers: { "Content-Type": "text/plain; charset=UTF-8" },
  };
}

function plain(message: string): Reply {
  return { status: 500, body: message, headers: { "Content-Type": "text/plain; charset=UTF-8" } };
}

function send(res: ServerResponse, reply: Reply): void {
  if (res.destroyed || res.headersSent) return;
  const verbatim = typeof reply.body === "string"; // REST.pm's text/plain errors, or a fault's proxy page
  res.writeHead(reply.status, {
    "Content-Type": verbatim ? "text/html; charset=UTF-8" : "application/json; charset=UTF-8",
    ...reply.headers,
  });
  res.end(verbatim ? reply.body : JSON.stringify(reply.body));
}

/** OTRS datetimes: `YYYY-MM-DD HH:MM:SS` in the system time zone (UTC here). */
function otrsDate(date: Date): string {
  return date.toISOString().slice(0, 19).replace("T", " ");
}

function parseOtrsDate(value: string): number {
  return new Date(`${value.replace(" ", "T")}Z`).getTime();
}
