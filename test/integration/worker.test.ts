import { Logger } from "@aws-lambda-powertools/logger";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import * as v from "valibot";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sqsRecord } from "../../infra/local/events.ts";
import { InProgressError } from "../../lib/core/errors.ts";
import { MAX_DEFERRALS } from "../../lib/jobs/defer.ts";
import { defineJob, type JobMessage } from "../../lib/jobs/model.ts";
import { JobQueue, newJob } from "../../lib/jobs/queue.ts";
import { JobRecords } from "../../lib/jobs/records.ts";
import { readDeadLetters } from "../../lib/jobs/replay.ts";
import { createWorker } from "../../lib/jobs/worker.ts";
import { lambdaContext, nextQueuedJob, type Stack, setupStack } from "../helpers/stack.ts";

let stack: Stack;
let queue: JobQueue;
let records: JobRecords;

beforeAll(async () => {
  stack = await setupStack();
  queue = new JobQueue(stack.sqs, stack.resources.jobsQueueUrl, stack.resources.deadLetterQueueUrl);
  records = new JobRecords(DynamoDBDocumentClient.from(stack.dynamo), stack.resources.table, 1);
});
afterAll(() => stack.close());

/** A level-triggered job that counts its runs and fails as `failures` says, run by run. */
function countingJob(failures: Array<Error | undefined> = []) {
  const runs: string[] = [];
  const job = defineJob({
    type: "test.sync",
    input: v.object({ ticket: v.string() }),
    key: ({ ticket }) => ticket,
    async run({ ticket }) {
      const failure = failures[runs.length];
      runs.push(ticket);
      if (failure) throw failure;
      return { synced: ticket };
    },
  });
  return { job, runs };
}

function worker(handler: ReturnType<typeof countingJob>["job"], maxAttempts = 2) {
  return createWorker({
    handlers: [handler],
    queue,
    records,
    sqs: stack.sqs,
    jobsQueueUrl: stack.resources.jobsQueueUrl,
    logger: new Logger({ logLevel: "SILENT" }),
    jobs: { maxAttempts, backoffBaseSeconds: 1, backoffMaxSeconds: 1 },
  });
}

const record = (job: JobMessage) => sqsRecord({ messageId: `m-${job.id}`, body: JSON.stringify(job) });

describe("the worker", () => {
  it("runs one job per business key in a batch and counts the others done", async () => {
    const { job, runs } = countingJob();
    const batch = [
      ...Array.from({ length: 5 }, () => newJob("test.sync", { ticket: "A" })),
      newJob("test.sync", { ticket: "B" }),
    ];
    const response = await worker(job)({ Records: batch.map((j) => record(j)) }, lambdaContext());
    expect(response.batchItemFailures).toEqual([]);
    expect(runs.sort()).toEqual(["A", "B"]);
    const primary = batch[0]!.id;
    expect(await records.get(batch[3]!.id)).toMatchObject({
      status: "done",
      result: { coalesced_into: primary },
    });
    expect(await records.get(primary)).toMatchObject({ status: "done", result: { synced: "A" } });
  });

  it("puts back a job whose work another job holds, without counting an attempt", async () => {
    const { job, runs } = countingJob([new InProgressError("another job is synchronising this link")]);
    const message = { ...newJob("test.sync", { ticket: "C" }), priorAttempts: 1 };
    // maxAttempts 2 and this is attempt 2: a real failure would dead-letter it.
    const response = await worker(job, 2)({ Records: [record(message)] }, lambdaContext());
    expect(response.batchItemFailures).toEqual([]);
    expect(runs).toEqual(["C"]);
    const requeued = await nextQueuedJob(stack);
    expect(requeued).toMatchObject({ id: message.id, priorAttempts: 1, deferrals: 1, maybeRan: true });
    expect(await readDeadLetters(stack.sqs, stack.resources.deadLetterQueueUrl)).toHaveLength(0);
  });

  it("counts the conflict as an attempt once the job has waited its fill", async () => {
    const { job } = countingJob([new InProgressError("held")]);
    const message = { ...newJob("test.sync", { ticket: "D" }), priorAttempts: 1, deferrals: MAX_DEFERRALS };
    await worker(job, 2)({ Records: [record(message)] }, lambdaContext());
    const letters = await readDeadLetters(stack.sqs, stack.resources.deadLetterQueueUrl, { id: message.id });
    expect(letters).toHaveLength(1);
    const [letter] = letters;
    if (letter?.kind !== "letter") throw new Error("expected a dead letter");
    expect(letter.letter).toMatchObject({ attempts: 2, lastError: { code: "in_progress" } });
  });
});
