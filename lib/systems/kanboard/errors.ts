import {
  type BridgeError,
  transportError,
  UpstreamAuthError,
  UpstreamPermanentError,
  UpstreamRetryableError,
} from "../../core/errors.ts";
import { isHttpError } from "../http.ts";

/** A JSON-RPC `error` object in an answer (HTTP 200 for protocol errors, 401/403 for auth). */
export class RpcError extends Error {
  constructor(
    readonly code: number,
    readonly rpcMessage: string,
    readonly procedure: string,
  ) {
    super(`Kanboard ${procedure}: ${code} ${rpcMessage}`);
    this.name = "RpcError";
  }
}

/**
 * Translates a failed Kanboard call (libs/jsonrpc ResponseBuilder): 401 wrong credentials (HTTP 401),
 * 403 forbidden, -32601/-32602 a call the bridge got wrong (permanent), -32603 and HTTP 5xx/429,
 * timeouts and connection errors retryable.
 */
export function translateKanboardError(error: unknown, instance: string, procedure: string): BridgeError {
  const system = `kanboard:${instance}`;
  if (error instanceof RpcError) {
    const upstream = { system, status: 200, vendorCode: String(error.code), vendorMessage: error.rpcMessage };
    if (error.code === 401) return new UpstreamAuthError(upstream, "Kanboard refused the bridge's token");
    if (error.code === -32603)
      return new UpstreamRetryableError(upstream, `Kanboard failed in ${procedure}: ${error.rpcMessage}`);
    return new UpstreamPermanentError(upstream, `Kanboard refused ${procedure}: ${error.rpcMessage}`);
  }
  if (isHttpError(error)) {
    const status = error.response.status;
    const upstream = { system, status };
    if (status === 401 || status === 403)
      return new UpstreamAuthError(upstream, "Kanboard refused the bridge's credentials", { cause: error });
    if (status === 429 || status >= 500)
      return new UpstreamRetryableError(upstream, `Kanboard answered ${status}`, { cause: error });
    return new UpstreamPermanentError(upstream, `Kanboard answered ${status}`, { cause: error });
  }
  return transportError(error, system, "Kanboard");
}
