import { randomUUID } from "node:crypto";
import type { KyInstance } from "ky";
import * as v from "valibot";
import { isHttpError, lazyHttp } from "../http.ts";
import { RpcError, translateKanboardError, translateRpcError } from "./errors.ts";
import { type RpcResponse, RpcResponseSchema } from "./schemas.ts";

export interface KanboardClientOptions {
  instance: string;
  /** `https://host/jsonrpc.php`. */
  url: string;
  /** `jsonrpc` (application API) or a user name. */
  user: string;
  token: string;
  timeoutMs: number;
  fetch?: typeof fetch;
}

/** One procedure call: its name and its parameters by name. */
export interface RpcCall {
  method: string;
  params: Record<string, unknown>;
}

/**
 * A client of Kanboard's JSON-RPC API over HTTP Basic auth. A call answers the procedure's `result`
 * (which may be `false` or `null`: the callers decide what that means); a JSON-RPC `error` is thrown
 * as the bridge's error. Several calls can share one HTTP request (a JSON-RPC batch).
 * Reference: https://docs.kanboard.org/v1/api/
 */
export class KanboardClient {
  private readonly http: () => Promise<KyInstance>;

  constructor(private readonly options: KanboardClientOptions) {
    const basic = Buffer.from(`${options.user}:${options.token}`).toString("base64");
    this.http = lazyHttp(
      {
        timeout: options.timeoutMs,
        retry: 0, // most procedures write; the jobs queue retries after reading again
        headers: { Authorization: `Basic ${basic}` },
        ...(options.fetch ? { fetch: options.fetch } : {}),
      },
      "kanboard",
    );
  }

  get instance(): string {
    return this.options.instance;
  }

  /** Calls one procedure. */
  async call(method: string, params: Record<string, unknown>, signal?: AbortSignal): Promise<unknown> {
    const [result] = await this.batch([{ method, params }], signal);
    return result;
  }

  /** Calls several procedures in one HTTP request; results in the order of `calls`. */
  async batch(calls: readonly RpcCall[], signal?: AbortSignal): Promise<unknown[]> {
    const ids = calls.map(() => randomUUID());
    const body = calls.map((call, i) => ({
      jsonrpc: "2.0",
      method: call.method,
      id: ids[i],
      params: call.params,
    }));
    const names = calls.map((call) => call.method).join(",");
    let answers: RpcResponse[];
    try {
      const raw = await (await this.http())
        .post(this.options.url, { json: body.length === 1 ? body[0] : body, signal })
        .json();
      answers = v.parse(v.union([v.array(RpcResponseSchema), RpcResponseSchema]), raw) as RpcResponse[];
      if (!Array.isArray(answers)) answers = [answers];
    } catch (error) {
      throw await translateKanboardError(await rpcErrorOf(error, names), this.options.instance, names);
    }
    return calls.map((call, i) => {
      const answer = answers.find((a) => a.id === ids[i]) ?? (calls.length === 1 ? answers[0] : undefined);
      if (!answer) {
        throw translateRpcError(
          new RpcError(-32603, "no answer in the batch", call.method),
          this.options.instance,
          call.method,
        );
      }
      if (answer.error) {
        throw translateRpcError(
          new RpcError(answer.error.code, answer.error.message, call.method),
          this.options.instance,
          call.method,
        );
      }
      return answer.result;
    });
  }
}

/** A 401 comes with a JSON-RPC error body; read it so the error names what Kanboard said. */
async function rpcErrorOf(error: unknown, procedure: string): Promise<unknown> {
  if (!isHttpError(error)) return error;
  try {
    const body = v.safeParse(RpcResponseSchema, await error.response.clone().json());
    if (body.success && body.output.error && error.response.status === 401)
      return new RpcError(401, body.output.error.message, procedure);
  } catch {
    // not JSON
  }
  return error;
}
