import {
  type BridgeError,
  NotFoundError,
  UpstreamAuthError,
  UpstreamPermanentError,
} from "../../core/errors.ts";
import { translateHttpError } from "../http-error.ts";

/** iTop's RestResult codes (`application/applicationextension.inc.php`). */
export const ItopCode = {
  OK: 0,
  UNAUTHORIZED: 1,
  MISSING_VERSION: 2,
  MISSING_JSON: 3,
  INVALID_JSON: 4,
  MISSING_AUTH_USER: 5,
  MISSING_AUTH_PWD: 6,
  UNSUPPORTED_VERSION: 10,
  UNKNOWN_OPERATION: 11,
  UNSAFE: 12,
  INTERNAL_ERROR: 100,
} as const;

/**
 * Code 1 says two different things: the login failed or the user lacks the "REST Services User"
 * profile (a setup problem of the whole connection), or the user may not read or write one class (a
 * refusal of that one request: "The current user does not have enough permissions for reading data of
 * class InlineImage", with `objects: null`).
 */
export function isPermissionRefusal(message: string): boolean {
  return /does not have enough permissions|not allowed to|access denied|not authorized to (?:create|modify|delete|read)/i.test(
    message,
  );
}

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
 * Translates a failed iTop call: code 1 for a wrong login or a user without the "REST Services User"
 * profile is a setup problem (UpstreamAuthError); code 1 for a class the user may not read or write is
 * a refusal of that request, named as such (UpstreamPermanentError); "No item found" is NotFound; other
 * codes (validation, invalid stimulus, missing mandatory attributes, and 2–12, which say the bridge
 * built a bad request) are permanent; HTTP 5xx/429, timeouts and connection errors retry.
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
    if (error.code === ItopCode.UNAUTHORIZED && isPermissionRefusal(error.itopMessage))
      return new UpstreamPermanentError(
        upstream,
        `iTop denied the bridge's user a right its profiles do not give: ${error.itopMessage}`,
      );
    if (error.code === ItopCode.UNAUTHORIZED)
      return new UpstreamAuthError(
        upstream,
        `iTop refused the bridge's login or REST profile: ${error.itopMessage}`,
      );
    if (/No item found/i.test(error.itopMessage)) return new NotFoundError(`iTop: ${error.itopMessage}`);
    return new UpstreamPermanentError(upstream, `iTop refused the request: ${error.itopMessage}`);
  }
  return translateHttpError(error, {
    system,
    label: "iTop",
    rungs: { 404: "permanent" },
    say: {
      auth: () => "iTop's web server refused the bridge",
      permanent: ({ status }) => `iTop answered ${status}`,
    },
  });
}
