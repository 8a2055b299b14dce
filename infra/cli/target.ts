import { dirname, isAbsolute, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { GetQueueUrlCommand, SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { SQS_OPTIONS } from "../../lib/core/aws.ts";
import { loadConfigFile } from "../../lib/core/config.ts";
import { ValidationError } from "../../lib/core/errors.ts";
import type { OpsDeps } from "../../lib/ops/deps.ts";
import { loadEnvFile, SANDBOX_ENV } from "../tools/stack-env.ts";

/** The project root: the CLI's default files (config/…) are found from here, whatever the working directory. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** A queue known by its URL (given) or by its name (resolved with GetQueueUrl). */
export type QueueRef = { url: string } | { name: string };

/** Where the CLI works: every name it needs, before any AWS call. */
export interface Target {
  /** "local": the `npm start` stack (or what the environment names); "stage": a deployed stage. */
  kind: "local" | "stage";
  /** Shown to the operator: `local stack`, `stage prod`. */
  label: string;
  jobsQueue: QueueRef;
  deadLetterQueue: QueueRef;
  table: string;
  configPath: string;
  /** Set in the process environment before anything reads it (endpoints, region, the SSM prefix). */
  env: Record<string, string>;
  /** A KEY=value file of sandbox secrets, read for the variables the environment does not set. */
  secretsFile?: string;
}

export interface TargetOptions {
  stage?: string | undefined;
  region?: string | undefined;
}

const STAGE_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

/**
 * Maps the global options and the environment to a target, without touching AWS.
 * `--stage <name>` names a deployed stage as serverless.yml and infra/resources.yml name its parts:
 * queues deskbridge-<stage>-jobs and -jobs-dlq, table deskbridge-<stage>-links, config/<stage>.json,
 * secrets in SSM under /deskbridge/<stage>/, the region and credentials from the usual chain (or
 * --region), and no local endpoints. Without it, the local `npm start` stack: the emulators' ports
 * (SQS_PORT, DYNAMODB_PORT), its deskbridge-local-* table and queues, config/sandbox.json and the
 * sandbox secrets; JOBS_QUEUE_URL, DEAD_LETTER_QUEUE_URL, LINKS_TABLE, DESKBRIDGE_CONFIG and
 * AWS_ENDPOINT_URL_* override those when set (a stack of one's own, the tests').
 */
export function resolveTarget(options: TargetOptions, env: NodeJS.ProcessEnv = process.env): Target {
  const region = options.region ?? undefined;
  if (region !== undefined && !/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region)) {
    throw new ValidationError([{ path: "--region", message: `is not an AWS region name: ${region}` }]);
  }
  if (options.stage !== undefined) {
    const stage = options.stage;
    if (!STAGE_NAME.test(stage)) {
      throw new ValidationError([
        { path: "--stage", message: "must be lower-case letters, digits and - (a serverless stage name)" },
      ]);
    }
    return {
      kind: "stage",
      label: `stage ${stage}`,
      jobsQueue: { name: `deskbridge-${stage}-jobs` },
      deadLetterQueue: { name: `deskbridge-${stage}-jobs-dlq` },
      table: `deskbridge-${stage}-links`,
      configPath: resolve(ROOT, `config/${stage}.json`),
      env: { DESKBRIDGE_SSM_PREFIX: `/deskbridge/${stage}/`, ...(region ? { AWS_REGION: region } : {}) },
    };
  }
  const explicit = Boolean(env.JOBS_QUEUE_URL);
  return {
    kind: "local",
    label: explicit ? "the stack named by JOBS_QUEUE_URL" : "local stack",
    jobsQueue: env.JOBS_QUEUE_URL ? { url: env.JOBS_QUEUE_URL } : { name: "deskbridge-local-jobs" },
    deadLetterQueue: env.DEAD_LETTER_QUEUE_URL
      ? { url: env.DEAD_LETTER_QUEUE_URL }
      : { name: "deskbridge-local-jobs-dlq" },
    table: env.LINKS_TABLE || "deskbridge-local-links",
    configPath: env.DESKBRIDGE_CONFIG
      ? isAbsolute(env.DESKBRIDGE_CONFIG)
        ? env.DESKBRIDGE_CONFIG
        : resolve(env.DESKBRIDGE_CONFIG)
      : resolve(ROOT, "config/sandbox.json"),
    env: {
      AWS_REGION: region ?? (env.AWS_REGION || "us-east-1"),
      AWS_ACCESS_KEY_ID: env.AWS_ACCESS_KEY_ID || "local",
      AWS_SECRET_ACCESS_KEY: env.AWS_SECRET_ACCESS_KEY || "local",
      AWS_ENDPOINT_URL_SQS: env.AWS_ENDPOINT_URL_SQS || `http://127.0.0.1:${env.SQS_PORT || 9324}`,
      AWS_ENDPOINT_URL_DYNAMODB:
        env.AWS_ENDPOINT_URL_DYNAMODB || `http://127.0.0.1:${env.DYNAMODB_PORT || 8000}`,
    },
    // A stack named by the environment brings its own secrets (the sandbox's would not fit it).
    ...(explicit ? {} : { secretsFile: resolve(ROOT, SANDBOX_ENV) }),
  };
}

/** The resolved target: names turned into URLs, and the clients the commands share. */
export interface Connection extends OpsDeps {
  target: Target;
}

/**
 * Points this process at the target (the library code reads its table, queues and config file from
 * the environment, as a Lambda function does) and builds the data layer's dependencies explicitly.
 */
export async function connect(target: Target): Promise<Connection> {
  if (target.secretsFile) loadEnvFile(target.secretsFile);
  Object.assign(process.env, target.env);
  const sqs = new SQSClient(SQS_OPTIONS);
  const queueUrl = async (queue: QueueRef) =>
    "url" in queue
      ? queue.url
      : ((await sqs.send(new GetQueueUrlCommand({ QueueName: queue.name }))).QueueUrl ?? "");
  const [jobsQueueUrl, deadLetterQueueUrl] = await Promise.all([
    queueUrl(target.jobsQueue),
    queueUrl(target.deadLetterQueue),
  ]);
  Object.assign(process.env, {
    JOBS_QUEUE_URL: jobsQueueUrl,
    DEAD_LETTER_QUEUE_URL: deadLetterQueueUrl,
    LINKS_TABLE: target.table,
    DESKBRIDGE_CONFIG: target.configPath,
  });
  const config = loadConfigFile(target.configPath);
  return {
    target,
    db: DynamoDBDocumentClient.from(new DynamoDBClient({}), {
      marshallOptions: { removeUndefinedValues: true },
    }),
    table: target.table,
    sqs,
    jobsQueueUrl,
    deadLetterQueueUrl,
    config,
  };
}
