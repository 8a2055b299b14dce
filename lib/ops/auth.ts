import { createHmac } from "node:crypto";
import { checkSharedSecret, constantTimeEquals } from "../core/auth.ts";
import { getConfig } from "../core/config.ts";
import type { SharedSecretAuth } from "../core/config-schema.ts";
import { BridgeError, NotFoundError } from "../core/errors.ts";
import type { HttpRequest } from "../core/http.ts";
import { secret } from "../core/secrets.ts";

/** How long a form on the status page stays usable before it must be reloaded. */
export const CSRF_TOKEN_TTL_SECONDS = 2 * 60 * 60;
/** The form field (or JSON property) that carries the token. */
export const CSRF_FIELD = "csrf_token";

/** 403: the caller is authenticated but the request may not have been sent on purpose (CSRF). */
export class ForbiddenError extends BridgeError {
  override readonly name = "ForbiddenError";
  readonly status = 403;
  readonly code = "forbidden";
  constructor(
    message: string,
    /** The field at fault (`csrf_token`), or the header (`origin`, `sec-fetch-site`). */
    readonly field: string,
  ) {
    super(message);
  }
}

/** The operators' section of the config; the status routes do not exist (404) without it. */
export function operatorsSettings(): NonNullable<ReturnType<typeof getConfig>["operators"]> {
  const operators = getConfig().operators;
  if (!operators) throw new NotFoundError("not found");
  return operators;
}

/**
 * Checks the operator secret: as the Basic auth password (what a browser prompts for, the user name is
 * ignored) or in the configured header (the CLI). 404 when the deployment has no `operators` section.
 */
export async function authenticateOperator(request: HttpRequest): Promise<void> {
  await checkSharedSecret(request, operatorsSettings().auth);
}

/**
 * Whether the request proved itself with the custom header, which a page on another site cannot make a
 * browser send. Anything else (Basic auth above all, which the browser re-sends on its own) must carry a
 * CSRF token to change anything. Only meaningful after authenticateOperator passed: checkSharedSecret
 * reads the header first, so a present header is what was checked.
 */
export function authenticatedByHeader(request: HttpRequest, auth: SharedSecretAuth): boolean {
  return request.headers[auth.header.toLowerCase()] !== undefined;
}

/** A token for the page's forms: `<expiry>.<HMAC-SHA256(secret, "csrf|" + expiry)>`. */
export function issueCsrfToken(auth: SharedSecretAuth, now = new Date()): string {
  const expiry = Math.floor(now.getTime() / 1000) + CSRF_TOKEN_TTL_SECONDS;
  return `${expiry}.${csrfMac(auth, expiry)}`;
}

/** Whether a token was issued with this secret and has not expired; compared in constant time. */
export function isValidCsrfToken(
  auth: SharedSecretAuth,
  token: string | undefined,
  now = new Date(),
): boolean {
  const match = /^(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(token ?? "");
  if (!match?.[1] || !match[2]) return false;
  const expiry = Number(match[1]);
  const valid = constantTimeEquals(match[2], csrfMac(auth, expiry));
  return valid && expiry > now.getTime() / 1000 && expiry <= now.getTime() / 1000 + CSRF_TOKEN_TTL_SECONDS;
}

/**
 * Refuses (403) a state-changing request that may come from another site: a cross-site or same-site
 * `Sec-Fetch-Site` (our own forms are same-origin), an `Origin` other than the request's own host (or
 * `null` without `Sec-Fetch-Site: same-origin`), and,
 * unless the custom header authenticated it, a missing, forged or expired CSRF token.
 */
export function checkCsrf(request: HttpRequest, token: string | undefined): void {
  const site = request.headers["sec-fetch-site"];
  if (site !== undefined && site !== "same-origin" && site !== "none") {
    throw new ForbiddenError(`a ${site} request may not change anything`, "sec-fetch-site");
  }
  const origin = request.headers.origin;
  // Our pages are served with `Referrer-Policy: no-referrer`, which makes the browser send its own forms
  // with `Origin: null`: trusted only when the browser also says the request is same-origin.
  const ownPage = origin === "null" && site === "same-origin";
  if (origin !== undefined && !ownPage && originHost(origin) !== request.headers.host) {
    throw new ForbiddenError("the request comes from another origin", "origin");
  }
  const auth = operatorsSettings().auth;
  if (authenticatedByHeader(request, auth)) return;
  if (!isValidCsrfToken(auth, token)) {
    throw new ForbiddenError(
      `${CSRF_FIELD} is missing, invalid or expired: reload the status page and try again`,
      CSRF_FIELD,
    );
  }
}

function csrfMac(auth: SharedSecretAuth, expiry: number): string {
  return createHmac("sha256", secret(auth.secret)).update(`csrf|${expiry}`).digest("base64url");
}

function originHost(origin: string): string | undefined {
  try {
    return new URL(origin).host;
  } catch {
    return undefined;
  }
}
