import { randomUUID } from "node:crypto";
import { Logger } from "@aws-lambda-powertools/logger";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import * as v from "valibot";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sqsRecord } from "../../infra/local/events.ts";
import { UpstreamPermanentError, UpstreamRetryableError } from "../../lib/core/errors.ts";
import { systemStatuses } from "../../lib/jobs/breakers.ts";
import { defineJob, type JobMessage } from "../../lib/jobs/model.ts";
import { JobQueue, newJob } from "../../lib/jobs/queue.ts";
import { JobRecords } from "../../lib/jobs/records.ts";
import { readDeadLetters } from "../../lib/jobs/replay.ts";
import { runInline } from "../../lib/jobs/runner.ts";
import { capsFromHandlers } from "../../lib/jobs/system-caps.ts";
import { createWorker } from "../../lib/jobs/worker.ts";
import { SystemBreakers } from "../../lib/links/system-breakers.ts";
import { SystemSlots } from "../../lib/links/system-slots.ts";
import { countingClient } from "../helpers/counting-client.ts";
import { lambdaContext, nextQueuedJob, type Stack, setupStack } from "../helpers/stack.ts";

let stack: Stack;
let doc: DynamoDBDocumentClient;
let queue: JobQueue;
let records: JobRecords;
const logger = new Logger({ logLevel: "SILENT" });

beforeAll(async () => {
  stack = await setupStack();
  doc = DynamoDBDocumentClient.from(stack.dynamo);
  queue = new JobQueue(stack.sqs, stack.resources.jobsQueueUrl, stack.resources.deadLetterQueueUrl);
  records = new JobRecords(doc, stack.resources.table, 1);
});
afterAll(() => stack.close());

/** A job calling `instance` of the system "desk": it fails as `outcomes` says, run by run (then succeeds). */
function deskJob(instance: string, outcomes: Array<Error | undefined> = []) {
  const runs: number[] = [];
  const job = defineJob({
    type: "test.desk",
    input: v.object({ n: v.number() }),
    systems: () => [{ system: "desk", instance }],
    async run({ n }) {
      const outcome = outcomes[runs.length];
      runs.push(n);
      if (outcome) throw outcome;
      return { n };
    },
  });
  return { job, runs };
}

const down = (instance: string) =>
  new UpstreamRetryableError({ system: `desk:${instance}` }, "connection refused");
const record = (job: JobMessage) => sqsRecord({ messageId: `m-${job.id}`, body: JSON.stringify(job) });

function breakersFor(
  threshold = 2,
  probeIntervalMs = 60_000,
  now?: () => number,
  options: { trustHealthyMs?: number; db?: DynamoDBDocumentClient } = {},
) {
  return new SystemBreakers(
    options.db ?? doc,
    stack.resources.table,
    () => ({ failureThreshold: threshold, probeIntervalMs, trustHealthyMs: options.trustHealthyMs ?? 0 }),
    {
      ...(now ? { now } : {}),
    },
  );
}

function worker(handler: ReturnType<typeof deskJob>["job"], breakers: SystemBreakers, maxAttempts = 1) {
  return createWorker({
    handlers: [handler],
    queue,
    records,
    sqs: stack.sqs,
    jobsQueueUrl: stack.resources.jobsQueueUrl,
    logger,
    jobs: {
      maxAttempts,
      backoffBaseSeconds: 1,
      backoffMaxSeconds: 1,
      outageBackoffMaxSeconds: 1,
      breaker: { failureThreshold: 2, probeIntervalSeconds: 60, waitSeconds: 1, trustHealthySeconds: 0 },
    },
    systemCaps: {
      slots: new SystemSlots(doc, stack.resources.table),
      breakers,
      capFor: capsFromHandlers([handler], () => ({})),
    },
  });
}

describe("the breaker of a system", () => {
  it("opens after failureThreshold outages in a row, and a success in between starts the count again", async () => {
    const breakers = breakersFor(3);
    const system = `desk:${randomUUID().slice(0, 8)}`;
    await breakers.failed(system);
    await breakers.failed(system);
    await breakers.answered(system, (await breakers.read([system])).get(system));
    await breakers.failed(system);
    expect((await breakers.read([system])).get(system)).toMatchObject({ state: "closed", failures: 1 });
    await breakers.failed(system);
    const opened = await breakers.failed(system);
    expect(opened).toMatchObject({ state: "open", failures: 3 });
    expect((await breakers.read([system])).get(system)?.openedAt).toBeTypeOf("number");
  });

  it("lets one probe through per interval, however many workers ask at once, and closes when it answers", async () => {
    let now = Date.parse("2026-01-01T00:00:00Z");
    const breakers = breakersFor(1, 60_000, () => now);
    const system = `desk:${randomUUID().slice(0, 8)}`;
    await breakers.failed(system);
    const ask = async () => {
      const seen = (await breakers.read([system])).get(system);
      return breakers.gate(system, seen, randomUUID(), 10_000);
    };
    expect((await Promise.all(Array.from({ length: 8 }, ask))).every((g) => g.kind === "wait")).toBe(true);

    now += 60_000;
    const gates = await Promise.all(Array.from({ length: 8 }, ask));
    expect(gates.filter((g) => g.kind === "pass")).toHaveLength(1);
    // The probe failed: the next one waits for the next interval, not for its lease.
    await breakers.failed(system);
    now += 59_999;
    expect((await ask()).kind).toBe("wait");
    now += 1;
    const probe = await ask();
    expect(probe).toMatchObject({ kind: "pass", probe: true });
    await breakers.answered(system, probe.seen);
    expect(await ask()).toMatchObject({ kind: "pass", probe: false });
    expect((await breakers.read([system])).get(system)).toMatchObject({
      state: "closed",
      failures: 0,
      probes: 2,
    });
  });
});

describe("a function's trust in a system it saw healthy", () => {
  it("skips the read for trustHealthyMs after a clean read or an answer; a failure, or an open breaker, is not trusted", async () => {
    let now = Date.parse("2026-01-01T00:00:00Z");
    const { client: db, sent: reads } = countingClient(doc);
    const breakers = breakersFor(2, 60_000, () => now, { trustHealthyMs: 1000, db });
    const other = breakersFor(2, 60_000, () => now);
    const system = `desk:${randomUUID().slice(0, 8)}`;
    const batchGets = () => reads.filter((name) => name === "BatchGetCommand").length;

    expect((await breakers.current([system])).size).toBe(0);
    expect(batchGets()).toBe(1);
    // Within the second: no read, even though another function has meanwhile opened the breaker.
    await other.failed(system);
    await other.failed(system);
    now += 999;
    expect((await breakers.current([system])).size).toBe(0);
    expect(batchGets()).toBe(1);
    // Past it: read, found open, and from then on read every time.
    now += 1;
    expect((await breakers.current([system])).get(system)?.state).toBe("open");
    expect((await breakers.current([system])).get(system)?.state).toBe("open");
    expect(batchGets()).toBe(3);
    // An answer of its own (a probe that closed it) is trusted again at once.
    await breakers.answered(system, (await breakers.read([system])).get(system));
    const before = batchGets();
    expect((await breakers.current([system])).size).toBe(0);
    expect(batchGets()).toBe(before);
    // A failure seen here ends the trust: the next job reads the breaker.
    await breakers.failed(system);
    expect((await breakers.current([system])).get(system)).toMatchObject({ state: "closed", failures: 1 });
    expect(batchGets()).toBe(before + 1);
    // The status page's read is never cached.
    await breakers.read([system]);
    expect(batchGets()).toBe(before + 2);
  });
});

describe("the systems' states the status page shows", () => {
  it("says up, failing (outages in a row) or down since its breaker opened, with the jobs held for it", async () => {
    const breakers = breakersFor(2);
    const [up, failing, down] = ["up", "failing", "down"].map(
      (name) => `desk:${name}-${randomUUID().slice(0, 8)}`,
    );
    await breakers.failed(failing!);
    await breakers.failed(down!);
    const opened = await breakers.failed(down!);
    await breakers.held(down!, opened.openedAt ?? 0);
    await breakers.held(down!, opened.openedAt ?? 0);
    const statuses = await systemStatuses(breakers, [up!, failing!, down!]);
    expect(statuses).toEqual([
      { system: up, state: "up", failures: 0 },
      { system: failing, state: "failing", failures: 1 },
      {
        system: down,
        state: "down",
        failures: 2,
        downSince: new Date(opened.openedAt ?? 0).toISOString(),
        jobsWaiting: 2,
        probes: 0,
        nextProbeAt: expect.any(String),
      },
    ]);
  });
});

describe("the worker's two clocks", () => {
  it("retries an outage without using an attempt, where a refusal is dead-lettered at once", async () => {
    const instance = randomUUID().slice(0, 8);
    const { job, runs } = deskJob(instance, [down(instance)]);
    const message = newJob("test.desk", { n: 1 });
    // maxAttempts 1: a counted failure would dead-letter it.
    await worker(job, breakersFor(5))({ Records: [record(message)] }, lambdaContext());
    expect(runs).toEqual([1]);
    const requeued = await nextQueuedJob(stack);
    expect(requeued).toMatchObject({ id: message.id, priorAttempts: 0, outages: 1, maybeRan: true });
    expect(Date.parse(requeued?.outageSince ?? "")).toBeGreaterThan(Date.now() - 60_000);
    expect(await readDeadLetters(stack.sqs, stack.resources.deadLetterQueueUrl, { id: message.id })).toEqual(
      [],
    );

    const refused = deskJob(instance, [
      new UpstreamPermanentError(
        { system: `desk:${instance}`, status: 422 },
        "desk refused the request: bad state",
      ),
    ]);
    const refusal = newJob("test.desk", { n: 2 });
    await worker(refused.job, breakersFor(5), 8)({ Records: [record(refusal)] }, lambdaContext());
    const [letter] = await readDeadLetters(stack.sqs, stack.resources.deadLetterQueueUrl, { id: refusal.id });
    if (letter?.kind !== "letter") throw new Error("expected the refusal in the dead-letter queue");
    expect(letter.letter).toMatchObject({ attempts: 1, lastError: { code: "upstream_refused" } });
  });

  it("dead-letters an outage that outlasts the horizon, with its last error", async () => {
    const instance = randomUUID().slice(0, 8);
    const { job } = deskJob(instance, [down(instance)]);
    const message = {
      ...newJob("test.desk", { n: 3 }),
      outageSince: new Date(Date.now() - 97 * 3_600_000).toISOString(),
    };
    await worker(job, breakersFor(5))({ Records: [record(message)] }, lambdaContext());
    const [letter] = await readDeadLetters(stack.sqs, stack.resources.deadLetterQueueUrl, { id: message.id });
    if (letter?.kind !== "letter") throw new Error("expected a dead letter");
    expect(letter.letter.lastError).toMatchObject({
      code: "upstream_unavailable",
      upstream: { system: `desk:${instance}` },
    });
  });

  it("holds a job whose system's breaker is open on the queue, without running it or using an attempt", async () => {
    const instance = randomUUID().slice(0, 8);
    const breakers = breakersFor(1);
    await breakers.failed(`desk:${instance}`);
    const { job, runs } = deskJob(instance);
    const message = { ...newJob("test.desk", { n: 4 }), priorAttempts: 0 };
    await worker(job, breakers)({ Records: [record(message)] }, lambdaContext());
    expect(runs).toEqual([]);
    const held = await nextQueuedJob(stack, 15_000);
    const state = (await breakers.read([`desk:${instance}`])).get(`desk:${instance}`);
    expect(held).toMatchObject({ id: message.id, priorAttempts: 0, heldBy: state?.openedAt });
    expect(state).toMatchObject({ state: "open", waiting: 1 });
  });

  it("queues a form at once, without trying, when its system's breaker is open", async () => {
    const instance = randomUUID().slice(0, 8);
    const breakers = breakersFor(1);
    await breakers.failed(`desk:${instance}`);
    const { job, runs } = deskJob(instance);
    const started = Date.now();
    const outcome = await runInline(newJob("test.desk", { n: 5 }), job, {
      queue,
      records,
      logger,
      budgetMs: 3000,
      systemCaps: {
        slots: new SystemSlots(doc, stack.resources.table),
        breakers,
        capFor: capsFromHandlers([job], () => ({})),
      },
    });
    expect(outcome.kind).toBe("queued");
    expect(runs).toEqual([]);
    expect(Date.now() - started).toBeLessThan(3000);
    const queued = await nextQueuedJob(stack);
    expect(queued).toMatchObject({ priorAttempts: 0 });
    expect(queued?.outageSince).toBeTypeOf("string");
  });
});
