import * as v from "valibot";

/**
 * Rocket.Chat Omnichannel webhook payloads (apps/meteor/app/livechat/server/hooks/sendToCRM.ts and
 * lib/guests.ts getLivechatRoomGuestInfo). Dates are ISO-8601 strings. Visitors' e-mail and phone are
 * arrays of objects in current versions, plain strings (or null) in older ones and in the old "Send
 * Test" sample: both are accepted. Unknown keys are ignored.
 */
const DateString = v.pipe(
  v.string(),
  v.check((value) => !Number.isNaN(Date.parse(value)), "must be an ISO-8601 date"),
);
const Text = v.pipe(v.string(), v.maxLength(100_000, "is too long"));
/** Rocket.Chat's room ids are 17 characters; anything beyond 128 is not one. */
const RoomId = v.pipe(
  v.string(),
  v.minLength(1, "is required"),
  v.maxLength(128, "is not a Rocket.Chat room id"),
);

const EmailSchema = v.optional(v.nullable(v.union([v.array(v.object({ address: v.string() })), v.string()])));
const PhoneSchema = v.optional(
  v.nullable(v.union([v.array(v.object({ phoneNumber: v.string() })), v.string()])),
);

export const LivechatMessageSchema = v.object({
  // Absent from the old "Send Test" sample's messages; the bridge does not need it.
  _id: v.optional(v.string()),
  username: v.optional(v.string()),
  msg: v.optional(v.nullable(Text), ""),
  ts: DateString,
  /** Present on every message not sent by the visitor. */
  agentId: v.optional(v.string()),
  u: v.optional(
    v.object({ _id: v.optional(v.string()), username: v.optional(v.string()), name: v.optional(v.string()) }),
  ),
  closingMessage: v.optional(v.boolean()),
  file: v.optional(v.object({ name: v.optional(v.string()), type: v.optional(v.string()) })),
  navigation: v.optional(
    v.object({
      page: v.optional(
        v.object({
          title: v.optional(v.string()),
          change: v.optional(v.string()),
          location: v.optional(v.object({ href: v.optional(v.string()) })),
        }),
      ),
    }),
  ),
});
export type LivechatMessage = v.InferOutput<typeof LivechatMessageSchema>;

/** A closed chat (`type: "LivechatSession"`): the room, its visitor and every visible message. */
export const LivechatSessionSchema = v.object({
  type: v.literal("LivechatSession"),
  _id: RoomId,
  label: v.optional(v.nullable(v.string())),
  topic: v.optional(v.nullable(v.string())),
  tags: v.optional(v.nullable(v.array(v.string())), []),
  createdAt: v.optional(DateString),
  closedAt: v.optional(DateString),
  departmentId: v.optional(v.nullable(v.string())),
  visitor: v.object({
    _id: v.optional(v.string()),
    name: v.optional(v.nullable(v.string())),
    username: v.optional(v.string()),
    department: v.optional(v.nullable(v.string())),
    email: EmailSchema,
    phone: PhoneSchema,
  }),
  agent: v.optional(v.nullable(v.object({ name: v.optional(v.string()), username: v.optional(v.string()) }))),
  crmData: v.optional(v.unknown()),
  messages: v.optional(v.array(LivechatMessageSchema), []),
});
export type LivechatSession = v.InferOutput<typeof LivechatSessionSchema>;

/** The widget's offline form (hooks/offlineMessage.ts): no room, just who and what. */
export const OfflineMessageSchema = v.object({
  type: v.literal("LivechatOfflineMessage"),
  sentAt: DateString,
  visitor: v.object({
    name: v.optional(v.string(), ""),
    email: v.pipe(v.string(), v.minLength(1, "is required")),
  }),
  message: Text,
  department: v.optional(v.nullable(v.string())),
});
export type OfflineMessage = v.InferOutput<typeof OfflineMessageSchema>;

/** Any Omnichannel webhook call: its type decides what the rest must be. */
export const LivechatEventSchema = v.object({
  type: v.pipe(v.string(), v.minLength(1, "is required")),
  _id: v.optional(RoomId),
  crmData: v.optional(v.unknown()),
});

/** The first e-mail address or phone number of a visitor, whatever the version's shape. */
export function firstContact(value: unknown, key: "address" | "phoneNumber"): string | undefined {
  if (typeof value === "string") return value || undefined;
  if (Array.isArray(value)) {
    const first = value[0] as Record<string, unknown> | undefined;
    const found = first?.[key];
    return typeof found === "string" && found ? found : undefined;
  }
  return undefined;
}

/** An Incoming WebHook's answer: `{"success": true}`, or `{"success": false, "error"}` (400). */
export const HookAnswerSchema = v.object({
  success: v.boolean(),
  error: v.optional(v.string()),
});

/**
 * A REST API answer (ApiClass.ts): `{"success": true, …}`, or 400 `{"success": false, "error"?,
 * "errorType"?, "details"?}`.
 */
export const ApiAnswerSchema = v.object({
  success: v.boolean(),
  error: v.optional(v.string()),
  errorType: v.optional(v.string()),
});

/** rooms.info and im.create: `{"room": {"_id", …}, "success": true}` (im.create sets `_id` to the DM's rid). */
export const RoomAnswerSchema = v.object({
  room: v.object({ _id: v.pipe(v.string(), v.minLength(1)) }),
});

/** chat.getMessage and chat.sendMessage: `{"message": {"_id", "rid", …}, "success": true}`. */
export const BotMessageAnswerSchema = v.object({
  message: v.object({ _id: v.string(), rid: v.string() }),
});
