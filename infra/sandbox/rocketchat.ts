import { randomInt } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import {
  type FaultChaos,
  type FaultCounts,
  type FaultPlanOptions,
  FaultPlans,
  listen,
  methodAndPath,
  type NetworkFault,
} from "./faults.ts";

/**
 * An in-process fake of Rocket.Chat for integration tests and the local sandbox, on 127.0.0.1 only
 * (summary: /work/shared/systems-api.md §6). Two directions:
 * - Incoming WebHooks (`POST|GET /hooks/:integrationId(/:userId)/:token`), answered as
 *   apps/meteor/app/integrations/server/api/api.ts and app/lib/server/functions/processWebhookMessage.ts
 *   do: JSON or `payload=<json>` form bodies, text/msg, alias/username, emoji/icon_emoji, avatar/icon_url,
 *   attachments, the destination override check, 503 for a disabled integration, `{"success":true}`.
 * - The REST API of a bot user (`/api/v1/…`, personal access token in `X-User-Id` + `X-Auth-Token`):
 *   chat.sendMessage with a client-chosen `_id`, chat.getMessage, rooms.info and im.create, answered as
 *   app/api/server/v1/chat.ts, rooms.ts and im.ts (ApiClass.ts's success/failure shapes) do; a reused
 *   message id posts nothing (functions/sendMessage.ts) and answers 400.
 * - A Livechat simulator (what visitors and agents do) that builds the Omnichannel webhook payloads as
 *   app/livechat/server/hooks/sendToCRM.ts + lib/guests.ts#getLivechatRoomGuestInfo do, queues them
 *   (`takeWebhooks()`), and delivers them as lib/webhooks.ts#sendRequest does (`deliver()`): the secret
 *   header, exactly-200 success, retries of 5xx/429/network errors, the 200 body saved as crmData.
 * Every quirk below names the Rocket.Chat file it comes from (paths below apps/meteor unless told).
 */

/**
 * The rooms and people of the sandbox's and the tests' Rocket.Chat for the notifications: the public
 * #servicedesk, the private group #vip (the bot and carla are members), and carla, the VIP accounts'
 * manager (`@carla`). The bot user is `deskbridge.bot`.
 */
export const ROCKETCHAT_SEEDS = {
  rooms: [
    { _id: "ServiceDeskRoom01", name: "servicedesk", t: "c" as const },
    { _id: "VipRoom0000000001", name: "vip", t: "p" as const, members: ["deskbridge.bot", "carla"] },
  ],
  users: [{ _id: "CarlaGerente00001", username: "carla", name: "Carla Gerente" }],
};

/** Which generation of the `/hooks` HTTP layer answers (api.ts moved from Restivus to a Hono router in 7.x). */
export type RocketChatHooksApi = "hono" | "restivus";

/** How the fake is set up. */
export interface RocketChatFakeOptions {
  port?: number; // default 0; 127.0.0.1 only
  /** Incoming WebHook integrations (Administration → Integrations → Incoming). */
  integrations?: {
    id: string;
    token: string;
    channel: string; // "Post to channel": "#channel", "@user" or a room id/name
    name?: string;
    enabled?: boolean; // default true
    overrideDestination?: boolean; // overrideDestinationChannelEnabled, default false
    alias?: string;
    avatar?: string; // the integration's avatar URL (a default, like alias)
    emoji?: string; // the integration's emoji (a default)
    username?: string; // "Post as", default "rocket.cat"
  }[];
  /** The Omnichannel webhook settings. */
  livechat?: {
    /**
     * Livechat_webhookUrl, the default destination of deliver(). Left out, the URL is given to deliver()
     * and deliverAll() later (a test's receiver starts after the fake); "" is the blank setting, for
     * which Rocket.Chat builds no room event at all (sendToCRM.ts) and posts the offline message to ''.
     */
    webhookUrl?: string;
    secretToken?: string; // Livechat_secret_token
    timeoutMs?: number; // Livechat_http_timeout (default 5000)
    retryDelayMs?: number; // default timeoutMs * 4 (tests set it small)
    /**
     * Which events are sent. Default: close and offline (the Livechat_webhook_on_close and _on_offline_msg
     * settings) plus edit: Rocket.Chat has no setting for LivechatEdit (sendToCRM.ts sends it for every
     * closed room that is edited), so `edit: false` is a switch of the fake only. `navigation` stands for
     * Livechat_Visitor_navigation_as_a_message and Send_visitor_navigation_history_livechat_webhook_request.
     */
    on?: {
      close?: boolean;
      visitorMessage?: boolean;
      agentMessage?: boolean;
      edit?: boolean;
      offline?: boolean;
      navigation?: boolean;
    };
  };
  departments?: { _id: string; name: string }[];
  /** Default: one agent, user1 "User One" (id aXjjcPwqhzQxJ8S3u, user1@example.com). */
  agents?: { _id: string; username: string; name: string; email?: string }[];
  /** Default "hono" (current releases); "restivus" answers as 6.x and older did. */
  hooksApi?: RocketChatHooksApi;
  /** Site_Url, the base of fileUpload.publicFilePath; default the fake's url. */
  siteUrl?: string;
  /** A bot user of the REST API and its personal access token; without it /api/v1 answers 401. */
  bot?: { userId: string; authToken: string; username?: string; name?: string };
  /** Channels ("c") and private groups ("p") by name; the bot is a member of those listing it. */
  rooms?: { _id: string; name: string; t?: "c" | "p"; members?: string[] }[];
  /** Users a direct message can go to (im.create by username); the agents are users too. */
  users?: { _id: string; username: string; name?: string }[];
}

/** A message an Incoming WebHook posted to a channel (one per destination channel), or the bot posted. */
export interface PostedMessage {
  /** The Incoming WebHook; undefined for the bot's posts. */
  integrationId?: string;
  via: "hook" | "bot";
  /** The message's `_id` (the bot's own choice) and room, for the bot's posts. */
  id?: string;
  rid?: string;
  /** "#name" of a channel or group, "@username" of a direct message (the other user), or as the hook named it. */
  channel: string;
  text: string;
  alias?: string;
  emoji?: string;
  avatar?: string;
  attachments?: unknown[];
  body: Record<string, unknown>; // the parsed request body (bodyParams)
  at: Date;
}

/** A Livechat room as the agent UI shows it. */
export interface LivechatRoom {
  _id: string;
  open: boolean;
  topic?: string;
  tags: string[];
  crmData?: string;
  visitor: {
    _id: string;
    token: string;
    name: string;
    username: string;
    email?: string;
    phone?: string;
    department?: string;
  };
  agent?: { _id: string; username: string; name: string };
  departmentId?: string;
}

/** What sendRequest did with one payload. */
export interface Delivery {
  type: string;
  attempts: number;
  statuses: number[]; // one per attempt; 0 for a network error or a timeout
  delivered: boolean; // answered exactly 200
  body?: string; // the text of the last answer
  url: string;
}

/** One request the Incoming WebHook server received. */
export interface RocketChatCall {
  method: string;
  path: string; // the token masked: "/hooks/<id>/***"; the REST API's path without its query
  status: number; // 0 for reset, hang, drop-response, crash and while down
}

/** The running fake. */
export interface RocketChatFake {
  url: string; // "http://127.0.0.1:<port>" (the server base)
  port: number;
  hookUrl(integrationId: string): string; // full Incoming WebHook URL with the token
  messages: PostedMessage[]; // accepted channel posts (Incoming WebHooks and the bot)
  /** The `_id` of every chat.sendMessage refused because a message of that id existed (a re-post). */
  reusedIds: string[];
  calls: RocketChatCall[]; // incoming HTTP requests (path with the token masked as "***")
  /** The Livechat simulator: what visitors and agents do in the widget and the agent UI. */
  openRoom(input: {
    visitor: { name: string; email?: string; phone?: string; customFields?: Record<string, string> };
    departmentId?: string;
    agentUsername?: string; // the agent the chat is routed to; without it the chat waits in the queue
    topic?: string;
    tags?: string[];
    customFields?: Record<string, string>; // the room's livechatData
  }): LivechatRoom;
  visitorSays(roomId: string, text: string): void;
  /** A queued room is first taken by the first agent (servedBy is set then). */
  agentSays(roomId: string, text: string): void;
  sendsFile(
    roomId: string,
    who: "visitor" | "agent",
    file: { name: string; type: string; size?: number; description?: string },
  ): void;
  navigates(roomId: string, page: { title: string; href: string }): void;
  editInfo(roomId: string, info: { topic?: string; tags?: string[] }): void; // the agent's "Edit" (LivechatEdit when closed)
  offlineMessage(input: { name: string; email: string; message: string }): void;
  room(roomId: string): LivechatRoom | undefined;
  /** The Omnichannel webhook payloads queued by the events above (per the `on` settings), in order. */
  takeWebhooks(): Record<string, unknown>[];
  /** Sends one payload as sendRequest does (header, retries with retryDelayMs, exactly-200 success), saving a 200 body as the room's crmData. */
  deliver(payload: Record<string, unknown>, url?: string): Promise<Delivery>;
  /** takeWebhooks() and deliver() each, in order. */
  deliverAll(url?: string): Promise<Delivery[]>;
  /** For the Incoming WebHook server: the `times` matching requests after the first `options.after` ones get the fault. */
  failNext(
    times: number,
    fault: NetworkFault,
    match?: { path?: string | RegExp },
    options?: FaultPlanOptions,
  ): void;
  /** Seeded random faults for the matching calls no plan takes (undefined: off); reset() turns them off. */
  setChaos(chaos: FaultChaos<NetworkFault, { path?: string | RegExp }> | undefined): void;
  /** The faults applied since the last reset(), plans and chaos alike, by kind. */
  faultsInjected(): FaultCounts;
  setDown(down: boolean): void;
  reset(): void; // forget rooms, messages, calls, plans, chaos, fault counts, outbox, down; ids keep counting
  /** The Livechat simulator's close: an agent ("user", default) or the visitor ends the chat. */
  close(roomId: string, options?: { closer?: "user" | "visitor"; comment?: string }): void;
  /** Without arguments: stops the server (and any hung socket). */
  close(): Promise<void>;
  /** The most requests in flight at once (each counted until answered or cut), since start or resetInFlight(). */
  readonly maxInFlight: number;
  /** Starts maxInFlight again from the requests in flight now. */
  resetInFlight(): void;
}

type Integration = Required<NonNullable<RocketChatFakeOptions["integrations"]>[number]>;
type CloseOptions = { closer?: "user" | "visitor"; comment?: string };
type Agent = { _id: string; username: string; name: string; email?: string };
type Json = Record<string, unknown>;

interface Visitor {
  _id: string;
  token: string;
  name: string;
  username: string;
  email?: string;
  phone?: string;
  department?: string;
  customFields?: Record<string, string>;
}
interface Message {
  _id: string;
  rid: string;
  ts: Date;
  updatedAt: Date;
  msg: string;
  u: { _id: string; username: string; name?: string };
  t?: string; // a system message type
  token?: string; // set on what the visitor sends (sendToCRM.ts tells visitor from agent by it)
  hidden?: boolean; // _hidden: left out of findVisibleByRoomId
  navigation?: Json;
  file?: Json;
  attachments?: Json[];
  upload?: { _id: string; name: string; type: string; size: number }; // the Uploads record
}
interface Room {
  _id: string;
  fname: string;
  ts: Date;
  lm: Date;
  open: boolean;
  topic?: string;
  tags?: string[];
  livechatData?: Record<string, string>;
  v: Visitor;
  departmentId?: string;
  servedBy?: { _id: string; username: string; ts: Date };
  closedAt?: Date;
  closedBy?: { _id: string; username?: string };
  closer?: "user" | "visitor";
  crmData?: string;
  messages: Message[];
}
interface ApiUser {
  _id: string;
  username: string;
  name: string;
}
interface ApiRoom {
  _id: string;
  t: "c" | "p" | "d";
  name: string; // "" for a direct message
  members: string[]; // usernames
  uids?: string[];
  ts: Date;
}
interface Reply {
  status: number;
  payload?: string; // undefined: empty body
  contentType?: string;
  headers?: Record<string, string>;
}
interface HookRoute {
  integrationId: string;
  token: string; // as sent (percent-encoded)
  masked: string;
}

const JSON_TYPE = "application/json";
// Router.ts (packages/http-router) adds these to every JSON answer.
const API_HEADERS = { "Cache-Control": "no-store", Pragma: "no-cache" };
const DEFAULT_AGENTS: Agent[] = [
  { _id: "aXjjcPwqhzQxJ8S3u", username: "user1", name: "User One", email: "user1@example.com" },
];
// The widget's browser, "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)
// Chrome/120.0.0.0 Safari/537.36", as ua-parser-js reads it for visitor.os and visitor.browser (lib/guests.ts).
const VISITOR_OS = "Linux x86_64";
const VISITOR_BROWSER = "Chrome 120.0.0.0";
const ROCKET_CAT = { _id: "rocket.cat", username: "rocket.cat", name: "Rocket.Cat" };
// settings: Message_MaxAllowedSize (checked by validateWebhookMessage in processWebhookMessage.ts).
const MAX_MESSAGE_SIZE = 5000;
// sendToCRM.ts calls sendRequest(postData, 5, cb); offlineMessage.ts uses the default, also 5.
const ATTEMPTS = 5;
// node-fetch 2 (under packages/server-fetch) sends these when the caller does not.
const NODE_FETCH_HEADERS = {
  "User-Agent": "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)",
  Accept: "*/*",
};

/** Starts the fake on 127.0.0.1. */
export async function startRocketChatFake(options: RocketChatFakeOptions = {}): Promise<RocketChatFake> {
  const integrations: Integration[] = (options.integrations ?? []).map((i) => ({
    id: i.id,
    token: i.token,
    channel: i.channel,
    name: i.name ?? i.id,
    enabled: i.enabled ?? true,
    overrideDestination: i.overrideDestination ?? false, // integrations.create defaults it to false
    alias: i.alias ?? "",
    avatar: i.avatar ?? "",
    emoji: i.emoji ?? "",
    username: i.username ?? "rocket.cat",
  }));
  const agents = options.agents ?? DEFAULT_AGENTS;
  const departments = options.departments ?? [];
  const hooksApi = options.hooksApi ?? "hono";
  const livechat = options.livechat ?? {};
  const timeoutMs = livechat.timeoutMs ?? 5000;
  const retryDelayMs = livechat.retryDelayMs ?? timeoutMs * 4; // webhooks.ts: retryAfter = timeout * 4
  const on = {
    close: true,
    offline: true,
    edit: true,
    visitorMessage: false,
    agentMessage: false,
    navigation: false,
    ...livechat.on,
  };

  const messages: PostedMessage[] = [];
  const calls: RocketChatCall[] = [];
  const rooms = new Map<string, Room>();
  let outbox: Json[] = [];
  const plans = new FaultPlans<NetworkFault, { path?: string | RegExp }, RocketChatCall>(methodAndPath);
  let down = false;
  let guestCount = 0; // Livechat_guest_count: visitors are guest-1, guest-2, …
  const botUser: ApiUser | undefined = options.bot
    ? {
        _id: options.bot.userId,
        username: options.bot.username ?? "deskbridge.bot",
        name: options.bot.name ?? "Deskbridge",
      }
    : undefined;
  const apiUsers: ApiUser[] = [
    ...(botUser ? [botUser] : []),
    ...agents.map((agent) => ({ _id: agent._id, username: agent.username, name: agent.name })),
    ...(options.users ?? []).map((user) => ({ ...user, name: user.name ?? user.username })),
  ];
  const apiRooms = new Map<string, ApiRoom>(
    (options.rooms ?? []).map((room) => [
      room._id,
      { _id: room._id, t: room.t ?? "c", name: room.name, members: room.members ?? [], ts: new Date(0) },
    ]),
  );
  const apiMessages = new Map<string, Json>(); // the bot's posts by _id
  const reusedIds: string[] = [];
  let last = 0;

  const server = await listen(options.port, handle, (res) =>
    send(res, { status: 500, payload: "Internal Server Error", contentType: "text/plain; charset=UTF-8" }),
  );
  const url = `http://127.0.0.1:${server.port}`;
  const siteUrl = (options.siteUrl ?? url).replace(/\/$/, "");

  /** Strictly increasing times, so messages sort as they were said. */
  function now(): Date {
    last = Math.max(Date.now(), last + 1);
    return new Date(last);
  }

  // ---- Incoming WebHooks ----

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const parsed = new URL(req.url ?? "/", "http://127.0.0.1");
    const route = hookRoute(parsed.pathname);
    const call: RocketChatCall = {
      method: req.method ?? "GET",
      path: route?.masked ?? parsed.pathname,
      status: 0,
    };
    calls.push(call);
    if (down) return void req.socket.destroy();
    const reply = await plans.serve(req, call, (raw, fault) =>
      fault?.kind === "status"
        ? faultReply(fault)
        : parsed.pathname.startsWith("/api/v1/")
          ? answerApi(call.method, parsed, req.headers, raw)
          : answerHook(call.method, route, req.headers["content-type"], raw),
    );
    if (reply) send(res, reply);
  }

  function answerHook(
    method: string,
    route: HookRoute | undefined,
    contentType: string | undefined,
    raw: string,
  ): Reply {
    // Router.ts: the router answers every OPTIONS (CORS preflight) with "OK"; Hono's notFound the rest.
    if (method === "OPTIONS") return { status: 200, payload: "OK", contentType: "text/plain; charset=UTF-8" };
    if (!route || (method !== "GET" && method !== "POST"))
      return { status: 404, payload: "404 Not Found", contentType: "text/plain; charset=UTF-8" };

    const parsed = parseBody(method, contentType, raw);
    // Restivus (6.x api.js, auth.user()) parsed `payload=` before looking the integration up.
    if (hooksApi === "restivus" && parsed.formError !== undefined) return failure(parsed.formError);

    const integration = integrations.find(
      (i) => i.id === route.integrationId && i.token === safeDecode(route.token),
    );
    if (!integration) {
      // api.ts: authenticatedRoute() throws 'Invalid integration id or token provided.' outside the
      // try/catch of ApiClass.ts, so Hono's default error handler answers a plain-text 500. Restivus
      // answered 404 with the message.
      if (hooksApi === "restivus")
        return json(404, { success: false, error: "Invalid integration id or token provided." });
      return { status: 500, payload: "Internal Server Error", contentType: "text/plain; charset=UTF-8" };
    }
    if (integration.enabled !== true) {
      // api.ts: API.v1.unavailable('Service Unavailable'); Restivus returned the bare string as the body.
      return hooksApi === "restivus"
        ? json(503, "Service Unavailable")
        : json(503, { success: false, error: "Service Unavailable" });
    }

    const body = parsed.body;
    // api.ts: "no body means a success" (issue #7770): nothing is posted.
    if (Object.keys(body).length === 0) return json(200, { success: true });
    if ((body.channel || body.roomId) && !integration.overrideDestination)
      return failure("overriding destination channel is disabled for this integration");

    const message = buildMessage(body, integration);
    if (hooksApi === "hono" && message.msg.length > MAX_MESSAGE_SIZE)
      return failure("error-message-size-exceeded");
    const destinations = [...new Set(ensureArray(body.channel || body.roomId || integration.channel))];
    if (destinations.some((c) => typeof c !== "string" || c === "")) return failure("invalid-channel");

    const responses: Json[] = [];
    for (const channel of destinations as string[]) {
      const at = now();
      messages.push({
        integrationId: integration.id,
        via: "hook",
        channel,
        text: message.msg,
        ...(message.alias ? { alias: message.alias } : {}),
        ...(message.emoji ? { emoji: message.emoji } : {}),
        ...(message.avatar ? { avatar: message.avatar } : {}),
        ...(message.attachments.length > 0 ? { attachments: message.attachments } : {}),
        body,
        at,
      });
      responses.push({ channel, message: sentMessage(message, integration, channel, at) });
    }
    if (hooksApi === "hono" && body.separateResponse === true) return json(200, { responses, success: true });
    return json(200, { success: true });
  }

  // ---- The REST API, as a bot user (app/api/server/v1/*.ts through ApiClass.ts) ----

  function answerApi(method: string, url: URL, headers: IncomingMessage["headers"], raw: string): Reply {
    const endpoint = url.pathname.slice("/api/v1/".length);
    const route = `${method} ${endpoint}`;
    const known = [
      "GET rooms.info",
      "POST im.create",
      "POST dm.create",
      "POST chat.sendMessage",
      "GET chat.getMessage",
    ];
    if (!known.includes(route))
      return { status: 404, payload: "404 Not Found", contentType: "text/plain; charset=UTF-8" };
    // ApiClass.ts#authenticatedRoute: the user whose id and hashed login token match, else 401 with the
    // pre-8.0 compatibility fields.
    if (
      !botUser ||
      headers["x-user-id"] !== botUser._id ||
      headers["x-auth-token"] !== options.bot?.authToken
    )
      return json(401, {
        success: false,
        error: "You must be logged in to do this.",
        status: "error",
        message: "You must be logged in to do this.",
      });
    const query = Object.fromEntries(url.searchParams);
    let body: unknown = {};
    if (method === "POST") {
      try {
        body = raw === "" ? {} : JSON.parse(raw);
      } catch {
        body = {};
      }
    }
    const params = isPlainObject(body) ? body : {};
    switch (route) {
      case "GET rooms.info":
        return roomsInfo(query);
      case "POST im.create":
      case "POST dm.create":
        return imCreate(params);
      case "POST chat.sendMessage":
        return chatSendMessage(params);
      default:
        return chatGetMessage(query);
    }
  }

  /** rooms.ts#findRoomByIdOrName and the rooms.info action (checkedArchived false). */
  function roomsInfo(query: Record<string, string>): Reply {
    const room =
      query.roomId !== undefined
        ? apiRooms.get(query.roomId)
        : query.roomName !== undefined
          ? [...apiRooms.values()].find((r) => r.name === query.roomName)
          : undefined;
    if (query.roomId === undefined && query.roomName === undefined)
      return meteorError(
        "error-roomid-param-not-provided",
        'The parameter "roomId" or "roomName" is required',
      );
    if (!room)
      return meteorError(
        "error-room-not-found",
        'The required "roomId" or "roomName" param provided does not match any channel',
      );
    // canAccessRoomAsync: a public channel is open to every user; a group or a DM to its members.
    if (!canAccess(room))
      return json(400, { success: false, error: "not-allowed", errorType: "Not Allowed" });
    return json(200, { room: serialize(roomView(room)), success: true });
  }

  /**
   * im.ts (`dm.create`/`im.create`) → createDirectMessage.ts: the DM of the bot and the user (its id is
   * the two user ids sorted and joined, createRoom.ts), made once and returned after; `room._id` is set
   * to its rid. An unknown username is Meteor.Error('error-invalid-user', 'Invalid user').
   */
  function imCreate(params: Json): Reply {
    const username = typeof params.username === "string" ? params.username : undefined;
    if (username === undefined && typeof params.usernames !== "string")
      return invalidParams("must have required property 'username'");
    const names =
      username !== undefined
        ? [username]
        : String(params.usernames)
            .split(",")
            .map((u) => u.trim());
    const me = botUser as ApiUser;
    const others = names.filter((name) => name !== me.username);
    const found = others.map((name) => apiUsers.find((u) => u.username.toLowerCase() === name.toLowerCase()));
    if (found.some((user) => !user))
      return json(400, {
        success: false,
        error: "Invalid user [error-invalid-user]",
        errorType: "error-invalid-user",
        details: { method: "createDirectMessage" },
      });
    const members = [me, ...(found as ApiUser[])];
    const rid = members
      .map((user) => user._id)
      .sort()
      .join("");
    let room = apiRooms.get(rid);
    if (!room) {
      room = {
        _id: rid,
        t: "d",
        name: "",
        members: members.map((user) => user.username),
        uids: members.map((user) => user._id),
        ts: now(),
      };
      apiRooms.set(rid, room);
    }
    const { _id, ...rest } = roomView(room);
    return json(200, { room: serialize({ ...rest, rid: _id, _id }), success: true });
  }

  /**
   * chat.ts chat.sendMessage: rest-typings' chatSendMessageSchema (ajv: `message` required, no other
   * top-level keys but previewUrls; `_id`, `rid`, `msg`, `alias`, `emoji` strings, no pattern), then
   * methods/sendMessage.ts#executeSendMessage (size, rid, the room's permissions), then
   * functions/sendMessage.ts: a message whose `_id` exists is not inserted and nothing is returned, so
   * normalizeMessagesForUser([undefined]) throws a TypeError, which ApiClass.ts answers 400
   * `{"success":false,"error":"Cannot read properties of undefined (reading 'starred')"}`.
   */
  function chatSendMessage(params: Json): Reply {
    if (!("message" in params)) return invalidParams("must have required property 'message'");
    const extra = Object.keys(params).filter((key) => key !== "message" && key !== "previewUrls");
    if (extra.length > 0) return invalidParams("must NOT have additional properties");
    const message = params.message;
    if (!isPlainObject(message)) return invalidParams("must be object");
    for (const key of ["_id", "rid", "tmid", "msg", "alias", "emoji", "avatar"])
      if (message[key] !== undefined && message[key] !== null && typeof message[key] !== "string")
        return invalidParams("must be string");
    const msg = typeof message.msg === "string" ? message.msg : "";
    if (msg.length > MAX_MESSAGE_SIZE)
      return json(400, {
        success: false,
        error: "Message size exceeds Message_MaxAllowedSize [error-message-size-exceeded]",
        errorType: "error-message-size-exceeded",
        details: { method: "sendMessage" },
      });
    if (typeof message.rid !== "string" || message.rid === "")
      return failure("The 'rid' property on the message object is missing.");
    const room = apiRooms.get(message.rid);
    // canSendMessage.ts#validateRoomMessagePermissionsAsync: no room, or no access.
    if (!room) return failure("error-invalid-room");
    if (!canAccess(room)) return failure("error-not-allowed");
    const id = typeof message._id === "string" && message._id !== "" ? message._id : randomId();
    if (apiMessages.has(id)) {
      reusedIds.push(id);
      return failure("Cannot read properties of undefined (reading 'starred')");
    }
    const me = botUser as ApiUser;
    const at = now();
    const stored: Json = clean({
      _id: id,
      rid: room._id,
      msg,
      alias: typeof message.alias === "string" && message.alias !== "" ? message.alias : undefined,
      emoji: typeof message.emoji === "string" && message.emoji !== "" ? message.emoji : undefined,
      ts: at,
      u: { _id: me._id, username: me.username, name: me.name },
      _updatedAt: at,
      urls: [],
      mentions: [],
      channels: [],
    });
    apiMessages.set(id, stored);
    const other =
      room.t === "d" ? (room.members.find((name) => name !== me.username) ?? me.username) : undefined;
    messages.push({
      via: "bot",
      id,
      rid: room._id,
      channel: other !== undefined ? `@${other}` : `#${room.name}`,
      text: msg,
      ...(typeof stored.alias === "string" ? { alias: stored.alias } : {}),
      ...(typeof stored.emoji === "string" ? { emoji: stored.emoji } : {}),
      body: params,
      at,
    });
    return json(200, { message: serialize(stored), success: true });
  }

  /** chat.ts chat.getMessage: an unknown id is `API.v1.failure()`, a bare 400 `{"success":false}`. */
  function chatGetMessage(query: Record<string, string>): Reply {
    if (!query.msgId) return invalidParams("must have required property 'msgId'");
    const stored = apiMessages.get(query.msgId);
    if (!stored) return json(400, { success: false });
    const room = apiRooms.get(String(stored.rid));
    if (room && !canAccess(room))
      return json(400, {
        success: false,
        error: "Not allowed [error-not-allowed]",
        errorType: "error-not-allowed",
        details: { method: "getSingleMessage" },
      });
    return json(200, { message: serialize(stored), success: true });
  }

  function canAccess(room: ApiRoom): boolean {
    return room.t === "c" || room.members.includes((botUser as ApiUser).username);
  }

  function roomView(room: ApiRoom): Json {
    return clean({
      _id: room._id,
      t: room.t,
      ...(room.t === "d"
        ? { usernames: [...room.members].sort(), uids: room.uids, usersCount: room.members.length }
        : { name: room.name, fname: room.name, usersCount: room.members.length }),
      ts: room.ts,
      _updatedAt: room.ts,
      default: false,
      ro: false,
      sysMes: true,
    });
  }

  /**
   * Router.ts#parseBodyParams and the form middleware of api.ts. The middleware only looks at a body
   * sent as exactly `application/x-www-form-urlencoded` (no charset) with a single field: `payload`
   * is JSON-parsed, any other single field makes it parse the whole body as JSON. When that parse
   * fails, the 400 it builds with c.body() is never returned (the middleware returns next()), so the
   * route runs with the form fields as they are, and posts an empty message. Restivus answered 400.
   */
  function parseBody(
    method: string,
    contentType: string | undefined,
    raw: string,
  ): { body: Json; formError?: string } {
    if (method === "GET") return { body: {} };
    const type = contentType ?? "";
    if (type === "application/x-www-form-urlencoded") {
      const fields = Object.fromEntries(new URLSearchParams(raw));
      const keys = Object.keys(fields);
      // Restivus (6.x) only unwrapped a single `payload` field; other forms stayed form fields.
      if (keys.length === 1 && (hooksApi === "hono" || keys[0] === "payload")) {
        try {
          const value: unknown = JSON.parse(fields.payload ? fields.payload : raw);
          return { body: isPlainObject(value) ? value : {} };
        } catch (error) {
          return { body: fields, formError: (error as Error).message };
        }
      }
      return { body: fields };
    }
    if (type.includes("application/x-www-form-urlencoded"))
      return { body: Object.fromEntries(new URLSearchParams(raw)) };
    if (type.includes("multipart/form-data")) return { body: {} };
    if (type.includes("application/json")) {
      try {
        const value: unknown = JSON.parse(raw);
        // api.ts: `isPlainObject(this.bodyParams) ? this.bodyParams : {}`; a JSON parse error is swallowed.
        return { body: isPlainObject(value) ? value : {} };
      } catch {
        return { body: {} };
      }
    }
    // Any other body is read as text and spread into an object ({...'abc'} = {0:'a',1:'b',2:'c'}).
    return {
      body: raw === "" ? {} : Object.fromEntries(raw.split("").map((char, index) => [String(index), char])),
    };
  }

  /** processWebhookMessage.ts#buildMessage. */
  function buildMessage(body: Json, integration: Integration) {
    const attachments = Array.isArray(body.attachments)
      ? body.attachments.map((attachment: unknown) => {
          if (!isPlainObject(attachment)) return attachment;
          const { msg, ...rest } = attachment;
          // An attachment's `msg` becomes its (trimmed) `text`.
          return msg ? { ...rest, text: trim(msg) } : attachment;
        })
      : []; // attachments that are not an array are ignored with a warning
    const avatarOf = (value: unknown) => (typeof value === "string" && value !== "" ? value : undefined);
    let avatar: string | undefined;
    let emoji: string | undefined;
    // The avatar URL wins over the emoji; the request's values over the integration's.
    if (avatarOf(body.icon_url) || avatarOf(body.avatar))
      avatar = avatarOf(body.icon_url) ?? avatarOf(body.avatar);
    else if (avatarOf(body.icon_emoji) || avatarOf(body.emoji))
      emoji = avatarOf(body.icon_emoji) ?? avatarOf(body.emoji);
    else if (integration.avatar) avatar = integration.avatar;
    else if (integration.emoji) emoji = integration.emoji;
    return {
      // `text` overrides `msg`, `username` overrides `alias`.
      alias: String(body.username || body.alias || integration.alias || ""),
      msg: trim(body.text || body.msg || ""),
      attachments,
      parseUrls: body.parseUrls !== undefined ? body.parseUrls : !Array.isArray(body.attachments),
      avatar,
      emoji,
      tmid: body.tmid,
    };
  }

  /** The message sendMessage returns, as `responses[].message` with separateResponse (approximate). */
  function sentMessage(
    message: ReturnType<typeof buildMessage>,
    integration: Integration,
    channel: string,
    at: Date,
  ) {
    return JSON.parse(
      JSON.stringify({
        _id: randomId(),
        alias: message.alias || undefined,
        msg: message.msg,
        attachments: message.attachments,
        parseUrls: message.parseUrls,
        bot: { i: integration.id },
        groupable: false,
        tmid: message.tmid,
        avatar: message.avatar,
        emoji: message.emoji,
        ts: at,
        u: { _id: integration.username, username: integration.username },
        rid: channel,
        _updatedAt: at,
      }),
    ) as Json;
  }

  function hookRoute(pathname: string): HookRoute | undefined {
    const match = /^\/hooks\/([^/]+)\/(?:([^/]+)\/)?([^/]+)$/.exec(pathname);
    if (!match) return undefined;
    const [, integrationId = "", userId, token = ""] = match;
    return {
      integrationId,
      token,
      masked: userId === undefined ? `/hooks/${integrationId}/***` : `/hooks/${integrationId}/${userId}/***`,
    };
  }

  function faultReply(fault: Extract<NetworkFault, { kind: "status" }>): Reply {
    const headers = fault.headers ?? {};
    if (typeof fault.body === "string")
      return { status: fault.status, payload: fault.body, contentType: "text/html; charset=utf-8", headers };
    if (fault.body === undefined) return { status: fault.status, headers };
    return { status: fault.status, payload: JSON.stringify(fault.body), contentType: JSON_TYPE, headers };
  }

  // ---- Livechat ----

  function roomOf(roomId: string): Room {
    const room = rooms.get(roomId);
    if (!room) throw new Error(`the Rocket.Chat fake has no room ${roomId}`);
    return room;
  }

  function openRoomOf(roomId: string): Room {
    const room = roomOf(roomId);
    // rooms.ts#getRoom: a closed room takes no more messages (the widget would start a new one).
    if (!room.open) throw new Error(`room-closed: ${roomId} is closed`);
    return room;
  }

  function agentByUsername(username: string): Agent {
    const agent = agents.find((a) => a.username === username);
    if (!agent) throw new Error(`the Rocket.Chat fake has no agent ${username}`);
    return agent;
  }

  function openRoom(input: Parameters<RocketChatFake["openRoom"]>[0]): LivechatRoom {
    if (input.departmentId !== undefined && !departments.some((d) => d._id === input.departmentId))
      throw new Error("error-invalid-department: The provided department is invalid");
    const agent = input.agentUsername === undefined ? undefined : agentByUsername(input.agentUsername);
    guestCount += 1;
    // Visitors.ts#registerGuest: the email trimmed and lower-cased, the phone as given.
    const email = input.visitor.email?.trim().toLowerCase();
    const visitor: Visitor = {
      _id: randomId(),
      token: widgetToken(),
      name: input.visitor.name,
      username: `guest-${guestCount}`,
      ...(email ? { email } : {}),
      ...(input.visitor.phone ? { phone: input.visitor.phone } : {}),
      ...(input.departmentId ? { department: input.departmentId } : {}),
      ...(input.visitor.customFields ? { customFields: input.visitor.customFields } : {}),
    };
    const ts = now();
    const room: Room = {
      _id: randomId(),
      fname: visitor.name, // Helper.ts: fname is the visitor's (contact's) name; getLivechatRoomGuestInfo sends it as `label`
      ts,
      lm: ts,
      open: true,
      v: visitor,
      messages: [],
      ...(input.departmentId ? { departmentId: input.departmentId } : {}),
      ...(agent ? { servedBy: { _id: agent._id, username: agent.username, ts } } : {}),
    };
    saveInfo(room, { topic: input.topic, tags: input.tags ?? [] });
    if (input.customFields && Object.keys(input.customFields).length > 0)
      room.livechatData = { ...input.customFields };
    rooms.set(room._id, room);
    return view(room);
  }

  /** LivechatRooms#saveRoomById: the topic trimmed (blank unsets it), empty tags unset. */
  function saveInfo(room: Room, info: { topic?: string | undefined; tags?: string[] | undefined }): void {
    if (info.topic != null) {
      const topic = info.topic.trim();
      if (topic) room.topic = topic;
      else delete room.topic;
    }
    if (info.tags !== undefined) {
      if (info.tags.length > 0) room.tags = [...info.tags];
      else delete room.tags;
    }
  }

  /** lib/messages.ts → sendMessage → afterSaveMessage → the afterOmnichannelSaveMessage hook of sendToCRM.ts. */
  function say(room: Room, message: Message): void {
    const before = { ...room, messages: [...room.messages] };
    room.messages.push(message);
    const fromVisitor = message.token !== undefined;
    // sendToCRM.ts: a message with a token comes from the visitor, one without from an agent.
    if (fromVisitor ? on.visitorMessage : on.agentMessage) sendToCRM("Message", before, [message]);
    // The room in the callback was read before the message updated lm, so lastMessageAt lags one message.
    room.lm = message.ts;
  }

  function visitorSays(roomId: string, text: string): void {
    const room = openRoomOf(roomId);
    const ts = now();
    say(room, {
      _id: randomId(),
      rid: room._id,
      ts,
      updatedAt: ts,
      msg: text,
      u: { _id: room.v._id, username: room.v.username, name: room.v.name },
      token: room.v.token,
    });
  }

  /** The agent serving the room; a queued room is taken by the first agent first (takeInquiry). */
  function servingAgent(room: Room): Agent {
    if (!room.servedBy) {
      const first = agents[0];
      if (!first) throw new Error("the Rocket.Chat fake has no agents");
      room.servedBy = { _id: first._id, username: first.username, ts: now() };
    }
    const { _id } = room.servedBy;
    return (
      agents.find((a) => a._id === _id) ?? {
        _id,
        username: room.servedBy.username,
        name: room.servedBy.username,
      }
    );
  }

  function agentSays(roomId: string, text: string): void {
    const room = openRoomOf(roomId);
    const agent = servingAgent(room);
    const ts = now();
    say(room, {
      _id: randomId(),
      rid: room._id,
      ts,
      updatedAt: ts,
      msg: text,
      u: { _id: agent._id, username: agent.username, name: agent.name },
    });
  }

  function sendsFile(
    roomId: string,
    who: "visitor" | "agent",
    file: { name: string; type: string; size?: number; description?: string },
  ): void {
    const room = openRoomOf(roomId);
    const upload = { _id: randomId(), name: file.name, type: file.type, size: file.size ?? 1024 };
    const fileUrl = `/file-upload/${upload._id}/${encodeURI(upload.name)}`; // FileUpload.getPath
    const ts = now();
    // The description goes to the attachment; the message text stays empty (msgData.msg ?? '').
    const base = { _id: randomId(), rid: room._id, ts, updatedAt: ts, msg: "", upload };
    if (who === "visitor") {
      // sendFileLivechatMessage.ts: file {_id, name, type} and one attachment, sent with the visitor's token.
      const attachment: Json = {
        title: file.name,
        type: "file",
        description: file.description,
        title_link: fileUrl,
        title_link_download: true,
        ...mediaFields(file.type, fileUrl, upload.size),
      };
      say(room, {
        ...base,
        u: { _id: room.v._id, username: room.v.username, name: room.v.name },
        token: room.v.token,
        file: { _id: upload._id, name: upload.name, type: upload.type },
        attachments: [clean(attachment)],
      });
      return;
    }
    // file-upload/server/methods/sendFileMessage.ts (createFileAttachment) for a user of the agent UI.
    const agent = servingAgent(room);
    const media = mediaFields(file.type, fileUrl, upload.size);
    const attachment: Json =
      Object.keys(media).length > 0
        ? {
            title: file.name,
            type: "file",
            description: file.description,
            title_link: fileUrl,
            title_link_download: true,
            ...media,
            fileId: upload._id,
          }
        : {
            title: file.name,
            type: "file",
            format: fileExtension(file.name),
            description: file.description,
            title_link: fileUrl,
            title_link_download: true,
            size: upload.size,
            fileId: upload._id,
          };
    say(room, {
      ...base,
      u: { _id: agent._id, username: agent.username, name: agent.name },
      file: {
        _id: upload._id,
        name: upload.name,
        type: upload.type,
        size: upload.size,
        format: /^image\//.test(file.type) ? (fileExtension(file.name) || "").toLowerCase() : "",
        typeGroup: file.type.split("/")[0],
      },
      attachments: [clean(attachment)],
    });
  }

  /** lib/tracking.ts#savePageHistory: a system message by rocket.cat, hidden unless shown as a message. */
  function navigates(roomId: string, page: { title: string; href: string }): void {
    const room = openRoomOf(roomId);
    const ts = now();
    room.messages.push({
      _id: randomId(),
      rid: room._id,
      ts,
      updatedAt: ts,
      msg: `${page.title} - ${page.href}`,
      u: ROCKET_CAT,
      t: "livechat_navigation_history",
      navigation: {
        page: { change: "url", title: page.title, location: { href: page.href } },
        token: room.v.token,
      },
      ...(on.navigation ? {} : { hidden: true }),
    });
    // Message.saveSystemMessage runs no afterSaveMessage: no Message event, lm unchanged.
  }

  function editInfo(roomId: string, info: { topic?: string; tags?: string[] }): void {
    const room = roomOf(roomId);
    // The Edit form sends the fields it shows; a field the caller leaves out keeps its value.
    saveInfo(room, info);
    // sendToCRM.ts (livechat.saveInfo): "Do not send to CRM if the chat is still open".
    if (!room.open && on.edit) sendToCRM("LivechatEdit", room, true);
  }

  /** lib/closeRoom.ts: close the room, save the closing message, then run livechat.closeRoom. */
  function closeRoom(roomId: string, options: CloseOptions = {}): void {
    const room = roomOf(roomId);
    if (!room.open) throw new Error("error-room-closed");
    const closer = options.closer ?? "user";
    let by: { _id: string; username: string };
    let comment: string;
    if (closer === "visitor") {
      by = { _id: room.v._id, username: room.v.username };
      // api/v1 livechat/room.close: the widget's close always says Closed_by_visitor.
      comment = "Closed by visitor";
    } else {
      const agent = room.servedBy ? servingAgent(room) : agents[0];
      if (!agent) throw new Error("the Rocket.Chat fake has no agents");
      by = { _id: agent._id, username: agent.username };
      comment = options.comment ?? "";
    }
    room.open = false;
    room.closedAt = now();
    room.closer = closer;
    room.closedBy = by;
    const ts = now();
    room.messages.push({
      _id: randomId(),
      rid: room._id,
      ts,
      updatedAt: ts,
      msg: comment,
      u: { _id: by._id, username: by.username }, // the closer as {_id, username}: no name
      t: "livechat-close",
      ...(closer === "visitor" ? { token: room.v.token } : {}),
    });
    if (on.close) sendToCRM("LivechatSession", room, true);
  }

  function offlineMessage(input: { name: string; email: string; message: string }): void {
    // hooks/offlineMessage.ts calls sendRequest directly: sent even without Livechat_webhookUrl, no crmData.
    if (!on.offline) return;
    outbox.push(
      serialize({
        type: "LivechatOfflineMessage",
        sentAt: now(),
        visitor: { name: input.name, email: input.email },
        message: input.message,
      }),
    );
  }

  /** sendToCRM.ts#sendToCRM: guest info, type, messages, then the type's additional fields. */
  function sendToCRM(type: string, room: Room, include: true | Message[]): void {
    if (livechat.webhookUrl === "") return; // "if (!settings.get('Livechat_webhookUrl')) return room"
    const post: Json = { ...guestInfo(room), type, messages: [] as Json[] };
    const list = include === true ? room.messages.filter((m) => !m.hidden) : include;
    post.messages = list.filter((m) => !m.t || sendMessageType(m.t)).map((m) => crmMessage(m, room));
    if (type === "LivechatSession") {
      Object.assign(post, {
        departmentId: room.departmentId,
        servedBy: room.servedBy,
        closedAt: room.closedAt,
        closedBy: room.closedBy,
        closer: room.closer,
      });
    }
    outbox.push(serialize(post));
  }

  /** System messages are skipped but the closing comment and (with both settings on) navigation history. */
  function sendMessageType(t: string): boolean {
    if (t === "livechat-close") return true;
    if (t === "livechat_navigation_history") return on.navigation;
    return false;
  }

  /** sendToCRM.ts's message mapping, run through normalizeMessageFileUpload (which puts `u` first). */
  function crmMessage(m: Message, room: Room): Json {
    const out: Json = {
      u: m.u,
      _id: m._id,
      username: m.u.username,
      // `message.msg || JSON.stringify(message.blocks)`: without text or blocks the key is undefined, so
      // a file without a description and a closing message without a comment carry no `msg` at all.
      msg: m.msg || undefined,
      ts: m.ts,
      rid: m.rid,
      ...(m.u.username !== room.v.username ? { agentId: m.u._id } : {}),
      ...(m.t === "livechat_navigation_history" ? { navigation: m.navigation } : {}),
      ...(m.t === "livechat-close" ? { closingMessage: true } : {}),
      ...(m.file ? { file: m.file, attachments: m.attachments } : {}),
    };
    if (m.file && m.upload) {
      out.fileUpload = {
        publicFilePath: `${siteUrl}/file-upload/${m.upload._id}/${encodeURI(m.upload.name)}`,
        type: m.upload.type,
        size: m.upload.size,
      };
    }
    out._updatedAt = m.updatedAt;
    return out;
  }

  /** lib/guests.ts#getLivechatRoomGuestInfo (current: email and phone as arrays, absent when empty). */
  function guestInfo(room: Room): Json {
    const v = room.v;
    const visitor: Json = {
      _id: v._id,
      token: v.token,
      name: v.name,
      username: v.username,
      department: v.department,
      ip: "127.0.0.1",
      os: VISITOR_OS,
      browser: VISITOR_BROWSER,
      customFields: v.customFields,
    };
    const data: Json = {
      _id: room._id,
      label: room.fname,
      topic: room.topic,
      createdAt: room.ts,
      lastMessageAt: room.lm,
      tags: room.tags,
      customFields: room.livechatData,
      visitor,
    };
    const agent = room.servedBy ? agents.find((a) => a._id === room.servedBy?._id) : undefined;
    if (agent) {
      data.agent = { _id: agent._id, username: agent.username, name: agent.name };
      if (agent.email) (data.agent as Json).email = agent.email;
    }
    if (room.crmData) data.crmData = room.crmData; // an empty body saved as crmData is not echoed
    if (v.email) visitor.email = [{ address: v.email }];
    if (v.phone) visitor.phone = [{ phoneNumber: v.phone }];
    return data;
  }

  function view(room: Room): LivechatRoom {
    const agent = room.servedBy ? agents.find((a) => a._id === room.servedBy?._id) : undefined;
    return {
      _id: room._id,
      open: room.open,
      ...(room.topic !== undefined ? { topic: room.topic } : {}),
      tags: [...(room.tags ?? [])],
      ...(room.crmData !== undefined ? { crmData: room.crmData } : {}),
      visitor: {
        _id: room.v._id,
        token: room.v.token,
        name: room.v.name,
        username: room.v.username,
        ...(room.v.email ? { email: room.v.email } : {}),
        ...(room.v.phone ? { phone: room.v.phone } : {}),
        ...(room.v.department ? { department: room.v.department } : {}),
      },
      ...(agent ? { agent: { _id: agent._id, username: agent.username, name: agent.name } } : {}),
      ...(room.departmentId ? { departmentId: room.departmentId } : {}),
    };
  }

  // ---- Delivery (lib/webhooks.ts#sendRequest) ----

  async function deliver(payload: Json, target?: string): Promise<Delivery> {
    const destination = target ?? livechat.webhookUrl ?? "";
    const type = typeof payload.type === "string" ? payload.type : "";
    const statuses: number[] = [];
    let body: string | undefined;
    const headers: Record<string, string> = {
      "Content-Type": "application/json", // server-fetch's jsonParser for an object body
      ...NODE_FETCH_HEADERS,
      // "...(secretToken && { 'X-RocketChat-Livechat-Token': secretToken })": an empty secret sends none.
      ...(livechat.secretToken ? { "X-RocketChat-Livechat-Token": livechat.secretToken } : {}),
    };
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      let status = 0;
      try {
        const response = await post(destination, headers, JSON.stringify(payload));
        status = response.status;
        statuses.push(status);
        body = await response.text();
        if (status === 200) {
          saveCRMData(payload, body);
          return { type, attempts: attempt, statuses, delivered: true, body, url: destination };
        }
        // isRetryable: status >= 500 || status === 429; anything else is logged and dropped.
        if (status < 500 && status !== 429)
          return { type, attempts: attempt, statuses, delivered: false, body, url: destination };
      } catch {
        if (status === 0) statuses.push(0); // a network error or the Livechat_http_timeout abort
      }
      if (attempt < ATTEMPTS) await new Promise((resolve) => setTimeout(resolve, retryDelayMs));
    }
    return {
      type,
      attempts: ATTEMPTS,
      statuses,
      delivered: false,
      ...(body !== undefined ? { body } : {}),
      url: destination,
    };
  }

  /** server-fetch: the timeout aborts the request until the answer's headers arrive, not the body read. */
  async function post(destination: string, headers: Record<string, string>, body: string): Promise<Response> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    try {
      return await fetch(destination, { method: "POST", headers, body, signal: controller.signal });
    } finally {
      clearTimeout(timer);
    }
  }

  /** sendToCRM.ts's callback: `LivechatRooms.saveCRMDataByRoomId(room._id, await response.text())`. */
  function saveCRMData(payload: Json, text: string): void {
    if (payload.type === "LivechatOfflineMessage" || typeof payload._id !== "string") return;
    const room = rooms.get(payload._id);
    if (room) room.crmData = text;
  }

  /** `close(roomId, …)` closes a Livechat room; `close()` stops the server (the interface overloads the name). */
  function closeOrStop(): Promise<void>;
  function closeOrStop(roomId: string, options?: CloseOptions): void;
  function closeOrStop(roomId?: string, options?: CloseOptions): Promise<void> | undefined {
    if (roomId === undefined) return server.close();
    closeRoom(roomId, options);
    return undefined;
  }

  return {
    url,
    port: server.port,
    get maxInFlight() {
      return server.maxInFlight;
    },
    resetInFlight: () => server.resetInFlight(),
    hookUrl: (integrationId) => {
      const integration = integrations.find((i) => i.id === integrationId);
      if (!integration) throw new Error(`the Rocket.Chat fake has no integration ${integrationId}`);
      return `${url}/hooks/${integration.id}/${encodeURIComponent(integration.token)}`;
    },
    messages,
    reusedIds,
    calls,
    openRoom,
    visitorSays,
    agentSays,
    sendsFile,
    navigates,
    editInfo,
    close: closeOrStop,
    offlineMessage,
    room: (roomId) => {
      const room = rooms.get(roomId);
      return room ? view(room) : undefined;
    },
    takeWebhooks: () => {
      const taken = outbox;
      outbox = [];
      return taken;
    },
    deliver,
    deliverAll: async (target) => {
      const taken = outbox;
      outbox = [];
      const results: Delivery[] = [];
      for (const payload of taken) results.push(await deliver(payload, target));
      return results;
    },
    failNext: (times, fault, match = {}, options = {}) => plans.add(times, fault, match, options),
    setChaos: (chaos) => plans.setChaos(chaos),
    faultsInjected: () => plans.injected(),
    setDown: (value) => {
      down = value;
    },
    reset: () => {
      // The guest-N counter keeps counting, like Livechat_guest_count.
      rooms.clear();
      messages.length = 0;
      apiMessages.clear(); // rooms (direct messages too) stay, like the bridge's resolutions of them
      reusedIds.length = 0;
      calls.length = 0;
      plans.clear();
      outbox = [];
      down = false;
    },
  };
}

// Meteor's Random.id(): 17 characters from UNMISTAKABLE_CHARS (no 0/O, 1/I/l, U/V).
const UNMISTAKABLE_CHARS = "23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz";

/** A Rocket.Chat id (rooms, visitors, messages, uploads). */
function randomId(length = 17): string {
  let id = "";
  for (let i = 0; i < length; i++) id += UNMISTAKABLE_CHARS[randomInt(UNMISTAKABLE_CHARS.length)];
  return id;
}

/** The widget's visitor token (packages/livechat createToken: two base-36 random runs). */
function widgetToken(): string {
  const run = () => Math.random().toString(36).substring(2, 15);
  return `${run()}${run()}`;
}

/** lib/utils/getFileExtension.ts: the last extension upper-cased, "file" without one. */
function fileExtension(name: string): string {
  const parts = name.split(".");
  if (parts.length < 2 || (parts[0] === "" && parts.length === 2)) return "file";
  return parts.pop()?.toLocaleUpperCase() || "file";
}

function mediaFields(type: string, fileUrl: string, size: number): Json {
  if (/^image\/.+/.test(type)) return { image_url: fileUrl, image_type: type, image_size: size };
  if (/^audio\/.+/.test(type)) return { audio_url: fileUrl, audio_type: type, audio_size: size };
  if (/^video\/.+/.test(type)) return { video_url: fileUrl, video_type: type, video_size: size };
  return {};
}

/** JSON as it goes over the wire: Dates as ISO-8601 strings, undefined keys dropped. */
function serialize(value: Json): Json {
  return JSON.parse(JSON.stringify(value)) as Json;
}

function clean(value: Json): Json {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
}

function isPlainObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function ensureArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [value];
}

function trim(value: unknown): string {
  return (typeof value === "string" ? value : String(value)).trim();
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

function json(status: number, body: unknown): Reply {
  return { status, payload: JSON.stringify(body), contentType: JSON_TYPE, headers: API_HEADERS };
}

/** ApiClass.ts#failure(string): 400 `{"success":false,"error":…}`. */
function failure(error: string): Reply {
  return json(400, { success: false, error });
}

/** ApiClass.ts#failure(e.message, e.error, …, e) for a Meteor.Error: its message is `reason [error]`. */
function meteorError(error: string, reason: string): Reply {
  return json(400, { success: false, error: `${reason} [${error}]`, errorType: error });
}

/** ApiClass.ts: validateParams failed, Meteor.Error('invalid-params', ajv's messages). */
function invalidParams(message: string): Reply {
  return json(400, { success: false, error: `${message} [invalid-params]`, errorType: "invalid-params" });
}

function send(res: ServerResponse, reply: Reply): void {
  if (res.destroyed || res.headersSent) return;
  const headers: Record<string, string> = {};
  if (reply.contentType) headers["Content-Type"] = reply.contentType;
  if (reply.payload !== undefined) headers["Content-Length"] = String(Buffer.byteLength(reply.payload));
  res.writeHead(reply.status, { ...headers, ...reply.headers });
  res.end(reply.payload);
}
