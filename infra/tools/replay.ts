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
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { DeadLetter } from "../../lib/jobs/model.ts";
import { JobQueue } from "../../lib/jobs/queue.ts";
import { JobRecords } from "../../lib/jobs/records.ts";
import { readDeadLetters, replayDeadLetters } from "../../lib/jobs/replay.ts";
import { stackEnv } from "./stack-env.ts";

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      "dry-run": { type: "boolean", default: false },
      id: { type: "string" },
      type: { type: "string" },
      limit: { type: "string" },
    },
  });
  const { sqs, jobsQueueUrl: jobsUrl, deadLetterQueueUrl: deadUrl, table } = await stackEnv();
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
