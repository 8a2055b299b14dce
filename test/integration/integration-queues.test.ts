import {
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { sqsRecord } from "../../infra/local/events.ts";
import { SqsEventSource } from "../../infra/local/sqs-event-source.ts";
import { JobQueue, newJob } from "../../lib/jobs/queue.ts";
import { readDeadLetters } from "../../lib/jobs/replay.ts";
import { jobRuntime } from "../../lib/jobs/runtime.ts";
import { allDeadLetterUrls, replayDeadLetter } from "../../lib/ops/dead-letters.ts";
import { opsDeps } from "../../lib/ops/deps.ts";
import { statusOverview } from "../../lib/ops/overview.ts";
import { INTEGRATION_IDS } from "../../lib/sync/registry.ts";
import { RT_TICKET_JOB } from "../../lib/sync/rt-kanban/index.ts";
import { type Stack, setupStack } from "../helpers/stack.ts";

/**
 * Each integration's own queue pair (JOB_QUEUES), as a deployed stack has them: jobs go to their
 * integration's queue and its worker runs them, dead letters are read and replayed across all the
 * dead-letter queues, and the drain (functions/worker.ts) moves what an older stack left on the
 * shared queue to them.
 */
let stack: Stack;

beforeAll(async () => {
  stack = await setupStack({ integrationQueues: true });
});
afterAll(() => stack.close());
beforeEach(() => {
  stack.rt.reset();
  stack.kanboard.reset();
});

const queues = () => stack.resources.jobQueues;
const cardOf = (ticketId: number) =>
  stack.kanboard.tasks().find((task) => task.reference === `RT#${ticketId}`);
const depths = async () =>
  Object.fromEntries(
    await Promise.all(
      INTEGRATION_IDS.map(async (id) => [id, await stack.queueDepth(queues()[id]?.jobs ?? "")] as const),
    ),
  );

describe("an integration's own queue", () => {
  it("receives its jobs, and only its worker runs them", async () => {
    expect(Object.keys(queues()).sort()).toEqual([...INTEGRATION_IDS].sort());
    const ticket = stack.rt.personCreates({ queue: "General", subject: "Queued on its own" });
    const job = newJob(RT_TICKET_JOB, { ticketId: ticket.id });
    await jobRuntime().queue.send(job);

    expect(await depths()).toEqual(
      Object.fromEntries(INTEGRATION_IDS.map((id) => [id, id === "rt-kanban" ? 1 : 0])),
    );
    expect(await stack.queueDepth(stack.resources.jobsQueueUrl)).toBe(0);
    expect(cardOf(ticket.id)).toBeUndefined();

    await stack.drainJobs();
    expect(cardOf(ticket.id)).toMatchObject({ title: `#${ticket.id} Queued on its own` });
    expect((await jobRuntime().records.get(job.id))?.status).toBe("done");
  });

  it("keeps its dead letters in its own dead-letter queue; the status page lists them and a replay sends them back there", async () => {
    const job = newJob(RT_TICKET_JOB, { ticketId: -1 }); // not a ticket id: a permanent failure
    await jobRuntime().queue.send(job);
    await stack.drainJobs();

    const rtDeadLetters = queues()["rt-kanban"]?.deadLetters ?? "";
    expect((await readDeadLetters(stack.sqs, rtDeadLetters)).map(idOf)).toEqual([job.id]);
    expect(await readDeadLetters(stack.sqs, stack.resources.deadLetterQueueUrl)).toEqual([]);
    const deps = opsDeps();
    expect(allDeadLetterUrls(deps)).toHaveLength(INTEGRATION_IDS.length + 1);
    const overview = await statusOverview(deps);
    expect(overview.deadLetters.map((letter) => [letter.id, letter.integration])).toEqual([
      [job.id, "rt-kanban"],
    ]);

    expect(await replayDeadLetter(deps, job.id)).toEqual({ replayed: 1 });
    expect(await readDeadLetters(stack.sqs, rtDeadLetters)).toEqual([]);
    const replayed = await stack.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queues()["rt-kanban"]?.jobs, WaitTimeSeconds: 1 }),
    );
    expect(replayed.Messages?.map((message) => JSON.parse(message.Body ?? "{}").id)).toEqual([job.id]);
    await stack.sqs.send(
      new DeleteMessageCommand({
        QueueUrl: queues()["rt-kanban"]?.jobs,
        ReceiptHandle: replayed.Messages?.[0]?.ReceiptHandle,
      }),
    );
  });
});

describe("the shared queue of a stack deployed before (the drain)", () => {
  it("still gets its jobs done: a job message left on it runs, and the queue empties", async () => {
    const ticket = stack.rt.personCreates({ queue: "General", subject: "Left on the old queue" });
    const job = newJob(RT_TICKET_JOB, { ticketId: ticket.id }, { origin: "poller" });
    // As the old JobQueue wrote it: straight onto deskbridge-<stage>-jobs.
    await stack.sqs.send(
      new SendMessageCommand({ QueueUrl: stack.resources.jobsQueueUrl, MessageBody: JSON.stringify(job) }),
    );
    expect(await stack.queueDepth(stack.resources.jobsQueueUrl)).toBe(1);

    await stack.drainJobs();
    expect(cardOf(ticket.id)).toMatchObject({ title: `#${ticket.id} Left on the old queue` });
    expect((await jobRuntime().records.get(job.id))?.status).toBe("done");
    expect(await stack.queueDepth(stack.resources.jobsQueueUrl)).toBe(0);
  });

  it("moves each job to its integration's queue, its receives on the old queue counted as attempts", async () => {
    const { handler: drain } = await import("../../functions/worker.ts");
    const rt = newJob(RT_TICKET_JOB, { ticketId: 41 }, { origin: "poller" });
    const form = newJob("glpi-forms.create-ticket", { submission: {} });
    const out = await drain({
      Records: [
        sqsRecord({ messageId: "m-rt", body: JSON.stringify(rt), receiveCount: 3 }),
        sqsRecord({ messageId: "m-form", body: JSON.stringify(form) }),
      ],
    });
    expect(out.batchItemFailures).toEqual([]);
    const take = async (id: string) => {
      const got = await stack.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queues()[id]?.jobs,
          WaitTimeSeconds: 1,
          MessageAttributeNames: ["All"],
        }),
      );
      for (const message of got.Messages ?? []) {
        await stack.sqs.send(
          new DeleteMessageCommand({ QueueUrl: queues()[id]?.jobs, ReceiptHandle: message.ReceiptHandle }),
        );
      }
      return (got.Messages ?? []).map((message) => ({
        body: JSON.parse(message.Body ?? "{}"),
        type: message.MessageAttributes?.jobType?.StringValue,
      }));
    };
    expect(await take("rt-kanban")).toEqual([{ body: { ...rt, priorAttempts: 2 }, type: RT_TICKET_JOB }]);
    expect(await take("glpi-forms")).toEqual([{ body: form, type: "glpi-forms.create-ticket" }]);
  });

  it("keeps a job no integration takes as a dead letter with its reason, and leaves a message that is no job to the redrive policy", async () => {
    const { handler: drain } = await import("../../functions/worker.ts");
    const orphan = newJob("retired-integration.sync", { id: 1 });
    const out = await drain({
      Records: [
        sqsRecord({ messageId: "m-orphan", body: JSON.stringify(orphan) }),
        sqsRecord({ messageId: "m-junk", body: "not a job" }),
      ],
    });
    expect(out.batchItemFailures).toEqual([{ itemIdentifier: "m-junk" }]);
    const letters = await readDeadLetters(stack.sqs, stack.resources.deadLetterQueueUrl);
    const mine = letters.filter((letter) => letter.kind === "letter" && letter.letter.job.id === orphan.id);
    expect(mine).toHaveLength(1);
    expect(mine[0]?.kind === "letter" && mine[0].letter.lastError).toEqual({
      code: "validation_failed",
      message: "no integration has a queue for job type retired-integration.sync",
    });
    for (const letter of mine) {
      await stack.sqs.send(
        new DeleteMessageCommand({
          QueueUrl: stack.resources.deadLetterQueueUrl,
          ReceiptHandle: letter.receiptHandle,
        }),
      );
    }
  });

  it("leaves the jobs it could not move on the old queue", async () => {
    const { createDrain } = await import("../../lib/jobs/drain.ts");
    const { logger } = await import("../../lib/core/logger.ts");
    const failing = {
      send: async () => {
        throw new Error("SQS is unavailable");
      },
    } as unknown as SQSClient;
    const queue = new JobQueue(
      failing,
      stack.resources.jobsQueueUrl,
      stack.resources.deadLetterQueueUrl,
      queues(),
    );
    const drain = createDrain({ sqs: failing, queue, logger });
    const job = newJob(RT_TICKET_JOB, { ticketId: 7 });
    const out = await drain({ Records: [sqsRecord({ messageId: "m-1", body: JSON.stringify(job) })] });
    expect(out.batchItemFailures).toEqual([{ itemIdentifier: "m-1" }]);
  });
});

describe("the local event source", () => {
  it("never has more batches in the worker than its maximumConcurrency", async () => {
    const url = queues()["glpi-forms"]?.jobs ?? "";
    for (let i = 0; i < 8; i++) {
      await stack.sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: `{"n":${i}}` }));
    }
    let inFlight = 0;
    let most = 0;
    let done = 0;
    const source = new SqsEventSource({
      sqs: stack.sqs,
      queueUrl: url,
      queueArn: "arn:aws:sqs:us-east-1:000000000000:local",
      batchSize: 1,
      waitSeconds: 0,
      maximumConcurrency: 3,
      invoke: async () => {
        inFlight++;
        most = Math.max(most, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 150));
        inFlight--;
        done++;
        return { batchItemFailures: [] };
      },
    });
    source.start();
    const deadline = Date.now() + 10_000;
    while (done < 8 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    await source.stop();
    expect(done).toBe(8);
    expect(most).toBe(3);
  });
});

const idOf = (letter: Awaited<ReturnType<typeof readDeadLetters>>[number]) =>
  letter.kind === "letter" ? letter.letter.job.id : "unreadable";
