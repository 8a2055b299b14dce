import { randomUUID } from "node:crypto";
import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { DeadLetter, JobMessage } from "./model.ts";

/** Sends jobs to the jobs queue and dead letters to the dead-letter queue. */
export class JobQueue {
  constructor(
    private readonly client: SQSClient,
    private readonly jobsUrl: string,
    private readonly deadLetterUrl: string,
  ) {}

  async send(job: JobMessage, delaySeconds = 0): Promise<void> {
    await this.client.send(
      new SendMessageCommand({
        QueueUrl: this.jobsUrl,
        MessageBody: JSON.stringify(job),
        DelaySeconds: Math.min(900, delaySeconds),
        MessageAttributes: { jobType: { DataType: "String", StringValue: job.type } },
      }),
    );
  }

  async sendDeadLetter(letter: DeadLetter): Promise<void> {
    await this.client.send(
      new SendMessageCommand({
        QueueUrl: this.deadLetterUrl,
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
