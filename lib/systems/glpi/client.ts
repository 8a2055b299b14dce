import type { KyInstance } from "ky";
import * as v from "valibot";
import { isHttpError, lazyHttp } from "../http.ts";
import { readGlpiError, SESSION_INVALID, translateGlpiError } from "./errors.ts";
import {
  CreatedItemSchema,
  InitSessionSchema,
  type SearchResult,
  SearchResultSchema,
  type Ticket,
  TicketListSchema,
} from "./schemas.ts";

export interface GlpiClientOptions {
  /** Instance name from the config (`main`), used in error details. */
  instance: string;
  /** The apirest.php base URL, e.g. `https://glpi.example.com/apirest.php`. */
  url: string;
  appToken: string;
  userToken: string;
  timeoutMs: number;
  activateAllEntities: boolean;
  fetch?: typeof fetch;
}

/** One search criterion (`criteria[i][field|searchtype|value]`). */
export interface Criterion {
  field: number;
  searchtype: "contains" | "equals" | "notequals" | "lessthan" | "morethan" | "under" | "notunder";
  value: string | number;
  link?: "AND" | "OR" | "AND NOT" | "OR NOT";
}

/**
 * A client of GLPI's legacy REST API (apirest.php, GLPI 9.5/10/11). It holds one session per
 * container, shared by concurrent calls and reused across warm invocations; when GLPI reports the
 * session expired (401 ERROR_SESSION_TOKEN_INVALID) it logs in again once and repeats the call.
 * API reference: https://github.com/glpi-project/glpi/blob/main/apirest.md
 */
export class GlpiClient {
  private readonly http: () => Promise<KyInstance>;
  private session: Promise<string> | undefined;
  private currentToken: string | undefined;

  constructor(private readonly options: GlpiClientOptions) {
    this.http = lazyHttp(
      {
        prefixUrl: options.url.replace(/\/+$/, ""),
        timeout: options.timeoutMs,
        // Idempotent reads are retried once in-process; writes are retried by the jobs queue.
        retry: { limit: 1, methods: ["get"], statusCodes: [429, 502, 503, 504], backoffLimit: 1000 },
        headers: {
          "App-Token": options.appToken,
          // GLPI 10 HTML-encodes text unless told the client handles raw content.
          "X-GLPI-Sanitized-Content": "false",
        },
        ...(options.fetch ? { fetch: options.fetch } : {}),
      },
      "glpi",
    );
  }

  /**
   * Searches items by search options (`GET /search/:itemtype`).
   * https://github.com/glpi-project/glpi/blob/main/apirest.md#search-items
   */
  async search(
    itemtype: string,
    criteria: Criterion[],
    options: { forcedisplay?: number[]; range?: [number, number]; signal?: AbortSignal } = {},
  ): Promise<SearchResult> {
    const params = new URLSearchParams();
    criteria.forEach((criterion, i) => {
      if (criterion.link) params.set(`criteria[${i}][link]`, criterion.link);
      params.set(`criteria[${i}][field]`, String(criterion.field));
      params.set(`criteria[${i}][searchtype]`, criterion.searchtype);
      params.set(`criteria[${i}][value]`, String(criterion.value));
    });
    options.forcedisplay?.forEach((id, i) => {
      params.set(`forcedisplay[${i}]`, String(id));
    });
    const [start, end] = options.range ?? [0, 49];
    params.set("range", `${start}-${end}`);
    // 200 when complete, 206 when the range holds only part of the results: both are success.
    return this.call(options.signal, async (headers) => {
      const body = await (await this.http())
        .get(`search/${itemtype}`, { searchParams: params, headers, signal: options.signal })
        .json();
      return v.parse(SearchResultSchema, body);
    });
  }

  /**
   * Lists tickets whose fields contain the given texts (`GET /Ticket?searchText[field]=…`).
   * https://github.com/glpi-project/glpi/blob/main/apirest.md#get-all-items
   */
  async listTickets(
    searchText: Record<string, string>,
    options: { signal?: AbortSignal } = {},
  ): Promise<Ticket[]> {
    const params = new URLSearchParams({ range: "0-49", expand_dropdowns: "false", get_hateoas: "false" });
    for (const [field, text] of Object.entries(searchText)) params.set(`searchText[${field}]`, text);
    return this.call(options.signal, async (headers) => {
      const body = await (await this.http())
        .get("Ticket", { searchParams: params, headers, signal: options.signal })
        .json();
      return v.parse(TicketListSchema, body);
    });
  }

  /**
   * Creates one item (`POST /:itemtype` with `{"input": {…}}` → 201 `{"id": …}`). Not retried here.
   * https://github.com/glpi-project/glpi/blob/main/apirest.md#add-items
   */
  async create(
    itemtype: string,
    input: Record<string, unknown>,
    options: { signal?: AbortSignal } = {},
  ): Promise<number> {
    return this.call(options.signal, async (headers) => {
      const body = await (await this.http())
        .post(itemtype, { json: { input }, headers, signal: options.signal })
        .json();
      return v.parse(CreatedItemSchema, body).id;
    });
  }

  /** Ends the session (`GET /killSession`); the next call logs in again. */
  async logout(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    this.currentToken = undefined;
    if (!session) return;
    const token = await session.catch(() => undefined);
    if (token)
      await (await this.http())
        .get("killSession", { headers: { "Session-Token": token } })
        .catch(() => undefined);
  }

  /** Runs a call with the session token, logging in (again) when needed; translates every failure. */
  private async call<T>(
    signal: AbortSignal | undefined,
    run: (headers: Record<string, string>) => Promise<T>,
  ): Promise<T> {
    try {
      const token = await this.sessionToken(signal);
      try {
        return await run({ "Session-Token": token });
      } catch (error) {
        if (!isHttpError(error) || error.response.status !== 401) throw error;
        const info = await readGlpiError(error);
        if (info.code !== SESSION_INVALID) throw error;
        // GLPI rejected the request before doing anything, so repeating it once is safe.
        this.forget(token);
        return await run({ "Session-Token": await this.sessionToken(signal) });
      }
    } catch (error) {
      throw await translateGlpiError(error, this.options.instance);
    }
  }

  /** The current session token; concurrent callers share one login. */
  private sessionToken(signal: AbortSignal | undefined): Promise<string> {
    if (!this.session) {
      const login = this.login(signal);
      this.session = login;
      login.catch(() => {
        if (this.session === login) this.session = undefined;
      });
    }
    return this.session;
  }

  /**
   * `GET /initSession` with the user token, then (optionally) every entity the user may see made
   * active, so that entities can be searched and tickets created in any of them.
   * https://github.com/glpi-project/glpi/blob/main/apirest.md#init-session
   */
  private async login(signal: AbortSignal | undefined): Promise<string> {
    const body = await (await this.http())
      .get("initSession", { headers: { Authorization: `user_token ${this.options.userToken}` }, signal })
      .json();
    const token = v.parse(InitSessionSchema, body).session_token;
    this.currentToken = token;
    if (this.options.activateAllEntities) {
      await (await this.http()).post("changeActiveEntities", {
        json: { entities_id: "all", is_recursive: true },
        headers: { "Session-Token": token },
        signal,
      });
    }
    return token;
  }

  /** Drops an expired token, unless a concurrent caller already replaced it. */
  private forget(token: string): void {
    if (this.currentToken !== token) return;
    this.session = undefined;
    this.currentToken = undefined;
  }
}
