import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { OtrsFake } from "../../infra/sandbox/otrs.ts";
import { type RocketChatFake, startRocketChatFake } from "../../infra/sandbox/rocketchat.ts";
import type { LambdaHttpHandler } from "../../lib/core/http.ts";
import { RocketChatBot } from "../../lib/systems/rocketchat/bot.ts";
import { postToHook } from "../../lib/systems/rocketchat/client.ts";
import { serveLambda } from "../helpers/serve-lambda.ts";
import { httpEvent, SECRETS, type Stack, SUPPORT_DEPARTMENT, setupStack } from "../helpers/stack.ts";

let stack: Stack;
let otrs: OtrsFake;
let chat: RocketChatFake;
let livechat: LambdaHttpHandler;
let notifications: LambdaHttpHandler;
let bridge: { url: string; close(): Promise<void> };

beforeAll(async () => {
  stack = await setupStack({ jobs: { maxAttempts: 3 } });
  otrs = stack.otrs;
  chat = stack.rocketchat;
  livechat = (await import("../../functions/rocketchat-otrs/livechat.ts")).handler;
  notifications = (await import("../../functions/rocketchat-otrs/otrs-notifications.ts")).handler;
  // Rocket.Chat delivers over HTTP, with its own retries and reading of the answer.
  bridge = await serveLambda(livechat);
});
afterAll(async () => {
  await bridge.close();
  await stack.close();
});
beforeEach(() => {
  otrs.reset();
  chat.reset();
});

const webhookUrl = () => `${bridge.url}/rocketchat/livechat`;

/** A chat with the sandbox visitor, two messages and a close by the agent; returns its room id. */
function closedChat(input: { topic?: string; tags?: string[]; departmentId?: string; email?: string } = {}) {
  const room = chat.openRoom({
    visitor: {
      name: "Joana Cliente",
      email: input.email ?? "joana@cliente.example",
      phone: "+55 11 91234-5678",
    },
    agentUsername: "ana",
    ...(input.departmentId ? { departmentId: input.departmentId } : {}),
    ...(input.topic ? { topic: input.topic } : {}),
    ...(input.tags ? { tags: input.tags } : {}),
  });
  chat.navigates(room._id, { title: "Preços", href: "https://loja.example/precos" });
  chat.visitorSays(room._id, "Olá, minha nota fiscal não foi emitida");
  chat.agentSays(room._id, "Vou verificar, um momento");
  chat.close(room._id, { closer: "user", comment: "Resolvido no chat" });
  return room._id;
}

const ticket = (seed: { Title: string; Queue?: string }) =>
  otrs.addTicket({
    Title: seed.Title,
    Queue: seed.Queue ?? "Suporte",
    State: "open",
    Articles: [{ Subject: "x", Body: "y" }],
  });

describe("Livechat → OTRS", () => {
  it("adds the transcript to the one ticket the tags name, and answers 200 with its number", async () => {
    const existing = ticket({ Title: "Nota fiscal" });
    closedChat({ tags: [`#${existing.TicketNumber}`] });
    const [delivery] = await chat.deliverAll(webhookUrl());
    expect(delivery).toMatchObject({ delivered: true, attempts: 1, statuses: [200] });
    expect(JSON.parse(delivery?.body ?? "{}")).toMatchObject({ ticketNumbers: [existing.TicketNumber] });
    expect(otrs.tickets).toHaveLength(1);
    const [, article] = otrs.tickets[0]?.Articles ?? [];
    expect(article?.Body).toContain("Joana Cliente: Olá, minha nota fiscal não foi emitida");
    expect(article?.IsVisibleForCustomer).toBe(0);
  });

  it("adds it to every ticket the topic and tags name, each once", async () => {
    const first = ticket({ Title: "Um" });
    const second = ticket({ Title: "Dois" });
    closedChat({
      topic: `Sobre #${first.TicketNumber}`,
      tags: [`#${second.TicketNumber}`, `#${first.TicketNumber}`],
    });
    const [delivery] = await chat.deliverAll(webhookUrl());
    expect(JSON.parse(delivery?.body ?? "{}").ticketNumbers).toEqual([
      first.TicketNumber,
      second.TicketNumber,
    ]);
    expect(otrs.tickets.map((t) => t.Articles.length)).toEqual([2, 2]);
  });

  it("opens a ticket when the chat names none: department's queue, configured state, owner and lock, the visitor as customer", async () => {
    const room = closedChat({ topic: "Nota fiscal não emitida", departmentId: SUPPORT_DEPARTMENT });
    const [delivery] = await chat.deliverAll(webhookUrl());
    const [created] = otrs.tickets;
    expect(created).toMatchObject({
      Title: "Nota fiscal não emitida",
      Queue: "Suporte",
      State: "new",
      Priority: "3 normal",
      Owner: "agent1",
      CustomerUserID: "joana@cliente.example",
      DynamicFields: { RocketChatRoom: `room:${room}` },
    });
    expect(created?.Articles).toHaveLength(1);
    // Rocket.Chat keeps the answer on the room: the ticket number.
    expect(JSON.parse(chat.room(room)?.crmData ?? "{}")).toMatchObject({
      ticketNumbers: [created?.TicketNumber],
    });
    expect(delivery?.statuses).toEqual([200]);
  });

  it("uses the default queue and title for a chat without department or topic", async () => {
    closedChat({});
    await chat.deliverAll(webhookUrl());
    expect(otrs.tickets[0]).toMatchObject({ Queue: "Raw", Title: "Livechat with Joana Cliente" });
  });

  it("opens a ticket, noting it, when the only number the chat names does not exist", async () => {
    closedChat({ tags: ["#9999999999"] });
    const [delivery] = await chat.deliverAll(webhookUrl());
    expect(JSON.parse(delivery?.body ?? "{}")).toMatchObject({ unknownReferences: ["9999999999"] });
    expect(otrs.tickets).toHaveLength(1);
    expect(otrs.tickets[0]?.Articles[0]?.Body).toContain("#9999999999");
  });

  it("writes the transcript like a conversation: time in the configured zone, author, text; visitor details and pages", async () => {
    const existing = ticket({ Title: "Conversa" });
    closedChat({ tags: [`#${existing.TicketNumber}`] });
    await chat.deliverAll(webhookUrl());
    const body = otrs.tickets[0]?.Articles[1]?.Body ?? "";
    expect(body).toContain("Visitor: Joana Cliente");
    expect(body).toContain("E-mail: joana@cliente.example");
    expect(body).toContain("Phone: +55 11 91234-5678");
    expect(body).toContain("Agent: Ana Atendente");
    expect(body).toMatch(/Pages visited:\n {2}\d\d:\d\d:\d\d {2}Preços — https:\/\/loja\.example\/precos/);
    expect(body).toMatch(/\n\d\d:\d\d:\d\d {2}Joana Cliente: Olá, minha nota fiscal não foi emitida\n/);
    expect(body).toMatch(/\n\d\d:\d\d:\d\d {2}Ana Atendente: Vou verificar, um momento\n/);
    expect(body).toMatch(/Ana Atendente \(closing\): Resolvido no chat/);
    expect(body).toContain("(America/Sao_Paulo)");
  });

  it("adds nothing twice when the same close is delivered again, or five times at once", async () => {
    const existing = ticket({ Title: "Duplicado" });
    closedChat({ tags: [`#${existing.TicketNumber}`] });
    const [payload] = chat.takeWebhooks();
    if (!payload) throw new Error("no close payload");
    const first = await chat.deliver(payload, webhookUrl());
    const again = await chat.deliver(payload, webhookUrl());
    expect(JSON.parse(again.body ?? "{}").ticketNumbers).toEqual(
      JSON.parse(first.body ?? "{}").ticketNumbers,
    );
    await Promise.all(Array.from({ length: 5 }, () => chat.deliver(payload, webhookUrl())));
    await stack.drainJobs({ timeoutMs: 30_000 });
    expect(otrs.tickets[0]?.Articles).toHaveLength(2);
    const newChat = closedChat({});
    const [open] = chat.takeWebhooks();
    if (!open) throw new Error("no close payload");
    await Promise.all(Array.from({ length: 5 }, () => chat.deliver(open, webhookUrl())));
    await stack.drainJobs({ timeoutMs: 30_000 });
    expect(otrs.tickets.filter((t) => t.DynamicFields.RocketChatRoom === `room:${newChat}`)).toHaveLength(1);
  }, 60_000);

  it("answers exactly 200 even when OTRS is down, and the worker puts the chat on record once", async () => {
    otrs.setDown(true);
    closedChat({ topic: "OTRS fora do ar" });
    const [delivery] = await chat.deliverAll(webhookUrl());
    expect(delivery).toMatchObject({ statuses: [200], attempts: 1 });
    expect(JSON.parse(delivery?.body ?? "{}")).toMatchObject({
      status: "queued",
      job_id: expect.any(String),
    });
    otrs.setDown(false);
    await stack.drainJobs({ timeoutMs: 60_000 });
    expect(otrs.tickets).toHaveLength(1);
  }, 90_000);

  it("opens no second ticket when the answer to TicketCreate was lost", async () => {
    otrs.failNext(1, { kind: "drop-response" }, { operation: "TicketCreate" });
    closedChat({ topic: "Resposta perdida" });
    await chat.deliverAll(webhookUrl());
    await stack.drainJobs({ timeoutMs: 30_000 });
    expect(otrs.tickets).toHaveLength(1);
  }, 60_000);

  it("accepts and ignores events that are not closes, keeping the room's crmData", async () => {
    const existing = ticket({ Title: "Edição" });
    const room = closedChat({ tags: [`#${existing.TicketNumber}`] });
    await chat.deliverAll(webhookUrl());
    const kept = chat.room(room)?.crmData;
    const articles = otrs.tickets[0]?.Articles.length;
    // An agent edits the closed room; a visitor message arrives for another, open room.
    chat.editInfo(room, { topic: "Editado depois" });
    const other = chat.openRoom({ visitor: { name: "Outro" } });
    chat.visitorSays(other._id, "oi");
    const answers = await Promise.all([
      chat.deliver({ type: "LivechatEdit", _id: room, crmData: kept }, webhookUrl()),
      chat.deliver({ type: "Message", _id: other._id, messages: [] }, webhookUrl()),
    ]);
    for (const answer of answers) expect(answer.statuses).toEqual([200]);
    expect(JSON.parse(chat.room(room)?.crmData ?? "{}")).toEqual(JSON.parse(kept ?? "{}"));
    expect(otrs.tickets[0]?.Articles.length).toBe(articles);
  });

  it("turns an offline message into a ticket, once", async () => {
    chat.offlineMessage({
      name: "Carlos",
      email: "carlos@cliente.example",
      message: "Preciso de uma segunda via",
    });
    const [payload] = chat.takeWebhooks();
    if (!payload) throw new Error("no offline payload");
    await chat.deliver(payload, webhookUrl());
    await chat.deliver(payload, webhookUrl());
    expect(otrs.tickets).toHaveLength(1);
    expect(otrs.tickets[0]).toMatchObject({
      Title: "Offline message from Carlos",
      CustomerUserID: "carlos@cliente.example",
    });
  });

  it("answers 401 without the token and 400 naming the field of a malformed close, changing nothing", async () => {
    const noToken = await livechat(
      httpEvent({
        method: "POST",
        path: "/rocketchat/livechat",
        body: { type: "LivechatSession" },
        headers: { "content-type": "application/json" },
      }),
    );
    expect(noToken.statusCode).toBe(401);
    const malformed = await livechat(
      httpEvent({
        method: "POST",
        path: "/rocketchat/livechat",
        body: { type: "LivechatSession", visitor: {}, messages: [] },
        headers: {
          "content-type": "application/json",
          "x-rocketchat-livechat-token": SECRETS.ROCKETCHAT_LIVECHAT_TOKEN,
        },
      }),
    );
    expect(malformed.statusCode).toBe(400);
    expect(malformed.body).toContain("_id");
    expect(otrs.calls).toHaveLength(0);
  });
});

describe("OTRS → Rocket.Chat", () => {
  const post = (payload: unknown, query: Record<string, string> = {}) =>
    notifications(
      httpEvent({
        method: "POST",
        path: "/otrs/notifications",
        body: payload,
        query,
        headers: { "content-type": "application/json", "x-deskbridge-token": SECRETS.OTRS_NOTIFY_TOKEN },
      }),
    );
  const customerTicket = (queue: string, customer = "ACME", priority = "3 normal") =>
    otrs.addTicket({
      Title: "Impressora parada",
      Queue: queue,
      State: "new",
      Priority: priority,
      CustomerUserID: "maria",
      CustomerID: customer,
      CustomerName: "Maria Souza",
      Articles: [
        { Subject: "Impressora", Body: "Linha 1\nLinha 2\n\nLinha 3\nLinha 4\nLinha 5\nLinha 6\nLinha 7" },
      ],
    });

  it("posts a new ticket of a matched queue to its channel: who wrote, the first lines, a link", async () => {
    const t = customerTicket("Suporte");
    const answer = await post(otrs.eventPayload(t.TicketID, "TicketCreate", "Ticket::Generic"));
    expect(answer.statusCode).toBe(200);
    expect(JSON.parse(answer.body ?? "{}")).toEqual({});
    expect(chat.messages).toHaveLength(1);
    const [message] = chat.messages;
    expect(message).toMatchObject({ channel: "#servicedesk", alias: "OTRS" });
    expect(message?.text).toContain("Maria Souza (ACME) wrote:");
    expect(message?.text).toContain("> Linha 1\n> Linha 2\n> Linha 3\n> Linha 4\n> Linha 5");
    expect(message?.text).not.toContain("Linha 6");
    expect(message?.text).toContain(
      `[Ticket#${t.TicketNumber}](https://otrs.example.com/otrs/index.pl?Action=AgentTicketZoom;TicketID=${t.TicketID})`,
    );
  });

  it("posts nothing, and reads nothing, for an event no rule names; nothing for a queue no rule names", async () => {
    const t = customerTicket("Suporte");
    await post(otrs.eventPayload(t.TicketID, "TicketPriorityUpdate", "Ticket::Generic"));
    expect(otrs.calls).toHaveLength(0);
    const other = customerTicket("Raw");
    await post(otrs.eventPayload(other.TicketID, "TicketCreate", "Ticket::Generic"));
    expect(chat.messages).toHaveLength(0);
  });

  const link = (t: { TicketID: string; TicketNumber: string }) =>
    `[Ticket#${t.TicketNumber}](https://otrs.example.com/otrs/index.pl?Action=AgentTicketZoom;TicketID=${t.TicketID})`;

  it('"New ticket": TicketCreate of queue Suporte goes to #servicedesk through the bot, under an id of its own', async () => {
    const t = customerTicket("Suporte");
    await post(otrs.eventPayload(t.TicketID, "TicketCreate", "Ticket::Generic"));
    expect(chat.messages.map((m) => [m.via, m.channel])).toEqual([["bot", "#servicedesk"]]);
    expect(chat.messages[0]?.id).toMatch(/^[23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz]{17}$/);
    expect(chat.messages[0]?.text).toBe(
      `*TicketCreate* ${link(t)} Impressora parada\nMaria Souza (ACME) wrote:\n> Linha 1\n> Linha 2\n> Linha 3\n> Linha 4\n> Linha 5`,
    );
    // The bot's REST calls: the channel's room once, then the post.
    expect(chat.calls.map((c) => `${c.method} ${c.path}`)).toEqual(
      expect.arrayContaining(["POST /api/v1/chat.sendMessage"]),
    );
  });

  it('"New VIP ticket": a customer filter, to the #vip group and to @carla in a direct message', async () => {
    const vip = customerTicket("Raw", "VIPCORP", "4 high");
    await post(otrs.eventPayload(vip.TicketID, "TicketCreate", "Ticket::Generic"));
    const text = `*New VIP ticket* ${link(vip)}: Impressora parada (4 high)\nMaria Souza (VIPCORP) wrote:\n> Linha 1\n> Linha 2\n> Linha 3\n> Linha 4\n> Linha 5`;
    expect(chat.messages.map((m) => [m.channel, m.rid, m.text])).toEqual([
      ["#vip", "VipRoom0000000001", text],
      // im.create's room: the bot's and carla's user ids, sorted and joined.
      ["@carla", "CarlaGerente00001DeskbridgeBot0001", text],
    ]);
    // Another customer's ticket in the same queue: no rule.
    const other = customerTicket("Raw", "ACME", "4 high");
    await post(otrs.eventPayload(other.TicketID, "TicketCreate", "Ticket::Generic"));
    expect(chat.messages).toHaveLength(2);
  });

  it('"Solution time about to expire": Znuny\'s EscalationSolutionTimeNotifyBefore of a very high priority, to both rooms', async () => {
    const urgent = customerTicket("Raw", "ACME", "5 very high");
    await post(otrs.eventPayload(urgent.TicketID, "EscalationSolutionTimeNotifyBefore", "Ticket::Generic"));
    expect(chat.messages.map((m) => [m.channel, m.text])).toEqual([
      [
        "#servicedesk",
        `:warning: *Solution time about to expire* ${link(urgent)} Impressora parada (5 very high, Raw)`,
      ],
      [
        "#vip",
        `:warning: *Solution time about to expire* ${link(urgent)} Impressora parada (5 very high, Raw)`,
      ],
    ]);
    const normal = customerTicket("Raw", "ACME", "3 normal");
    await post(otrs.eventPayload(normal.TicketID, "EscalationSolutionTimeNotifyBefore", "Ticket::Generic"));
    expect(chat.messages).toHaveLength(2);
  });

  it("still posts through an Incoming WebHook where a rule says so (transport hooks)", async () => {
    const t = customerTicket("Desenvolvimento");
    await post(otrs.eventPayload(t.TicketID, "TicketCreate", "Ticket::Generic"));
    expect(chat.messages.map((m) => [m.via, m.integrationId, m.channel])).toEqual([
      ["hook", "ServiceDeskHook01", "#servicedesk"],
    ]);
  });

  it("after a lost answer to chat.sendMessage, the retry finds its message by id and posts nothing again", async () => {
    const t = customerTicket("Suporte");
    chat.failNext(1, { kind: "drop-response" }, { path: /chat\.sendMessage/ });
    const answer = await post(otrs.eventPayload(t.TicketID, "TicketCreate", "Ticket::Generic"));
    expect(answer.statusCode).toBe(202);
    await stack.drainJobs({ timeoutMs: 60_000 });
    expect(chat.faultsInjected().total).toBe(1);
    expect(chat.messages).toHaveLength(1);
    const calls = chat.calls.map((c) => `${c.method} ${c.path}`);
    expect(calls.filter((c) => c === "POST /api/v1/chat.sendMessage")).toHaveLength(1);
    expect(calls).toContain("GET /api/v1/chat.getMessage");
    expect(chat.reusedIds).toEqual([]);
  }, 90_000);

  it("after a lost answer of an Incoming WebHook, the retry posts again: at least once, as documented", async () => {
    const t = customerTicket("Desenvolvimento");
    chat.failNext(1, { kind: "drop-response" }, { path: /^\/hooks\// });
    await post(otrs.eventPayload(t.TicketID, "TicketCreate", "Ticket::Generic"));
    await stack.drainJobs({ timeoutMs: 60_000 });
    expect(chat.messages.map((m) => m.via)).toEqual(["hook", "hook"]);
  }, 90_000);

  it("reads the event from ?event= for Test::TestSimple, and takes Znuny's notification transport", async () => {
    const t = customerTicket("Suporte");
    expect(
      (
        await post(otrs.eventPayload(t.TicketID, "TicketCreate", "Test::TestSimple"), {
          event: "TicketCreate",
        })
      ).statusCode,
    ).toBe(200);
    const u = customerTicket("Suporte");
    await post(otrs.eventPayload(u.TicketID, "TicketCreate", "Notification"), { event: "TicketCreate" });
    expect(chat.messages).toHaveLength(2);
  });

  it("takes the event from the path (/otrs/notifications/TicketCreate), where Test::TestSimple and the older Ticket::Generic carry none", async () => {
    /** What OTRS's HTTP::REST requester sends through this controller (the fake's model of REST.pm). */
    const throughController = (controller: string, data: Record<string, unknown>) => {
      const call = otrs.requesterRequest(controller, data);
      const event = /^\/otrs\/notifications\/([^/]+)$/.exec(call.path)?.[1];
      return notifications(
        httpEvent({
          method: "POST",
          path: call.path,
          query: call.query,
          ...(call.body === undefined ? {} : { rawBody: call.body }),
          ...(event === undefined ? {} : { pathParameters: { event: decodeURIComponent(event) } }),
          headers: { "content-type": "application/json", "x-deskbridge-token": SECRETS.OTRS_NOTIFY_TOKEN },
        }),
      );
    };
    const simple = customerTicket("Suporte");
    const simpleData = otrs.eventPayload(simple.TicketID, "TicketCreate", "Test::TestSimple");
    // REST.pm drops a controller's query string in which no placeholder was filled: ?event= never arrives.
    const lost = await throughController("/otrs/notifications?event=TicketCreate", simpleData);
    expect(lost.statusCode).toBe(400);
    expect(JSON.parse(lost.body ?? "{}").error.fields).toEqual([
      { path: "Event", message: expect.stringContaining("/otrs/notifications/<Event>") },
    ]);
    expect((await throughController("/otrs/notifications/TicketCreate", simpleData)).statusCode).toBe(200);
    const generic = customerTicket("Suporte");
    const genericData = otrs.eventPayload(generic.TicketID, "TicketCreate", "Ticket::Generic", {
      eventName: false,
    });
    expect((await throughController("/otrs/notifications/TicketCreate", genericData)).statusCode).toBe(200);
    expect(chat.messages.map((m) => m.text)).toEqual([
      expect.stringContaining(`Ticket#${simple.TicketNumber}`),
      expect.stringContaining(`Ticket#${generic.TicketNumber}`),
    ]);
  });

  it("answers 400 naming the path's event when it is no event name, or the controller's unfilled placeholder", async () => {
    const t = customerTicket("Suporte");
    const post = (event: string) =>
      notifications(
        httpEvent({
          method: "POST",
          path: `/otrs/notifications/${encodeURIComponent(event)}`,
          pathParameters: { event },
          body: otrs.eventPayload(t.TicketID, "TicketCreate", "Test::TestSimple"),
          headers: { "content-type": "application/json", "x-deskbridge-token": SECRETS.OTRS_NOTIFY_TOKEN },
        }),
      );
    for (const [event, message] of [
      [":Event", "placeholder"],
      ["Ticket Create", "must be an OTRS event name"],
      ["", "must be an OTRS event name"],
    ] as const) {
      const answer = await post(event);
      expect(answer.statusCode, event).toBe(400);
      expect(JSON.parse(answer.body ?? "{}").error.fields, event).toEqual([
        { path: "event", message: expect.stringContaining(message) },
      ]);
    }
    expect(chat.messages).toHaveLength(0);
  });

  it("posts the same delivery once", async () => {
    const t = customerTicket("Suporte");
    const payload = otrs.eventPayload(t.TicketID, "TicketCreate", "Ticket::Generic");
    await post(payload);
    await post(payload);
    await Promise.all(Array.from({ length: 5 }, () => post(payload)));
    await stack.drainJobs({ timeoutMs: 30_000 });
    expect(chat.messages).toHaveLength(1);
  }, 60_000);

  it("retries through the jobs queue while Rocket.Chat is down, and posts once when it is back", async () => {
    const t = customerTicket("Suporte");
    chat.setDown(true);
    const answer = await post(otrs.eventPayload(t.TicketID, "TicketCreate", "Ticket::Generic"));
    expect(answer.statusCode).toBe(202);
    chat.setDown(false);
    await stack.drainJobs({ timeoutMs: 60_000 });
    expect(chat.messages).toHaveLength(1);
  }, 90_000);

  it("answers 400 naming Event or TicketID when they are missing, and 401 without the secret", async () => {
    const noEvent = await post({ TicketID: "1" });
    expect(noEvent.statusCode).toBe(400);
    expect(noEvent.body).toContain("Event");
    const noTicket = await post({ Event: { Event: "TicketCreate" } });
    expect(noTicket.statusCode).toBe(400);
    expect(noTicket.body).toContain("TicketID");
    const anonymous = await notifications(
      httpEvent({
        method: "POST",
        path: "/otrs/notifications",
        body: { TicketID: "1" },
        headers: { "content-type": "application/json" },
      }),
    );
    expect(anonymous.statusCode).toBe(401);
    expect(chat.messages).toHaveLength(0);
  });
});

describe("Rocket.Chat's two transports, on their own", () => {
  it("sends an Incoming WebHook's post to #channel, @username or a room id where the integration allows overriding", async () => {
    const own = await startRocketChatFake({
      integrations: [
        { id: "Open0000000000001", token: "open-token", channel: "#general", overrideDestination: true },
        { id: "Fixed000000000001", token: "fixed-token", channel: "#general" },
      ],
    });
    try {
      const options = { timeoutMs: 2000 };
      for (const channel of ["#servicedesk", "@carla", "ServiceDeskRoom01"])
        await postToHook(own.hookUrl("Open0000000000001"), "open", { text: "t", channel }, options);
      expect(own.messages.map((m) => m.channel)).toEqual(["#servicedesk", "@carla", "ServiceDeskRoom01"]);
      await expect(
        postToHook(own.hookUrl("Fixed000000000001"), "fixed", { text: "t", channel: "@carla" }, options),
      ).rejects.toThrow("overriding destination channel is disabled for this integration");
    } finally {
      await own.close();
    }
  });

  it("resolves each room once per container, and names a refused token without showing it", async () => {
    const own = await startRocketChatFake({
      bot: { userId: "Bot00000000000001", authToken: "right-token" },
      rooms: [{ _id: "ServiceDeskRoom01", name: "servicedesk" }],
      users: [{ _id: "Carla000000000001", username: "carla" }],
    });
    try {
      const bot = new RocketChatBot({
        url: own.url,
        userId: "Bot00000000000001",
        authToken: "right-token",
        timeoutMs: 2000,
      });
      expect(await bot.roomOf("#servicedesk")).toBe("ServiceDeskRoom01");
      expect(await bot.roomOf("#servicedesk")).toBe("ServiceDeskRoom01");
      expect(await bot.roomOf("@carla")).toBe("Bot00000000000001Carla000000000001");
      expect(await bot.roomOf("GENERAL")).toBe("GENERAL");
      expect(own.calls.map((c) => `${c.method} ${c.path}`)).toEqual([
        "GET /api/v1/rooms.info",
        "POST /api/v1/im.create",
      ]);
      await expect(bot.roomOf("#nope")).rejects.toThrow("error-room-not-found");
      const wrong = new RocketChatBot({
        url: own.url,
        userId: "Bot00000000000001",
        authToken: "wrong-token",
        timeoutMs: 2000,
      });
      const refused = await wrong.getMessage("Any00000000000001").catch((error: Error) => error);
      expect(refused).toMatchObject({ name: "UpstreamAuthError" });
      expect(String((refused as Error).message)).not.toContain("wrong-token");
    } finally {
      await own.close();
    }
  });
});
