import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { ItopFake } from "../../infra/sandbox/itop.ts";
import { readDeadLetters } from "../../lib/jobs/replay.ts";
import type { OpsDeps } from "../../lib/ops/deps.ts";
import { type ItopBridge, itopBridge } from "../helpers/itop.ts";
import { type Stack, setupStack } from "../helpers/stack.ts";

/**
 * The iTop pair where a real iTop (3.3-dev, community edition) differs from what the bridge first
 * assumed: a priority written is recomputed from impact × urgency, a stimulus takes no external keys
 * and still succeeds, an inline image is refused to a profile without rights on InlineImage. This
 * stack's config is as a user might write it: `priority` among the form fields, and no default team
 * for the external side.
 */
let stack: Stack;
let external: ItopFake;
let internal: ItopFake;
let bridge: ItopBridge;
let ops: OpsDeps;

beforeAll(async () => {
  stack = await setupStack({
    itopPair: {
      formFields: ["title", "description", "priority"],
      defaults: {
        external: { orgId: 1, agentId: 2 }, // no teamId
        internal: { orgId: 2, agentId: 1, teamId: 1, callerId: 2 },
      },
    },
  });
  external = stack.itop.external;
  internal = stack.itop.internal;
  bridge = await itopBridge(external, internal);
  ops = (await import("../../lib/ops/deps.ts")).opsDeps();
});
afterAll(() => stack.close());
beforeEach(() => {
  external.reset();
  internal.reset();
  internal.setCannotRead("deskbridge", []);
});

async function notesOf(ref: string): Promise<Record<string, string[]>> {
  const { lookupLinks } = await import("../../lib/ops/lookup.ts");
  const [link] = (await lookupLinks(ops, "itop", ref)).links;
  return Object.fromEntries((link?.aspects ?? []).map((aspect) => [aspect.name, aspect.notes ?? []]));
}

async function deadLetters() {
  const letters = await readDeadLetters(stack.sqs, stack.resources.deadLetterQueueUrl);
  return letters.flatMap((l) =>
    l.kind === "letter" && l.letter.job.type === "itop-pair.sync" ? [l.letter] : [],
  );
}

describe("an inline image with a profile that may not read InlineImage (every stock profile but Administrator)", () => {
  it("is downloaded with its secret, which needs no rights, and attached on the other side", async () => {
    internal.setCannotRead("deskbridge", ["InlineImage"]);
    const { ticket, twin } = await bridge.sharedTicket();
    const png = Buffer.from("a screenshot").toString("base64");
    const img = internal.pasteImage("UserRequest", twin.id, { mimetype: "image/png", data: png });
    internal.agentAddsLog(twin.id, "private_log", `<p>Lihat tangkapan layar:</p>${img}`, "rina");
    await bridge.deliverWebhooks();
    const [entry] = external.ticket(ticket.id)?.private_log.entries ?? [];
    expect(entry?.message_html).toContain("[image: image.png, attached]");
    expect(external.attachments("UserRequest", ticket.id).map((a) => a.contents.data)).toEqual([png]);
    expect(internal.calls.filter((call) => call.class === "InlineImage")).toHaveLength(0);
  });

  it("that cannot be downloaded either is left out of the copy, saying so, with a note for operators, and the pair goes on", async () => {
    internal.setCannotRead("deskbridge", ["InlineImage"]);
    const { ticket, twin } = await bridge.sharedTicket();
    const before = (await deadLetters()).length;
    internal.pasteImage("UserRequest", twin.id, { mimetype: "image/png", data: "AAAA" });
    const [image] = internal.inlineImages();
    // An <img> that names the image but not its secret (pasted from elsewhere, or edited by hand).
    internal.agentAddsLog(twin.id, "private_log", `<p>Lihat:</p><img data-img-id="${image?.id}">`, "rina");
    await bridge.deliverWebhooks();

    const [entry, ...more] = external.ticket(ticket.id)?.private_log.entries ?? [];
    expect(more).toHaveLength(0);
    expect(entry?.message_html).toContain("Lihat:");
    expect(entry?.message_html).toContain("[image not copied: iTop refused the bridge access to it");
    expect(entry?.message_html).not.toContain("<img");
    expect(external.attachments("UserRequest", ticket.id)).toHaveLength(0);
    const notes = await notesOf(ticket.ref);
    expect(notes.privateLog).toHaveLength(1);
    expect(notes.privateLog?.[0]).toContain(
      "does not have enough permissions for reading data of class InlineImage",
    );

    // Later changes of the pair still go through, and the refused entry is not tried again.
    internal.agentAddsLog(twin.id, "private_log", "<p>Sudah beres.</p>", "rina");
    await bridge.deliverWebhooks();
    await stack.drainJobs({ timeoutMs: 30_000 });
    const entries = external.ticket(ticket.id)?.private_log.entries ?? [];
    expect(entries).toHaveLength(2);
    expect(entries[1]?.message_html).toContain("Sudah beres.");
    expect((await notesOf(ticket.ref)).privateLog).toHaveLength(1);
    expect(await deadLetters()).toHaveLength(before);
  }, 60_000);
});

describe("a stimulus without the external keys its state needs", () => {
  it("is not sent: the job is dead-lettered naming the setting, and the other aspects of the pair are synced", async () => {
    const { ticket, twin } = await bridge.sharedTicket();
    const before = (await deadLetters()).length;
    internal.agentAddsLog(twin.id, "private_log", "<p>Sedang dicek.</p>", "rina");
    internal.agentAppliesStimulus(twin.id, "ev_assign", {}, "rina");
    await bridge.deliverWebhooks();
    await stack.drainJobs({ timeoutMs: 30_000 });

    // iTop would have taken ev_assign without a team and left the ticket assigned to nobody.
    expect(external.calls.filter((call) => call.operation === "core/apply_stimulus")).toHaveLength(0);
    expect(external.ticket(ticket.id)).toMatchObject({ status: "new", team_id: 0 });
    expect(external.ticket(ticket.id)?.private_log.entries[0]?.message_html).toContain("Sedang dicek.");
    const letters = (await deadLetters()).slice(before);
    expect(letters.length).toBeGreaterThan(0);
    const reason = JSON.stringify(letters[0]?.lastError);
    expect(reason).toContain("integrations.itopPair.stateFields.assigned.team_id");
    expect(reason).toContain("needs team_id");
  }, 60_000);
});

describe("a priority among the form fields", () => {
  it("is noted once as not kept, since iTop computes it from impact and urgency", async () => {
    const { ticket, twin } = await bridge.sharedTicket();
    external.agentUpdatesTicket(ticket.id, { urgency: "1" }, "budi"); // priority 1 on the external side
    await bridge.deliverWebhooks();
    expect(external.ticket(ticket.id)?.priority).toBe("1");
    // The internal twin keeps its own impact 1 × urgency 4 (impact and urgency are not synced here).
    expect(internal.ticket(twin.id)?.priority).toBe("4");
    const notes = await notesOf(ticket.ref);
    expect(notes.form).toEqual([
      expect.stringContaining('priority not kept by iTop elitery: sent "1", it kept "4"'),
    ]);
    expect(notes.form?.[0]).toContain("impact and urgency");
    // The same webhook again writes nothing and notes nothing more.
    const writes = internal.calls.filter((call) => call.operation === "core/update").length;
    await bridge.send("/api/v1/update-ticket", { class: "UserRequest", id: String(ticket.id) });
    expect(internal.calls.filter((call) => call.operation === "core/update")).toHaveLength(writes);
    expect((await notesOf(ticket.ref)).form).toHaveLength(1);
  });
});
