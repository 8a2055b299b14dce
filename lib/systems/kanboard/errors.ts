import {
  type BridgeError,
  UpstreamAuthError,
  UpstreamPermanentError,
  UpstreamRetryableError,
} from "../../core/errors.ts";
import { translateHttpError } from "../http-error.ts";

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
 * Translates a JSON-RPC error (libs/jsonrpc ResponseBuilder): 401 wrong credentials, -32603 an internal
 * error that may pass (retryable), anything else (-32601/-32602: a call the bridge got wrong) permanent.
 */
export function translateRpcError(error: RpcError, instance: string, procedure: string): BridgeError {
  const upstream = {
    system: `kanboard:${instance}`,
    status: 200,
    vendorCode: String(error.code),
    vendorMessage: error.rpcMessage,
  };
  if (error.code === 401) return new UpstreamAuthError(upstream, "Kanboard refused the bridge's token");
  if (error.code === -32603)
    return new UpstreamRetryableError(upstream, `Kanboard failed in ${procedure}: ${error.rpcMessage}`);
  return new UpstreamPermanentError(upstream, `Kanboard refused ${procedure}: ${error.rpcMessage}`);
}

/**
 * Translates a failed Kanboard call: a JSON-RPC error as `translateRpcError` does; HTTP 401/403 the
 * bridge's credentials, 5xx/429, timeouts and connection errors retryable, other statuses permanent.
 */
export async function translateKanboardError(
  error: unknown,
  instance: string,
  procedure: string,
): Promise<BridgeError> {
  if (error instanceof RpcError) return translateRpcError(error, instance, procedure);
  return translateHttpError(error, {
    system: `kanboard:${instance}`,
    label: "Kanboard",
    rungs: { 404: "permanent" },
    say: { permanent: ({ status }) => `Kanboard answered ${status}` },
  });
}
