import type { KyInstance } from "ky";
import * as v from "valibot";
import { NotFoundError } from "../../core/errors.ts";
import { lazyHttp } from "../http.ts";
import { ItopCodeError, translateItopError } from "./errors.ts";
import {
  type Blob,
  BlobSchema,
  type Envelope,
  EnvelopeSchema,
  type ItopAttachment,
  type ItopObject,
  type ItopTicket,
  toAttachment,
  toTicket,
} from "./schemas.ts";

export interface ItopClientOptions {
  instance: string;
  /** `https://host/itop/webservices/rest.php`. */
  url: string;
  version: string;
  user?: string | undefined;
  password?: string | undefined;
  token?: string | undefined;
  timeoutMs: number;
  /** The change-tracking comment every write carries (iTop requires one). */
  comment: string;
  fetch?: typeof fetch;
}

/** Field values as `core/create` and `core/update` take them. */
export type ItopFields = Record<string, unknown>;

/**
 * A client of iTop's REST/JSON API: one endpoint, form-encoded `json_data`, credentials on every call
 * (form fields, or `Auth-Token` on iTop 3.1+), HTTP 200 with a `code` to check on every answer.
 * Reference: https://www.itophub.io/wiki/page?id=latest:advancedtopics:rest_json
 */
export class ItopClient {
  private readonly http: () => Promise<KyInstance>;

  constructor(private readonly options: ItopClientOptions) {
    this.http = lazyHttp(
      {
        timeout: options.timeoutMs,
        retry: 0, // writes are not idempotent: the job runtime retries, after reading again
        ...(options.token ? { headers: { "Auth-Token": options.token } } : {}),
        ...(options.fetch ? { fetch: options.fetch } : {}),
      },
      "itop",
    );
  }

  get instance(): string {
    return this.options.instance;
  }

  /** `core/get`: the objects a key (id, OQL or criteria) selects, with the fields asked for. */
  async get(cls: string, key: unknown, outputFields: string, signal?: AbortSignal): Promise<ItopObject[]> {
    const answer = await this.call(
      { operation: "core/get", class: cls, key, output_fields: outputFields },
      signal,
    );
    return Object.values(answer.objects ?? {});
  }

  /** One ticket by id (any class of the Ticket family); NotFound when it is not there. */
  async getTicket(cls: string, id: string, outputFields: string, signal?: AbortSignal): Promise<ItopTicket> {
    const [object] = await this.get(cls, Number(id), outputFields, signal);
    if (!object) throw new NotFoundError(`iTop ${this.options.instance}: ${cls} ${id} not found`);
    return toTicket(object);
  }

  /** The concrete class of a ticket known by id only (`SELECT Ticket`). */
  async ticketClass(id: string, signal?: AbortSignal): Promise<string> {
    const [object] = await this.get("Ticket", Number(id), "id,finalclass", signal);
    if (!object) throw new NotFoundError(`iTop ${this.options.instance}: ticket ${id} not found`);
    return String(object.fields.finalclass ?? object.class);
  }

  async create(
    cls: string,
    fields: ItopFields,
    outputFields: string,
    signal?: AbortSignal,
  ): Promise<ItopObject> {
    const answer = await this.call(
      {
        operation: "core/create",
        class: cls,
        comment: this.options.comment,
        fields,
        output_fields: outputFields,
      },
      signal,
    );
    return single(answer, cls);
  }

  async update(
    cls: string,
    key: unknown,
    fields: ItopFields,
    outputFields: string,
    signal?: AbortSignal,
  ): Promise<ItopObject> {
    const answer = await this.call(
      {
        operation: "core/update",
        class: cls,
        comment: this.options.comment,
        key,
        fields,
        output_fields: outputFields,
      },
      signal,
    );
    return single(answer, cls);
  }

  /**
   * `core/apply_stimulus`: `fields` are set before the transition (what the target state requires).
   * The answer holds the ticket after it, with `outputFields` (default `id,status`).
   */
  async applyStimulus(
    cls: string,
    key: unknown,
    stimulus: string,
    fields: ItopFields,
    outputFields = "id,status",
    signal?: AbortSignal,
  ): Promise<ItopObject> {
    const answer = await this.call(
      {
        operation: "core/apply_stimulus",
        class: cls,
        comment: this.options.comment,
        key,
        stimulus,
        fields,
        output_fields: outputFields,
      },
      signal,
    );
    return single(answer, cls);
  }

  async delete(cls: string, key: unknown, signal?: AbortSignal): Promise<void> {
    await this.call({ operation: "core/delete", class: cls, comment: this.options.comment, key }, signal);
  }

  /** The attachments of one ticket, with their contents (base64). */
  async attachments(itemClass: string, itemId: string, signal?: AbortSignal): Promise<ItopAttachment[]> {
    const oql = `SELECT Attachment WHERE item_class = ${oqlString(itemClass)} AND item_id = ${Number(itemId)}`;
    return (await this.get("Attachment", oql, "id,contents", signal)).map(toAttachment);
  }

  /** The image behind an `<img data-img-id>` of an HTML field or case log, if it is still there. */
  async inlineImage(id: string, signal?: AbortSignal): Promise<Blob | undefined> {
    const [object] = await this.get("InlineImage", Number(id), "id,contents", signal);
    const contents = object && v.safeParse(BlobSchema, object.fields.contents);
    return contents?.success ? contents.output : undefined;
  }

  /**
   * The image behind an `<img data-img-id data-img-secret>` through iTop's own download page
   * (`pages/ajax.document.php?operation=download_inlineimage`), which needs no login: the secret
   * protects it, so that mail templates can show inline images. This is how a bridge user without
   * Administrator's rights gets one (REST refuses InlineImage to every other stock profile). Undefined
   * when iTop answers its error page (no such image, or a wrong secret: 200 `text/html`).
   */
  async downloadInlineImage(id: string, secret: string, signal?: AbortSignal): Promise<Blob | undefined> {
    const base = this.options.url.replace(/\/webservices\/rest\.php$/, "");
    const url = `${base}/pages/ajax.document.php?${new URLSearchParams({ operation: "download_inlineimage", id, s: secret })}`;
    try {
      const response = await (await this.http()).get(url, { signal });
      const mimetype = (response.headers.get("content-type") ?? "").split(";")[0]?.trim() ?? "";
      if (!mimetype || mimetype === "text/html") return undefined;
      const disposition = response.headers.get("content-disposition") ?? "";
      const filename = /filename="([^"]*)"/i.exec(disposition)?.[1] ?? "";
      return { data: Buffer.from(await response.arrayBuffer()).toString("base64"), mimetype, filename };
    } catch (error) {
      throw await translateItopError(error, this.options.instance);
    }
  }

  /** Posts one operation; an answer with a non-zero `code` is thrown as the bridge's error. */
  async call(operation: Record<string, unknown>, signal?: AbortSignal): Promise<Envelope> {
    const form = new URLSearchParams({ json_data: JSON.stringify(operation) });
    if (!this.options.token && this.options.user && this.options.password) {
      form.set("auth_user", this.options.user);
      form.set("auth_pwd", this.options.password);
    }
    try {
      const body = await (await this.http())
        .post(this.options.url, { searchParams: { version: this.options.version }, body: form, signal })
        .json();
      const answer = v.parse(EnvelopeSchema, body);
      if (answer.code !== 0) throw new ItopCodeError(answer.code, answer.message ?? "");
      return answer;
    } catch (error) {
      throw await translateItopError(error, this.options.instance);
    }
  }
}

function single(answer: Envelope, cls: string): ItopObject {
  const [object] = Object.values(answer.objects ?? {});
  if (!object) throw new ItopCodeError(100, `no ${cls} object in the answer`);
  return object;
}

/** An OQL string literal: quotes and backslashes escaped as iTop's OQL lexer expects. */
export function oqlString(value: string): string {
  return `'${value.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}
