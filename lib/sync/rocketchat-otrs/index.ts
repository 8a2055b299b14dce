import * as v from "valibot";
import { defineIntegration, instanceRef, jobSpec } from "../descriptor.ts";
import { checkRocketchatOtrs, rocketchatOtrsSchema } from "./settings.ts";

export const LIVECHAT_JOB = "rocketchat-otrs.livechat";
export const NOTIFY_JOB = "rocketchat-otrs.notify";

/**
 * A chat to put on record, as the route prepared it from the webhook (Rocket.Chat cannot be read
 * again: the payload is the source, like a form submission).
 */
export const LivechatJobInput = v.object({
  /** `room:<id>` or `offline:<digest>`: the chat's identity, and its link's key. */
  key: v.pipe(v.string(), v.minLength(1), v.maxLength(200)),
  /** Ticket numbers the chat names; none: a new ticket is opened. */
  references: v.array(v.string()),
  title: v.string(),
  queue: v.string(),
  customerUser: v.string(),
  from: v.string(),
  subject: v.string(),
  body: v.string(),
});
export type LivechatJobInput = v.InferOutput<typeof LivechatJobInput>;

/** Puts one closed chat on record in OTRS (livechat-job.ts runs it). */
export const livechatSpec = jobSpec({
  type: LIVECHAT_JOB,
  input: LivechatJobInput,
  source: ({ key }) => instanceRef("rocketchat", "livechat", "chat", key),
});

/** Posts one OTRS ticket event to the Rocket.Chat rooms and people its rules name (notify-job.ts runs it). */
export const notifySpec = jobSpec({
  type: NOTIFY_JOB,
  input: v.object({
    ticketId: v.pipe(v.string(), v.regex(/^\d+$/)),
    event: v.pipe(v.string(), v.minLength(1)),
    /** The event's identity: an identical delivery has the same one. */
    eventKey: v.pipe(v.string(), v.minLength(1), v.maxLength(100)),
  }),
  source: ({ ticketId }, { config }) =>
    instanceRef("otrs", config.integrations.rocketchatOtrs?.otrs, "ticket", ticketId),
});

/** Rocket.Chat ↔ OTRS: closed Livechat chats on record in OTRS, OTRS ticket events posted to channels. */
export const rocketchatOtrs = defineIntegration({
  id: "rocketchat-otrs",
  configKey: "rocketchatOtrs",
  settings: rocketchatOtrsSchema,
  check: checkRocketchatOtrs,
  systems: ["otrs", "rocketchat"],
  links: { otrs: ["ticket"] },
  jobs: [livechatSpec, notifySpec],
});
