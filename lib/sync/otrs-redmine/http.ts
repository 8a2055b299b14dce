import { checkSharedSecret } from "../../core/auth.ts";
import type { HttpRequest } from "../../core/http.ts";
import { otrsRedmineSettings } from "./deps.ts";

export { readEvent, runEventJob } from "../webhook.ts";

/** Checks the integration's shared secret (header, HTTP Basic password, or `?token=` where allowed). */
export function authenticateOtrsRedmine(request: HttpRequest): Promise<void> {
  return checkSharedSecret(request, otrsRedmineSettings().auth);
}
