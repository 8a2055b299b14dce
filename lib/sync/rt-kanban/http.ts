import { checkSharedSecret } from "../../core/auth.ts";
import type { FormBody, HttpRequest } from "../../core/http.ts";
import type { ScripEvent } from "../../systems/rt/schemas.ts";
import { rtKanbanSettings } from "./deps.ts";

/** Checks the secret the RT Scrip sends (a header, HTTP Basic's password, or `?token=` where allowed). */
export function authenticateRt(request: HttpRequest): Promise<void> {
  return checkSharedSecret(request, rtKanbanSettings().auth);
}

/**
 * Scrips in the wild post form fields (`LWP::UserAgent->post($url, [ticket_id => …])`), the README's
 * posts JSON: both are read, field by field the same.
 */
export const SCRIP_FORM: FormBody = { kind: "fields" };

/**
 * Whether a transaction is the bridge writing the card id back: RT's Scrips fire for it like for any
 * change, and re-reading the ticket would find nothing to do.
 */
export function isBridgeEcho(event: Pick<ScripEvent, "type" | "creator">, bridgeUser: string): boolean {
  return event.type === "CustomField" && event.creator === bridgeUser;
}
