/**
 * The worker Lambda in a process of its own, fed by the local SQS event source, for tests that kill
 * it mid-job (SIGKILL: no exception, no cleanup, its message left in flight). Its environment is the
 * test stack's (config, table, queues, emulator endpoints, secrets).
 */
import { SQSClient } from "@aws-sdk/client-sqs";
import { lambdaContext } from "../../infra/local/events.ts";
import { SqsEventSource } from "../../infra/local/sqs-event-source.ts";
import { SQS_OPTIONS } from "../../lib/core/aws.ts";

const { handler } = await import("../../infra/sandbox/every-job-worker.ts");
const source = new SqsEventSource({
  sqs: new SQSClient(SQS_OPTIONS),
  queueUrl: process.env.JOBS_QUEUE_URL ?? "",
  queueArn: "arn:aws:sqs:us-east-1:000000000000:jobs",
  invoke: (event) => handler(event, lambdaContext()),
  waitSeconds: 1,
});
source.start();
// The pid that runs the jobs: the test checks that its SIGKILL ended this very process.
process.stdout.write(`ready ${process.pid}\n`);
