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
 * links are), and its SQS requests. A route that queues its job adds the worker's share: one more
 * invocation billed at the job's duration (a batch of one: what a quiet queue delivers), the job's
 * DynamoDB calls, and the event source's receive and delete of the message (2 SQS requests). Durations
 * are measured against local fakes that answer at once: a real helpdesk's latency adds to the Lambda
 * that calls it (the worker's, for queued jobs).
 */
export function costPerMillion(profile: EventProfile): CostRow {
  const units = (calls: EventProfile["aws"]) => ({
    reads: calls.filter((c) => c.service === "dynamodb" && /Get|Query/.test(c.command)).length,
    writes: calls.filter((c) => c.service === "dynamodb" && /Put|Update|Delete/.test(c.command)).length,
    sqs: calls.filter((c) => c.service === "sqs").length,
  });
  const ack = units(profile.aws);
  const job = profile.worker ? units(profile.worker.aws) : { reads: 0, writes: 0, sqs: 0 };
  const reads = ack.reads + job.reads;
  const writes = ack.writes + job.writes;
  const sqsCalls = ack.sqs + job.sqs + (profile.worker ? 2 : 0);
  const billed = (ms: number) => Math.max(1, Math.ceil(ms));
  const invocation = (ms: number) =>
    PRICES.lambdaRequest + (billed(ms) / 1000) * MEMORY_GB * PRICES.lambdaGbSecondArm;
  const lambda =
    invocation(profile.durationMs) + (profile.worker ? invocation(profile.worker.durationMs) : 0);
  const apiGateway = PRICES.httpApiRequest;
  const dynamo = reads * PRICES.dynamoReadUnit + writes * PRICES.dynamoWriteUnit;
  const sqs = sqsCalls * PRICES.sqsRequest;
  const million = (x: number) => x * 1e6;
  const time = profile.worker
    ? `ack ${billed(profile.durationMs)} ms + worker ${billed(profile.worker.durationMs)} ms`
    : `${billed(profile.durationMs)} ms inline`;
  return {
    route: profile.route,
    integration: profile.integration,
    lambda: million(lambda),
    apiGateway: million(apiGateway),
    dynamo: million(dynamo),
    sqs: million(sqs),
    total: million(lambda + apiGateway + dynamo + sqs),
    basis: `${time}, ${reads} read(s), ${writes} write(s), ${sqsCalls} SQS`,
  };
}
