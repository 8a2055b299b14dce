import { randomUUID } from "node:crypto";
import type { APIGatewayProxyEventV2, Context, SQSRecord } from "aws-lambda";

/** A Lambda context with the parts the functions use. */
export function lambdaContext(remainingMs = 60_000): Context {
  const deadline = Date.now() + remainingMs;
  return {
    awsRequestId: randomUUID(),
    functionName: "test",
    getRemainingTimeInMillis: () => deadline - Date.now(),
  } as unknown as Context;
}

/** An API Gateway HTTP API (payload 2.0) event. */
export function httpEvent(input: {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: unknown;
  rawBody?: string;
  pathParameters?: Record<string, string>;
  query?: Record<string, string>;
}): APIGatewayProxyEventV2 {
  const body = input.rawBody ?? (input.body === undefined ? undefined : JSON.stringify(input.body));
  return {
    version: "2.0",
    routeKey: `${input.method} ${input.path}`,
    rawPath: input.path,
    rawQueryString: new URLSearchParams(input.query ?? {}).toString(),
    headers: input.headers ?? {},
    queryStringParameters: input.query,
    pathParameters: input.pathParameters,
    body,
    isBase64Encoded: false,
    requestContext: {
      accountId: "000000000000",
      apiId: "local",
      domainName: "localhost",
      domainPrefix: "localhost",
      http: {
        method: input.method,
        path: input.path,
        protocol: "HTTP/1.1",
        sourceIp: "127.0.0.1",
        userAgent: "vitest",
      },
      requestId: randomUUID(),
      routeKey: `${input.method} ${input.path}`,
      stage: "$default",
      time: new Date().toISOString(),
      timeEpoch: Date.now(),
    },
  } as APIGatewayProxyEventV2;
}

/** An SQS record as Lambda's event source mapping delivers it. */
export function sqsRecord(input: {
  messageId: string;
  body: string;
  receiptHandle?: string;
  receiveCount?: number;
}): SQSRecord {
  return {
    messageId: input.messageId,
    receiptHandle: input.receiptHandle ?? "not-a-real-handle",
    body: input.body,
    attributes: {
      ApproximateReceiveCount: String(input.receiveCount ?? 1),
      SentTimestamp: "0",
      SenderId: "x",
      ApproximateFirstReceiveTimestamp: "0",
    },
    messageAttributes: {},
    md5OfBody: "",
    eventSource: "aws:sqs",
    eventSourceARN: "arn:aws:sqs:us-east-1:000000000000:jobs",
    awsRegion: "us-east-1",
  };
}
