import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { GetParametersCommand, SSMClient } from "@aws-sdk/client-ssm";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";

/**
 * Cold-start floor of the JobStatusRole function: DynamoDB, and the SSM client its route secret comes
 * from in a deployed stage (its module loaded, no client built: the benchmark's secrets are in the
 * environment).
 */
export const clients = [
  DynamoDBDocumentClient.from(new DynamoDBClient({}), { marshallOptions: { removeUndefinedValues: true } }),
];
export const ssm = [SSMClient, GetParametersCommand];

export const handler = async () => ({ statusCode: 200, body: "" });
