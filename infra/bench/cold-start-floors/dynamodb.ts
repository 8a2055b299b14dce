import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";

/** Cold-start floor of the JobStatusRole function: DynamoDB only. */
export const clients = [
  DynamoDBDocumentClient.from(new DynamoDBClient({}), { marshallOptions: { removeUndefinedValues: true } }),
];

export const handler = async () => ({ statusCode: 200, body: "" });
