import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { ItopFake } from "../../infra/sandbox/itop.ts";
import { type ItopBridge, itopBridge, writes } from "../helpers/itop.ts";
import { type Stack, setupStack } from "../helpers/stack.ts";

/** The old rule text reads both ways; each aspect's direction is configurable. Here: not the defaults. */
let stack: Stack;
let external: ItopFake;
let internal: ItopFake;
let bridge: ItopBridge;

beforeAll(async () => {
  stack = await setupStack({
    internalTicketUpdateWebhook: true,
    itopPair: {
      directions: {
        form: "both",
        state: "both",
        privateLog: "none",
        attachments: "external-to-internal",
      },
    },
  });
  external = stack.itop.external;
  internal = stack.itop.internal;
  bridge = await itopBridge(external, internal);
});
afterAll(() => stack.close());
beforeEach(() => {
  external.reset();
  internal.reset();
});

describe("configured directions", () => {
  it("with state both, an external state change reaches the internal ticket, with the internal defaults", async () => {
    const { ticket, twin } = await bridge.sharedTicket();
    external.agentAppliesStimulus(ticket.id, "ev_assign", { team_id: 1, agent_id: 2 }, "budi");
    await bridge.deliverWebhooks();
    expect(internal.ticket(twin.id)).toMatchObject({ status: "assigned", team_id: 1, agent_id: 1 });
    // …and the internal echo does not bounce back.
    expect(external.ticket(ticket.id)?.status).toBe("assigned");
  });

  it("with form both, an internal title change reaches the external ticket", async () => {
    const { ticket, twin } = await bridge.sharedTicket();
    internal.agentUpdatesTicket(twin.id, { title: "Antrian SMTP penuh" }, "rina");
    await bridge.deliverWebhooks();
    expect(external.ticket(ticket.id)?.title).toBe("Antrian SMTP penuh");
    expect(internal.ticket(twin.id)?.title).toBe("Antrian SMTP penuh");
  });

  it("with private log none, entries stay on their side", async () => {
    const { ticket, twin } = await bridge.sharedTicket();
    const before = { external: writes(external), internal: writes(internal) };
    external.agentAddsLog(ticket.id, "private_log", "<p>dari pelanggan</p>", "budi");
    internal.agentAddsLog(twin.id, "private_log", "<p>dari provider</p>", "rina");
    await bridge.deliverWebhooks();
    expect(internal.ticket(twin.id)?.private_log.entries).toHaveLength(1);
    expect(external.ticket(ticket.id)?.private_log.entries).toHaveLength(1);
    expect({ external: writes(external), internal: writes(internal) }).toEqual(before);
  });

  it("with attachments external → internal, an internal attachment is not copied", async () => {
    const { ticket, twin } = await bridge.sharedTicket();
    internal.agentAttaches("UserRequest", twin.id, {
      filename: "internal.txt",
      mimetype: "text/plain",
      data: Buffer.from("internal only").toString("base64"),
    });
    external.agentAttaches("UserRequest", ticket.id, {
      filename: "screenshot.txt",
      mimetype: "text/plain",
      data: Buffer.from("from the customer").toString("base64"),
    });
    await bridge.deliverWebhooks();
    expect(external.attachments("UserRequest", ticket.id).map((a) => a.contents.filename)).toEqual([
      "screenshot.txt",
    ]);
    expect(
      internal
        .attachments("UserRequest", twin.id)
        .map((a) => a.contents.filename)
        .sort(),
    ).toEqual(["internal.txt", "screenshot.txt"]);
  });
});
