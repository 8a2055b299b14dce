import { createHash } from "node:crypto";
import { checkSharedSecret } from "../../core/auth.ts";
import { getConfig } from "../../core/config.ts";
import { ConfigError, ValidationError } from "../../core/errors.ts";
import { type HttpRequest, type HttpResponse, json, readJsonBody, readPathAndBody } from "../../core/http.ts";
import { newJob } from "../../jobs/queue.ts";
import { NotificationEventSchema, NotificationPathSchema } from "../../systems/otrs/schemas.ts";
import { runEventJob } from "../webhook.ts";
import { rocketchatOtrsSettings } from "./deps.ts";
import { NOTIFY_JOB, notifyJob } from "./notify-job.ts";

export function notificationSettings() {
  const settings = rocketchatOtrsSettings().notifications;
  if (!settings)
    throw new ConfigError(
      [{ path: "integrations.rocketchatOtrs.notifications", message: "is required for this route" }],
      "config",
    );
  return settings;
}

export function authenticateNotifications(request: HttpRequest): Promise<void> {
  return checkSharedSecret(request, notificationSettings().auth);
}

/**
 * `POST /otrs/notifications` and `POST /otrs/notifications/{event}`: an OTRS ticket event goes to the
 * Rocket.Chat channels and people its rules pick. The event's name comes from the body when the invoker sends one
 * (Ticket::Generic's `Event.Event`, on newer Znuny), else from the controller's path (one invoker per
 * event, `/otrs/notifications/TicketCreate`), else from `?event=`, which REST.pm keeps only when a
 * placeholder of that query string was filled (`?event=TicketCreate&id=:TicketID`).
 */
export async function receiveNotification(request: HttpRequest): Promise<HttpResponse> {
  const settings = notificationSettings();
  const { path, body } = readPathAndBody(request, NotificationPathSchema, () =>
    readJsonBody(request, NotificationEventSchema, getConfig().http.maxBodyBytes),
  );
  const event =
    (typeof body.Event === "object" ? body.Event.Event : body.Event) ?? path.event ?? request.query.event;
  const ticketId =
    body.Ticket?.TicketID ??
    body.TicketID ??
    (typeof body.Event === "object" ? body.Event.TicketID : undefined);
  const problems = [
    ...(event
      ? []
      : [
          {
            path: "Event",
            message:
              "is required: in the body, or as the invoker's controller's last segment (/otrs/notifications/<Event>)",
          },
        ]),
    ...(ticketId ? [] : [{ path: "TicketID", message: "is required" }]),
  ];
  if (problems.length > 0 || !event || !ticketId) throw new ValidationError(problems);
  // No rule for this event: nothing to read, nothing to post.
  if (!settings.rules.some((rule) => rule.events.includes(event))) return json(200, {});
  const eventKey = notificationEventKey(event, request.body);
  return runEventJob(newJob(NOTIFY_JOB, { ticketId, event, eventKey }), notifyJob);
}

/** The identity of one OTRS event delivery: a redelivery of the same body has the same key. */
export function notificationEventKey(event: string, rawBody: string): string {
  return createHash("sha256").update(`${event}\u0000${rawBody}`).digest("base64url").slice(0, 32);
}
