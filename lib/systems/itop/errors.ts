import {
  type BridgeError,
  NotFoundError,
  transportError,
  UpstreamAuthError,
  UpstreamPermanentError,
  UpstreamRetryableError,
} from "../../core/errors.ts";
import { isHttpError } from "../http.ts";

/** iTop's RestResult codes. */
export const ItopCode = {
  OK: 0,
  UNAUTHORIZED: 1,
  INTERNAL_ERROR: 100,
} as const;

/** An answer whose `code` is not 0 (HTTP 200 all the same). */
export class ItopCodeError extends Error {
  constructor(
    readonly code: number,
    readonly itopMessage: string,
  ) {
    super(`iTop answered code ${code}: ${itopMessage}`);
    this.name = "ItopCodeError";
  }
}

/**
 * Translates a failed iTop call: code 1 (wrong credentials, or a user without the "REST Services User"
 * profile) is a setup problem; "No item found" is NotFound; other codes (validation, invalid stimulus,
 * missing mandatory attributes) are permanent; HTTP 5xx/429, timeouts and connection errors retry.
 */
export async function translateItopError(error: unknown, instance: string): Promise<BridgeError> {
  const system = `itop:${instance}`;
  if (error instanceof ItopCodeError) {
    const upstream = {
      system,
      status: 200,
      vendorCode: String(error.code),
      vendorMessage: error.itopMessage,
    };
    if (error.code === ItopCode.UNAUTHORIZED)
      return new UpstreamAuthError(upstream, "iTop refused the bridge's credentials or REST profile");
    if (/No item found/i.test(error.itopMessage)) return new NotFoundError(`iTop: ${error.itopMessage}`);
    return new UpstreamPermanentError(upstream, `iTop refused the request: ${error.itopMessage}`);
  }
  if (isHttpError(error)) {
    const status = error.response.status;
    const upstream = { system, status };
    if (status === 401 || status === 403)
      return new UpstreamAuthError(upstream, "iTop's web server refused the bridge", { cause: error });
    if (status === 429 || status >= 500)
      return new UpstreamRetryableError(upstream, `iTop answered ${status}`, { cause: error });
    return new UpstreamPermanentError(upstream, `iTop answered ${status}`, { cause: error });
  }
  return transportError(error, system, "iTop");
}
