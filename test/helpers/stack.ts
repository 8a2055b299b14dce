import { DeleteMessageCommand, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { inject } from "vitest";
import { buildStack, type Stack, type StackOptions } from "../../infra/sandbox/stack.ts";
import type { JobMessage } from "../../lib/jobs/model.ts";

export { httpEvent, lambdaContext } from "../../infra/local/events.ts";
export {
  buildStack,
  CNPJ_SEARCH_OPTION,
  DEVELOPER_KEY,
  SECRETS,
  type Stack,
  type StackOptions,
  SUPPORT_DEPARTMENT,
  type TestConfig,
} from "../../infra/sandbox/stack.ts";

/**
 * A fresh stack for one test file: its own table and queues on the shared emulators, the fakes, a
 * config file pointing at them, and the environment the functions read. Import handlers after this.
 */
export function setupStack(options: StackOptions = {}): Promise<Stack> {
  return buildStack({ dynamo: inject("dynamoEndpoint"), sqs: inject("sqsEndpoint") }, options);
}

/**
 * Reads the GLPI fake's entities into the forms' entity directory, as its refresh job does: the forms
 * sent next find their customers in it and queue no refresh of their own.
 */
export async function warmEntityDirectory(): Promise<void> {
  const { glpiFormsDeps } = await import("../../lib/sync/glpi-forms/deps.ts");
  await (await glpiFormsDeps()).entities.refresh({ force: true });
}

/** The next job on the stack's shared jobs queue (deferred jobs wait a few seconds), taken off the queue. */
export async function nextQueuedJob(stack: Stack, timeoutMs = 10_000): Promise<JobMessage | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const out = await stack.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: stack.resources.jobsQueueUrl, WaitTimeSeconds: 1 }),
    );
    const [message] = out.Messages ?? [];
    if (message) {
      await stack.sqs.send(
        new DeleteMessageCommand({
          QueueUrl: stack.resources.jobsQueueUrl,
          ReceiptHandle: message.ReceiptHandle,
        }),
      );
      return JSON.parse(message.Body ?? "{}");
    }
  }
  return undefined;
}
