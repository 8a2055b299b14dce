import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";

/** Calls the worker Lambda with one SQS event; resolves to its response, rejects on a function error. */
export type InvokeWorker = (event: SQSEvent) => Promise<SQSBatchResponse | undefined | null | undefined>;

export interface EventSourceOptions {
  sqs: SQSClient;
  queueUrl: string;
  queueArn: string;
  invoke: InvokeWorker;
  batchSize?: number;
  /** Long-poll wait per receive, in seconds. */
  waitSeconds?: number;
  region?: string;
  /**
   * How many batches may be in the worker at once, like the event source mapping's
   * `maximumConcurrency` (default 1: one batch after the other).
   */
  maximumConcurrency?: number;
  onError?: (error: unknown) => void;
}

/**
 * A local stand-in for Lambda's SQS event source mapping (serverless-offline has none that works with
 * fauxqs). Same semantics: receive up to `batchSize` messages, invoke the worker with them, delete the
 * ones that succeeded; the ones listed in `batchItemFailures` (or all of them, if the invocation
 * failed) stay on the queue until their visibility timeout ends, and SQS's redrive policy moves a
 * message to the dead-letter queue after `maxReceiveCount` receives. `maximumConcurrency` pollers run
 * side by side, so no more invocations than that are ever in flight.
 */
export class SqsEventSource {
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly abort = new AbortController();

  constructor(private readonly options: EventSourceOptions) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    const pollers = Math.max(1, this.options.maximumConcurrency ?? 1);
    this.loop = Promise.all(Array.from({ length: pollers }, () => this.poll())).then(() => undefined);
  }

  async stop(): Promise<void> {
    this.running = false;
    this.abort.abort();
    await this.loop;
  }

  /** Receives one batch and processes it; returns how many messages were received. */
  async pollOnce(): Promise<number> {
    const { sqs, queueUrl } = this.options;
    const received = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: this.options.batchSize ?? 10,
        WaitTimeSeconds: this.options.waitSeconds ?? 1,
        MessageSystemAttributeNames: ["All"],
        MessageAttributeNames: ["All"],
      }),
      { abortSignal: this.abort.signal },
    );
    const messages = received.Messages ?? [];
    if (messages.length === 0) return 0;
    const event: SQSEvent = { Records: messages.map((message) => this.toRecord(message)) };
    let failed: Set<string>;
    try {
      const response = await this.options.invoke(event);
      failed = new Set((response?.batchItemFailures ?? []).map((failure) => failure.itemIdentifier));
    } catch (error) {
      // A function error: Lambda leaves the whole batch on the queue.
      this.options.onError?.(error);
      return messages.length;
    }
    const done = messages.filter((message) => message.MessageId && !failed.has(message.MessageId));
    if (done.length > 0) {
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: done.map((message, i) => ({ Id: String(i), ReceiptHandle: message.ReceiptHandle })),
        }),
      );
    }
    return messages.length;
  }

  private async poll(): Promise<void> {
    while (this.running) {
      try {
        await this.pollOnce();
      } catch (error) {
        if (!this.running) return;
        this.options.onError?.(error);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }

  private toRecord(message: Message): SQSRecord {
    const attributes = message.Attributes ?? {};
    return {
      messageId: message.MessageId ?? "",
      receiptHandle: message.ReceiptHandle ?? "",
      body: message.Body ?? "",
      attributes: {
        ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? "1",
        SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
        SenderId: attributes.SenderId ?? "local",
        ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
      },
      messageAttributes: Object.fromEntries(
        Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [
          name,
          { dataType: value.DataType ?? "String", stringValue: value.StringValue },
        ]),
      ),
      md5OfBody: message.MD5OfBody ?? "",
      eventSource: "aws:sqs",
      eventSourceARN: this.options.queueArn,
      awsRegion: this.options.region ?? "us-east-1",
    };
  }
}
