import type { KyInstance } from "ky";
import * as v from "valibot";
import { lazyHttp } from "../http.ts";
import { translateRedmineError } from "./errors.ts";
import {
  CurrentUserSchema,
  type Issue,
  IssueEnvelopeSchema,
  IssueListSchema,
  UploadSchema,
} from "./schemas.ts";

export interface RedmineClientOptions {
  instance: string;
  url: string;
  apiKey: string;
  timeoutMs: number;
  fetch?: typeof fetch;
}

export interface IssueFields {
  project_id?: number | string;
  tracker_id?: number;
  status_id?: number;
  priority_id?: number;
  assigned_to_id?: number;
  subject?: string;
  description?: string;
  notes?: string;
  private_notes?: boolean;
  custom_fields?: { id: number; value: string }[];
  /** Files uploaded first (`POST /uploads.json`), attached by their tokens. */
  uploads?: { token: string; filename: string; content_type?: string; description?: string }[];
}

/**
 * A client of Redmine's REST API (5.x / 6.x). Writes carry `X-Skip-Webhooks`, so the common webhook
 * plugin does not echo the bridge's own changes back to it.
 * Reference: https://www.redmine.org/projects/redmine/wiki/Rest_Issues
 */
export class RedmineClient {
  private readonly http: () => Promise<KyInstance>;

  constructor(private readonly options: RedmineClientOptions) {
    this.http = lazyHttp(
      {
        prefixUrl: options.url.replace(/\/+$/, ""),
        timeout: options.timeoutMs,
        retry: { limit: 1, methods: ["get"], statusCodes: [429, 502, 503, 504], backoffLimit: 1000 },
        headers: { "X-Redmine-API-Key": options.apiKey },
        ...(options.fetch ? { fetch: options.fetch } : {}),
      },
      "redmine",
    );
  }

  /**
   * `GET /users/current.json`: who the API key is. Redmine takes a key it does not know (mistyped,
   * reset by its user) for the anonymous user instead of refusing it: lists then answer 200 with public
   * projects' issues only, usually none. This call answers such a key 401 (UpstreamAuthError).
   * Reference: https://www.redmine.org/projects/redmine/wiki/Rest_Users
   */
  async currentUser(signal?: AbortSignal): Promise<{ id: number; login: string }> {
    return this.run(async () => {
      const body = await (await this.http()).get("users/current.json", opts(signal)).json();
      return v.parse(CurrentUserSchema, body).user;
    });
  }

  /** `GET /issues/:id.json?include=journals,attachments`. */
  async getIssue(id: number, signal?: AbortSignal): Promise<Issue> {
    return this.run(async () => {
      const body = await (await this.http())
        .get(`issues/${id}.json`, { searchParams: { include: "journals,attachments" }, ...opts(signal) })
        .json();
      return v.parse(IssueEnvelopeSchema, body).issue;
    });
  }

  /**
   * An attachment's contents: `GET /attachments/download/:id` (AttachmentsController#download accepts
   * the API key). Built from the configured base URL, not the attachment's `content_url`, which uses
   * Redmine's own host-name setting and may not be reachable from the bridge.
   * Reference: https://www.redmine.org/projects/redmine/wiki/Rest_Attachments
   */
  async downloadAttachment(id: number, signal?: AbortSignal): Promise<Uint8Array> {
    return this.run(async () => {
      const response = await (await this.http()).get(`attachments/download/${id}`, opts(signal));
      return new Uint8Array(await response.arrayBuffer());
    });
  }

  /**
   * `POST /uploads.json?filename=…` with the raw bytes as `application/octet-stream` (anything else is
   * a 406) → 201 `{"upload": {"id", "token"}}`; a file over Redmine's attachment_max_size is a 422. The
   * token is then attached through `uploads` on an issue update. An upload whose answer is lost stays
   * unattached (Redmine deletes such files after a day): harmless.
   * Reference: https://www.redmine.org/projects/redmine/wiki/Rest_api#Attaching-files
   */
  async upload(
    contents: Uint8Array,
    filename: string,
    contentType: string | undefined,
    signal?: AbortSignal,
  ): Promise<string> {
    const searchParams = new URLSearchParams({ filename });
    if (contentType) searchParams.set("content_type", contentType);
    return this.run(async () => {
      const body = await (await this.http())
        .post("uploads.json", {
          searchParams,
          body: contents,
          headers: { "Content-Type": "application/octet-stream", "X-Skip-Webhooks": "1" },
          ...opts(signal),
        })
        .json();
      return v.parse(UploadSchema, body).upload.token;
    });
  }

  /**
   * Issues (any status) whose custom field equals a value, with the long filter form (a value starting
   * with an operator character would be misread in the short form). Redmine ignores a filter on a
   * custom field not flagged "used as a filter" and returns everything: callers check the value.
   */
  async findIssuesByCustomField(fieldId: number, value: string, signal?: AbortSignal): Promise<Issue[]> {
    const params = new URLSearchParams();
    params.append("f[]", "status_id");
    params.set("op[status_id]", "*");
    params.append("f[]", `cf_${fieldId}`);
    params.set(`op[cf_${fieldId}]`, "=");
    params.append(`v[cf_${fieldId}][]`, value);
    params.set("limit", "100");
    return this.run(async () => {
      const body = await (await this.http())
        .get("issues.json", { searchParams: params, ...opts(signal) })
        .json();
      return v.parse(IssueListSchema, body).issues;
    });
  }

  /** One page of issues updated at or after `since` (UTC), oldest first: `GET /issues.json`. */
  async listUpdatedSince(
    since: Date,
    page: { offset: number; limit: number; project?: number | string | undefined },
    signal?: AbortSignal,
  ): Promise<{ issues: Issue[]; total: number }> {
    const params = new URLSearchParams({
      status_id: "*",
      updated_on: `>=${since.toISOString().replace(/\.\d{3}Z$/, "Z")}`,
      sort: "updated_on:asc,id",
      offset: String(page.offset),
      limit: String(page.limit),
    });
    if (page.project !== undefined) params.set("project_id", String(page.project));
    return this.run(async () => {
      const body = await (await this.http())
        .get("issues.json", { searchParams: params, ...opts(signal) })
        .json();
      const list = v.parse(IssueListSchema, body);
      return { issues: list.issues, total: list.total_count };
    });
  }

  /** `POST /issues.json` → 201 with the created issue. */
  async createIssue(fields: IssueFields, signal?: AbortSignal): Promise<Issue> {
    return this.run(async () => {
      const body = await (await this.http())
        .post("issues.json", {
          json: { issue: fields },
          headers: { "X-Skip-Webhooks": "1" },
          ...opts(signal),
        })
        .json();
      return v.parse(IssueEnvelopeSchema, body).issue;
    });
  }

  /** `PUT /issues/:id.json` → 204 with an empty body. */
  async updateIssue(id: number, fields: IssueFields, signal?: AbortSignal): Promise<void> {
    await this.run(async () =>
      (await this.http()).put(`issues/${id}.json`, {
        json: { issue: fields },
        headers: { "X-Skip-Webhooks": "1" },
        ...opts(signal),
      }),
    );
  }

  private async run<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw await translateRedmineError(error, this.options.instance);
    }
  }
}

function opts(signal: AbortSignal | undefined): { signal?: AbortSignal } {
  return signal ? { signal } : {};
}
