import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { Logger } from "@aws-lambda-powertools/logger";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import * as v from "valibot";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { sqsRecord } from "../../infra/local/events.ts";
import { SqsEventSource } from "../../infra/local/sqs-event-source.ts";
import { UpstreamRetryableError } from "../../lib/core/errors.ts";
import { defineJob, type JobHandler, type JobMessage } from "../../lib/jobs/model.ts";
import { JobQueue, newJob } from "../../lib/jobs/queue.ts";
import { JobRecords } from "../../lib/jobs/records.ts";
import { readDeadLetters } from "../../lib/jobs/replay.ts";
import { runInline } from "../../lib/jobs/runner.ts";
import { capsFromHandlers, runScheduled, type SystemCapsDeps } from "../../lib/jobs/system-caps.ts";
import { createWorker } from "../../lib/jobs/worker.ts";
import { type SystemCap, SystemSlots } from "../../lib/links/system-slots.ts";
import { lambdaContext, nextQueuedJob, SECRETS, type Stack, setupStack } from "../helpers/stack.ts";

let stack: Stack;
let doc: DynamoDBDocumentClient;
let queue: JobQueue;
let records: JobRecords;
const logger = new Logger({ logLevel: "SILENT" });

beforeAll(async () => {
  // The stack's own RT takes 2 calls at once (the backfill reads the deployment's config).
  stack = await setupStack({
    configure: (config) => Object.assign(config.systems.rt.main, { maxConcurrentCalls: 2 }),
  });
  doc = DynamoDBDocumentClient.from(stack.dynamo);
  queue = new JobQueue(stack.sqs, stack.resources.jobsQueueUrl, stack.resources.deadLetterQueueUrl);
  records = new JobRecords(doc, stack.resources.table, 1);
});
afterAll(() => stack.close());
beforeEach(() => {
  stack.rt.reset();
  stack.kanboard.reset();
  stack.rt.resetInFlight();
  stack.kanboard.resetInFlight();
});

/** A fresh system name per test: the slots of one test never meet another's. */
const systemName = (prefix: string) => `${prefix}:${randomUUID().slice(0, 8)}`;

describe("the system slots", () => {
  it("give each of `max` concurrent takers its own slot and refuse the others", async () => {
    const slots = new SystemSlots(doc, stack.resources.table);
    const cap: SystemCap[] = [{ system: systemName("rt"), max: 3 }];
    const outcomes = await Promise.all(
      Array.from({ length: 12 }, (_, i) => slots.acquire(cap, `job-${i}`, 60_000)),
    );
    const held = outcomes.flatMap((o) => (o.kind === "held" ? [o.hold] : []));
    expect(held).toHaveLength(3);
    expect(new Set(held.map((h) => h.slots[0]?.index))).toEqual(new Set([0, 1, 2]));
    expect(outcomes.filter((o) => o.kind === "busy")).toHaveLength(9);

    await slots.release(held[0]!);
    expect((await slots.acquire(cap, "job-next", 60_000)).kind).toBe("held");
    expect((await slots.acquire(cap, "job-after", 60_000)).kind).toBe("busy");
  });

  it("take a crashed holder's slot again once its lease runs out, and its late release frees nothing", async () => {
    let now = Date.parse("2026-01-01T00:00:00Z");
    const slots = new SystemSlots(doc, stack.resources.table, { now: () => now });
    const cap: SystemCap[] = [{ system: systemName("otrs"), max: 1 }];
    const crashed = await slots.acquire(cap, "job-crashed", 60_000);
    if (crashed.kind !== "held") throw new Error("expected the first taker to hold the slot");

    now += 59_999;
    expect(await slots.acquire(cap, "job-b", 60_000)).toEqual({ kind: "busy", system: cap[0]!.system });
    now += 1;
    const taker = await slots.acquire(cap, "job-b", 60_000);
    expect(taker.kind).toBe("held");

    // The crashed holder comes back and gives back "its" slot: it is no longer its own.
    await slots.release(crashed.hold);
    expect((await slots.acquire(cap, "job-c", 60_000)).kind).toBe("busy");
  });

  it("cap two systems independently and take all of a job's slots or none", async () => {
    const slots = new SystemSlots(doc, stack.resources.table);
    const free = systemName("a-kanboard");
    const full = systemName("b-rt");
    expect((await slots.acquire([{ system: full, max: 1 }], "holder", 60_000)).kind).toBe("held");

    // `free` sorts first, so it is taken before `full` turns out busy: it must be given back.
    const both = await slots.acquire(
      [
        { system: full, max: 1 },
        { system: free, max: 1 },
      ],
      "job-both",
      60_000,
    );
    expect(both).toEqual({ kind: "busy", system: full });
    expect((await slots.acquire([{ system: free, max: 1 }], "job-free", 60_000)).kind).toBe("held");
  });
});

/**
 * A job that makes one call to a fake and records that it ran. It names the system instance `instance`
 * (a fresh one per test: no test meets another's slots), though every call goes to the stack's fake.
 */
function callingJob(type: string, system: "rt" | "kanboard", ran: Set<number>, instance: string) {
  return defineJob({
    type,
    input: v.object({ n: v.number() }),
    systems: () => [{ system, instance }],
    async run({ n }, context) {
      const response =
        system === "rt"
          ? await fetch(`${stack.rt.url}/queues/all`, {
              headers: { Authorization: `token ${SECRETS.RT_TOKEN}` },
              signal: context.signal,
            })
          : await fetch(stack.kanboard.url, {
              method: "POST",
              headers: { "Content-Type": "application/json" },
              body: JSON.stringify({ jsonrpc: "2.0", method: "getVersion", id: n }),
              signal: context.signal,
            });
      await response.arrayBuffer();
      ran.add(n);
      return { n };
    },
  });
}

function worker(handlers: JobHandler[], systemCaps?: SystemCapsDeps) {
  return createWorker({
    handlers,
    queue,
    records,
    sqs: stack.sqs,
    jobsQueueUrl: stack.resources.jobsQueueUrl,
    logger,
    jobs: { maxAttempts: 2, backoffBaseSeconds: 1, backoffMaxSeconds: 1 },
    systemCaps,
  });
}

/**
 * Feeds the jobs queue to `lambdas` concurrent worker invocations (each a batch of up to 10 records,
 * run in parallel, as Lambda's event source does) until `finished()` or the timeout.
 */
async function runQueue(
  handler: ReturnType<typeof createWorker>,
  finished: () => boolean,
  lambdas = 3,
  timeoutMs = 25_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  await Promise.all(
    Array.from({ length: lambdas }, async () => {
      const source = new SqsEventSource({
        sqs: stack.sqs,
        queueUrl: stack.resources.jobsQueueUrl,
        queueArn: "arn:aws:sqs:us-east-1:000000000000:jobs",
        invoke: (event) => handler(event, lambdaContext()),
        waitSeconds: 0,
      });
      while (!finished() && Date.now() < deadline) {
        if ((await source.pollOnce()) === 0) await sleep(50);
      }
    }),
  );
  if (!finished()) throw new Error("the jobs did not finish in time");
}

/** Caps from the handlers' `systems`, with `instance`'s `maxConcurrentCalls` of each system. */
function caps(
  handlers: JobHandler[],
  instance: string,
  max: Partial<Record<"rt" | "kanboard", number>>,
  slots = new SystemSlots(doc, stack.resources.table),
): SystemCapsDeps {
  const systems = Object.fromEntries(
    Object.entries(max).map(([system, maxConcurrentCalls]) => [
      system,
      { [instance]: { maxConcurrentCalls } },
    ]),
  );
  return { slots, capFor: capsFromHandlers(handlers, () => systems), waitSeconds: () => 0 };
}

/**
 * Counts the SQS calls that put a job back (SendMessage, ChangeMessageVisibility) while `run` runs:
 * a job sent back to wait for a slot makes one.
 */
async function countPutBacks(run: () => Promise<unknown>): Promise<number> {
  let count = 0;
  type Step = (args: { input: unknown }) => Promise<unknown>;
  const name = `countPutBacks-${randomUUID()}`;
  const middleware = (next: Step, context: { commandName?: string }): Step => {
    return (args) => {
      if (
        context.commandName === "SendMessageCommand" ||
        context.commandName === "ChangeMessageVisibilityCommand"
      )
        count += 1;
      return next(args);
    };
  };
  stack.sqs.middlewareStack.add(middleware as never, { step: "initialize", name });
  try {
    await run();
  } finally {
    stack.sqs.middlewareStack.remove(name);
  }
  return count;
}

async function expectDoneInOneAttempt(jobs: JobMessage[]): Promise<void> {
  for (const job of jobs) {
    expect(await records.get(job.id), job.id).toMatchObject({ status: "done", attempts: 1 });
  }
  const letters = await readDeadLetters(stack.sqs, stack.resources.deadLetterQueueUrl);
  const ids = new Set(jobs.map((job) => job.id));
  expect(letters.filter((l) => l.kind === "letter" && ids.has(l.letter.job.id))).toEqual([]);
}

describe("the worker with system caps", () => {
  it("lets the fake see every call at once without a cap (the count the capped runs are held to)", async () => {
    const ran = new Set<number>();
    const instance = randomUUID().slice(0, 8);
    const job = callingJob("test.rt-uncapped", "rt", ran, instance);
    stack.rt.failNext(8, { kind: "delay", ms: 600 });
    const jobs = Array.from({ length: 8 }, (_, n) => newJob(job.type, { n }));
    const batch = jobs.map((j) => sqsRecord({ messageId: `m-${j.id}`, body: JSON.stringify(j) }));
    await worker([job])({ Records: batch }, lambdaContext());
    expect(ran.size).toBe(8);
    expect(stack.rt.maxInFlight).toBeGreaterThan(3);
  });

  it("never lets more calls than the cap reach RT, and runs every job once, none dead-lettered", async () => {
    const ran = new Set<number>();
    const instance = randomUUID().slice(0, 8);
    const job = callingJob("test.rt-capped", "rt", ran, instance);
    const jobs = Array.from({ length: 18 }, (_, n) => newJob(job.type, { n }));
    stack.rt.failNext(jobs.length, { kind: "delay", ms: 300 });
    for (const j of jobs) await queue.send(j);

    await runQueue(worker([job], caps([job], instance, { rt: 3 })), () => ran.size === jobs.length);

    expect(stack.rt.maxInFlight).toBeLessThanOrEqual(3);
    expect(stack.rt.maxInFlight).toBeGreaterThanOrEqual(2);
    // Waiting for a slot is no attempt: every job is done at its first.
    await expectDoneInOneAttempt(jobs);
  });

  it("caps RT and Kanboard each at its own limit when their jobs run together", async () => {
    const ran = new Set<number>();
    const instance = randomUUID().slice(0, 8);
    const rtJob = callingJob("test.rt-mixed", "rt", ran, instance);
    const boardJob = callingJob("test.kanboard-mixed", "kanboard", ran, instance);
    const jobs = Array.from({ length: 16 }, (_, n) => newJob(n % 2 ? rtJob.type : boardJob.type, { n }));
    stack.rt.failNext(8, { kind: "delay", ms: 200 });
    stack.kanboard.failNext(8, { kind: "delay", ms: 200 });
    for (const j of jobs) await queue.send(j);

    const handlers = [rtJob, boardJob];
    await runQueue(
      worker(handlers, caps(handlers, instance, { rt: 1, kanboard: 3 })),
      () => ran.size === jobs.length,
    );

    expect(stack.rt.maxInFlight).toBe(1);
    expect(stack.kanboard.maxInFlight).toBeLessThanOrEqual(3);
    await expectDoneInOneAttempt(jobs);
  });

  it("runs a batch of 10 against a cap of 2 two at a time, sending no job back to the queue", async () => {
    const ran = new Set<number>();
    const instance = randomUUID().slice(0, 8);
    const job = callingJob("test.rt-batch", "rt", ran, instance);
    const jobs = Array.from({ length: 10 }, (_, n) => newJob(job.type, { n }));
    stack.rt.failNext(jobs.length, { kind: "delay", ms: 100 });
    const batch = jobs.map((j) => sqsRecord({ messageId: `m-${j.id}`, body: JSON.stringify(j) }));
    const run = worker([job], caps([job], instance, { rt: 2 }));

    let response: Awaited<ReturnType<typeof run>> | undefined;
    const putBacks = await countPutBacks(async () => {
      response = await run({ Records: batch }, lambdaContext());
    });

    expect(response?.batchItemFailures).toEqual([]);
    expect(putBacks).toBe(0);
    expect(ran.size).toBe(10);
    expect(stack.rt.maxInFlight).toBe(2);
    await expectDoneInOneAttempt(jobs);
  });

  it("waits in place for a slot another function holds, and runs the job once it is given back", async () => {
    const slots = new SystemSlots(doc, stack.resources.table);
    const ran = new Set<number>();
    const instance = randomUUID().slice(0, 8);
    const job = callingJob("test.rt-wait-in-place", "rt", ran, instance);
    const run = worker([job], caps([job], instance, { rt: 1 }, slots));
    const other = await slots.acquire([{ system: `rt:${instance}`, max: 1 }], "other-function", 60_000);
    if (other.kind !== "held") throw new Error("expected the other function to take the slot");

    const message = newJob(job.type, { n: 1 });
    const record = sqsRecord({ messageId: `m-${message.id}`, body: JSON.stringify(message) });
    const putBacks = await countPutBacks(async () => {
      const running = run({ Records: [record] }, lambdaContext());
      await sleep(400);
      expect(ran.size).toBe(0);
      await slots.release(other.hold);
      expect((await running).batchItemFailures).toEqual([]);
    });

    expect(putBacks).toBe(0);
    expect([...ran]).toEqual([1]);
    await expectDoneInOneAttempt([message]);
  });

  it("puts back a job whose system is full without an attempt, and runs it once a crashed holder's lease is out", async () => {
    let now = Date.now();
    const slots = new SystemSlots(doc, stack.resources.table, { now: () => now });
    const ran = new Set<number>();
    const instance = randomUUID().slice(0, 8);
    const rtJob = callingJob("test.rt-crash", "rt", ran, instance);
    const boardJob = callingJob("test.kanboard-crash", "kanboard", ran, instance);
    const handlers = [rtJob, boardJob];
    const run = worker(handlers, caps(handlers, instance, { rt: 1, kanboard: 1 }, slots));
    // A worker took RT's only slot and died: it never gives it back.
    expect((await slots.acquire([{ system: `rt:${instance}`, max: 1 }], "crashed", 60_000)).kind).toBe(
      "held",
    );

    // Attempt 2 of 2: were the wait an attempt, this job would be dead-lettered.
    const job = { ...newJob(rtJob.type, { n: 1 }), priorAttempts: 1 };
    const record = sqsRecord({ messageId: `m-${job.id}`, body: JSON.stringify(job) });
    const other = newJob(boardJob.type, { n: 2 });
    const otherRecord = sqsRecord({ messageId: `m-${other.id}`, body: JSON.stringify(other) });
    const first = await run({ Records: [record, otherRecord] }, lambdaContext());
    expect(first.batchItemFailures).toEqual([]);
    // Kanboard's cap is its own: its job ran; RT's waits on the queue, its attempts untouched.
    expect([...ran]).toEqual([2]);
    const waiting = await nextQueuedJob(stack);
    expect(waiting).toMatchObject({ id: job.id, priorAttempts: 1, maybeRan: false });
    expect(waiting?.deferrals).toBeUndefined();

    now += 60_000 + 10_000 + 1;
    await run(
      { Records: [sqsRecord({ messageId: "again", body: JSON.stringify(waiting) })] },
      lambdaContext(),
    );
    expect([...ran].sort()).toEqual([1, 2]);
    expect(await records.get(job.id)).toMatchObject({ status: "done", attempts: 2 });
  });
});

describe("the inline attempt with system caps", () => {
  it("queues the job without trying it while its system is full, and runs it when a slot is free", async () => {
    const ran = new Set<number>();
    const instance = randomUUID().slice(0, 8);
    const job = callingJob("test.rt-inline", "rt", ran, instance);
    const systemCaps = caps([job], instance, { rt: 1 });
    const deps = { queue, records, logger, budgetMs: 3000, systemCaps };
    const holder = await systemCaps.slots.acquire([{ system: `rt:${instance}`, max: 1 }], "route-a", 60_000);
    if (holder.kind !== "held") throw new Error("expected the holder to take the slot");

    const message = newJob(job.type, { n: 7 });
    expect(await runInline(message, job, deps)).toEqual({ kind: "queued", jobId: message.id });
    expect(ran.size).toBe(0);
    expect(await nextQueuedJob(stack)).toMatchObject({ id: message.id, priorAttempts: 0, maybeRan: false });

    await systemCaps.slots.release(holder.hold);
    const again = newJob(job.type, { n: 8 });
    expect(await runInline(again, job, deps)).toMatchObject({ kind: "done", result: { n: 8 } });
    // The inline attempt gave its slot back.
    const after = await systemCaps.slots.acquire([{ system: `rt:${instance}`, max: 1 }], "route-b", 60_000);
    expect(after.kind).toBe("held");
    if (after.kind === "held") await systemCaps.slots.release(after.hold);
  });
});

describe("a job done with its systems", () => {
  /** A job that says it is done with RT, then checks whether another taker now gets RT's one slot. */
  function doneEarlyJob(type: string, instance: string, seen: boolean[]) {
    return defineJob({
      type,
      input: v.object({ n: v.number() }),
      systems: () => [{ system: "rt", instance }],
      async run({ n }, context) {
        await context.systemsDone?.();
        await context.systemsDone?.();
        const other = await slotsFor.acquire([{ system: `rt:${instance}`, max: 1 }], `other-${n}`, 60_000);
        seen.push(other.kind === "held");
        if (other.kind === "held") await slotsFor.release(other.hold);
        return { n };
      },
    });
  }
  let slotsFor: SystemSlots;
  beforeAll(() => {
    slotsFor = new SystemSlots(doc, stack.resources.table);
  });

  it("gives its slot back before it ends, inline and in the worker, and only once", async () => {
    const instance = randomUUID().slice(0, 8);
    const seen: boolean[] = [];
    const job = doneEarlyJob("test.rt-done-early", instance, seen);
    const systemCaps = caps([job], instance, { rt: 1 });
    expect(
      await runInline(newJob(job.type, { n: 1 }), job, {
        queue,
        records,
        logger,
        budgetMs: 3000,
        systemCaps,
      }),
    ).toMatchObject({ kind: "done" });
    const run = createWorker({
      handlers: [job],
      queue,
      records,
      sqs: stack.sqs,
      jobsQueueUrl: stack.resources.jobsQueueUrl,
      logger,
      jobs: { maxAttempts: 3, backoffBaseSeconds: 1, backoffMaxSeconds: 1 },
      systemCaps,
    });
    const message = newJob(job.type, { n: 2 });
    expect(
      await run({ Records: [sqsRecord({ messageId: "m", body: JSON.stringify(message) })] }, lambdaContext()),
    ).toEqual({ batchItemFailures: [] });
    // Inside each run another taker got RT's only slot: the job had given it back.
    expect(seen).toEqual([true, true]);
    // And nothing is held after: the slot is free (a second give-back freed nothing it did not hold).
    const after = await slotsFor.acquire([{ system: `rt:${instance}`, max: 1 }], "after", 60_000);
    expect(after.kind).toBe("held");
    if (after.kind === "held") await slotsFor.release(after.hold);
  });
});

describe("the backfill tool with system caps", () => {
  it("holds RT's slots for each ticket it projects, so RT never sees more calls than its cap", async () => {
    const { backfillBoard } = await import("../../lib/sync/rt-kanban/backfill.ts");
    const tickets = Array.from({ length: 10 }, (_, i) =>
      stack.rt.personCreates({ queue: "General", subject: `Backfilled ${i}` }),
    );
    stack.rt.takeScripCalls();
    stack.rt.failNext(500, { kind: "delay", ms: 50 });

    const summary = await backfillBoard({ logger, concurrency: 8 });

    expect(summary).toMatchObject({ tickets: 10, created: 10, failed: [] });
    expect(
      stack.kanboard
        .tasks()
        .map((task) => task.reference)
        .sort(),
    ).toEqual(tickets.map((t) => `RT#${t.id}`).sort());
    expect(stack.rt.maxInFlight).toBeLessThanOrEqual(2);
    expect(stack.kanboard.maxInFlight).toBeLessThanOrEqual(4);
  });
});

describe("a scheduled run with system caps", () => {
  it("waits for a slot of the system it polls, and fails the run once half its time is spent", async () => {
    const slots = new SystemSlots(doc, stack.resources.table);
    const rtMain = [{ system: "rt:main", max: 2 }];
    const holders = await Promise.all([
      slots.acquire(rtMain, "job-1", 60_000),
      slots.acquire(rtMain, "job-2", 60_000),
    ]);
    const held = holders.flatMap((h) => (h.kind === "held" ? [h.hold] : []));
    expect(held).toHaveLength(2);
    const uses = [{ system: "rt", instance: "main" }];
    let polls = 0;
    const poll = async () => ++polls;
    try {
      await expect(
        runScheduled(uses, "poll-rt", { getRemainingTimeInMillis: () => 1000 }, poll, logger),
      ).rejects.toBeInstanceOf(UpstreamRetryableError);
      expect(polls).toBe(0);

      // Once a slot is free, the poll runs.
      const waiting = runScheduled(uses, "poll-rt", { getRemainingTimeInMillis: () => 60_000 }, poll, logger);
      await slots.release(held.shift()!);
      expect(await waiting).toBe(1);
      // …and gives its slot back.
      const again = await slots.acquire(rtMain, "job-3", 60_000);
      expect(again.kind).toBe("held");
      if (again.kind === "held") held.push(again.hold);
    } finally {
      await Promise.all(held.map((hold) => slots.release(hold)));
    }
  });
});
