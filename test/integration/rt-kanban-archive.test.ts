import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { KanboardFake } from "../../infra/sandbox/kanboard.ts";
import type { RtFake } from "../../infra/sandbox/rt.ts";
import { type RtBridge, rtBridge } from "../helpers/rt-kanban.ts";
import { type Stack, setupStack } from "../helpers/stack.ts";

/** `onRemove: "close"`: cards of tickets that leave the board are archived, and come back with them. */
let stack: Stack;
let rt: RtFake;
let board: KanboardFake;
let bridge: RtBridge;

beforeAll(async () => {
  stack = await setupStack({ rtKanban: { onRemove: "close" } });
  rt = stack.rt;
  board = stack.kanboard;
  bridge = await rtBridge(rt);
});
afterAll(() => stack.close());
beforeEach(() => {
  rt.reset();
  board.reset();
});

const deliverScrips = () => bridge.deliverScrips();

describe("archiving instead of deleting", () => {
  it("closes the card of a ticket moved out, and reopens the same card when it comes back", async () => {
    const ticket = rt.personCreates({ queue: "General", subject: "Toner" });
    await deliverScrips();
    const card = board.tasks().find((task) => task.reference === `RT#${ticket.id}`);
    rt.personUpdates(ticket.id, { queue: "Facilities" });
    await deliverScrips();
    expect(board.task(card?.id ?? 0)).toMatchObject({ is_active: 0 });
    rt.personUpdates(ticket.id, { queue: "General", status: "open" });
    await deliverScrips();
    expect(board.tasks()).toHaveLength(1);
    expect(board.task(card?.id ?? 0)).toMatchObject({ is_active: 1 });
    expect(board.columnTitle(card?.id ?? 0)).toBe("Work in progress");
    expect(rt.ticket(ticket.id)?.customFields["FlowIO-id"]).toBe(String(card?.id));
  });

  it("still deletes, never archives, the card of a ticket moved to a sensitive queue", async () => {
    const ticket = rt.personCreates({ queue: "General", subject: "Harassment report" });
    await deliverScrips();
    const card = board.tasks().find((task) => task.reference === `RT#${ticket.id}`);
    rt.personUpdates(ticket.id, { queue: "HR" });
    await deliverScrips();
    expect(board.task(card?.id ?? 0)).toBeUndefined();
  });

  it("deletes an archived card when its ticket then moves to a sensitive queue", async () => {
    const ticket = rt.personCreates({ queue: "General", subject: "Desk move" });
    await deliverScrips();
    const card = board.tasks().find((task) => task.reference === `RT#${ticket.id}`);
    rt.personUpdates(ticket.id, { queue: "Facilities" });
    await deliverScrips();
    expect(board.task(card?.id ?? 0)).toMatchObject({ is_active: 0 });
    rt.personUpdates(ticket.id, { queue: "HR" });
    await deliverScrips();
    expect(board.task(card?.id ?? 0)).toBeUndefined();
  });
});
