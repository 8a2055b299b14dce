import { checkBodySignature, checkSharedSecret } from "../../core/auth.ts";
import { type HttpRequest, readPathAndBody, validate } from "../../core/http.ts";
import {
  PathTicketEventSchema,
  previousStateOf,
  readTicketEvent,
  TicketEventPathSchema,
  TicketEventSchema,
} from "../../systems/otrs/schemas.ts";
import { readEvent } from "../webhook.ts";
import { otrsRedmineSettings } from "./deps.ts";

export { readEvent, runEventJob } from "../webhook.ts";

/** Checks the integration's shared secret (header, HTTP Basic password, or `?token=` where allowed). */
export function authenticateOtrsRedmine(request: HttpRequest): Promise<void> {
  return checkSharedSecret(request, otrsRedmineSettings().auth);
}

/**
 * Redmine's own webhooks sign the body: `X-Redmine-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>`
 * (redmine/redmine app/models/webhook.rb, Webhook::Executor#compute_signature, always `sha256=`-prefixed;
 * sent only when the hook has a secret).
 */
export const REDMINE_SIGNATURE = { header: "X-Redmine-Signature-256", prefix: "sha256=" } as const;

/**
 * `POST /redmine/issue-events`: a request carrying Redmine's signature is authenticated by it when a
 * signing secret is configured (a wrong one is a 401, whatever else it carries); otherwise the shared
 * secret, which the redmine_webhook plugin (no headers of its own) can only send as `?token=`.
 */
export function authenticateRedmine(request: HttpRequest): Promise<void> {
  const settings = otrsRedmineSettings();
  const signed = request.headers[REDMINE_SIGNATURE.header.toLowerCase()] !== undefined;
  if (settings.redmineWebhookSecret && signed) {
    return checkBodySignature(request, {
      ...REDMINE_SIGNATURE,
      secret: settings.redmineWebhookSecret.secret,
    });
  }
  return checkSharedSecret(request, settings.auth);
}

/**
 * The ticket and its previous state, from `POST /otrs/ticket-events` (TicketID in the body) or
 * `POST /otrs/ticket-events/{ticketId}`: a controller `/otrs/ticket-events/:TicketID` puts the id in the
 * path and REST.pm takes it out of the body (or sends no body when nothing else is left). The path's id
 * is validated as the body's is, and wins.
 */
export function readOtrsTicketEvent(request: HttpRequest): { ticketId: string; previousState?: string } {
  if (request.pathParameters.ticketId === undefined) {
    const { ticketId, previousState } = readTicketEvent(readEvent(request, TicketEventSchema, "TicketID"));
    return previousState === undefined ? { ticketId } : { ticketId, previousState };
  }
  const { path, body } = readPathAndBody(request, TicketEventPathSchema, () =>
    request.body === ""
      ? validate(PathTicketEventSchema, {})
      : readEvent(request, PathTicketEventSchema, "TicketID"),
  );
  const ticketId: string = path.ticketId ?? "";
  const previousState = previousStateOf(body);
  return previousState === undefined ? { ticketId } : { ticketId, previousState };
}
