import { inject } from "vitest";
import { buildStack, type Stack, type StackOptions } from "../../infra/sandbox/stack.ts";

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
