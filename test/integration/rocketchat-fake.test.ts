import { readFileSync } from "node:fs";
import type { IncomingHttpHeaders } from "node:http";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { listen, readBody } from "../../infra/sandbox/faults.ts";
import {
  type RocketChatFake,
  type RocketChatFakeOptions,
  startRocketChatFake,
} from "../../infra/sandbox/rocketchat.ts";

const fixture = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`../fixtures/rocketchat/${name}`, import.meta.url), "utf8"));

const SECRET = "livechat-secret-for-tests";
const ID = /^[23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz]{17}$/; // Meteor's Random.id()
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const HOOK = {
  id: "Kp9fWy4mNcXhQ2sTz",
  token: "G7uRkqZ3aWx8bNcE5tYvL2mPsD9fHj4K6wQeR3tYu",
  channel: "#support",
};
const OVERRIDE = {
  id: "Ro3vXb2kLmQ9wZtYe",
  token: "override-token",
  channel: "#support",
  overrideDestination: true,
  alias: "Bridge",
  emoji: ":robot_face:",
};
const DISABLED = { id: "Dq7rTs8aZc4xWvBn2", token: "disabled-token", channel: "#support", enabled: false };
const ENCODED = { id: "Hn5eWq3rTy6uPa2sD", token: "a/b+c=d%", channel: "@jane.agent" };
const SUPPORT = { _id: "7qG2wXpPcuTRzFsKd", name: "Support" };
const JANE = {
  _id: "aXjjcPwqhzQxJ8S3u",
  username: "jane.agent",
  name: "Jane Agent",
  email: "jane@helpdesk.example",
};
const BOB = { _id: "Bq4mZx8cWn2rTy6pL", username: "bob.agent", name: "Bob Agent" };

// ---- A webhook receiver on 127.0.0.1 standing in for the bridge ----

interface Received {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}
type Answer = { status: number; body?: string } | { hang: true } | { reset: true };

async function startReceiver() {
  const received: Received[] = [];
  let answers: Answer[] = [];
  const server = await listen(
    0,
    async (req, res) => {
      const body = await readBody(req);
      received.push({ method: req.method ?? "", path: req.url ?? "", headers: req.headers, body });
      const answer = answers.shift() ?? { status: 200, body: "" };
      if ("hang" in answer) return; // never answered: the sender's timeout fires (close() ends it)
      if ("reset" in answer) return void req.socket.destroy();
      res.writeHead(answer.status, { "Content-Type": "text/plain" });
      res.end(answer.body ?? "");
    },
    (res) => {
      res.writeHead(500);
      res.end();
    },
  );
  return {
    url: `http://127.0.0.1:${server.port}/rocketchat/livechat`,
    received,
    answer: (...next: Answer[]) => {
      answers.push(...next);
    },
    reset: () => {
      received.length = 0;
      answers = [];
    },
    close: () => server.close(),
  };
}

let receiver: Awaited<ReturnType<typeof startReceiver>>;
let fake: RocketChatFake;
const extra: RocketChatFake[] = [];

function options(overrides: RocketChatFakeOptions = {}): RocketChatFakeOptions {
  return {
    integrations: [HOOK, OVERRIDE, DISABLED, ENCODED],
    livechat: {
      webhookUrl: receiver.url,
      secretToken: SECRET,
      timeoutMs: 150,
      retryDelayMs: 25,
      on: { visitorMessage: true, agentMessage: true },
    },
    departments: [SUPPORT],
    agents: [JANE, BOB],
    ...overrides,
  };
}

/** Another fake for a test that needs other settings; closed after the test. */
async function another(overrides: RocketChatFakeOptions): Promise<RocketChatFake> {
  const started = await startRocketChatFake(options(overrides));
  extra.push(started);
  return started;
}

beforeAll(async () => {
  receiver = await startReceiver();
  fake = await startRocketChatFake(options());
});
afterAll(async () => {
  await fake.close();
  await receiver.close();
});
beforeEach(() => {
  fake.reset();
  receiver.reset();
});
afterEach(async () => {
  for (const started of extra.splice(0)) await started.close();
});

/** One request to the Incoming WebHook server; a JSON answer is parsed. */
async function hook(url: string, init: { method?: string; body?: string; contentType?: string } = {}) {
  const response = await fetch(url, {
    method: init.method ?? "POST",
    ...(init.contentType ? { headers: { "Content-Type": init.contentType } } : {}),
    ...(init.body !== undefined ? { body: init.body } : {}),
  });
  const text = await response.text();
  const type = response.headers.get("content-type") ?? "";
  return {
    status: response.status,
    type,
    cacheControl: response.headers.get("cache-control"),
    text,
    body: type.startsWith("application/json") ? (JSON.parse(text) as unknown) : undefined,
  };
}

function postJson(id: string, body: unknown, target: RocketChatFake = fake) {
  return hook(target.hookUrl(id), { body: JSON.stringify(body), contentType: "application/json" });
}

/** Keys and value types, recursively; ISO-8601 strings as "date": what "the same shape" means here. */
function shape(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(shape);
  if (typeof value === "object" && value !== null)
    return Object.fromEntries(Object.entries(value).map(([key, v]) => [key, shape(v)]));
  if (typeof value === "string" && ISO.test(value)) return "date";
  return typeof value;
}

type Payload = Record<string, unknown> & {
  messages: Record<string, unknown>[];
  visitor: Record<string, unknown>;
};
const payloads = (target: RocketChatFake = fake) => target.takeWebhooks() as Payload[];

/** The fixtures' chat: a visitor and Jane exchange text and files, then Jane closes with a comment. */
function fixtureChat(target: RocketChatFake = fake) {
  const room = target.openRoom({
    visitor: {
      name: "James Doe",
      email: " James@Example.com",
      phone: "+4912345678",
      customFields: { customerId: "C-123456" },
    },
    departmentId: SUPPORT._id,
    agentUsername: JANE.username,
    topic: "Printer",
    tags: ["printer"],
    customFields: { productId: "LJ-4050" },
  });
  target.visitorSays(room._id, "Hi, the printer is on fire");
  target.agentSays(room._id, "Hello James, please send a photo");
  target.sendsFile(room._id, "visitor", { name: "fire.png", type: "image/png", size: 48213 });
  target.sendsFile(room._id, "agent", { name: "fuser manual.pdf", type: "application/pdf", size: 120400 });
  return room;
}

describe("Incoming WebHook", () => {
  it("posts a JSON body's text, alias, emoji and attachments to the integration's channel and answers 200 {success:true}", async () => {
    const body = fixture("incoming-webhook.json");
    const answer = await postJson(HOOK.id, body);
    expect([answer.status, answer.type, answer.cacheControl]).toEqual([200, "application/json", "no-store"]);
    expect(answer.body).toEqual(fixture("hook-success.json"));
    expect(fake.messages).toEqual([
      {
        integrationId: HOOK.id,
        via: "hook",
        channel: "#support",
        text: "*Ticket R-000123 resolved* by _Jane_",
        alias: "Helpdesk Bridge",
        emoji: ":ticket:",
        attachments: body.attachments,
        body,
        at: expect.any(Date),
      },
    ]);
    expect(fake.calls).toEqual([{ method: "POST", path: `/hooks/${HOOK.id}/***`, status: 200 }]);
  });

  it("accepts a form body whose single payload field holds the JSON, and a form that is JSON itself", async () => {
    const payload = { msg: "  from a form  ", username: "Form Bot", icon_url: "https://cdn.example/bot.png" };
    const form = await hook(fake.hookUrl(HOOK.id), {
      body: `payload=${encodeURIComponent(JSON.stringify({ ...payload, icon_emoji: ":x:" }))}`,
      contentType: "application/x-www-form-urlencoded",
    });
    expect([form.status, form.body]).toEqual([200, { success: true }]);
    const raw = await hook(fake.hookUrl(HOOK.id), {
      body: JSON.stringify({ text: "sent as a form" }),
      contentType: "application/x-www-form-urlencoded",
    });
    expect(raw.status).toBe(200);
    expect(fake.messages.map((m) => [m.text, m.alias, m.avatar, m.emoji])).toEqual([
      ["from a form", "Form Bot", "https://cdn.example/bot.png", undefined], // the URL wins over the emoji
      ["sent as a form", undefined, undefined, undefined],
    ]);
  });

  it("lets text win over msg and username over alias, and falls back to the integration's alias and emoji", async () => {
    await postJson(OVERRIDE.id, { text: "text wins", msg: "not this" });
    await postJson(OVERRIDE.id, { text: "named", alias: "Alias", username: "User Name", emoji: ":fire:" });
    await postJson(OVERRIDE.id, { msg: "attached", attachments: [{ title: "T", msg: "  moved to text " }] });
    await postJson(OVERRIDE.id, { text: "not an array", attachments: { title: "ignored" } });
    expect(fake.messages.map((m) => [m.text, m.alias, m.emoji])).toEqual([
      ["text wins", "Bridge", ":robot_face:"],
      ["named", "User Name", ":fire:"],
      ["attached", "Bridge", ":robot_face:"],
      ["not an array", "Bridge", ":robot_face:"],
    ]);
    expect(fake.messages[2]?.attachments).toEqual([{ title: "T", text: "moved to text" }]);
    expect(fake.messages[3]?.attachments).toBeUndefined();
  });

  it("refuses channel and roomId with 400 unless the integration allows overriding the destination", async () => {
    for (const field of [{ channel: "#general" }, { roomId: "GENERAL" }]) {
      const answer = await postJson(HOOK.id, { text: "elsewhere", ...field });
      expect([answer.status, answer.body]).toEqual([400, fixture("hook-error-override.json")]);
    }
    expect(fake.messages).toEqual([]);
    await postJson(OVERRIDE.id, { text: "to two rooms", channel: ["#sales", "@bob.agent", "#sales"] });
    await postJson(OVERRIDE.id, { text: "by room id", roomId: "GENERAL" });
    expect(fake.messages.map((m) => [m.channel, m.text])).toEqual([
      ["#sales", "to two rooms"],
      ["@bob.agent", "to two rooms"],
      ["GENERAL", "by room id"],
    ]);
  });

  it("answers one response per channel with separateResponse", async () => {
    const answer = await postJson(OVERRIDE.id, {
      text: "each",
      channel: ["#a", "#b"],
      separateResponse: true,
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      success: true,
      responses: [
        { channel: "#a", message: { msg: "each", bot: { i: OVERRIDE.id } } },
        { channel: "#b", message: { msg: "each" } },
      ],
    });
  });

  it("answers a wrong token or an unknown integration with Hono's plain-text 500", async () => {
    for (const path of [`/hooks/${HOOK.id}/wrong-token`, `/hooks/Unknown1234567890/${HOOK.token}`]) {
      const answer = await hook(`${fake.url}${path}`, {
        body: '{"text":"x"}',
        contentType: "application/json",
      });
      expect([answer.status, answer.type, answer.text]).toEqual([
        500,
        "text/plain; charset=UTF-8",
        "Internal Server Error",
      ]);
    }
    expect(fake.messages).toEqual([]);
    expect(fake.calls.map((c) => c.path)).toEqual([`/hooks/${HOOK.id}/***`, "/hooks/Unknown1234567890/***"]);
  });

  it("answers a wrong token with 404 and Rocket.Chat's message under Restivus (6.x)", async () => {
    const old = await another({ hooksApi: "restivus" });
    const answer = await hook(`${old.url}/hooks/${HOOK.id}/wrong-token`, {
      body: '{"text":"x"}',
      contentType: "application/json",
    });
    expect([answer.status, answer.body]).toEqual([404, fixture("hook-error-invalid-token-restivus.json")]);
  });

  it("answers 503 Service Unavailable for a disabled integration", async () => {
    const answer = await postJson(DISABLED.id, { text: "x" });
    expect([answer.status, answer.body]).toEqual([503, fixture("hook-error-disabled.json")]);
    const old = await another({ hooksApi: "restivus" });
    const legacy = await postJson(DISABLED.id, { text: "x" }, old);
    expect([legacy.status, legacy.body]).toEqual([503, "Service Unavailable"]);
    expect([fake.messages, old.messages]).toEqual([[], []]);
  });

  it("answers 200 without posting for an empty body, a GET, a JSON array and malformed JSON", async () => {
    const url = fake.hookUrl(HOOK.id);
    const answers = [
      await hook(url, { body: "{}", contentType: "application/json" }),
      await hook(url, { body: "" }),
      await hook(url, { method: "GET" }),
      await hook(url, { body: '[{"text":"x"}]', contentType: "application/json" }),
      await hook(url, { body: '{"text":', contentType: "application/json" }),
    ];
    expect(answers.map((a) => [a.status, a.body])).toEqual(Array(5).fill([200, { success: true }]));
    expect(fake.messages).toEqual([]);
  });

  it("posts an empty message for an empty text, and refuses a text over 5000 characters", async () => {
    expect((await postJson(HOOK.id, { text: "   " })).status).toBe(200);
    const long = await postJson(HOOK.id, { text: "x".repeat(5001) });
    expect([long.status, long.body]).toEqual([400, fixture("hook-error-message-size.json")]);
    expect((await postJson(HOOK.id, { text: "y".repeat(5000) })).status).toBe(200);
    expect(fake.messages.map((m) => m.text.length)).toEqual([0, 5000]);
  });

  it("posts the form fields as they are when payload is not JSON, where Restivus answered 400", async () => {
    const bad = { body: "payload=%7Bnot-json", contentType: "application/x-www-form-urlencoded" };
    // api.ts's middleware builds its 400 with c.body() but returns next(): the route posts regardless.
    expect((await hook(fake.hookUrl(HOOK.id), bad)).status).toBe(200);
    expect(fake.messages.map((m) => [m.text, m.body])).toEqual([["", { payload: "{not-json" }]]);
    const old = await another({ hooksApi: "restivus" });
    const answer = await hook(old.hookUrl(HOOK.id), bad);
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({ success: false, error: expect.stringMatching(/JSON/) });
    expect(old.messages).toEqual([]);
  });

  it("decodes the token, accepts /hooks/:integrationId/:userId/:token and masks the token in calls", async () => {
    expect(fake.hookUrl(ENCODED.id)).toBe(`${fake.url}/hooks/${ENCODED.id}/a%2Fb%2Bc%3Dd%25`);
    expect((await postJson(ENCODED.id, { text: "dm" })).status).toBe(200);
    const withUser = await hook(`${fake.url}/hooks/${HOOK.id}/rocket.cat/${HOOK.token}`, {
      body: '{"text":"with user id"}',
      contentType: "application/json",
    });
    expect(withUser.status).toBe(200);
    expect(fake.messages.map((m) => [m.channel, m.text])).toEqual([
      ["@jane.agent", "dm"],
      ["#support", "with user id"],
    ]);
    expect(fake.calls.map((c) => c.path)).toEqual([
      `/hooks/${ENCODED.id}/***`,
      `/hooks/${HOOK.id}/rocket.cat/***`,
    ]);
    expect(JSON.stringify(fake.calls)).not.toContain(HOOK.token);
  });

  it("answers 404 outside the hook routes and OK to a CORS preflight", async () => {
    expect((await hook(`${fake.url}/hooks/${HOOK.id}`)).status).toBe(404);
    expect((await hook(fake.hookUrl(HOOK.id), { method: "PUT", body: "{}" })).text).toBe("404 Not Found");
    expect((await hook(fake.hookUrl(HOOK.id), { method: "OPTIONS" })).text).toBe("OK");
  });
});

describe("Livechat payloads", () => {
  it("sends the close as LivechatSession with the guest info, the visible messages and the close fields", () => {
    const room = fixtureChat();
    payloads(); // the Message events
    fake.close(room._id, { comment: "Replaced the fuser" });
    const [close, ...rest] = payloads();
    expect(rest).toEqual([]);
    const expected = fixture("livechat-close.json");
    expect(shape(close)).toEqual(shape(expected));
    expect(Object.keys(close ?? {})).toEqual(Object.keys(expected)); // getLivechatRoomGuestInfo's order
    expect(close).toMatchObject({
      type: "LivechatSession",
      _id: room._id,
      label: "James Doe",
      topic: "Printer",
      tags: ["printer"],
      customFields: { productId: "LJ-4050" },
      visitor: {
        _id: room.visitor._id,
        token: room.visitor.token,
        username: expect.stringMatching(/^guest-\d+$/), // Livechat_guest_count
        department: SUPPORT._id,
        os: "Linux x86_64",
        browser: "Chrome 120.0.0.0",
        customFields: { customerId: "C-123456" },
        email: [{ address: "james@example.com" }], // trimmed and lower-cased at registration
        phone: [{ phoneNumber: "+4912345678" }],
      },
      agent: { _id: JANE._id, username: JANE.username, name: JANE.name, email: JANE.email },
      departmentId: SUPPORT._id,
      servedBy: { _id: JANE._id, username: JANE.username, ts: expect.stringMatching(ISO) },
      closedAt: expect.stringMatching(ISO),
      closedBy: { _id: JANE._id, username: JANE.username },
      closer: "user",
    });
    expect([room._id, room.visitor._id]).toEqual([expect.stringMatching(ID), expect.stringMatching(ID)]);
    const messages = close?.messages ?? [];
    const guest = room.visitor.username;
    expect(messages.map((m) => [m.username, m.msg, m.agentId, m.closingMessage])).toEqual([
      [guest, "Hi, the printer is on fire", undefined, undefined],
      [JANE.username, "Hello James, please send a photo", JANE._id, undefined],
      [guest, undefined, undefined, undefined], // a file: msg || JSON.stringify(blocks) is undefined
      [JANE.username, undefined, JANE._id, undefined],
      [JANE.username, "Replaced the fuser", JANE._id, true],
    ]);
    expect(messages.every((m) => ID.test(String(m._id)) && m.rid === room._id)).toBe(true);
    expect(messages[2]).toMatchObject({
      file: { name: "fire.png", type: "image/png" },
      attachments: [{ title: "fire.png", type: "file", image_type: "image/png", image_size: 48213 }],
      fileUpload: { publicFilePath: expect.stringMatching(`^${fake.url}/file-upload/`), size: 48213 },
    });
    expect(messages[3]?.attachments).toEqual([
      expect.objectContaining({ title: "fuser manual.pdf", format: "PDF", size: 120400 }),
    ]);
    expect(messages[4]?.u).toEqual({ _id: JANE._id, username: JANE.username }); // the closer, without a name
    // System messages (the closing one too) leave lastMessageAt alone.
    expect(close?.lastMessageAt).toBe(messages[3]?.ts);
    expect(close?.crmData).toBeUndefined();
  });

  it("includes the navigation history only when both navigation settings are on", async () => {
    for (const navigation of [false, true]) {
      const target = await another({ livechat: { webhookUrl: receiver.url, on: { navigation } } });
      const room = target.openRoom({ visitor: { name: "Nav" }, agentUsername: JANE.username });
      target.navigates(room._id, { title: "Pricing", href: "https://shop.example/pricing" });
      target.visitorSays(room._id, "How much?");
      target.close(room._id);
      const [close] = payloads(target);
      const nav = close?.messages.filter((m) => m.navigation !== undefined) ?? [];
      expect(nav).toEqual(
        navigation
          ? [
              expect.objectContaining({
                username: "rocket.cat",
                agentId: "rocket.cat",
                msg: "Pricing - https://shop.example/pricing",
                navigation: {
                  page: {
                    change: "url",
                    title: "Pricing",
                    location: { href: "https://shop.example/pricing" },
                  },
                  token: room.visitor.token,
                },
              }),
            ]
          : [],
      );
      expect(close?.messages.map((m) => m.closingMessage ?? false).slice(-1)).toEqual([true]);
    }
  });

  it("queues only the close and the offline message by default", async () => {
    const target = await another({ livechat: { webhookUrl: receiver.url } });
    const room = target.openRoom({ visitor: { name: "Quiet" }, agentUsername: JANE.username });
    target.visitorSays(room._id, "hello");
    target.agentSays(room._id, "hi");
    target.close(room._id);
    target.offlineMessage({ name: "Ann", email: "ann@example.com", message: "later" });
    expect(payloads(target).map((p) => p.type)).toEqual(["LivechatSession", "LivechatOfflineMessage"]);
  });

  it("queues no room event while the webhook URL setting is blank, but still the offline message", async () => {
    const chat = (target: RocketChatFake) => {
      const room = target.openRoom({ visitor: { name: "Nobody listens" } });
      target.visitorSays(room._id, "hello");
      target.close(room._id);
      target.offlineMessage({ name: "Ann", email: "ann@example.com", message: "later" });
      return payloads(target);
    };
    const on = { visitorMessage: true };
    const blank = chat(await another({ livechat: { webhookUrl: "", on } }));
    expect(blank.map((p) => p.type)).toEqual(["LivechatOfflineMessage"]);
    // Without the option, the URL comes with deliver(): every event is queued.
    const later = await another({ livechat: { on } });
    const queued = chat(later);
    expect(queued.map((p) => p.type)).toEqual(["Message", "LivechatSession", "LivechatOfflineMessage"]);
    for (const payload of queued) expect((await later.deliver(payload, receiver.url)).delivered).toBe(true);
    expect(receiver.received).toHaveLength(3);
  });

  it("sends a Message with just that message, per the visitor and agent settings, read before it moved lastMessageAt", async () => {
    const room = fixtureChat();
    const [visitor, agent, ...files] = payloads();
    expect(shape(visitor)).toEqual(shape(fixture("livechat-message.json")));
    expect([visitor?.type, visitor?.messages.length, agent?.messages[0]?.agentId]).toEqual([
      "Message",
      1,
      JANE._id,
    ]);
    expect(visitor?.lastMessageAt).toBe(visitor?.createdAt);
    expect(agent?.lastMessageAt).toBe(visitor?.messages[0]?.ts);
    expect(files.map((p) => p.messages[0]?.file !== undefined)).toEqual([true, true]);
    expect(fake.room(room._id)).toMatchObject({ open: true, agent: { username: JANE.username } });

    const visitorsOnly = await another({
      livechat: { webhookUrl: receiver.url, on: { visitorMessage: true } },
    });
    const other = visitorsOnly.openRoom({ visitor: { name: "V" }, agentUsername: JANE.username });
    visitorsOnly.agentSays(other._id, "agent");
    visitorsOnly.visitorSays(other._id, "visitor");
    expect(payloads(visitorsOnly).map((p) => p.messages[0]?.msg)).toEqual(["visitor"]);
  });

  it("sends LivechatEdit with the saved topic and tags for a closed room only", () => {
    const room = fixtureChat();
    fake.editInfo(room._id, { topic: "Still open" });
    payloads();
    fake.close(room._id, { comment: "Replaced the fuser" });
    fake.editInfo(room._id, { topic: "  Printer on fire  ", tags: ["printer", "hardware"] });
    const [close, edit] = payloads();
    expect(close?.topic).toBe("Still open");
    expect(shape(edit)).toEqual(shape(fixture("livechat-edit.json")));
    expect(edit).toMatchObject({
      type: "LivechatEdit",
      topic: "Printer on fire",
      tags: ["printer", "hardware"],
    });
    expect(edit?.messages).toHaveLength(5);
    expect(edit?.closer).toBeUndefined(); // getAdditionalFieldsByType adds nothing for LivechatEdit
    fake.editInfo(room._id, { topic: " ", tags: [] }); // saveRoomById unsets a blank topic and empty tags
    const [cleared] = payloads();
    expect([cleared?.topic, cleared?.tags]).toEqual([undefined, undefined]);
    expect(fake.room(room._id)).toMatchObject({ open: false, tags: [] });
  });

  it("closes by the visitor with Closed by visitor, the visitor as closedBy and no agentId", () => {
    const room = fake.openRoom({ visitor: { name: "Leaving" } }); // still in the queue: no agent
    fake.visitorSays(room._id, "bye");
    payloads();
    fake.close(room._id, { closer: "visitor", comment: "ignored by livechat/room.close" });
    const [close] = payloads();
    expect(close).toMatchObject({
      closer: "visitor",
      closedBy: { _id: room.visitor._id, username: room.visitor.username },
    });
    expect([close?.agent, close?.servedBy, close?.visitor.email, close?.visitor.phone]).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    expect(close?.messages.at(-1)).toMatchObject({ msg: "Closed by visitor", closingMessage: true });
    expect(close?.messages.every((m) => m.agentId === undefined)).toBe(true);
    expect(() => fake.visitorSays(room._id, "again")).toThrow(/room-closed/);
  });

  it("omits msg from a closing message without a comment", () => {
    const room = fake.openRoom({ visitor: { name: "Silent" }, agentUsername: BOB.username });
    fake.close(room._id);
    const [close] = payloads();
    expect(close?.messages).toHaveLength(1);
    expect(close?.messages[0]).not.toHaveProperty("msg");
    expect(close?.messages[0]).toMatchObject({ closingMessage: true, agentId: BOB._id });
  });

  it("lets the first agent take a queued room when an agent speaks", () => {
    const room = fake.openRoom({ visitor: { name: "Waiting" } });
    expect(fake.room(room._id)?.agent).toBeUndefined();
    fake.agentSays(room._id, "I'll take it");
    expect(fake.room(room._id)?.agent).toEqual({ _id: JANE._id, username: JANE.username, name: JANE.name });
    const [message] = payloads();
    expect(message?.agent).toMatchObject({ username: JANE.username });
  });

  it("builds the offline message as {type, sentAt, visitor: {name, email}, message}", () => {
    fake.offlineMessage({ name: "Ann Smith", email: "ann@example.com", message: "Please call me back" });
    const [offline] = payloads();
    expect(shape(offline)).toEqual(shape(fixture("livechat-offline.json")));
    expect(offline).toEqual({
      type: "LivechatOfflineMessage",
      sentAt: expect.stringMatching(ISO),
      visitor: { name: "Ann Smith", email: "ann@example.com" },
      message: "Please call me back",
    });
  });

  it("refuses an unknown department or agent", () => {
    expect(() => fake.openRoom({ visitor: { name: "X" }, departmentId: "nope" })).toThrow(/department/);
    expect(() => fake.openRoom({ visitor: { name: "X" }, agentUsername: "nobody" })).toThrow(/agent/);
  });
});

describe("delivery", () => {
  it("posts the payload as JSON with X-RocketChat-Livechat-Token only when a secret is set", async () => {
    fake.offlineMessage({ name: "Ann", email: "ann@example.com", message: "hi" });
    const [delivery] = await fake.deliverAll();
    expect(delivery).toMatchObject({
      type: "LivechatOfflineMessage",
      attempts: 1,
      statuses: [200],
      delivered: true,
    });
    const [request] = receiver.received;
    expect(request).toMatchObject({ method: "POST", path: "/rocketchat/livechat" });
    expect(request?.headers["content-type"]).toBe("application/json");
    expect(request?.headers["x-rocketchat-livechat-token"]).toBe(SECRET);
    expect(JSON.parse(request?.body ?? "")).toMatchObject({ type: "LivechatOfflineMessage", message: "hi" });

    const open = await another({ livechat: { webhookUrl: receiver.url, secretToken: "" } });
    open.offlineMessage({ name: "Ann", email: "ann@example.com", message: "no secret" });
    await open.deliverAll();
    expect(receiver.received[1]?.headers["x-rocketchat-livechat-token"]).toBeUndefined();
  });

  it("takes exactly 200 as success: a 201, 204 or 404 is logged and dropped without a retry", async () => {
    for (const status of [201, 204, 404]) {
      receiver.reset();
      receiver.answer({ status, body: status === 204 ? "" : "created" });
      fake.offlineMessage({ name: "Ann", email: "ann@example.com", message: String(status) });
      const [delivery] = await fake.deliverAll();
      expect(delivery).toMatchObject({ attempts: 1, statuses: [status], delivered: false });
      expect(receiver.received).toHaveLength(1);
    }
  });

  it("retries 5xx, 429, resets and timeouts after the retry delay, five attempts in all", async () => {
    receiver.answer(
      { status: 500 },
      { status: 429 },
      { hang: true },
      { reset: true },
      { status: 200, body: "ok" },
    );
    fake.offlineMessage({ name: "Ann", email: "ann@example.com", message: "flaky" });
    const started = Date.now();
    const [delivery] = await fake.deliverAll();
    expect(delivery).toMatchObject({
      attempts: 5,
      statuses: [500, 429, 0, 0, 200],
      delivered: true,
      body: "ok",
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(4 * 25 + 150); // four delays and one timeout
    expect(receiver.received).toHaveLength(5);

    receiver.reset();
    receiver.answer(...Array.from({ length: 6 }, () => ({ status: 502 })));
    fake.offlineMessage({ name: "Ann", email: "ann@example.com", message: "down" });
    expect(await fake.deliverAll()).toEqual([
      expect.objectContaining({ attempts: 5, statuses: [502, 502, 502, 502, 502], delivered: false }),
    ]);
    expect(receiver.received).toHaveLength(5);
  });

  it("counts a refused connection as a network error and uses the URL it is given", async () => {
    fake.offlineMessage({ name: "Ann", email: "ann@example.com", message: "nowhere" });
    const [payload] = fake.takeWebhooks();
    const closed = await startReceiver();
    await closed.close();
    const lost = await fake.deliver(payload ?? {}, closed.url);
    expect(lost).toMatchObject({ attempts: 5, statuses: [0, 0, 0, 0, 0], delivered: false, url: closed.url });
    expect(receiver.received).toEqual([]);
  });

  it("saves a 200 body as the room's crmData and echoes it in the payloads built after it", async () => {
    const room = fake.openRoom({ visitor: { name: "James" }, agentUsername: JANE.username });
    fake.visitorSays(room._id, "first");
    fake.visitorSays(room._id, "second");
    receiver.answer({ status: 200, body: '{"ticketId":"R-000123"}' });
    const [first] = fake.takeWebhooks();
    await fake.deliver(first ?? {});
    expect(fake.room(room._id)?.crmData).toBe('{"ticketId":"R-000123"}');
    const [second] = payloads();
    expect(second?.crmData).toBeUndefined(); // built before the answer, as Rocket.Chat does
    fake.agentSays(room._id, "third");
    fake.close(room._id);
    const later = payloads();
    expect(later.map((p) => [p.type, p.crmData])).toEqual([
      ["Message", '{"ticketId":"R-000123"}'],
      ["LivechatSession", '{"ticketId":"R-000123"}'],
    ]);
    receiver.answer({ status: 200, body: "" });
    await fake.deliver(later[1] ?? {});
    fake.editInfo(room._id, { topic: "after" });
    const [edit] = payloads();
    expect(fake.room(room._id)?.crmData).toBe("");
    expect(edit?.crmData).toBeUndefined(); // `if (room.crmData)`: an empty body is saved but not echoed
  });

  it("saves no crmData from an offline message or a failed answer", async () => {
    const room = fake.openRoom({ visitor: { name: "James" }, agentUsername: JANE.username });
    fake.visitorSays(room._id, "hello");
    receiver.answer({ status: 201, body: "R-1" });
    await fake.deliverAll();
    fake.offlineMessage({ name: "Ann", email: "ann@example.com", message: "x" });
    receiver.answer({ status: 200, body: "R-2" });
    expect(await fake.deliverAll()).toEqual([expect.objectContaining({ delivered: true, body: "R-2" })]);
    expect(fake.room(room._id)?.crmData).toBeUndefined();
  });
});

describe("faults", () => {
  it("answers the planned status for matching requests only, then recovers", async () => {
    fake.failNext(
      2,
      { kind: "status", status: 429, body: { success: false, error: "too many" } },
      { path: /Kp9/ },
    );
    expect((await postJson(OVERRIDE.id, { text: "other" })).status).toBe(200);
    expect((await postJson(HOOK.id, { text: "1" })).body).toEqual({ success: false, error: "too many" });
    expect((await postJson(HOOK.id, { text: "2" })).status).toBe(429);
    expect((await postJson(HOOK.id, { text: "3" })).status).toBe(200);
    expect(fake.messages.map((m) => m.text)).toEqual(["other", "3"]);
    expect(fake.calls.map((c) => c.status)).toEqual([200, 429, 429, 200]);
  });

  it("resets, delays, hangs, and drops the answer of a post it made", async () => {
    fake.failNext(1, { kind: "reset" });
    await expect(postJson(HOOK.id, { text: "reset" })).rejects.toThrow();

    fake.failNext(1, { kind: "drop-response" });
    expect((await postJson(HOOK.id, { text: "x", channel: "#no" })).status).toBe(400); // refused: the plan waits
    await expect(postJson(HOOK.id, { text: "posted, answer lost" })).rejects.toThrow();
    expect(fake.messages.map((m) => m.text)).toEqual(["posted, answer lost"]);

    fake.failNext(1, { kind: "delay", ms: 150 });
    const started = Date.now();
    expect((await postJson(HOOK.id, { text: "late" })).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);

    fake.failNext(1, { kind: "hang" });
    await expect(
      fetch(fake.hookUrl(HOOK.id), { method: "POST", body: "{}", signal: AbortSignal.timeout(200) }),
    ).rejects.toThrow();
    expect(fake.calls.map((c) => c.status)).toEqual([0, 400, 0, 200, 0]);
  });

  it("destroys every connection while down, and forgets everything but the guest numbers on reset", async () => {
    fake.setDown(true);
    await expect(postJson(HOOK.id, { text: "down" })).rejects.toThrow();
    fake.setDown(false);
    const first = fake.openRoom({ visitor: { name: "First" } });
    const number = Number(first.visitor.username.replace("guest-", ""));
    fake.visitorSays(first._id, "queued");
    await postJson(HOOK.id, { text: "posted" });
    fake.failNext(5, { kind: "reset" });
    fake.reset();
    expect([
      fake.messages.length,
      fake.calls.length,
      fake.takeWebhooks().length,
      fake.room(first._id),
    ]).toEqual([0, 0, 0, undefined]);
    expect((await postJson(HOOK.id, { text: "after reset" })).status).toBe(200);
    expect(fake.openRoom({ visitor: { name: "Second" } }).visitor.username).toBe(`guest-${number + 1}`);
  });
});

describe("the REST API as a bot user", () => {
  const BOT = { userId: "BotUser0000000001", authToken: "bot-personal-access-token" };
  const ROOMS: RocketChatFakeOptions["rooms"] = [
    { _id: "ServiceDeskRoom01", name: "servicedesk" },
    { _id: "VipRoom0000000001", name: "vip", t: "p", members: ["deskbridge.bot"] },
    { _id: "SecretRoom0000001", name: "secret", t: "p", members: ["jane.agent"] },
  ];
  const api = async (
    target: RocketChatFake,
    method: "GET" | "POST",
    path: string,
    body?: unknown,
    auth: Record<string, string> = { "X-User-Id": BOT.userId, "X-Auth-Token": BOT.authToken },
  ) => {
    const response = await fetch(`${target.url}/api/v1/${path}`, {
      method,
      headers: { ...auth, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const withBot = () =>
    another({ bot: BOT, rooms: ROOMS, users: [{ _id: "CarlaGerente00001", username: "carla" }] });

  it("answers 401 with the pre-8.0 fields without the bot's user id and token", async () => {
    const chat = await withBot();
    const answer = await api(chat, "GET", "rooms.info?roomName=servicedesk", undefined, {
      "X-User-Id": BOT.userId,
      "X-Auth-Token": "wrong",
    });
    expect(answer).toEqual({
      status: 401,
      body: {
        success: false,
        error: "You must be logged in to do this.",
        status: "error",
        message: "You must be logged in to do this.",
      },
    });
  });

  it("resolves #name through rooms.info, and refuses an unknown name or a group the bot is not in", async () => {
    const chat = await withBot();
    const found = await api(chat, "GET", "rooms.info?roomName=servicedesk");
    expect(found.status).toBe(200);
    expect(found.body).toMatchObject({
      success: true,
      room: { _id: "ServiceDeskRoom01", t: "c", name: "servicedesk" },
    });
    expect((await api(chat, "GET", "rooms.info?roomName=nope")).body).toEqual({
      success: false,
      error:
        'The required "roomId" or "roomName" param provided does not match any channel [error-room-not-found]',
      errorType: "error-room-not-found",
    });
    expect(await api(chat, "GET", "rooms.info?roomName=secret")).toEqual({
      status: 400,
      body: { success: false, error: "not-allowed", errorType: "Not Allowed" },
    });
  });

  it("opens a direct message with im.create (the sorted user ids joined), the same room every time", async () => {
    const chat = await withBot();
    const first = await api(chat, "POST", "im.create", { username: "carla" });
    expect(first.status).toBe(200);
    const room = first.body.room as Record<string, unknown>;
    expect(room).toMatchObject({
      _id: "BotUser0000000001CarlaGerente00001",
      t: "d",
      usernames: ["carla", "deskbridge.bot"],
    });
    expect(room.rid).toBe(room._id);
    expect((await api(chat, "POST", "im.create", { username: "carla" })).body.room).toEqual(room);
    expect(await api(chat, "POST", "im.create", { username: "nobody" })).toEqual({
      status: 400,
      body: {
        success: false,
        error: "Invalid user [error-invalid-user]",
        errorType: "error-invalid-user",
        details: { method: "createDirectMessage" },
      },
    });
  });

  it("posts under the client's _id once: a reused id answers 400 and posts nothing", async () => {
    const chat = await withBot();
    const message = {
      _id: "Ab3Cd4Ef5Gh6Jk7Lm",
      rid: "ServiceDeskRoom01",
      msg: "*New ticket*",
      alias: "OTRS",
    };
    const sent = await api(chat, "POST", "chat.sendMessage", { message });
    expect(sent.status).toBe(200);
    expect(sent.body).toMatchObject({
      success: true,
      message: {
        _id: message._id,
        rid: message.rid,
        msg: message.msg,
        alias: "OTRS",
        u: { _id: BOT.userId },
      },
    });
    expect(await api(chat, "POST", "chat.sendMessage", { message: { ...message, msg: "again" } })).toEqual({
      status: 400,
      body: { success: false, error: "Cannot read properties of undefined (reading 'starred')" },
    });
    expect(chat.messages.map((m) => [m.via, m.id, m.channel, m.text])).toEqual([
      ["bot", message._id, "#servicedesk", "*New ticket*"],
    ]);
    expect(chat.reusedIds).toEqual([message._id]);
    const read = await api(chat, "GET", `chat.getMessage?msgId=${message._id}`);
    expect(read.body).toMatchObject({ success: true, message: { _id: message._id, rid: message.rid } });
  });

  it("answers an unknown id of chat.getMessage with a bare 400 {success:false}", async () => {
    const chat = await withBot();
    expect(await api(chat, "GET", "chat.getMessage?msgId=Nothing0000000001")).toEqual({
      status: 400,
      body: { success: false },
    });
    expect((await api(chat, "GET", "chat.getMessage")).body).toEqual({
      success: false,
      error: "must have required property 'msgId' [invalid-params]",
      errorType: "invalid-params",
    });
  });

  it("refuses a room it cannot post to, a message over 5000 characters and a body with other keys", async () => {
    const chat = await withBot();
    const send = (message: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
      api(chat, "POST", "chat.sendMessage", { message, ...extra });
    expect((await send({ rid: "SecretRoom0000001", msg: "x" })).body).toEqual({
      success: false,
      error: "error-not-allowed",
    });
    expect((await send({ rid: "NoRoom00000000001", msg: "x" })).body).toEqual({
      success: false,
      error: "error-invalid-room",
    });
    expect((await send({ rid: "ServiceDeskRoom01", msg: "x".repeat(5001) })).body).toMatchObject({
      errorType: "error-message-size-exceeded",
    });
    expect((await send({ msg: "x" })).body).toEqual({
      success: false,
      error: "The 'rid' property on the message object is missing.",
    });
    expect((await send({ rid: "ServiceDeskRoom01" }, { roomId: "x" })).body).toMatchObject({
      errorType: "invalid-params",
    });
    expect(chat.messages).toEqual([]);
  });

  it("posts to a direct message as @username, and loses the answer of a post it made", async () => {
    const chat = await withBot();
    const rid = ((await api(chat, "POST", "im.create", { username: "carla" })).body.room as { _id: string })
      ._id;
    chat.failNext(1, { kind: "drop-response" }, { path: /chat\.sendMessage/ });
    await expect(
      api(chat, "POST", "chat.sendMessage", { message: { _id: "Lost0000000000001", rid, msg: "VIP" } }),
    ).rejects.toThrow();
    expect(chat.messages.map((m) => m.channel)).toEqual(["@carla"]);
    expect((await api(chat, "GET", "chat.getMessage?msgId=Lost0000000000001")).status).toBe(200);
  });
});

describe("fixtures", () => {
  it("keep the invalid close without its _id and the legacy Send Test shape with code and string contacts", () => {
    const close = fixture("livechat-close.json");
    const invalid = fixture("livechat-close-invalid.json");
    expect(invalid._id).toBeUndefined();
    expect(Object.keys(invalid)).toEqual(Object.keys(close).filter((key) => key !== "_id"));
    const legacy = fixture("livechat-close-legacy.json") as Payload;
    expect([
      legacy.type,
      typeof legacy.code,
      typeof legacy.visitor.email,
      typeof legacy.visitor.phone,
    ]).toEqual(["LivechatSession", "number", "string", "string"]);
    expect(legacy.messages.map((m) => m.agentId ?? null)).toEqual([null, "asdf89as6df8"]);
  });
});
