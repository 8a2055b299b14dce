import { Logger } from "@aws-lambda-powertools/logger";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { KanboardFake } from "../../infra/sandbox/kanboard.ts";
import type { RtFake } from "../../infra/sandbox/rt.ts";
import { JobQueue } from "../../lib/jobs/queue.ts";
import { readDeadLetters, replayDeadLetters } from "../../lib/jobs/replay.ts";
import { RT_AUTH, type RtBridge, rtBridge } from "../helpers/rt-kanban.ts";
import { httpEvent, SECRETS, type Stack, setupStack } from "../helpers/stack.ts";

let stack: Stack;
let rt: RtFake;
let board: KanboardFake;
let bridge: RtBridge;
const quiet = new Logger({ logLevel: "SILENT" });

beforeAll(async () => {
  // An outage is retried for the horizon: on this clock (3600×) its hour is a second.
  stack = await setupStack({ jobs: { maxAttempts: 3, outageHorizonHours: 1, timeScale: 3600 } });
  rt = stack.rt;
  board = stack.kanboard;
  bridge = await rtBridge(rt);
});
afterAll(() => stack.close());
beforeEach(() => {
  rt.reset();
  board.reset();
});

const post = (payload: unknown, headers?: Record<string, string>) => bridge.post(payload, headers);
const deliverScrips = () => bridge.deliverScrips();
const cardOf = (ticketId: number) => board.tasks().find((task) => task.reference === `RT#${ticketId}`);
const boardWrites = () =>
  board.calls.filter((call) => !/^get/.test(call.method) && call.method !== "(batch)").length;

describe("a new ticket", () => {
  it("becomes a card in the column of its status, and the card id goes back to RT", async () => {
    const ticket = rt.personCreates({
      queue: "General",
      subject: "Printer on fire",
      owner: "alice",
      priority: 60,
    });
    expect(await deliverScrips()).toContain(200);
    const card = cardOf(ticket.id);
    expect(card).toMatchObject({
      title: `#${ticket.id} Printer on fire`,
      owner_id: 2,
      priority: 2,
      is_active: 1,
    });
    expect(board.columnTitle(card?.id ?? 0)).toBe("Backlog");
    expect(rt.ticket(ticket.id)?.customFields["FlowIO-id"]).toBe(String(card?.id));
    // The bridge's own write-back came back through the Scrip and was ignored: one card, one write.
    expect(board.tasks()).toHaveLength(1);
    expect(board.count("createTask")).toBe(1);
  });

  it("created and resolved at once lands in Done, not in the first column", async () => {
    const ticket = rt.personCreates({ queue: "Helpdesk", subject: "Reset my password" });
    rt.personUpdates(ticket.id, { status: "resolved" });
    await deliverScrips();
    expect(board.columnTitle(cardOf(ticket.id)?.id ?? 0)).toBe("Done");
    expect(board.count("moveTaskPosition")).toBe(0);
  });

  it("creates one card when the same event arrives ten times at once", async () => {
    const ticket = rt.personCreates({ queue: "General", subject: "VPN down" });
    rt.takeScripCalls();
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => post({ ticket_id: String(ticket.id) })),
    );
    for (const answer of answers) expect([200, 202]).toContain(answer.statusCode);
    await stack.drainJobs({ timeoutMs: 30_000 });
    expect(board.tasks().filter((task) => task.reference === `RT#${ticket.id}`)).toHaveLength(1);
  }, 60_000);

  it("takes a search that answers false for a failure, not for a missing card", async () => {
    const ticket = rt.personCreates({ queue: "General", subject: "False search" });
    // The card is made but its answer lost; the retry's search then fails with Kanboard's `false`.
    board.failNext(1, { kind: "drop-response" }, { method: "createTask" });
    board.failNext(1, { kind: "result", value: false }, { method: "getTaskByReference" }, { after: 1 });
    await deliverScrips();
    await stack.drainJobs({ timeoutMs: 30_000 });
    expect(board.tasks().filter((task) => task.reference === `RT#${ticket.id}`)).toHaveLength(1);
  }, 60_000);

  it("adopts the card an attempt made before its answer was lost instead of making a second one", async () => {
    const ticket = rt.personCreates({ queue: "General", subject: "Scanner" });
    board.failNext(1, { kind: "drop-response" }, { method: "createTask" });
    await deliverScrips();
    await stack.drainJobs({ timeoutMs: 30_000 });
    expect(board.tasks()).toHaveLength(1);
    expect(rt.ticket(ticket.id)?.customFields["FlowIO-id"]).toBe(String(cardOf(ticket.id)?.id));
  }, 60_000);
});

describe("changes", () => {
  it("subject, status, owner and priority follow, and a repeated event writes nothing", async () => {
    const ticket = rt.personCreates({ queue: "General", subject: "Mail slow", owner: "bob", priority: 10 });
    await deliverScrips();
    const id = cardOf(ticket.id)?.id ?? 0;
    expect(board.task(id)).toMatchObject({ owner_id: 0, priority: 0 });
    rt.personUpdates(ticket.id, { subject: "Mail very slow", status: "open", owner: "alice", priority: 80 });
    await deliverScrips();
    expect(board.task(id)).toMatchObject({ title: `#${ticket.id} Mail very slow`, owner_id: 2, priority: 3 });
    expect(board.columnTitle(id)).toBe("Work in progress");
    const writes = boardWrites();
    await post({ ticket_id: String(ticket.id) });
    expect(boardWrites()).toBe(writes);
  });

  it("a ticket without a card in an exposed queue gets one rather than an update", async () => {
    const ticket = rt.personCreates({ queue: "Facilities", subject: "Broken chair" });
    await deliverScrips();
    expect(cardOf(ticket.id)).toBeUndefined();
    expect(boardWrites()).toBe(0);
  });
});

describe("queues", () => {
  it("moving into an exposed queue creates the card; moving out removes it", async () => {
    const ticket = rt.personCreates({ queue: "Facilities", subject: "Projector" });
    await deliverScrips();
    rt.personUpdates(ticket.id, { queue: "Helpdesk" });
    await deliverScrips();
    const card = cardOf(ticket.id);
    expect(card).toBeDefined();
    rt.personUpdates(ticket.id, { queue: "Facilities" });
    await deliverScrips();
    expect(board.task(card?.id ?? 0)).toBeUndefined();
    // The custom field no longer names a card.
    expect(rt.ticket(ticket.id)?.customFields["FlowIO-id"] ?? "").toBe("");
  });

  it("never shows a ticket of a sensitive queue, and deletes the card of one moved there", async () => {
    const secret = rt.personCreates({ queue: "HR", subject: "Salary review for Bob" });
    await deliverScrips();
    expect(board.tasks()).toHaveLength(0);
    expect(board.calls.filter((call) => call.method === "createTask")).toHaveLength(0);
    const ticket = rt.personCreates({ queue: "General", subject: "Complaint about a colleague" });
    await deliverScrips();
    rt.personUpdates(ticket.id, { queue: "HR" });
    await deliverScrips();
    expect(cardOf(ticket.id)).toBeUndefined();
    expect(cardOf(secret.id)).toBeUndefined();
  });

  it("does not show a ticket a filter excludes", async () => {
    rt.personCreates({ queue: "General", subject: "[spam] You won" });
    await deliverScrips();
    expect(board.tasks()).toHaveLength(0);
  });
});

describe("merges and deletes", () => {
  it("removes the merged-away ticket's card and keeps the surviving ticket's", async () => {
    const survivor = rt.personCreates({ queue: "General", subject: "Wi-Fi down (floor 2)" });
    const duplicate = rt.personCreates({ queue: "General", subject: "No Wi-Fi" });
    await deliverScrips();
    const kept = cardOf(survivor.id);
    const gone = cardOf(duplicate.id);
    rt.personMerges(duplicate.id, survivor.id);
    await deliverScrips();
    expect(board.task(gone?.id ?? 0)).toBeUndefined();
    expect(board.task(kept?.id ?? 0)).toBeDefined();
    expect(rt.ticket(survivor.id)?.customFields["FlowIO-id"]).toBe(String(kept?.id));
  });

  it("removes the card of a deleted ticket", async () => {
    const ticket = rt.personCreates({ queue: "General", subject: "Test ticket" });
    await deliverScrips();
    const card = cardOf(ticket.id);
    rt.personDeletes(ticket.id);
    await deliverScrips();
    expect(board.task(card?.id ?? 0)).toBeUndefined();
  });
});

describe("the board down", () => {
  it("queues the change, retries until the board answers, and makes one card", async () => {
    const ticket = rt.personCreates({ queue: "General", subject: "Board outage test" });
    board.setDown(true);
    expect(await deliverScrips()).toContain(202);
    board.setDown(false);
    await stack.drainJobs({ timeoutMs: 60_000 });
    expect(board.tasks().filter((task) => task.reference === `RT#${ticket.id}`)).toHaveLength(1);
  }, 90_000);

  it("keeps in the dead-letter queue what could not be delivered, and a replay converges", async () => {
    const ticket = rt.personCreates({ queue: "General", subject: "Long outage" });
    board.setDown(true);
    await deliverScrips();
    await stack.drainJobs({ timeoutMs: 60_000 });
    const letters = await readDeadLetters(stack.sqs, stack.resources.deadLetterQueueUrl, {
      type: "rt-kanban.ticket",
    });
    expect(letters.length).toBeGreaterThan(0);
    const [letter] = letters;
    if (letter?.kind !== "letter") throw new Error("expected a dead letter");
    expect(letter.letter.lastError.code).toBe("upstream_unavailable");
    board.setDown(false);
    const queue = new JobQueue(stack.sqs, stack.resources.jobsQueueUrl, stack.resources.deadLetterQueueUrl);
    await replayDeadLetters(stack.sqs, queue, stack.resources.deadLetterQueueUrl, {
      type: "rt-kanban.ticket",
    });
    await stack.drainJobs({ timeoutMs: 30_000 });
    expect(board.tasks().filter((task) => task.reference === `RT#${ticket.id}`)).toHaveLength(1);
  }, 120_000);
});

describe("RT writes", () => {
  it("dead-letters a card id RT does not store, saying why", async () => {
    const ticket = rt.personCreates({ queue: "Legacy", subject: "Old system" });
    const answers = await deliverScrips();
    expect(answers).toContain(202);
    const letters = await readDeadLetters(stack.sqs, stack.resources.deadLetterQueueUrl, {
      type: "rt-kanban.ticket",
    });
    const letter = letters.find(
      (l) => l.kind === "letter" && JSON.stringify(l.letter.job.input).includes(String(ticket.id)),
    );
    if (letter?.kind !== "letter") throw new Error("expected a dead letter");
    expect(letter.letter.lastError.message).toMatch(/FlowIO-id.*queue Legacy/);
    // The card exists: once the field is applied to the queue, a replay only writes the id back.
    expect(cardOf(ticket.id)).toBeDefined();
  });
});

describe("the poller and the reconciler", () => {
  it("the poller finds a change no Scrip reported", async () => {
    const { pollRt } = await import("../../lib/sync/rt-kanban/poller.ts");
    const ticket = rt.personCreates({ queue: "General", subject: "Missed by the Scrip" });
    rt.takeScripCalls(); // the bridge was unreachable: RT's calls were lost
    expect((await pollRt(quiet)).queued).toBeGreaterThanOrEqual(1);
    await stack.drainJobs();
    expect(cardOf(ticket.id)).toBeDefined();
  });

  it("the reconciler moves a card back to its ticket's column and makes a missing card", async () => {
    const { reconcileBoard } = await import("../../lib/sync/rt-kanban/reconciler.ts");
    const moved = rt.personCreates({ queue: "General", subject: "Moved by hand" });
    await deliverScrips();
    const card = cardOf(moved.id);
    board.personMovesTask(card?.id ?? 0, "Done");
    const missing = rt.personCreates({ queue: "General", subject: "Never reported" });
    rt.takeScripCalls();
    const { queued } = await reconcileBoard(quiet);
    expect(queued).toBe(2);
    await stack.drainJobs();
    expect(board.columnTitle(card?.id ?? 0)).toBe("Backlog");
    expect(cardOf(missing.id)).toBeDefined();
    expect((await reconcileBoard(quiet)).queued).toBe(0);
  });

  it("recreates a card someone deleted on the board: RT leads", async () => {
    const { reconcileBoard } = await import("../../lib/sync/rt-kanban/reconciler.ts");
    const ticket = rt.personCreates({ queue: "General", subject: "Deleted on the board" });
    await deliverScrips();
    board.personRemovesTask(cardOf(ticket.id)?.id ?? 0);
    await reconcileBoard(quiet);
    await stack.drainJobs();
    expect(cardOf(ticket.id)).toBeDefined();
    expect(rt.ticket(ticket.id)?.customFields["FlowIO-id"]).toBe(String(cardOf(ticket.id)?.id));
  });
});

describe("backfill", () => {
  it("projects every open ticket of the exposed queues, and a second run changes nothing", async () => {
    const { backfillBoard } = await import("../../lib/sync/rt-kanban/backfill.ts");
    const open = [
      rt.personCreates({ queue: "General", subject: "One" }),
      rt.personCreates({ queue: "Helpdesk", subject: "Two", status: "open" }),
      rt.personCreates({ queue: "General", subject: "Three", status: "open" }),
    ];
    // RT creates tickets as new, open or resolved only (the lifecycle's transitions from ''); stalled comes later.
    rt.personUpdates(open[2]?.id ?? 0, { status: "stalled" });
    rt.personCreates({ queue: "General", subject: "Closed long ago", status: "resolved" });
    rt.personCreates({ queue: "HR", subject: "Private" });
    rt.personCreates({ queue: "Facilities", subject: "Not on the board" });
    rt.takeScripCalls();
    const first = await backfillBoard({ logger: quiet });
    expect(first).toMatchObject({ tickets: 3, created: 3, failed: [] });
    expect(
      board
        .tasks()
        .map((task) => task.reference)
        .sort(),
    ).toEqual(open.map((t) => `RT#${t.id}`).sort());
    const writes = boardWrites();
    const second = await backfillBoard({ logger: quiet });
    expect(second).toMatchObject({ tickets: 3, created: 0, updated: 0, unchanged: 3, failed: [] });
    expect(boardWrites()).toBe(writes);
    expect(rt.takeScripCalls().filter((call) => call.creator !== "deskbridge")).toHaveLength(0);
  });
});

describe("the route", () => {
  it("answers 400 naming ticket_id when it is missing or not a number, and changes nothing", async () => {
    const missing = await post({ transaction_id: "5" });
    expect(missing.statusCode).toBe(400);
    expect(missing.body).toContain("ticket_id");
    expect((await post({ ticket_id: "abc" })).statusCode).toBe(400);
    expect(board.calls).toHaveLength(0);
  });

  it("answers 401 without the secret, and accepts it as ?token=", async () => {
    expect((await post({ ticket_id: "1" }, { "content-type": "application/json" })).statusCode).toBe(401);
    const ticket = rt.personCreates({ queue: "General", subject: "Token in the query" });
    rt.takeScripCalls();
    const answer = await (await import("../../functions/rt-kanban/ticket-events.ts")).handler(
      httpEvent({
        method: "POST",
        path: "/rt/ticket-events",
        body: { ticket_id: String(ticket.id) },
        headers: { "content-type": "application/json" },
        query: { token: SECRETS.RT_WEBHOOK_TOKEN },
      }),
    );
    expect(answer.statusCode).toBe(200);
  });

  it("takes a Scrip's form-encoded post (ticket_id=…) as it takes JSON, with the same 400s", async () => {
    const form = { ...RT_AUTH, "content-type": "application/x-www-form-urlencoded" };
    const route = (await import("../../functions/rt-kanban/ticket-events.ts")).handler;
    const postForm = (rawBody: string, headers: Record<string, string> = form) =>
      route(httpEvent({ method: "POST", path: "/rt/ticket-events", rawBody, headers }));
    const ticket = rt.personCreates({ queue: "General", subject: "Posted as a form", owner: "alice" });
    const [scrip] = rt.takeScripCalls();
    if (!scrip) throw new Error("RT fired no Scrip");
    const answer = await postForm(
      new URLSearchParams({
        ticket_id: String(scrip.ticket_id),
        transaction_id: String(scrip.transaction_id),
        type: String(scrip.type),
        creator: String(scrip.creator),
      }).toString(),
      { ...form, "content-type": "application/x-www-form-urlencoded; charset=UTF-8" },
    );
    expect(answer.statusCode).toBe(200);
    expect(cardOf(ticket.id)).toMatchObject({ title: `#${ticket.id} Posted as a form` });
    rt.takeScripCalls();
    const fields = (result: { statusCode?: number; body?: string }) => {
      expect(result.statusCode).toBe(400);
      return JSON.parse(result.body ?? "{}").error.fields;
    };
    expect(fields(await postForm("transaction_id=5"))).toEqual([
      { path: "ticket_id", message: "is required" },
    ]);
    expect(fields(await postForm("ticket_id=abc"))).toEqual([
      { path: "ticket_id", message: "must be a numeric RT id" },
    ]);
    expect(fields(await postForm("ticket_id=1&ticket_id=2"))).toEqual([
      { path: "ticket_id", message: "must be a numeric RT id" },
    ]);
    expect((await postForm("ticket_id=1", { ...form, "content-type": "text/plain" })).statusCode).toBe(415);
    expect(board.tasks()).toHaveLength(1);
  });

  it("ignores the bridge's own custom-field write without reading RT", async () => {
    const before = rt.calls.length;
    const answer = await post({
      ticket_id: "1",
      transaction_id: "9",
      type: "CustomField",
      creator: "deskbridge",
    });
    expect(JSON.parse(answer.body ?? "{}")).toMatchObject({ ignored: expect.any(String) });
    expect(rt.calls.length).toBe(before);
  });
});
