import { createHash, createHmac, timingSafeEqual } from "node:crypto";
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

/**
 * Checks a signature of the body: `<prefix><hex HMAC-SHA256 of the body with the secret>` in a header
 * (GitHub's form, `sha256=…`). Compared in constant time; anything else, the header missing included,
 * is the same 401 as a wrong shared secret. The body is the request's text, which for a JSON sender is
 * byte for byte what was signed (API Gateway passes text bodies as they came).
 */
export async function checkBodySignature(
  request: HttpRequest,
  signature: { header: string; secret: string; prefix: string },
): Promise<void> {
  await loadSecrets([signature.secret]);
  const presented = (request.headers[signature.header.toLowerCase()] ?? "").toLowerCase();
  const digest = createHmac("sha256", secret(signature.secret)).update(request.body, "utf8").digest("hex");
  if (!constantTimeEquals(presented, `${signature.prefix}${digest}`)) {
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
