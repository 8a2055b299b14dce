import { SQSClient } from "@aws-sdk/client-sqs";
import { describe, expect, it } from "vitest";
import { deadLetterUrls, JobQueue, parseIntegrationQueues } from "../../lib/jobs/queue.ts";

const RT = { jobs: "http://q/rt", deadLetters: "http://q/rt-dlq" };

describe("JOB_QUEUES", () => {
  it("reads each integration's pair, and nothing when unset", () => {
    expect(parseIntegrationQueues(JSON.stringify({ "rt-kanban": RT }))).toEqual({ "rt-kanban": RT });
    expect(parseIntegrationQueues(undefined)).toEqual({});
    expect(parseIntegrationQueues("")).toEqual({});
  });

  it("fails at once, naming the variable, when it is not what serverless.yml writes", () => {
    expect(() => parseIntegrationQueues("{")).toThrow(/JOB_QUEUES is not JSON/);
    expect(() => parseIntegrationQueues(JSON.stringify({ "rt-kanban": { jobs: "http://q/rt" } }))).toThrow(
      /JOB_QUEUES/,
    );
  });
});

describe("JobQueue", () => {
  const queue = new JobQueue(new SQSClient({ region: "us-east-1" }), "http://q/jobs", "http://q/dlq", {
    "rt-kanban": RT,
  });

  it("sends a job to its integration's pair, by the job type's prefix", () => {
    expect(queue.pairOf("rt-kanban.ticket")).toEqual(RT);
  });

  it("sends a job of an integration without its own pair to the shared one", () => {
    expect(queue.pairOf("glpi-forms.create-ticket")).toEqual({
      jobs: "http://q/jobs",
      deadLetters: "http://q/dlq",
    });
  });

  it("lists every dead-letter queue once, the shared one first", () => {
    expect(
      deadLetterUrls("http://q/dlq", { "rt-kanban": RT, other: { jobs: "x", deadLetters: "http://q/dlq" } }),
    ).toEqual(["http://q/dlq", "http://q/rt-dlq"]);
  });
});
