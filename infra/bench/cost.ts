import type { EventProfile } from "./latency.ts";

/**
 * AWS list prices, us-east-1, on-demand, without free tiers (checked 2026-12; update here if they
 * move): Lambda arm64, API Gateway HTTP API, DynamoDB on-demand (after the November 2024 reduction),
 * SQS standard.
 */
export const PRICES = {
  lambdaRequest: 0.2 / 1e6,
  lambdaGbSecondArm: 0.0000133334,
  httpApiRequest: 1.0 / 1e6,
  dynamoWriteUnit: 0.625 / 1e6,
  dynamoReadUnit: 0.125 / 1e6,
  sqsRequest: 0.4 / 1e6,
} as const;

/** The functions' memory (serverless.yml provider.memorySize). */
export const MEMORY_GB = 256 / 1024;

export interface CostRow {
  route: string;
  integration: string;
  lambda: number;
  apiGateway: number;
  dynamo: number;
  sqs: number;
  total: number;
  /** What an event is counted as: its AWS calls, and the billed duration. */
  basis: string;
}

/**
 * Cost per million events of each route, from what one event measured: one HTTP API request, one
 * Lambda invocation billed at its duration (rounded up to the ms, at 256 MB arm64), its DynamoDB reads
 * (strongly consistent: 1 unit each, items under 4 KB) and writes (1 unit each, items under 1 KB, as
 * links are), and its SQS requests. The duration is measured against local fakes that answer at once:
 * a real helpdesk's latency adds to it.
 */
export function costPerMillion(profile: EventProfile): CostRow {
  const reads = profile.aws.filter((c) => c.service === "dynamodb" && /Get|Query/.test(c.command)).length;
  const writes = profile.aws.filter(
    (c) => c.service === "dynamodb" && /Put|Update|Delete/.test(c.command),
  ).length;
  const sqsCalls = profile.aws.filter((c) => c.service === "sqs").length;
  const billedMs = Math.max(1, Math.ceil(profile.durationMs));
  const lambda = PRICES.lambdaRequest + (billedMs / 1000) * MEMORY_GB * PRICES.lambdaGbSecondArm;
  const apiGateway = PRICES.httpApiRequest;
  const dynamo = reads * PRICES.dynamoReadUnit + writes * PRICES.dynamoWriteUnit;
  const sqs = sqsCalls * PRICES.sqsRequest;
  const million = (x: number) => x * 1e6;
  return {
    route: profile.route,
    integration: profile.integration,
    lambda: million(lambda),
    apiGateway: million(apiGateway),
    dynamo: million(dynamo),
    sqs: million(sqs),
    total: million(lambda + apiGateway + dynamo + sqs),
    basis: `${billedMs} ms, ${reads} read(s), ${writes} write(s), ${sqsCalls} SQS`,
  };
}
