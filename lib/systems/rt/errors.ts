import * as v from "valibot";
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
import { ErrorBodySchema } from "./schemas.ts";

/**
 * Translates a failed RT call. Every REST2 error is `{"message": …}` (lib/RT/REST2/Middleware/
 * ErrorAsJSON.pm): 401 is the bridge's token, 403 a missing right, 404 a ticket that is not there,
 * other 4xx permanent; 429, 5xx, timeouts and connection errors retry.
 */
export async function translateRtError(error: unknown, instance: string): Promise<BridgeError> {
  const system = `rt:${instance}`;
  if (isHttpError(error)) {
    const status = error.response.status;
    const message = await vendorMessage(error, (body) => {
      const parsed = v.safeParse(ErrorBodySchema, body);
      return parsed.success ? parsed.output.message : undefined;
    });
    const upstream = { system, status, vendorMessage: message };
    if (status === 401)
      return new UpstreamAuthError(upstream, "RT refused the bridge's token", { cause: error });
    if (status === 403)
      return new UpstreamPermanentError(upstream, `RT refused: ${message || "forbidden"}`, { cause: error });
    if (status === 404) return new NotFoundError(`RT: ${message || "not found"}`);
    if (status === 429 || status >= 500)
      return new UpstreamRetryableError(upstream, `RT answered ${status}`, { cause: error });
    return new UpstreamPermanentError(upstream, `RT refused the request: ${message || status}`, {
      cause: error,
    });
  }
  return transportError(error, system, "RT");
}

/** A ticket that exists but that the bridge's RT user may not see (403): it must not be mirrored anywhere. */
export class HiddenTicketError extends NotFoundError {
  override readonly name = "HiddenTicketError";
}

/**
 * The lines of a PUT answer that report a failure. RT answers 200 whatever happened and lists each
 * change as a sentence; these are the sentences RT uses when a change did not happen.
 */
export function failedMessages(messages: readonly string[]): string[] {
  return messages.filter((message) =>
    /permission denied|not found|invalid|isn't a valid|could not|couldn't|not allowed|failed|no permission|does not apply|can not/i.test(
      message,
    ),
  );
}
