import type { HTTPError } from "ky";
import * as v from "valibot";
import {
  type BridgeError,
  NotFoundError,
  UpstreamAuthError,
  UpstreamPermanentError,
} from "../../core/errors.ts";
import { translateHttpError, vendorMessage } from "../http-error.ts";
import { GiFaultSchema } from "./schemas.ts";

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

/**
 * Translates a failed HTTP answer. OTRS answers an operation that failed with HTTP 500 and its fault
 * (`{"faultcode":"Server","faultstring":…}`): the request itself is what OTRS will not do, so it is a
 * permanent refusal in OTRS's words, not an outage to retry for hours. Any other 5xx (a proxy, the web
 * server, REST.pm's own text/plain errors), 429 and timeouts may pass: retryable.
 */
export function translateOtrsHttpError(error: unknown, instance: string): Promise<BridgeError> {
  return translateHttpError(error, {
    system: `otrs:${instance}`,
    label: "OTRS",
    read: async (error) => {
      const fault = error.response.status === 500 ? await operationFault(error) : undefined;
      return fault
        ? { code: fault.faultcode, message: fault.faultstring }
        : { message: await vendorMessage(error) };
    },
    before: ({ status, code, message, upstream, error }) =>
      status === 500 && code !== undefined
        ? new UpstreamPermanentError(upstream, `OTRS refused the request: ${message}`, { cause: error })
        : undefined,
    rungs: { 404: "permanent" },
    say: {
      auth: () => "OTRS refused the bridge",
      permanent: ({ status }) => `OTRS answered ${status}`,
    },
  });
}

/** The fault of a failed operation in a 500's body (sent as text/plain: read whatever the type). */
async function operationFault(error: HTTPError): Promise<v.InferOutput<typeof GiFaultSchema> | undefined> {
  const text = await error.response
    .clone()
    .text()
    .catch(() => "");
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return undefined;
  }
  const fault = v.safeParse(GiFaultSchema, body);
  return fault.success ? { ...fault.output, faultstring: fault.output.faultstring.slice(0, 300) } : undefined;
}
