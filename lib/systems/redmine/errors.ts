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
import { ErrorsSchema } from "./schemas.ts";

/**
 * Translates a failed Redmine call: 422 `{"errors": […]}` (validation, messages localised: shown,
 * never parsed) is permanent; 401/403 (empty bodies) mean the API key is wrong or lacks rights; 404
 * is NotFound; 429, 5xx, timeouts and connection errors are retryable.
 */
export async function translateRedmineError(error: unknown, instance: string): Promise<BridgeError> {
  const system = `redmine:${instance}`;
  if (isHttpError(error)) {
    const status = error.response.status;
    const message = await vendorMessage(error, (body) => {
      const parsed = v.safeParse(ErrorsSchema, body);
      return parsed.success ? parsed.output.errors.join("; ") : undefined;
    });
    const upstream = { system, status, vendorMessage: message };
    if (status === 401 || status === 403)
      return new UpstreamAuthError(upstream, "Redmine refused the bridge's API key", { cause: error });
    if (status === 404) return new NotFoundError("Redmine: not found or not visible to the bridge");
    if (status === 429 || status >= 500)
      return new UpstreamRetryableError(upstream, `Redmine answered ${status}`, { cause: error });
    return new UpstreamPermanentError(upstream, `Redmine refused the request: ${message || status}`, {
      cause: error,
    });
  }
  return transportError(error, system, "Redmine");
}
