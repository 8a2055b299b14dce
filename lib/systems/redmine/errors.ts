import * as v from "valibot";
import type { BridgeError } from "../../core/errors.ts";
import { translateHttpError } from "../http-error.ts";
import { ErrorsSchema } from "./schemas.ts";

/**
 * Translates a failed Redmine call: 422 `{"errors": […]}` (validation, messages localised: shown,
 * never parsed) is permanent; 401/403 (empty bodies) mean the API key is wrong or lacks rights; 404
 * is NotFound; 429, 5xx, timeouts and connection errors are retryable.
 */
export function translateRedmineError(error: unknown, instance: string): Promise<BridgeError> {
  return translateHttpError(error, {
    system: `redmine:${instance}`,
    label: "Redmine",
    extract: (body) => {
      const parsed = v.safeParse(ErrorsSchema, body);
      return parsed.success ? parsed.output.errors.join("; ") : undefined;
    },
    say: {
      auth: () => "Redmine refused the bridge's API key",
      "not-found": () => "Redmine: not found or not visible to the bridge",
    },
  });
}
