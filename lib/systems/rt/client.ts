import type { KyInstance } from "ky";
import * as v from "valibot";
import { UpstreamPermanentError } from "../../core/errors.ts";
import { lazyHttp } from "../http.ts";
import { failedMessages, HiddenTicketError, translateRtError } from "./errors.ts";
import {
  collectionSchema,
  MessagesSchema,
  RecordRefSchema,
  type RtTicket,
  TicketSchema,
  type TransactionItem,
  TransactionItemSchema,
  toTicket,
} from "./schemas.ts";

export interface RtClientOptions {
  instance: string;
  /** `https://host/REST/2.0`. */
  url: string;
  token: string;
  timeoutMs: number;
  fetch?: typeof fetch;
}

/** The ticket fields a search returns with each item (what the bridge needs to project a ticket). */
const TICKET_FIELDS = "Subject,Status,Queue,Owner,Priority,Requestor,CustomFields,LastUpdated,EffectiveId";
const TicketPageSchema = collectionSchema(TicketSchema);
const RefPageSchema = collectionSchema(RecordRefSchema);
const TransactionPageSchema = collectionSchema(TransactionItemSchema);
const PER_PAGE = 100;

/**
 * A client of Request Tracker 5's REST2 API, with an auth token (`Authorization: token …`). Reads are
 * retried once in-process; writes are retried by the jobs queue after reading again. PUT answers 200
 * with a list of sentences that may report failures: the client checks them and reads back.
 * Reference: https://docs.bestpractical.com/rt/5.0.8/RT/REST2.html
 */
export class RtClient {
  private readonly http: () => Promise<KyInstance>;

  constructor(private readonly options: RtClientOptions) {
    this.http = lazyHttp(
      {
        prefixUrl: options.url.replace(/\/+$/, ""),
        timeout: options.timeoutMs,
        retry: { limit: 1, methods: ["get"], statusCodes: [429, 502, 503, 504], backoffLimit: 1000 },
        headers: { Authorization: `token ${options.token}` },
        ...(options.fetch ? { fetch: options.fetch } : {}),
      },
      "rt",
    );
  }

  get instance(): string {
    return this.options.instance;
  }

  /**
   * `GET /ticket/:id`. RT follows merges: the answer for a merged-away ticket is the ticket it was
   * merged into (its `id` differs from the one asked for). NotFound when there is no such ticket.
   */
  async getTicket(id: number, signal?: AbortSignal): Promise<RtTicket> {
    try {
      return await this.run(async () => {
        const body = await (await this.http())
          .get(`ticket/${id}`, { searchParams: { "fields[Queue]": "Name" }, signal })
          .json();
        return toTicket(v.parse(TicketSchema, body));
      });
    } catch (error) {
      // 403: the ticket exists but the bridge's user may not see it (a queue it has no rights on):
      // for whoever mirrors RT, that is the same as no ticket.
      if (error instanceof UpstreamPermanentError && error.upstream.status === 403)
        throw new HiddenTicketError(`RT: ticket ${id} is not visible to the bridge's user`);
      throw error;
    }
  }

  /**
   * Every ticket a TicketSQL query selects, with the fields the bridge projects (`GET /tickets`, 100 a
   * page, following `next_page`: `total` is null when RT cannot count what the user may see).
   */
  async searchTickets(query: string, signal?: AbortSignal): Promise<RtTicket[]> {
    const tickets: RtTicket[] = [];
    for (let page = 1; ; page += 1) {
      const body = await this.run(async () =>
        (await this.http())
          .get("tickets", {
            searchParams: {
              query,
              fields: TICKET_FIELDS,
              "fields[Queue]": "Name",
              orderby: "id",
              order: "ASC",
              per_page: String(PER_PAGE),
              page: String(page),
            },
            signal,
          })
          .json(),
      );
      const parsed = v.parse(TicketPageSchema, body);
      tickets.push(...parsed.items.map(toTicket));
      if (!parsed.next_page || parsed.items.length === 0) return tickets;
    }
  }

  /** The ids a TicketSQL query selects (items only, no fields). */
  async searchTicketIds(query: string, signal?: AbortSignal): Promise<number[]> {
    const body = await this.run(async () =>
      (await this.http())
        .get("tickets", { searchParams: { query, per_page: String(PER_PAGE) }, signal })
        .json(),
    );
    return v.parse(RefPageSchema, body).items.map((item) => Number(item.id));
  }

  /**
   * One page of ticket transactions created at or after `since` (UTC; the bridge's RT user must have
   * the UTC time zone, TicketSQL dates are read in the user's zone), oldest first.
   */
  async transactionsSince(
    since: Date,
    page: number,
    signal?: AbortSignal,
  ): Promise<{ items: TransactionItem[] }> {
    const query = `ObjectType = 'RT::Ticket' AND Created >= '${rtDate(since)}'`;
    const body = await this.run(async () =>
      (await this.http())
        .get("transactions", {
          searchParams: {
            query,
            fields: "Type,Field,Created,Creator,ObjectType,ObjectId",
            orderby: "Created",
            order: "ASC",
            per_page: String(PER_PAGE),
            page: String(page),
          },
          signal,
        })
        .json(),
    );
    return { items: v.parse(TransactionPageSchema, body).items };
  }

  /**
   * Sets (or, with null, clears) a single-value custom field with `PUT /ticket/:id`, then reads the
   * ticket back: RT answers 200 whatever happened, reports failures as sentences, and skips silently a
   * field that does not exist or is not applied to the ticket's queue. A value that did not stick is a
   * permanent error naming what RT said.
   */
  async setCustomField(id: number, field: string, value: string | null, signal?: AbortSignal): Promise<void> {
    const messages = await this.run(async () =>
      v.parse(
        MessagesSchema,
        await (await this.http())
          .put(`ticket/${id}`, { json: { CustomFields: { [field]: value } }, signal })
          .json(),
      ),
    );
    const failed = failedMessages(messages);
    const upstream = {
      system: `rt:${this.options.instance}`,
      status: 200,
      vendorMessage: messages.join("; "),
    };
    if (failed.length > 0)
      throw new UpstreamPermanentError(
        upstream,
        `RT did not set ${field} on ticket ${id}: ${failed.join("; ")}`,
      );
    // RT says what it changed; only when it says nothing (the same value, or a field it skipped
    // silently) is the ticket read back to tell which.
    if (confirms(messages, field, value)) return;
    const ticket = await this.getTicket(id, signal);
    if ((ticket.customFields[field] ?? null) !== value) {
      throw new UpstreamPermanentError(
        upstream,
        `RT did not store ${field} on ticket ${id}: is the custom field applied to queue ${ticket.queue}?`,
      );
    }
  }

  private async run<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw await translateRtError(error, this.options.instance);
    }
  }
}

/**
 * Whether PUT's sentences report the value stored (RT::Record::_AddCustomFieldValue and
 * DeleteCustomFieldValue): "FlowIO-id 12 added", "FlowIO-id 11 changed to 12", "12 is no longer a value
 * for custom field FlowIO-id", "FlowIO-id 12 deleted".
 */
function confirms(messages: readonly string[], field: string, value: string | null): boolean {
  return messages.some((message) =>
    value === null
      ? message.endsWith(`is no longer a value for custom field ${field}`) ||
        (message.startsWith(`${field} `) && message.endsWith(" deleted"))
      : message === `${field} ${value} added` ||
        (message.startsWith(`${field} `) && message.endsWith(` changed to ${value}`)),
  );
}

/** A TicketSQL / TransactionSQL date: `YYYY-MM-DD HH:MM:SS`, UTC. */
export function rtDate(date: Date): string {
  return date.toISOString().slice(0, 19).replace("T", " ");
}

/** A TicketSQL string literal. */
export function sqlString(value: string): string {
  return `'${value.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}
