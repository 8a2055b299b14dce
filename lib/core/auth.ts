import { createHash, timingSafeEqual } from "node:crypto";
import type { SharedSecretAuth } from "./config-schema.ts";
import { AuthenticationError } from "./errors.ts";
import type { HttpRequest } from "./http.ts";
import { loadSecrets, secret } from "./secrets.ts";

/**
 * Checks a shared secret sent in a header, as the password of HTTP Basic auth (what OTRS's REST
 * requester and most webhook plugins can send), or, where the config allows it for senders that cannot
 * set headers, in a `token` query parameter. Both sides are hashed first so the comparison takes the same
 * time whatever the length or content of the guess.
 */
export async function checkSharedSecret(request: HttpRequest, auth: SharedSecretAuth): Promise<void> {
  await loadSecrets([auth.secret]);
  const presented =
    request.headers[auth.header.toLowerCase()] ??
    basicPassword(request.headers.authorization) ??
    (auth.allowQueryToken ? request.query.token : undefined);
  if (presented === undefined || !constantTimeEquals(presented, secret(auth.secret))) {
    throw new AuthenticationError("missing or wrong credentials");
  }
}

/** Compares two strings in time independent of where they differ. */
export function constantTimeEquals(a: string, b: string): boolean {
  const digestA = createHash("sha256").update(a).digest();
  const digestB = createHash("sha256").update(b).digest();
  return timingSafeEqual(digestA, digestB);
}

/** The password part of an `Authorization: Basic …` header, if there is one. */
function basicPassword(header: string | undefined): string | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header ?? "");
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  return colon >= 0 ? decoded.slice(colon + 1) : undefined;
}
