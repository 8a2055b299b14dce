import { readFileSync } from "node:fs";
import * as v from "valibot";
import { describe, expect, it } from "vitest";
import { renderMessage, ruleMatches } from "../../lib/sync/rocketchat-otrs/notify-job.ts";
import { checkRocketchatOtrs, rocketchatOtrsSchema } from "../../lib/sync/rocketchat-otrs/settings.ts";
import {
  chatMarker,
  renderChat,
  renderOffline,
  ticketReferences,
} from "../../lib/sync/rocketchat-otrs/transcript.ts";
import type { Ticket } from "../../lib/systems/otrs/schemas.ts";
import { notificationMessageId } from "../../lib/systems/rocketchat/bot.ts";
import {
  firstContact,
  LivechatSessionSchema,
  OfflineMessageSchema,
} from "../../lib/systems/rocketchat/schemas.ts";

const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(`test/fixtures/rocketchat/${name}`, "utf8"));

describe("Rocket.Chat payloads", () => {
  it("reads a current close and an older one (e-mail and phone as strings, `code`)", () => {
    const current = v.parse(LivechatSessionSchema, fixture("livechat-close.json"));
    expect(firstContact(current.visitor.email, "address")).toMatch(/@/);
    const legacy = v.parse(LivechatSessionSchema, fixture("livechat-close-legacy.json"));
    expect(firstContact(legacy.visitor.email, "address")).toBe("email@address.com");
    expect(firstContact(legacy.visitor.phone, "phoneNumber")).toBe("192873192873");
  });

  it("refuses a close without its room id, naming it", () => {
    const result = v.safeParse(LivechatSessionSchema, fixture("livechat-close-invalid.json"));
    expect(result.success).toBe(false);
    expect(result.issues?.map((issue) => v.getDotPath(issue))).toContain("_id");
  });

  it("reads an offline message", () => {
    expect(v.parse(OfflineMessageSchema, fixture("livechat-offline.json")).visitor.email).toMatch(/@/);
  });
});

describe("ticket references", () => {
  it("finds every #number in the topic and tags, each once, in order", () => {
    expect(
      ticketReferences({ topic: "ver #2026 e #2027", tags: ["#2027", "vip", "#31"] }, "#(\\d+)"),
    ).toEqual(["2026", "2027", "31"]);
    expect(ticketReferences({ topic: null, tags: [] }, "#(\\d+)")).toEqual([]);
  });

  it("follows a configured pattern", () => {
    expect(ticketReferences({ topic: "Ticket#2026120110000015", tags: [] }, "Ticket#(\\d{16})")).toEqual([
      "2026120110000015",
    ]);
  });
});

describe("the transcript", () => {
  const chat = v.parse(LivechatSessionSchema, {
    type: "LivechatSession",
    _id: "room1",
    topic: "Boleto",
    createdAt: "2026-12-01T13:00:00.000Z",
    closedAt: "2026-12-02T02:30:00.000Z",
    visitor: { name: "Joana", email: [{ address: "joana@x.example" }] },
    agent: { name: "Ana", username: "ana" },
    messages: [
      {
        _id: "1",
        ts: "2026-12-01T13:00:05.000Z",
        msg: "Oi\nsegunda linha",
        u: { username: "guest-1", name: "Joana" },
      },
      {
        _id: "2",
        ts: "2026-12-01T13:01:00.000Z",
        msg: "Olá",
        agentId: "a1",
        u: { username: "ana", name: "Ana" },
      },
      { _id: "3", ts: "2026-12-02T02:29:00.000Z", file: { name: "nota.pdf" }, u: { username: "guest-1" } },
      {
        _id: "4",
        ts: "2026-12-02T02:30:00.000Z",
        msg: "Até logo",
        agentId: "a1",
        closingMessage: true,
        u: { username: "ana" },
      },
    ],
  });

  it("writes one line a message in the time zone, with authors, files, a day line when the date changes, and the marker", () => {
    const body = renderChat(chat, { timeZone: "America/Sao_Paulo", key: "room:room1" });
    expect(body).toContain(
      [
        "Conversation:",
        "-- 2026-12-01",
        "10:00:05  Joana: Oi",
        "          segunda linha",
        "10:01:00  Ana: Olá",
        "23:29:00  Joana: [file: nota.pdf]",
        "23:30:00  Ana (closing): Até logo",
      ].join("\n"),
    );
    expect(body.endsWith(chatMarker("room:room1"))).toBe(true);
    expect(body).toContain("2026-12-01 10:00:00 – 2026-12-01 23:30:00 (America/Sao_Paulo)");
  });

  it("writes an offline message with who and when", () => {
    const body = renderOffline(
      {
        type: "LivechatOfflineMessage",
        sentAt: "2026-12-01T12:00:00.000Z",
        visitor: { name: "Carlos", email: "c@x.example" },
        message: "Ligar amanhã",
      },
      { timeZone: "UTC", key: "offline:abc" },
    );
    expect(body).toBe(
      "Offline message from Carlos <c@x.example>\n2026-12-01 12:00:00 (UTC)\n\nLigar amanhã\n\n[deskbridge: Rocket.Chat offline:abc]",
    );
  });
});

describe("notification messages", () => {
  const ticket: Ticket = {
    TicketID: "7",
    TicketNumber: "2026120110000071",
    Title: "Impressora",
    State: "new",
    Queue: "Suporte",
    Priority: "3 normal",
    Owner: "root@localhost",
    CustomerID: "ACME",
    CustomerUserID: "maria",
    DynamicField: [],
    Article: [
      { ArticleID: "9", SenderType: "agent", From: "Agente <a@x>", Body: "nota interna", Subject: "" },
      {
        ArticleID: "8",
        SenderType: "customer",
        From: '"Maria Souza" <maria@acme.example>',
        Body: "a\n\nb\nc",
        Subject: "",
      },
    ],
  };

  it("fills every placeholder from the ticket and its newest customer article, leaving unknown ones", () => {
    const text = renderMessage(
      "{event}|{number}|{id}|{title}|{queue}|{state}|{priority}|{customer}|{customerId}|{url}|{link}|{unknown}\n{body}",
      {
        event: "TicketCreate",
        ticket,
        agentUrl: "https://otrs.example/otrs/index.pl",
        bodyLines: 2,
      },
    );
    const url = "https://otrs.example/otrs/index.pl?Action=AgentTicketZoom;TicketID=7";
    expect(text).toBe(
      `TicketCreate|2026120110000071|7|Impressora|Suporte|new|3 normal|Maria Souza|ACME|${url}|[Ticket#2026120110000071](${url})|{unknown}\n> a\n> b`,
    );
  });

  it("matches a rule on its event, and on queue, priority and customer when it names them", () => {
    const rule = { events: ["TicketCreate"], hooks: ["h"], queues: ["Suporte"], customers: ["ACME"] };
    expect(ruleMatches(rule, "TicketCreate", ticket)).toBe(true);
    expect(ruleMatches(rule, "TicketMerge", ticket)).toBe(false);
    expect(ruleMatches({ ...rule, queues: ["Raw"] }, "TicketCreate", ticket)).toBe(false);
    expect(ruleMatches({ ...rule, priorities: ["5 very high"] }, "TicketCreate", ticket)).toBe(false);
  });
});

describe("notification transports", () => {
  const base = {
    otrs: "main",
    notifications: {
      auth: { header: "X-Deskbridge-Token", secret: "OTRS_NOTIFY_TOKEN" },
      bot: {
        url: "https://chat.example.com",
        userId: "Bot01",
        authToken: { secret: "ROCKETCHAT_BOT_TOKEN" },
      },
      hooks: { servicedesk: { secret: "ROCKETCHAT_HOOK_SERVICEDESK" } },
      rules: [] as unknown[],
    },
  };
  const systems = { otrs: { main: {} } } as unknown as Parameters<typeof checkRocketchatOtrs>[1];
  const check = (notifications: Record<string, unknown>) => {
    const parsed = v.safeParse(rocketchatOtrsSchema(), {
      ...base,
      notifications: { ...base.notifications, ...notifications },
    });
    if (!parsed.success) return parsed.issues.map((issue) => `${v.getDotPath(issue)}: ${issue.message}`);
    return checkRocketchatOtrs(parsed.output, systems).map((p) => `${p.path}: ${p.message}`);
  };

  it("posts through the bot by default when one is set, to targets; through hooks when a rule says so", () => {
    expect(
      check({
        rules: [
          { events: ["TicketCreate"], targets: ["#servicedesk", "@carla", "GENERAL"] },
          { events: ["TicketCreate"], transport: "hooks", hooks: ["servicedesk"], targets: ["@carla"] },
        ],
      }),
    ).toEqual([]);
  });

  it("names what a rule lacks for its transport", () => {
    expect(check({ rules: [{ events: ["TicketCreate"], hooks: ["servicedesk"] }] })).toEqual([
      "notifications.rules.0.targets: is required with the bot transport",
      'notifications.rules.0.hooks: names Incoming WebHooks, but the rule posts through the bot (set "transport": "hooks")',
    ]);
    expect(
      check({ bot: undefined, rules: [{ events: ["TicketCreate"], targets: ["#servicedesk"] }] }),
    ).toEqual(["notifications.rules.0.hooks: is required with the Incoming WebHook transport"]);
    expect(
      check({ rules: [{ events: ["TicketCreate"], transport: "bot", targets: ["#x"] }], bot: undefined }),
    ).toEqual(["notifications.bot: is required: rule 0 posts through the bot"]);
    expect(check({ transport: "hooks", rules: [{ events: ["TicketCreate"], hooks: ["nope"] }] })).toEqual([
      "notifications.rules.0.hooks: names nope, which is not under notifications.hooks",
    ]);
  });

  it("refuses a target that is no #channel, @username or room id, naming it", () => {
    expect(check({ rules: [{ events: ["TicketCreate"], targets: ["#two words"] }] })).toEqual([
      "notifications.rules.0.targets.0: must be #channel, @username or a room id",
    ]);
    expect(check({ bot: { ...base.notifications.bot, url: "chat" } })[0]).toMatch(
      /^notifications\.bot\.url: /,
    );
  });

  it("derives a message id from the event's parts: 17 characters of Rocket.Chat's alphabet, stable", () => {
    const id = notificationMessageId(["17", "key", "0", "#servicedesk"]);
    expect(id).toMatch(/^[23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz]{17}$/);
    expect(notificationMessageId(["17", "key", "0", "#servicedesk"])).toBe(id);
    expect(notificationMessageId(["17", "key", "0", "@carla"])).not.toBe(id);
    expect(notificationMessageId(["17", "key", "1", "#servicedesk"])).not.toBe(id);
  });
});
