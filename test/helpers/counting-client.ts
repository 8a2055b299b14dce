import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";

/** A document client that sends through `db` and records each command's class name, in order. */
export function countingClient(db: DynamoDBDocumentClient): {
  client: DynamoDBDocumentClient;
  sent: string[];
} {
  const sent: string[] = [];
  const client = {
    send: (command: { constructor: { name: string } }) => {
      sent.push(command.constructor.name);
      return db.send(command as never);
    },
  } as unknown as DynamoDBDocumentClient;
  return { client, sent };
}
