import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { dynamo, sqs } from "../../lib/core/aws.ts";

/** One DynamoDB or SQS call the bridge made, with its request as sent (what a floor replays). */
export interface AwsCall {
  service: "dynamodb" | "sqs";
  command: string;
  /** The low-level input (DynamoDB attribute values already marshalled). */
  input: Record<string, unknown>;
}

/** The shape of a build-step middleware, written out so the bench needs no transitive @smithy package. */
type Recorder = (
  next: (args: { input: unknown }) => Promise<unknown>,
  context: { commandName?: string },
) => (args: { input: unknown }) => Promise<unknown>;

let recording: AwsCall[] | undefined;
let installed = false;

/**
 * Records the DynamoDB and SQS calls of the bridge's shared clients (lib/core/aws.ts) while `run`
 * runs: what a route's floor replays, and what its cost is computed from. Recorded at the build
 * step, so after the document client has marshalled the input (just before the serializer).
 */
export async function recordAwsCalls<T>(run: () => Promise<T>): Promise<{ result: T; calls: AwsCall[] }> {
  if (!installed) {
    const recorder =
      (service: AwsCall["service"]): Recorder =>
      (next, context) =>
      async (args) => {
        recording?.push({
          service,
          command: String(context.commandName),
          input: structuredClone(args.input as Record<string, unknown>),
        });
        return next(args);
      };
    const options = { step: "build", priority: "high", name: "benchRecorder" } as const;
    dynamo().middlewareStack.add(recorder("dynamodb") as never, options);
    sqs().middlewareStack.add(recorder("sqs") as never, options);
    installed = true;
  }
  const calls: AwsCall[] = [];
  recording = calls;
  try {
    return { result: await run(), calls };
  } finally {
    recording = undefined;
  }
}

const DYNAMO_COMMANDS = {
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  QueryCommand,
  DeleteItemCommand,
} as const;

/**
 * The floor of a route: the very DynamoDB and SQS requests it made, sent again one after another on
 * the same table and queue, and nothing else (no parsing, no validation, no vendor). A conditional
 * write replayed on an item that now exists fails its condition, which costs the table the same read.
 */
export function floorHandler(calls: readonly AwsCall[]): () => Promise<void> {
  const client = dynamo();
  return async () => {
    for (const call of calls) {
      if (call.service === "sqs") {
        if (call.command !== "SendMessageCommand") throw new Error(`the floor cannot replay ${call.command}`);
        await sqs().send(new SendMessageCommand(call.input as never));
        continue;
      }
      const Command = DYNAMO_COMMANDS[call.command as keyof typeof DYNAMO_COMMANDS] as
        | (new (
            input: never,
          ) => GetItemCommand)
        | undefined;
      if (!Command) throw new Error(`the floor cannot replay ${call.command}`);
      try {
        await client.send(new Command(call.input as never));
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    }
  };
}
