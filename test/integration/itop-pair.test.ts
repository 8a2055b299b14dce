import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { ItopFake } from "../../infra/sandbox/itop.ts";
import { readDeadLetters } from "../../lib/jobs/replay.ts";
import { ITOP_FORM_AUTH, type ItopBridge, itopBridge, itopForm, writes } from "../helpers/itop.ts";
import { httpEvent, type Stack, setupStack } from "../helpers/stack.ts";

let stack: Stack;
let external: ItopFake;
let internal: ItopFake;
let bridge: ItopBridge;

beforeAll(async () => {
  stack = await setupStack();
  external = stack.itop.external;
  internal = stack.itop.internal;
  bridge = await itopBridge(external, internal);
});
afterAll(() => stack.close());
beforeEach(() => {
  external.reset();
  internal.reset();
});

const send = (path: string, payload: unknown, headers?: Record<string, string>) =>
  bridge.send(path, payload, headers);
const deliverWebhooks = () => bridge.deliverWebhooks();
const sharedTicket = (title?: string) => bridge.sharedTicket(title);

describe("external → internal: a new ticket", () => {
  it("becomes an internal ticket of the same class with the internal defaults and the external ref", async () => {
    const { ticket, twin } = await sharedTicket();
    expect(twin).toMatchObject({
      finalclass: "UserRequest",
      title: ticket.title,
      description: ticket.description,
      impact: "1",
      urgency: "3",
      priority: "2",
      org_id: 2,
      agent_id: 1,
      team_id: 1,
      caller_id: 2,
      external_ref: ticket.ref,
    });
    expect(internal.tickets()).toHaveLength(1);
  });

  it("creates one internal ticket when the create webhook arrives ten times at once", async () => {
    const ticket = external.agentCreatesTicket({
      title: "VPN putus",
      description: "<p>VPN putus tiap 5 menit.</p>",
      org_id: 1,
      caller_id: 1,
    });
    const [create] = external.takeWebhooks().filter((call) => call.path === "/api/v1/create-ticket");
    if (!create) throw new Error("the external iTop fired no create webhook");
    const answers = await Promise.all(Array.from({ length: 10 }, () => send(create.path, create.payload)));
    for (const answer of answers) expect([200, 202]).toContain(answer.statusCode);
    await stack.drainJobs({ timeoutMs: 30_000 });
    expect(internal.tickets().filter((t) => t.external_ref === ticket.ref)).toHaveLength(1);
  }, 60_000);

  it("finds the ticket made by an attempt whose answer was lost instead of creating a second one", async () => {
    external.agentCreatesTicket({ title: "Printer", description: "<p>x</p>", org_id: 1, caller_id: 1 });
    internal.failNext(1, { kind: "drop-response" }, { operation: "core/create" });
    await deliverWebhooks();
    await stack.drainJobs({ timeoutMs: 30_000 });
    expect(internal.tickets()).toHaveLength(1);
  }, 60_000);
});

describe("form", () => {
  it("follows external → internal, and the same webhook again writes nothing", async () => {
    const { ticket, twin } = await sharedTicket();
    external.agentUpdatesTicket(ticket.id, { title: "Email keluar tertahan (urgent)", urgency: "1" }, "budi");
    expect(external.ticket(ticket.id)?.priority).toBe("1");
    await deliverWebhooks();
    expect(internal.ticket(twin.id)).toMatchObject({
      title: "Email keluar tertahan (urgent)",
      urgency: "1",
      priority: "1", // computed by the internal iTop from impact × urgency
    });
    const before = writes(internal) + writes(external);
    await send("/api/v1/update-ticket", { class: "UserRequest", id: String(ticket.id) });
    expect(writes(internal) + writes(external)).toBe(before);
  });

  it("does not flow internal → external by default", async () => {
    const { ticket, twin } = await sharedTicket();
    internal.agentUpdatesTicket(twin.id, { title: "Judul internal" }, "rina");
    await send("/api/v1/update-ticket", { class: "UserRequest", id: String(ticket.id) });
    expect(external.ticket(ticket.id)?.title).toBe(ticket.title);
  });
});

describe("private log", () => {
  it("copies an external entry to the internal ticket once, naming its author, and its echo copies nothing", async () => {
    const { ticket, twin } = await sharedTicket();
    external.agentAddsLog(ticket.id, "private_log", "<p>Sudah dicoba restart server.</p>", "budi");
    await deliverWebhooks();
    const entries = internal.ticket(twin.id)?.private_log.entries ?? [];
    expect(entries).toHaveLength(1);
    expect(entries[0]?.message_html).toContain("Sudah dicoba restart server.");
    expect(entries[0]?.message_html).toContain("Budi Santoso");
    expect(external.ticket(ticket.id)?.private_log.entries).toHaveLength(1);
    // A redelivery of the internal echo and of the external update adds nothing anywhere.
    await send("/api/v1/ticket-update-private-log", { event: "update private log", id: String(twin.id) });
    await send("/api/v1/update-ticket", { class: "UserRequest", id: String(ticket.id) });
    expect(internal.ticket(twin.id)?.private_log.entries).toHaveLength(1);
    expect(external.ticket(ticket.id)?.private_log.entries).toHaveLength(1);
  });

  it("copies an internal entry to the external ticket once", async () => {
    const { ticket, twin } = await sharedTicket();
    internal.agentAddsLog(twin.id, "private_log", "<p>Kami sedang memeriksa antrian SMTP.</p>", "rina");
    await deliverWebhooks();
    const entries = external.ticket(ticket.id)?.private_log.entries ?? [];
    expect(entries).toHaveLength(1);
    expect(entries[0]?.message_html).toContain("antrian SMTP");
    expect(internal.ticket(twin.id)?.private_log.entries).toHaveLength(1);
  });

  it("turns an image in an entry into an attachment on the other side and copies the text without it", async () => {
    const { ticket, twin } = await sharedTicket();
    const png = Buffer.from("fake png bytes of a screenshot").toString("base64");
    const img = internal.pasteImage("UserRequest", twin.id, { mimetype: "image/png", data: png });
    internal.agentAddsLog(twin.id, "private_log", `<p>Lihat tangkapan layar:</p>${img}`, "rina");
    await deliverWebhooks();
    const [entry] = external.ticket(ticket.id)?.private_log.entries ?? [];
    expect(entry?.message_html).toContain("Lihat tangkapan layar:");
    expect(entry?.message_html).toContain("[image:");
    expect(entry?.message_html).not.toContain("<img");
    expect(entry?.message_html).not.toContain("download_inlineimage");
    const attachments = external.attachments("UserRequest", ticket.id);
    expect(attachments).toHaveLength(1);
    expect(attachments[0]?.contents).toMatchObject({ data: png, mimetype: "image/png" });
    // The new external attachment fires its webhook; it is not copied back as a second image.
    expect(internal.attachments("UserRequest", twin.id)).toHaveLength(0);
  });
});

describe("attachments", () => {
  const file = (text: string) => ({
    filename: "log.txt",
    mimetype: "text/plain",
    data: Buffer.from(text).toString("base64"),
  });

  it("follow create, update and delete from external to internal, each once", async () => {
    const { ticket, twin } = await sharedTicket();
    const attachment = external.agentAttaches("UserRequest", ticket.id, file("versi 1"));
    await deliverWebhooks();
    expect(internal.attachments("UserRequest", twin.id).map((a) => a.contents.data)).toEqual([
      file("versi 1").data,
    ]);

    external.agentUpdatesAttachment(attachment.id, file("versi 2").data);
    await deliverWebhooks();
    expect(internal.attachments("UserRequest", twin.id).map((a) => a.contents.data)).toEqual([
      file("versi 2").data,
    ]);

    external.agentDeletesAttachment(attachment.id);
    await deliverWebhooks();
    expect(internal.attachments("UserRequest", twin.id)).toHaveLength(0);
    expect(external.attachments("UserRequest", ticket.id)).toHaveLength(0);
  });

  it("follow internal → external, and the external echo copies nothing back", async () => {
    const { ticket, twin } = await sharedTicket();
    internal.agentAttaches("UserRequest", twin.id, file("hasil diagnosa"));
    await deliverWebhooks();
    expect(external.attachments("UserRequest", ticket.id)).toHaveLength(1);
    expect(internal.attachments("UserRequest", twin.id)).toHaveLength(1);
    const before = writes(internal) + writes(external);
    await send("/api/v1/update-attachment", {
      event: "attachment.update",
      source: "external",
      attachment_id: "0",
      item_class: "UserRequest",
      item_id: String(ticket.id),
    });
    expect(writes(internal) + writes(external)).toBe(before);
  });
});

describe("state: internal → external", () => {
  it("assigns the external ticket with its own team and agent, then resolves it with the solution", async () => {
    const { ticket, twin } = await sharedTicket();
    internal.agentAppliesStimulus(twin.id, "ev_assign", {}, "rina");
    await deliverWebhooks();
    expect(external.ticket(ticket.id)).toMatchObject({ status: "assigned", team_id: 1, agent_id: 2 });

    internal.agentAppliesStimulus(
      twin.id,
      "ev_resolve",
      { service_id: 1, resolution_code: "system update", solution: "Antrian SMTP dibersihkan." },
      "rina",
    );
    await deliverWebhooks();
    expect(external.ticket(ticket.id)).toMatchObject({
      status: "resolved",
      service_id: 1,
      resolution_code: "system update",
      solution: "<p>Antrian SMTP dibersihkan.</p>", // as iTop keeps it on both sides
    });
    // The external echo (update-ticket) and a redelivered state webhook write nothing.
    const before = writes(external);
    await send("/api/v1/ticket-state-change", { event: "ticket resolved", id: String(twin.id) });
    await send("/api/v1/update-ticket", { class: "UserRequest", id: String(ticket.id) });
    expect(writes(external)).toBe(before);
  });

  it("reaches a state several stimuli away (new → pending) in one go", async () => {
    const { ticket, twin } = await sharedTicket();
    internal.agentAppliesStimulus(twin.id, "ev_assign", {}, "rina");
    internal.agentAppliesStimulus(twin.id, "ev_pending", { pending_reason: "Menunggu vendor" }, "rina");
    internal.takeWebhooks();
    await send("/api/v1/ticket-state-change", { event: "ticket pending", id: String(twin.id) });
    expect(external.ticket(ticket.id)).toMatchObject({
      status: "pending",
      pending_reason: "Menunggu vendor",
    });
  });

  it("takes no action for an escalation (mapped to null)", async () => {
    const { ticket, twin } = await sharedTicket();
    internal.agentAppliesStimulus(twin.id, "ev_timeout", {}, "system");
    await deliverWebhooks();
    expect(internal.ticket(twin.id)?.status).toBe("escalated_tto");
    expect(external.ticket(ticket.id)?.status).toBe("new");
  });

  it("ignores an internal ticket that did not come from external", async () => {
    const own = internal.agentCreatesTicket({
      title: "Internal only",
      description: "x",
      org_id: 1,
      caller_id: 1,
    });
    const before = writes(external);
    internal.agentAppliesStimulus(own.id, "ev_assign", { team_id: 1, agent_id: 1 }, "rina");
    expect(await deliverWebhooks()).toEqual(expect.arrayContaining([200]));
    expect(writes(external)).toBe(before);
    expect(external.tickets()).toHaveLength(0);
  });

  it("queues the change while the external iTop is down, and applies it once when it is back", async () => {
    const { ticket, twin } = await sharedTicket();
    internal.agentAppliesStimulus(twin.id, "ev_assign", {}, "rina");
    external.setDown(true);
    const statuses = await deliverWebhooks();
    expect(statuses).toContain(202);
    external.setDown(false);
    await stack.drainJobs({ timeoutMs: 60_000 });
    expect(external.ticket(ticket.id)?.status).toBe("assigned");
    const stimuli = external.calls.filter(
      (call) => call.operation === "core/apply_stimulus" && call.code === 0,
    );
    expect(stimuli).toHaveLength(1);
  }, 90_000);

  it("dead-letters a state iTop refuses for good, with iTop's message", async () => {
    const { twin } = await sharedTicket();
    external.failNext(
      1,
      {
        kind: "code",
        code: 100,
        message: "Error: Missing mandatory attribute(s) for applying the stimulus: team_id",
      },
      { operation: "core/apply_stimulus" },
    );
    internal.agentAppliesStimulus(twin.id, "ev_assign", {}, "rina");
    const statuses = await deliverWebhooks();
    expect(statuses).toContain(202);
    await stack.drainJobs({ timeoutMs: 30_000 });
    const letters = await readDeadLetters(stack.sqs, stack.resources.deadLetterQueueUrl);
    const letter = letters.find((l) => l.kind === "letter" && l.letter.job.type === "itop-pair.sync");
    if (letter?.kind !== "letter") throw new Error("no dead letter for the refused state");
    expect(JSON.stringify(letter.letter.lastError)).toContain("Missing mandatory attribute");
  }, 60_000);
});

describe("routes", () => {
  it("answer 400 naming the field for a payload without it, and change nothing", async () => {
    const create = await send("/api/v1/create-ticket", { class: "UserRequest" });
    expect(create.statusCode).toBe(400);
    expect(create.body).toContain('"id"');
    const attachment = await send("/api/v1/update-attachment", {
      event: "attachment.update",
      source: "somewhere",
      attachment_id: "1",
      item_class: "UserRequest",
      item_id: "1",
    });
    expect(attachment.statusCode).toBe(400);
    expect(attachment.body).toContain("source");
    const state = await send("/api/v1/ticket-state-change", { event: "ticket assigned", id: "abc" });
    expect(state.statusCode).toBe(400);
    expect(writes(internal) + writes(external)).toBe(0);
  });

  it("answer 401 without the secret", async () => {
    const answer = await send(
      "/api/v1/update-ticket",
      { class: "UserRequest", id: "1" },
      { "content-type": "application/json" },
    );
    expect(answer.statusCode).toBe(401);
  });

  it("take the webhook extension's form-encoded post (version=…&json_data=…) on every route, as they take JSON", async () => {
    const delivered = new Map<string, number[]>();
    /** Both iTops' webhooks, form-encoded, round after round until they fall silent. */
    const deliverAsForms = async () => {
      for (let round = 0; round < 10; round += 1) {
        const calls = [...external.takeWebhooks(), ...internal.takeWebhooks()];
        if (calls.length === 0) return;
        for (const call of calls) {
          const answer = await bridge.sendForm(call.path, call.payload);
          delivered.set(call.path, [...(delivered.get(call.path) ?? []), answer.statusCode ?? 0]);
        }
      }
    };
    const ticket = external.agentCreatesTicket({
      title: "Printer kantor cabang mati",
      description: "<p>Printer tidak menyala.</p>",
      org_id: 1,
      caller_id: 1,
      by: "budi",
    });
    await deliverAsForms();
    const twin = internal.tickets().find((t) => t.external_ref === ticket.ref);
    if (!twin) throw new Error("the form-encoded create webhook made no twin");
    internal.agentAddsLog(twin.id, "private_log", "<p>Teknisi dikirim.</p>", "rina");
    internal.agentAppliesStimulus(twin.id, "ev_assign", {}, "rina");
    external.agentAttaches("UserRequest", ticket.id, {
      filename: "foto.txt",
      mimetype: "text/plain",
      data: Buffer.from("foto").toString("base64"),
    });
    await deliverAsForms();
    expect([...delivered.keys()].sort()).toEqual([
      "/api/v1/create-ticket",
      "/api/v1/ticket-state-change",
      "/api/v1/ticket-update-private-log",
      "/api/v1/update-attachment",
      "/api/v1/update-ticket",
    ]);
    expect(new Set([...delivered.values()].flat())).toEqual(new Set([200]));
    expect(external.ticket(ticket.id)?.status).toBe("assigned");
    expect(external.ticket(ticket.id)?.private_log.entries[0]?.message_html).toContain("Teknisi dikirim.");
    expect(internal.attachments("UserRequest", twin.id)).toHaveLength(1);
  });

  it("accept ids sent as strings in json_data, as iTop's placeholders write them", async () => {
    const { ticket } = await sharedTicket();
    const answer = await bridge.sendForm("/api/v1/update-ticket", {
      class: "UserRequest",
      id: ` ${ticket.id} `,
    });
    expect(answer.statusCode).toBe(200);
  });

  it("answer a form as they answer JSON: 400 naming the bad field, or json_data when it is missing or not JSON", async () => {
    const { handler: create } = await import("../../functions/itop/create-ticket.ts");
    const { handler: state } = await import("../../functions/itop/state-change.ts");
    const fields = async (answer: { statusCode?: number; body?: string }) => {
      expect(answer.statusCode).toBe(400);
      return JSON.parse(answer.body ?? "{}").error.fields;
    };
    const formTo = (handler: typeof create, path: string, rawBody: string) =>
      handler(httpEvent({ method: "POST", path, rawBody, headers: ITOP_FORM_AUTH }));
    expect(
      await fields(await formTo(create, "/api/v1/create-ticket", itopForm({ class: "UserRequest" }))),
    ).toEqual([{ path: "id", message: "is required" }]);
    expect(await fields(await formTo(state, "/api/v1/ticket-state-change", itopForm({ id: "abc" })))).toEqual(
      [{ path: "id", message: "must be a numeric iTop id" }],
    );
    expect(await fields(await formTo(create, "/api/v1/create-ticket", "version=1.3"))).toEqual([
      { path: "json_data", message: "is required" },
    ]);
    expect(
      await fields(await formTo(create, "/api/v1/create-ticket", "version=1.3&json_data=%7Bnot")),
    ).toEqual([{ path: "json_data", message: "is not valid JSON" }]);
    const other = await create(
      httpEvent({
        method: "POST",
        path: "/api/v1/create-ticket",
        rawBody: itopForm({ class: "UserRequest", id: "1" }),
        headers: { ...ITOP_FORM_AUTH, "content-type": "text/plain" },
      }),
    );
    expect(other.statusCode).toBe(415);
    expect(writes(internal) + writes(external)).toBe(0);
  });

  it("ignore a class that is not shared", async () => {
    const answer = await send("/api/v1/update-ticket", { class: "Change", id: "1" });
    expect(answer.statusCode).toBe(200);
    expect(JSON.parse(answer.body ?? "{}")).toMatchObject({ ignored: expect.stringContaining("Change") });
  });
});
