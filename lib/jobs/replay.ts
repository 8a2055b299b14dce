import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import * as v from "valibot";
import { type DeadLetter, DeadLetterSchema, JobMessageSchema } from "./model.ts";
import type { JobQueue } from "./queue.ts";
import type { JobRecords } from "./records.ts";

/** A message of a dead-letter queue, with the queue it sits in (`queueUrl`). */
export type ReadLetter =
  | { kind: "letter"; queueUrl: string; messageId: string; receiptHandle: string; letter: DeadLetter }
  | { kind: "unreadable"; queueUrl: string; messageId: string; receiptHandle: string };

export interface LetterFilter {
  id?: string | undefined;
  type?: string | undefined;
  limit?: number | undefined;
}

/** How long listed messages stay hidden while a listing or replay runs through the queue. */
const HOLD_SECONDS = 60;

/**
 * Reads the dead-letter queues (one URL, or each integration's: `deadLetterUrls` in queue.ts), one
 * after the other, listing their letters in that order. Messages are held invisible while the listing runs (so each is seen
 * once) and then made visible again: reading changes nothing. Messages that SQS's redrive policy moved
 * there (raw job messages, without an error) are shown as dead letters with an unknown error.
 */
export async function readDeadLetters(
  sqs: SQSClient,
  deadLetterUrls: string | readonly string[],
  filter: LetterFilter = {},
): Promise<ReadLetter[]> {
  const seen: ReadLetter[] = [];
  for (const url of [deadLetterUrls].flat()) seen.push(...(await readQueue(sqs, url)));
  const matching = seen.filter(
    (letter) =>
      letter.kind === "unreadable" ||
      ((filter.id === undefined || letter.letter.job.id === filter.id) &&
        (filter.type === undefined || letter.letter.job.type === filter.type)),
  );
  return filter.limit === undefined ? matching : matching.slice(0, filter.limit);
}

async function readQueue(sqs: SQSClient, deadLetterUrl: string): Promise<ReadLetter[]> {
  const seen: ReadLetter[] = [];
  const held: Message[] = [];
  try {
    for (;;) {
      const out = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: deadLetterUrl,
          MaxNumberOfMessages: 10,
          VisibilityTimeout: HOLD_SECONDS,
          WaitTimeSeconds: 0,
          MessageSystemAttributeNames: ["ApproximateReceiveCount"],
        }),
      );
      const messages = out.Messages ?? [];
      if (messages.length === 0) break;
      held.push(...messages);
      for (const message of messages) seen.push(toLetter(message, deadLetterUrl));
    }
  } finally {
    await release(sqs, deadLetterUrl, held);
  }
  return seen;
}

/**
 * Sends matching dead letters back to their integration's jobs queue (JobQueue picks it) as fresh jobs (attempts start again, and the job
 * searches before creating, since an earlier attempt may have done part of it), then deletes them
 * from the dead-letter queue (sending first: a crash in between replays a job twice, which a
 * level-triggered job absorbs, rather than losing it). Unreadable messages are left where they are.
 */
export async function replayDeadLetters(
  sqs: SQSClient,
  queue: JobQueue,
  deadLetterUrls: string | readonly string[],
  options: LetterFilter & {
    records?: JobRecords | undefined;
    /** Called before the first and after each replayed letter (a progress bar). */
    onProgress?: ((done: number, total: number) => void) | undefined;
  } = {},
): Promise<DeadLetter[]> {
  const letters = (await readDeadLetters(sqs, deadLetterUrls, options)).filter(
    (letter) => letter.kind === "letter",
  );
  const replayed: DeadLetter[] = [];
  options.onProgress?.(0, letters.length);
  for (const letter of letters) {
    // A replay starts both clocks afresh: its attempts, and the outage it was dead-lettered for.
    const { outageSince: _since, outages: _outages, heldBy: _heldBy, ...job } = letter.letter.job;
    await queue.send({
      ...job,
      priorAttempts: 0,
      maybeRan: true,
      origin: "replay",
      enqueuedAt: new Date().toISOString(),
    });
    await options.records?.pending(letter.letter.job.id, letter.letter.job.type, 0, { reset: true });
    await deleteByMessageId(sqs, letter.queueUrl, letter.messageId);
    replayed.push(letter.letter);
    options.onProgress?.(replayed.length, letters.length);
  }
  return replayed;
}

async function deleteByMessageId(sqs: SQSClient, url: string, messageId: string): Promise<void> {
  const held: Message[] = [];
  try {
    for (;;) {
      const out = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: url,
          MaxNumberOfMessages: 10,
          VisibilityTimeout: HOLD_SECONDS,
        }),
      );
      const messages = out.Messages ?? [];
      if (messages.length === 0) return;
      const match = messages.find((message) => message.MessageId === messageId);
      // The rest of the batch is released with the others held so far (not hidden for HOLD_SECONDS).
      held.push(...messages.filter((message) => message !== match));
      if (match) {
        await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: match.ReceiptHandle }));
        return;
      }
    }
  } finally {
    await release(sqs, url, held);
  }
}

async function release(sqs: SQSClient, url: string, messages: Message[]): Promise<void> {
  for (let i = 0; i < messages.length; i += 10) {
    const batch = messages.slice(i, i + 10);
    await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: url,
        Entries: batch.map((message, j) => ({
          Id: String(j),
          ReceiptHandle: message.ReceiptHandle,
          VisibilityTimeout: 0,
        })),
      }),
    );
  }
}

function toLetter(message: Message, queueUrl: string): ReadLetter {
  const ids = { queueUrl, messageId: message.MessageId ?? "", receiptHandle: message.ReceiptHandle ?? "" };
  let body: unknown;
  try {
    body = JSON.parse(message.Body ?? "");
  } catch {
    return { kind: "unreadable", ...ids };
  }
  const letter = v.safeParse(DeadLetterSchema, body);
  if (letter.success) return { kind: "letter", ...ids, letter: letter.output };
  // Moved by the redrive policy: a raw job message that the worker never finished.
  const job = v.safeParse(JobMessageSchema, body);
  if (job.success) {
    const attempts = job.output.priorAttempts + Number(message.Attributes?.ApproximateReceiveCount ?? 0);
    return {
      kind: "letter",
      ...ids,
      letter: {
        deadLetter: 1,
        job: job.output,
        attempts,
        lastError: {
          code: "redriven",
          message: "moved by the queue's redrive policy (the worker crashed or timed out)",
        },
        failedAt: "unknown",
      },
    };
  }
  return { kind: "unreadable", ...ids };
}
