import { createHash } from "node:crypto";
import * as v from "valibot";
import { checkSharedSecret } from "../../core/auth.ts";
import { getConfig } from "../../core/config.ts";
import { ConfigError } from "../../core/errors.ts";
import { type HttpRequest, type HttpResponse, json, readJsonBody, validate } from "../../core/http.ts";
import { newJob } from "../../jobs/queue.ts";
import { jobRuntime } from "../../jobs/runtime.ts";
import { PENDING } from "../../links/claims.ts";
import {
  firstContact,
  LivechatEventSchema,
  LivechatSessionSchema,
  OfflineMessageSchema,
} from "../../systems/rocketchat/schemas.ts";
import { type EventAnswers, runEventJob } from "../webhook.ts";
import { chatRef, rocketchatOtrsSettings } from "./deps.ts";
import { LIVECHAT_JOB, type LivechatJobInput, livechatJob } from "./livechat-job.ts";
import { renderChat, renderOffline, ticketReferences } from "./transcript.ts";

/** Rocket.Chat's Omnichannel webhook sends its secret in this header (apps/meteor/app/livechat/server/lib/webhooks.ts). */
export const LIVECHAT_TOKEN_HEADER = "X-RocketChat-Livechat-Token";

export function livechatSettings() {
  const settings = rocketchatOtrsSettings().livechat;
  if (!settings)
    throw new ConfigError(
      [{ path: "integrations.rocketchatOtrs.livechat", message: "is required for this route" }],
      "config",
    );
  return settings;
}

/** Checks `X-RocketChat-Livechat-Token` against the configured secret, in constant time. */
export function authenticateLivechat(request: HttpRequest): Promise<void> {
  return checkSharedSecret(request, {
    header: LIVECHAT_TOKEN_HEADER,
    secret: livechatSettings().secret,
    allowQueryToken: false,
  });
}

/**
 * Rocket.Chat counts only HTTP 200 as delivered (anything else is retried or dropped), and saves the
 * answer's body on the room as `crmData`, whatever the event: every answer is 200, and the body is
 * always worth keeping (the ticket numbers, or what the room already had).
 */
const ANSWERS: EventAnswers = {
  done: (result) => json(200, result),
  queued: (jobId) => json(200, { status: "queued", job_id: jobId }),
  failed: (jobId, error) => json(200, { status: "failed", job_id: jobId, error }),
};

/**
 * `POST /rocketchat/livechat`: a closed chat (or an offline message) is put on record in OTRS; every
 * other event (messages, a chat taken, a closed room edited) is accepted and changes nothing.
 */
export async function receiveLivechat(request: HttpRequest): Promise<HttpResponse> {
  const settings = livechatSettings();
  const body = readJsonBody(
    request,
    v.looseObject(LivechatEventSchema.entries),
    getConfig().http.maxBodyBytes,
  );
  if (body.type === "LivechatSession") {
    const chat = validate(LivechatSessionSchema, body);
    const key = `room:${chat._id}`;
    const department = chat.departmentId ?? chat.visitor.department ?? undefined;
    const email = firstContact(chat.visitor.email, "address");
    const visitor = chat.visitor.name || chat.label || chat.visitor.username || "visitor";
    const input: LivechatJobInput = {
      key,
      references: ticketReferences(chat, settings.ticketReference),
      title: chat.topic?.trim() || settings.defaultTitle.replaceAll("{visitor}", visitor),
      queue: (department && settings.departments[department]) || settings.defaultQueue,
      customerUser: email ?? settings.defaultCustomerUser,
      from: settings.article.from ?? (email ? `"${visitor.replace(/"/g, "'")}" <${email}>` : visitor),
      subject: `Livechat${chat.topic ? `: ${chat.topic}` : ` with ${visitor}`}`,
      body: renderChat(chat, { timeZone: settings.timeZone, key, ...(department ? { department } : {}) }),
    };
    // Rocket.Chat keeps the answer as the room's crmData: it must carry the ticket, so this one is inline.
    return runEventJob(newJob(LIVECHAT_JOB, input), livechatJob, ANSWERS, { ack: "inline" });
  }
  if (body.type === "LivechatOfflineMessage" && settings.offlineMessages) {
    const message = validate(OfflineMessageSchema, body);
    // No room id: the message itself is its identity (Rocket.Chat resends the same sentAt when it retries).
    const digest = createHash("sha256")
      .update(`${message.sentAt}\u0000${message.visitor.email}\u0000${message.message}`)
      .digest("base64url")
      .slice(0, 22);
    const key = `offline:${digest}`;
    const visitor = message.visitor.name || message.visitor.email;
    const input: LivechatJobInput = {
      key,
      references: [],
      title: `Offline message from ${visitor}`,
      queue: (message.department && settings.departments[message.department]) || settings.defaultQueue,
      customerUser: message.visitor.email,
      from: settings.article.from ?? `"${visitor.replace(/"/g, "'")}" <${message.visitor.email}>`,
      subject: `Livechat offline message from ${visitor}`,
      body: renderOffline(message, { timeZone: settings.timeZone, key }),
    };
    return runEventJob(newJob(LIVECHAT_JOB, input), livechatJob, ANSWERS);
  }
  return ignored(body._id, body.crmData);
}

/**
 * An event that changes nothing still gets an answer that Rocket.Chat will store as the room's
 * crmData: the tickets the chat is on record in, else what the room had, else `{}`.
 */
async function ignored(roomId: string | undefined, crmData: unknown): Promise<HttpResponse> {
  if (roomId) {
    const link = await jobRuntime().links.get(chatRef(`room:${roomId}`));
    const tickets = (link?.aspects.tickets?.entries ?? []).map((entry) => entry.split("|"));
    if (link && link.target.id !== PENDING && tickets.length > 0) {
      return json(200, {
        ticketNumbers: tickets.map(([, number]) => number),
        tickets: tickets.map(([id, number, created]) => ({ number, id, created: created === "1" })),
      });
    }
  }
  if (typeof crmData === "string" && crmData !== "") {
    return { status: 200, text: crmData, headers: { "content-type": "application/json" } };
  }
  return json(200, {});
}
