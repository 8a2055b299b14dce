import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import type { KanboardFake } from "../../infra/sandbox/kanboard.ts";
import type { RtFake } from "../../infra/sandbox/rt.ts";
import { dynamo } from "../../lib/core/aws.ts";
import type { LambdaHttpHandler } from "../../lib/core/http.ts";
import { JobQueue } from "../../lib/jobs/queue.ts";
import { JobRecords } from "../../lib/jobs/records.ts";
import { type RtBridge, rtBridge } from "../helpers/rt-kanban.ts";
import { httpEvent, SECRETS, type Stack, setupStack } from "../helpers/stack.ts";

/**
 * `jobs.webhookAck: "queue"`, the default outside the tests: a webhook is answered as soon as its job is
 * on the jobs queue, without a call to any helpdesk; the worker does the sync. Routes whose answer is the
 * sync's result (Rocket.Chat livechat) still work inline.
 */
let stack: Stack;
let rt: RtFake;
let board: KanboardFake;
let bridge: RtBridge;
let livechat: LambdaHttpHandler;

beforeAll(async () => {
  stack = await setupStack({ jobs: { webhookAck: "queue" } });
  rt = stack.rt;
  board = stack.kanboard;
  bridge = await rtBridge(rt);
  livechat = (await import("../../functions/rocketchat-otrs/livechat.ts")).handler;
});
afterAll(() => stack.close());
beforeEach(async () => {
  await stack.drainJobs();
  rt.reset();
  board.reset();
  stack.otrs.reset();
  stack.rocketchat.reset();
  vi.restoreAllMocks();
});

const upstreamCalls = () => rt.calls.length + board.calls.length;
const jobsDepth = () => stack.queueDepth(stack.resources.jobsQueueUrl);
const cardOf = (ticketId: number) => board.tasks().find((task) => task.reference === `RT#${ticketId}`);

describe("a webhook answered from the queue", () => {
  it("is 202 with the job id before any helpdesk is called; the worker then syncs it", async () => {
    const ticket = rt.personCreates({ queue: "General", subject: "Printer on fire" });
    rt.takeScripCalls();
    const answer = await bridge.post({ ticket_id: String(ticket.id), event: "created" });
    expect(answer.statusCode).toBe(202);
    const { job_id: jobId } = JSON.parse(answer.body ?? "{}") as { job_id: string };
    expect(jobId).toMatch(/^[\w-]+$/);
    expect(upstreamCalls()).toBe(0);
    expect(await jobsDepth()).toBe(1);
    // Its status is on record while it waits, as for a job queued after a failed inline attempt.
    const records = new JobRecords(dynamo(), stack.resources.table, 1);
    expect(await records.get(jobId)).toMatchObject({ status: "pending" });

    await stack.drainJobs();
    expect(cardOf(ticket.id)).toMatchObject({ title: `#${ticket.id} Printer on fire` });
    expect(rt.ticket(ticket.id)?.customFields["FlowIO-id"]).toBe(String(cardOf(ticket.id)?.id));
    expect(await records.get(jobId)).toMatchObject({ status: "done" });
  });

  it("answers bad input with a 400 naming the field and queues nothing", async () => {
    const answer = await bridge.post({ ticket_id: "not-a-number" });
    expect(answer.statusCode).toBe(400);
    expect(JSON.parse(answer.body ?? "{}").error.fields).toEqual([
      expect.objectContaining({ path: "ticket_id" }),
    ]);
    expect(await jobsDepth()).toBe(0);
    expect(upstreamCalls()).toBe(0);
  });

  it("answers 503 when the jobs queue refuses the job, so the sender delivers it again", async () => {
    const ticket = rt.personCreates({ queue: "General", subject: "Queue down" });
    rt.takeScripCalls();
    vi.spyOn(JobQueue.prototype, "send").mockRejectedValueOnce(new Error("connect ECONNREFUSED"));
    const refused = await bridge.post({ ticket_id: String(ticket.id) });
    expect(refused.statusCode).toBe(503);
    expect(refused.body).not.toContain("ECONNREFUSED");
    expect(await jobsDepth()).toBe(0);
    // The sender's retry goes through, and the sync happens once.
    expect((await bridge.post({ ticket_id: String(ticket.id) })).statusCode).toBe(202);
    await stack.drainJobs();
    expect(board.tasks().filter((task) => task.reference === `RT#${ticket.id}`)).toHaveLength(1);
  });

  it("turns a burst of events for one ticket into one sync", async () => {
    const ticket = rt.personCreates({ queue: "General", subject: "Burst" });
    rt.takeScripCalls();
    for (let i = 0; i < 5; i += 1) {
      expect((await bridge.post({ ticket_id: String(ticket.id) })).statusCode).toBe(202);
    }
    expect(upstreamCalls()).toBe(0);
    await stack.drainJobs();
    expect(board.tasks()).toHaveLength(1);
    expect(board.count("createTask")).toBe(1);
  });
});

describe("a route whose answer is the result", () => {
  it("still syncs inline: Rocket.Chat keeps the ticket number as the room's crmData", async () => {
    const room = stack.rocketchat.openRoom({
      visitor: { name: "Joana Cliente", email: "joana@cliente.example" },
      agentUsername: "ana",
    });
    stack.rocketchat.visitorSays(room._id, "Olá");
    stack.rocketchat.close(room._id, { closer: "user" });
    const [payload] = stack.rocketchat.takeWebhooks();
    const answer = await livechat(
      httpEvent({
        method: "POST",
        path: "/rocketchat/livechat",
        headers: {
          "content-type": "application/json",
          "x-rocketchat-livechat-token": SECRETS.ROCKETCHAT_LIVECHAT_TOKEN,
        },
        body: payload,
      }),
    );
    expect(answer.statusCode).toBe(200);
    expect(JSON.parse(answer.body ?? "{}")).toMatchObject({ ticketNumbers: [expect.any(String)] });
    expect(stack.otrs.tickets).toHaveLength(1);
    expect(await jobsDepth()).toBe(0);
  });
});
