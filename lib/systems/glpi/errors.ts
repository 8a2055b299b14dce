import type { HTTPError } from "ky";
import * as v from "valibot";
import { type BridgeError, UpstreamAuthError } from "../../core/errors.ts";
import { translateHttpError } from "../http-error.ts";
import { GlpiErrorBodySchema } from "./schemas.ts";

/** GLPI error codes that mean the bridge's own credentials or API client setup are wrong. */
const SETUP_ERRORS = new Set([
  "ERROR_APP_TOKEN_PARAMETERS_MISSING",
  "ERROR_WRONG_APP_TOKEN_PARAMETER",
  "ERROR_NOT_ALLOWED_IP",
  "ERROR_LOGIN_PARAMETERS_MISSING",
  "ERROR_LOGIN_WITH_CREDENTIALS_DISABLED",
  "ERROR_GLPI_LOGIN_USER_TOKEN",
  "ERROR_GLPI_LOGIN",
]);

/** The code GLPI answers when a session token expired (PHP session garbage-collected). */
export const SESSION_INVALID = "ERROR_SESSION_TOKEN_INVALID";

export interface GlpiErrorInfo {
  status: number;
  code?: string;
  message?: string;
}

/** Reads GLPI's `["ERROR_X", "message"]` body from a failed response. */
export async function readGlpiError(error: HTTPError): Promise<GlpiErrorInfo> {
  const status = error.response.status;
  let text = "";
  try {
    text = await error.response.clone().text();
    const parsed = v.safeParse(GlpiErrorBodySchema, JSON.parse(text));
    if (parsed.success) {
      const [code, detail] = parsed.output;
      // Many messages end with "; view documentation in your browser at https://…/#ERROR_X".
      const message =
        typeof detail === "string"
          ? detail.replace(/;\s*view documentation in your browser.*$/s, "")
          : JSON.stringify(detail);
      return { status, code, message };
    }
  } catch {
    // Not JSON: a proxy's HTML error page, for instance.
  }
  return { status, message: text.slice(0, 200) || error.response.statusText };
}

/**
 * Translates anything a GLPI call threw into the bridge's errors: timeouts, connection failures, 429
 * and 5xx are retryable; credential and API-client problems are an UpstreamAuthError whatever the
 * status; any other refusal (401, 403 and 404 included) is permanent and carries GLPI's own code and
 * message.
 */
export function translateGlpiError(error: unknown, instance: string): Promise<BridgeError> {
  return translateHttpError(error, {
    system: `glpi:${instance}`,
    label: "GLPI",
    read: readGlpiError,
    before: ({ code, upstream, error }) =>
      code && SETUP_ERRORS.has(code)
        ? new UpstreamAuthError(upstream, "GLPI rejected the bridge's credentials", { cause: error })
        : undefined,
    rungs: { 401: "permanent", 403: "permanent", 404: "permanent" },
    say: {
      permanent: ({ code, status, message }) =>
        `GLPI refused the request: ${code ?? status} ${message ?? ""}`.trim(),
    },
  });
}
