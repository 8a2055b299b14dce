import type { KyInstance } from "ky";
import * as v from "valibot";
import { BridgeError, UpstreamAuthError } from "../../core/errors.ts";
import { lazyHttp } from "../http.ts";
import { translateGiError, translateOtrsHttpError } from "./errors.ts";
import {
  GiErrorSchema,
  SessionCreateSchema,
  type Ticket,
  TicketCreateSchema,
  TicketGetSchema,
  TicketSearchSchema,
  TicketUpdateSchema,
} from "./schemas.ts";

export interface OtrsClientOptions {
  instance: string;
  /** The web service base URL, `…/nph-genericinterface.pl/Webservice/<Name>`. */
  url: string;
  login: string;
  password: string;
  credentialsIn: "body" | "headers";
  timeoutMs: number;
  fetch?: typeof fetch;
}

export interface ArticleInput {
  Subject: string;
  Body: string;
  /** Internal notes must say so explicitly: OTRS defaults IsVisibleForCustomer to 1. */
  IsVisibleForCustomer: 0 | 1;
  From?: string;
  /** Default `agent`. */
  SenderType?: "agent" | "customer" | "system";
  /** Default `Internal` (OTRS 6 / Znuny; `Chat` exists only with a chat module). */
  CommunicationChannel?: string;
}

/** A new ticket (TicketCreate): what OTRS requires, and what the bridge may set. */
export interface TicketInput {
  Title: string;
  Queue: string;
  State: string;
  Priority: string;
  CustomerUser: string;
  CustomerID?: string;
  Lock?: string;
  Owner?: string;
  Type?: string;
}

/** A file for the new article (TicketUpdate's `Attachment`): all three fields are required. */
export interface AttachmentInput {
  /** Base64. */
  Content: string;
  ContentType: string;
  Filename: string;
}

export interface TicketUpdate {
  State?: string;
  DynamicField?: { Name: string; Value: string }[];
  Article?: ArticleInput;
  /** Attached to `Article` (TicketUpdate puts the top-level list on the article it creates). */
  Attachment?: AttachmentInput[];
}

/**
 * A client of an OTRS 6 / Znuny GenericInterface REST web service (GenericTicketConnectorREST routes).
 * One session per container (SessionCreate), re-created once when an operation answers `*.AuthFail`.
 * OTRS answers business errors with HTTP 200 and an `Error` object: every answer is checked for it.
 * Reference: https://doc.znuny.org/manual/admin/7.0/processes_automation/web_services.html
 */
export class OtrsClient {
  private readonly http: () => Promise<KyInstance>;
  private session: Promise<string> | undefined;

  constructor(private readonly options: OtrsClientOptions) {
    this.http = lazyHttp(
      {
        prefixUrl: options.url.replace(/\/+$/, ""),
        timeout: options.timeoutMs,
        retry: { limit: 1, methods: ["get"], statusCodes: [429, 502, 503, 504], backoffLimit: 1000 },
        ...(options.fetch ? { fetch: options.fetch } : {}),
      },
      "otrs",
    );
  }

  /**
   * TicketGet (`GET /Ticket/:TicketID`) with dynamic fields and, optionally, articles (newest first)
   * and their attachments (`Attachments=1`, contents base64, the plain and HTML bodies left out).
   */
  async getTicket(
    ticketId: string,
    options: {
      /** A number: that many of the newest articles. */
      articles?: "none" | "latest" | "all" | number;
      attachments?: boolean;
      signal?: AbortSignal;
    } = {},
  ): Promise<Ticket> {
    const articles = options.articles ?? "none";
    const query: Record<string, string> = { DynamicFields: "1" };
    if (articles !== "none") Object.assign(query, { AllArticles: "1", ArticleOrder: "DESC" });
    if (articles === "latest") query.ArticleLimit = "1";
    if (typeof articles === "number") query.ArticleLimit = String(articles);
    if (articles !== "none" && options.attachments) query.Attachments = "1";
    const body = await this.call(
      "get",
      `Ticket/${encodeURIComponent(ticketId)}`,
      query,
      undefined,
      options.signal,
    );
    const ticket = v.parse(TicketGetSchema, body).Ticket[0];
    if (!ticket) throw new Error("unreachable: schema requires one ticket");
    return ticket;
  }

  /** TicketSearch by exact TicketNumber (`GET /Ticket?TicketNumber=…`); ids of the matches. */
  async findTicketIdsByNumber(ticketNumber: string, signal?: AbortSignal): Promise<string[]> {
    // `%` is a wildcard in TicketNumber searches; a number never contains one, but never pass one on.
    const number = ticketNumber.replace(/%/g, "");
    const body = await this.call("get", "Ticket", { TicketNumber: number, Limit: "2" }, undefined, signal);
    return v.parse(TicketSearchSchema, body).TicketID;
  }

  /** TicketCreate (`POST /Ticket`): a ticket with its first article and dynamic fields. */
  async createTicket(
    ticket: TicketInput,
    article: ArticleInput,
    dynamicFields: { Name: string; Value: string }[] = [],
    signal?: AbortSignal,
  ): Promise<{ ticketId: string; ticketNumber: string; articleId?: string }> {
    const payload: Record<string, unknown> = { Ticket: ticket, Article: articlePayload(article) };
    if (dynamicFields.length > 0) payload.DynamicField = dynamicFields;
    const body = await this.call("post", "Ticket", {}, payload, signal);
    const out = v.parse(TicketCreateSchema, body);
    return {
      ticketId: out.TicketID,
      ticketNumber: out.TicketNumber,
      ...(out.ArticleID ? { articleId: out.ArticleID } : {}),
    };
  }

  /**
   * TicketSearch for tickets whose dynamic field equals a value. Dynamic-field criteria are nested
   * objects, which a GET cannot carry (OTRS ignores GET bodies): this uses the `POST /TicketSearch`
   * route the Znuny manual recommends adding to the web service.
   */
  async findTicketIdsByDynamicField(name: string, value: string, signal?: AbortSignal): Promise<string[]> {
    const body = await this.call(
      "post",
      "TicketSearch",
      {},
      { [`DynamicField_${name}`]: { Equals: value }, Limit: 2 },
      signal,
    );
    return v.parse(TicketSearchSchema, body).TicketID;
  }

  /** TicketUpdate (`PATCH /Ticket/:TicketID`): state, dynamic fields, an article. */
  async updateTicket(
    ticketId: string,
    update: TicketUpdate,
    signal?: AbortSignal,
  ): Promise<{ articleId?: string }> {
    const payload: Record<string, unknown> = {};
    if (update.State) payload.Ticket = { State: update.State };
    if (update.DynamicField) payload.DynamicField = update.DynamicField;
    if (update.Article) payload.Article = articlePayload(update.Article);
    if (update.Article && update.Attachment?.length) payload.Attachment = update.Attachment;
    const body = await this.call("patch", `Ticket/${encodeURIComponent(ticketId)}`, {}, payload, signal);
    const out = v.parse(TicketUpdateSchema, body);
    return out.ArticleID ? { articleId: out.ArticleID } : {};
  }

  /** Runs an operation with the session, re-creating it once if OTRS says the session is no longer valid. */
  private async call(
    method: "get" | "patch" | "post",
    path: string,
    query: Record<string, string>,
    body: Record<string, unknown> | undefined,
    signal: AbortSignal | undefined,
  ): Promise<unknown> {
    const sessionId = await this.sessionId(signal);
    try {
      return await this.send(method, path, query, body, sessionId, signal);
    } catch (error) {
      if (!(error instanceof UpstreamAuthError)) throw error;
      // An expired session answers `<Op>.AuthFail`: log in again once; a second failure is real.
      if (this.session) this.session = undefined;
      return this.send(method, path, query, body, await this.sessionId(signal), signal);
    }
  }

  private async send(
    method: "get" | "patch" | "post",
    path: string,
    query: Record<string, string>,
    body: Record<string, unknown> | undefined,
    sessionId: string,
    signal: AbortSignal | undefined,
  ): Promise<unknown> {
    const headers: Record<string, string> = {};
    const searchParams = new URLSearchParams(query);
    let json = body;
    if (this.options.credentialsIn === "headers") headers["X-OTRS-Header-SessionID"] = sessionId;
    else if (method === "get") searchParams.set("SessionID", sessionId);
    else json = { ...body, SessionID: sessionId };
    let answer: unknown;
    try {
      answer = await (await this.http())(path, {
        method,
        searchParams,
        headers,
        ...(json ? { json } : {}),
        ...(signal ? { signal } : {}),
      }).json();
    } catch (error) {
      throw await translateOtrsHttpError(error, this.options.instance);
    }
    return this.checked(answer);
  }

  /** Throws the bridge's error for a 200-with-`Error` answer; returns the answer otherwise. */
  private checked(answer: unknown): unknown {
    const error = v.safeParse(GiErrorSchema, answer);
    if (error.success) throw translateGiError(error.output.Error, this.options.instance);
    return answer;
  }

  private sessionId(signal: AbortSignal | undefined): Promise<string> {
    if (!this.session) {
      const login = this.login(signal);
      this.session = login;
      login.catch(() => {
        if (this.session === login) this.session = undefined;
      });
    }
    return this.session;
  }

  /** SessionCreate (`POST /Session`). */
  private async login(signal: AbortSignal | undefined): Promise<string> {
    let answer: unknown;
    try {
      answer = await (await this.http())
        .post("Session", {
          json: { UserLogin: this.options.login, Password: this.options.password },
          ...(signal ? { signal } : {}),
        })
        .json();
    } catch (error) {
      throw await translateOtrsHttpError(error, this.options.instance);
    }
    try {
      return v.parse(SessionCreateSchema, this.checked(answer)).SessionID;
    } catch (error) {
      if (error instanceof BridgeError) throw error;
      throw await translateOtrsHttpError(error, this.options.instance);
    }
  }
}

/** An article as TicketCreate and TicketUpdate take it: plain text, an internal channel unless told. */
function articlePayload(article: ArticleInput): Record<string, unknown> {
  return {
    CommunicationChannel: "Internal",
    SenderType: "agent",
    ContentType: "text/plain; charset=utf8",
    ...article,
  };
}
