import type { Context, SQSEvent } from "aws-lambda";
import { beforeAll, describe, expect, it, vi } from "vitest";

/** Fake AWS clients: each records the commands it is sent and answers `{}`. */
const built = vi.hoisted(() => ({ sqs: 0, dynamo: 0, sqsCommands: [] as string[] }));
vi.mock("../../lib/core/aws.ts", async (importOriginal) => {
  const original = await importOriginal<typeof import("../../lib/core/aws.ts")>();
  const sqsClient = {
    send: async (command: object) => {
      built.sqsCommands.push(command.constructor.name);
      return {};
    },
  };
  const dynamoClient = { send: async () => ({}) };
  return {
    ...original,
    sqs: () => {
      built.sqs++;
      return sqsClient;
    },
    dynamo: () => {
      built.dynamo++;
      return dynamoClient;
    },
  };
});

const queueUrl = "http://127.0.0.1:1/000000000000/glpi-forms";
const context = { getRemainingTimeInMillis: () => 30_000 } as unknown as Context;

describe("an integration's worker function", () => {
  let handler: (event: SQSEvent, context: Context) => Promise<unknown>;

  beforeAll(async () => {
    process.env.DESKBRIDGE_CONFIG = "config/sandbox.json";
    process.env.LINKS_TABLE = "links";
    process.env.JOBS_QUEUE_URL = "http://127.0.0.1:1/000000000000/jobs";
    process.env.DEAD_LETTER_QUEUE_URL = "http://127.0.0.1:1/000000000000/jobs-dlq";
    process.env.JOB_QUEUES = JSON.stringify({
      "glpi-forms": { jobs: queueUrl, deadLetters: `${queueUrl}-dlq` },
    });
    const { integrationWorker } = await import("../../lib/jobs/worker-function.ts");
    const { glpiForms } = await import("../../lib/sync/glpi-forms/index.ts");
    const { jobs } = await import("../../lib/sync/glpi-forms/jobs.ts");
    handler = integrationWorker(glpiForms, jobs);
  });

  it("builds the DynamoDB client at cold start and the SQS client only when a job needs SQS", async () => {
    expect(built.dynamo).toBeGreaterThan(0);
    expect(built.sqs).toBe(0);
    await handler({ Records: [] }, context);
    expect(built.sqs).toBe(0);

    // A job type no handler knows goes to the dead-letter queue: the first SQS call builds the client.
    const body = JSON.stringify({
      v: 1,
      id: "job-1",
      type: "glpi-forms.nothing",
      input: {},
      origin: "route",
      priorAttempts: 0,
      maybeRan: false,
      enqueuedAt: new Date(0).toISOString(),
    });
    const record = {
      messageId: "m-1",
      receiptHandle: "r-1",
      body,
      attributes: { ApproximateReceiveCount: "1" },
    } as unknown as SQSEvent["Records"][number];
    await expect(handler({ Records: [record] }, context)).resolves.toEqual({ batchItemFailures: [] });
    expect(built.sqs).toBeGreaterThan(0);
    expect(built.sqsCommands).toEqual(["SendMessageCommand"]);
  });
});
