import * as v from "valibot";
import { type BridgeError, NotFoundError } from "../../core/errors.ts";
import { translateHttpError } from "../http-error.ts";
import { ErrorBodySchema } from "./schemas.ts";

/**
 * Translates a failed RT call. Every REST2 error is `{"message": …}` (lib/RT/REST2/Middleware/
 * ErrorAsJSON.pm): 401 is the bridge's token, 403 a missing right (a refusal of this request, not a
 * wrong login), 404 a ticket that is not there, other 4xx permanent; 429, 5xx, timeouts and connection
 * errors retry.
 */
export function translateRtError(error: unknown, instance: string): Promise<BridgeError> {
  return translateHttpError(error, {
    system: `rt:${instance}`,
    label: "RT",
    extract: (body) => {
      const parsed = v.safeParse(ErrorBodySchema, body);
      return parsed.success ? parsed.output.message : undefined;
    },
    rungs: { 403: "permanent" },
    say: {
      auth: () => "RT refused the bridge's token",
      permanent: ({ status, message }) =>
        status === 403
          ? `RT refused: ${message || "forbidden"}`
          : `RT refused the request: ${message || status}`,
    },
  });
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
