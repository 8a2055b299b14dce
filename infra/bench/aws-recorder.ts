import {
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { dynamo, requiredEnv, sqs } from "../../lib/core/aws.ts";

/** One DynamoDB or SQS call a route made: which operation, on what (the bench replays its kind). */
export interface AwsCall {
  service: "dynamodb" | "sqs";
  command: string;
}

let recording: AwsCall[] | undefined;
let installed = false;

/**
 * Records the DynamoDB and SQS calls of the bridge's shared clients (lib/core/aws.ts) while `run`
 * runs: what a route's floor replays, and what its cost is computed from.
 */
export async function recordAwsCalls<T>(run: () => Promise<T>): Promise<{ result: T; calls: AwsCall[] }> {
  if (!installed) {
    dynamo().middlewareStack.add(
      (next, context) => async (args) => {
        recording?.push({ service: "dynamodb", command: String(context.commandName) });
        return next(args);
      },
      { step: "initialize", name: "benchRecorder" },
    );
    sqs().middlewareStack.add(
      (next, context) => async (args) => {
        recording?.push({ service: "sqs", command: String(context.commandName) });
        return next(args);
      },
      { step: "initialize", name: "benchRecorder" },
    );
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

let counter = 0;

/**
 * The floor of a route: the same kinds of DynamoDB and SQS calls, one after another as the route
 * makes them, on the same table and queue, and nothing else (no parsing, no validation, no vendor).
 */
export function floorHandler(calls: readonly AwsCall[]): () => Promise<void> {
  const table = requiredEnv("LINKS_TABLE");
  const queueUrl = requiredEnv("JOBS_QUEUE_URL");
  const client = dynamo();
  return async () => {
    const key = `bench#floor#${process.pid}#${counter++}`;
    for (const call of calls) {
      if (call.service === "sqs") {
        await sqs().send(
          new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: "{}", DelaySeconds: 900 }),
        );
        continue;
      }
      const Key = { pk: { S: key } };
      switch (call.command) {
        case "GetItemCommand":
          await client.send(new GetItemCommand({ TableName: table, Key, ConsistentRead: true }));
          break;
        case "PutItemCommand":
          await client.send(new PutItemCommand({ TableName: table, Item: { ...Key, v: { N: "1" } } }));
          break;
        case "UpdateItemCommand":
          await client.send(
            new UpdateItemCommand({
              TableName: table,
              Key,
              UpdateExpression: "SET v = :v",
              ExpressionAttributeValues: { ":v": { N: "2" } },
            }),
          );
          break;
        case "QueryCommand":
          await client.send(
            new QueryCommand({
              TableName: table,
              IndexName: "byTarget",
              KeyConditionExpression: "targetKey = :t",
              ExpressionAttributeValues: { ":t": { S: key } },
            }),
          );
          break;
        case "DeleteItemCommand":
          await client.send(new DeleteItemCommand({ TableName: table, Key }));
          break;
        default:
          throw new Error(`the floor cannot replay ${call.command}`);
      }
    }
  };
}
