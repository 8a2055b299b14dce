import { SQSClient } from "@aws-sdk/client-sqs";

/**
 * Cold-start floor of the DrainRole function (the drain of the shared jobs queue): the SQS client it
 * moves jobs with, and nothing else (it reads no table and no secret).
 */
export const clients = [new SQSClient({ useQueueUrlAsEndpoint: false })];

export const handler = async () => ({ statusCode: 200, body: "" });
