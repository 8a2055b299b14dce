import {
  type BridgeError,
  NotFoundError,
  transportError,
  UpstreamAuthError,
  UpstreamPermanentError,
  UpstreamRetryableError,
} from "../../core/errors.ts";
import { isHttpError } from "../http.ts";
import { vendorMessage } from "../http-error.ts";

/** OTRS error kinds (`<Operation>.<Kind>`) that mean the ticket is not there or not ours to see. */
const NOT_FOUND_KINDS = new Set(["AccessDenied", "NotValidTicketID", "NotTicketData"]);

/**
 * Translates an OTRS GI business error (answered with HTTP 200 and an `Error` object) into the bridge's
 * errors: authentication failures are setup problems, missing tickets are NotFound, everything else
 * (invalid state, missing parameter, permission) is a permanent refusal.
 */
export function translateGiError(
  error: { ErrorCode: string; ErrorMessage: string },
  instance: string,
): BridgeError {
  const system = `otrs:${instance}`;
  const kind = error.ErrorCode.split(".")[1] ?? "";
  const upstream = { system, status: 200, vendorCode: error.ErrorCode, vendorMessage: error.ErrorMessage };
  if (kind === "AuthFail") return new UpstreamAuthError(upstream, "OTRS rejected the bridge's credentials");
  if (NOT_FOUND_KINDS.has(kind)) return new NotFoundError(`OTRS: ${error.ErrorMessage || error.ErrorCode}`);
  return new UpstreamPermanentError(
    upstream,
    `OTRS refused the request: ${error.ErrorCode} ${error.ErrorMessage}`.trim(),
  );
}

/** Translates a transport failure: 5xx (OTRS answers operation and routing failures with 500), 429, timeouts. */
export async function translateOtrsHttpError(error: unknown, instance: string): Promise<BridgeError> {
  const system = `otrs:${instance}`;
  if (isHttpError(error)) {
    const status = error.response.status;
    const upstream = { system, status, vendorMessage: await vendorMessage(error) };
    if (status === 429 || status >= 500)
      return new UpstreamRetryableError(upstream, `OTRS answered ${status}`, { cause: error });
    if (status === 401 || status === 403)
      return new UpstreamAuthError(upstream, "OTRS refused the bridge", { cause: error });
    return new UpstreamPermanentError(upstream, `OTRS answered ${status}`, { cause: error });
  }
  return transportError(error, system, "OTRS");
}
