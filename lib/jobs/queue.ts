import { randomUUID } from "node:crypto";
import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import * as v from "valibot";
import type { DeadLetter, JobMessage } from "./model.ts";

/** One integration's queue and its dead-letter queue (infra/resources.yml). */
export interface QueuePair {
  jobs: string;
  deadLetters: string;
}

/** Each integration's queues, by integration id (the JOB_QUEUES environment variable). */
export type IntegrationQueues = Readonly<Record<string, QueuePair>>;

/** The integration id a job type belongs to: its prefix (`rt-kanban.ticket` → `rt-kanban`). */
export const integrationIdOf = (jobType: string): string => jobType.split(".")[0] ?? "";

const IntegrationQueuesSchema = v.record(
  v.string(),
  v.strictObject({
    jobs: v.pipe(v.string(), v.minLength(1)),
    deadLetters: v.pipe(v.string(), v.minLength(1)),
  }),
);

/**
 * The JOB_QUEUES environment variable: `{"<integration id>": {"jobs": url, "deadLetters": url}}`
 * (serverless.yml builds it from infra/resources.yml; `npm start` and the sandbox stack from the
 * queues they create). Unset or empty: no integration has its own queues.
 */
export function parseIntegrationQueues(text: string | undefined): IntegrationQueues {
  if (!text) return {};
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error("JOB_QUEUES is not JSON");
  }
  const parsed = v.safeParse(IntegrationQueuesSchema, json);
  if (!parsed.success) throw new Error(`JOB_QUEUES: ${v.summarize(parsed.issues)}`);
  return parsed.output;
}

/** Every dead-letter queue: the shared one and each integration's, each once. */
export function deadLetterUrls(shared: string, queues: IntegrationQueues = {}): string[] {
  return [...new Set([shared, ...Object.values(queues).map((pair) => pair.deadLetters)])].filter(Boolean);
}

/**
 * Sends jobs to their integration's queue and dead letters to its dead-letter queue. A job type whose
 * integration has no queue of its own (no `queues` entry) uses the shared pair: the old jobs queue
 * that the `worker` function drains, and the local and test stacks that name only one pair.
 */
export class JobQueue {
  constructor(
    private readonly client: SQSClient,
    private readonly jobsUrl: string,
    private readonly deadLetterUrl: string,
    private readonly queues: IntegrationQueues = {},
  ) {}

  /** The queue pair a job type goes to. */
  pairOf(jobType: string): QueuePair {
    return this.queues[integrationIdOf(jobType)] ?? { jobs: this.jobsUrl, deadLetters: this.deadLetterUrl };
  }

  /** The jobs queue of the job type's integration, if it has one of its own (else: undefined). */
  ownQueueOf(jobType: string): string | undefined {
    return this.queues[integrationIdOf(jobType)]?.jobs;
  }

  async send(job: JobMessage, delaySeconds = 0): Promise<void> {
    await this.client.send(
      new SendMessageCommand({
        QueueUrl: this.pairOf(job.type).jobs,
        MessageBody: JSON.stringify(job),
        DelaySeconds: Math.min(900, delaySeconds),
        MessageAttributes: { jobType: { DataType: "String", StringValue: job.type } },
      }),
    );
  }

  async sendDeadLetter(letter: DeadLetter): Promise<void> {
    await this.client.send(
      new SendMessageCommand({
        QueueUrl: this.pairOf(letter.job.type).deadLetters,
        MessageBody: JSON.stringify(letter),
        MessageAttributes: {
          jobType: { DataType: "String", StringValue: letter.job.type },
          errorCode: { DataType: "String", StringValue: letter.lastError.code },
        },
      }),
    );
  }
}

/** A new job message for a route or poller. */
export function newJob(
  type: string,
  input: unknown,
  options: { id?: string; origin?: JobMessage["origin"] } = {},
): JobMessage {
  return {
    v: 1,
    id: options.id ?? randomUUID(),
    type,
    input,
    priorAttempts: 0,
    maybeRan: false,
    enqueuedAt: new Date().toISOString(),
    origin: options.origin ?? "route",
  };
}
