/**
 * `npm run replay`: moves dead letters back onto the jobs queue.
 *   npm run replay -- --dry-run          list what is in the dead-letter queue, change nothing
 *   npm run replay                       replay every dead letter
 *   npm run replay -- --id <job id>      replay one job
 *   npm run replay -- --type glpi-forms.create-ticket
 * Queue URLs come from JOBS_QUEUE_URL and DEAD_LETTER_QUEUE_URL, and the table (whose job status records
 * go back to "pending") from LINKS_TABLE; the defaults are the local stack's. Against a deployed stage,
 * set them from the stack outputs and use the usual AWS credentials.
 */
import { parseArgs } from "node:util";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { GetQueueUrlCommand, SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { SQS_OPTIONS } from "../../lib/core/aws.ts";
import type { DeadLetter } from "../../lib/jobs/model.ts";
import { JobQueue } from "../../lib/jobs/queue.ts";
import { JobRecords } from "../../lib/jobs/records.ts";
import { readDeadLetters, replayDeadLetters } from "../../lib/jobs/replay.ts";

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      "dry-run": { type: "boolean", default: false },
      id: { type: "string" },
      type: { type: "string" },
      limit: { type: "string" },
    },
  });
  const local = !process.env.JOBS_QUEUE_URL;
  if (local) {
    Object.assign(process.env, {
      AWS_REGION: process.env.AWS_REGION ?? "us-east-1",
      AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? "local",
      AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? "local",
      AWS_ENDPOINT_URL_SQS:
        process.env.AWS_ENDPOINT_URL_SQS || `http://127.0.0.1:${process.env.SQS_PORT ?? 9324}`,
      AWS_ENDPOINT_URL_DYNAMODB:
        process.env.AWS_ENDPOINT_URL_DYNAMODB || `http://127.0.0.1:${process.env.DYNAMODB_PORT ?? 8000}`,
    });
  }
  const sqs = new SQSClient(SQS_OPTIONS);
  const queueUrl = async (name: string) =>
    (await sqs.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl ?? "";
  const jobsUrl = process.env.JOBS_QUEUE_URL || (await queueUrl("deskbridge-local-jobs"));
  const deadUrl = process.env.DEAD_LETTER_QUEUE_URL || (await queueUrl("deskbridge-local-jobs-dlq"));
  const filter = { id: values.id, type: values.type, limit: values.limit ? Number(values.limit) : undefined };

  if (values["dry-run"]) {
    const letters = await readDeadLetters(sqs, deadUrl, filter);
    if (letters.length === 0) console.log("The dead-letter queue is empty.");
    for (const letter of letters) {
      console.log(
        letter.kind === "letter"
          ? describe(letter.letter)
          : `${letter.messageId}  (unreadable message, left in place)`,
      );
    }
    console.log(`\n${letters.length} dead letter(s); nothing was changed (dry run).`);
    return;
  }
  const queue = new JobQueue(sqs, jobsUrl, deadUrl);
  const table = process.env.LINKS_TABLE ?? (local ? "deskbridge-local-links" : undefined);
  const records = table
    ? new JobRecords(DynamoDBDocumentClient.from(new DynamoDBClient({})), table, 14)
    : undefined;
  const replayed = await replayDeadLetters(sqs, queue, deadUrl, { ...filter, records });
  for (const letter of replayed) console.log(`replayed ${describe(letter)}`);
  console.log(`\n${replayed.length} job(s) moved back to the jobs queue.`);
}

function describe({ job, attempts, lastError, failedAt }: DeadLetter): string {
  return `${job.id}  ${job.type}  attempts=${attempts}  failed ${failedAt}  ${lastError.code}: ${lastError.message}`;
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
