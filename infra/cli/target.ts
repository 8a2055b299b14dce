import { dirname, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { GetQueueUrlCommand, QueueDoesNotExist, SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { SQS_OPTIONS } from "../../lib/core/aws.ts";
import { useEveryIntegration } from "../../lib/core/config.ts";
import { ValidationError } from "../../lib/core/errors.ts";
import { type IntegrationQueues, parseIntegrationQueues } from "../../lib/jobs/queue.ts";
import type { OpsDeps } from "../../lib/ops/deps.ts";
import { INTEGRATION_IDS, loadDeploymentConfig, REGISTRY } from "../../lib/sync/registry.ts";
import { readStackFile, stackStateFile } from "../local/stack-state.ts";
import { loadEnvFile } from "../tools/stack-env.ts";

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
  /**
   * Each integration's queue pair, by integration id; a pair known by name that the stage lacks (a
   * stack deployed before integrations had queues of their own) is left out.
   */
  integrationQueues?: Record<string, { jobs: QueueRef; deadLetters: QueueRef }>;
  table: string;
  configPath: string;
  /** Set in the process environment before anything reads it (endpoints, region, the SSM prefix). */
  env: Record<string, string>;
  /** A KEY=value file of sandbox secrets, read for the variables the environment does not set. */
  secretsFile?: string;
  /** Secrets the running stack took from its own environment: this shell needs them too. */
  secretsFromEnvironment?: string[];
}

export interface TargetOptions {
  stage?: string | undefined;
  region?: string | undefined;
}

const STAGE_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** No local stack to work on: the message says what runs where, and what to pass instead. */
export class NoStackError extends Error {
  override readonly name = "NoStackError";
}

const NO_STACK_HINT =
  "start one with `npm start` (in another terminal), or pass --stage <name> for a deployed stage";

/**
 * Maps the global options and the environment to a target, without touching AWS.
 * `--stage <name>` names a deployed stage as serverless.yml and infra/resources.yml name its parts:
 * queues deskbridge-<stage>-jobs and -jobs-dlq (the shared pair, drained since each integration has
 * its own) and deskbridge-<stage>-<integration> and -<integration>-dlq, table deskbridge-<stage>-links, config/<stage>.json,
 * secrets in SSM under /deskbridge/<stage>/, the region and credentials from the usual chain (or
 * --region), and no local endpoints. Without it, the running `npm start` stack, as its state file
 * (.local/stack.json, or DESKBRIDGE_STACK_FILE) describes it: its config, emulator endpoints, table,
 * queues and sandbox secrets file; a NoStackError when none runs. A stack of one's own (the tests')
 * is named whole by the environment instead: JOBS_QUEUE_URL, DEAD_LETTER_QUEUE_URL, JOB_QUEUES, LINKS_TABLE,
 * DESKBRIDGE_CONFIG and AWS_ENDPOINT_URL_*.
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
      integrationQueues: Object.fromEntries(
        INTEGRATION_IDS.map((id) => [
          id,
          {
            jobs: { name: `deskbridge-${stage}-${id}` },
            deadLetters: { name: `deskbridge-${stage}-${id}-dlq` },
          },
        ]),
      ),
      table: `deskbridge-${stage}-links`,
      configPath: resolve(ROOT, `config/${stage}.json`),
      env: { DESKBRIDGE_SSM_PREFIX: `/deskbridge/${stage}/`, ...(region ? { AWS_REGION: region } : {}) },
    };
  }
  const localCredentials = {
    AWS_REGION: region ?? (env.AWS_REGION || "us-east-1"),
    AWS_ACCESS_KEY_ID: env.AWS_ACCESS_KEY_ID || "local",
    AWS_SECRET_ACCESS_KEY: env.AWS_SECRET_ACCESS_KEY || "local",
  };
  if (env.JOBS_QUEUE_URL) {
    const problems = ["DEAD_LETTER_QUEUE_URL", "LINKS_TABLE", "DESKBRIDGE_CONFIG"]
      .filter((name) => !env[name])
      .map((name) => ({
        path: name,
        message: "is required with JOBS_QUEUE_URL (a stack named by the environment)",
      }));
    if (problems.length > 0) throw new ValidationError(problems);
    const endpoints = {
      ...(env.AWS_ENDPOINT_URL_SQS ? { AWS_ENDPOINT_URL_SQS: env.AWS_ENDPOINT_URL_SQS } : {}),
      ...(env.AWS_ENDPOINT_URL_DYNAMODB ? { AWS_ENDPOINT_URL_DYNAMODB: env.AWS_ENDPOINT_URL_DYNAMODB } : {}),
    };
    return {
      kind: "local",
      label: "the stack named by JOBS_QUEUE_URL",
      jobsQueue: { url: env.JOBS_QUEUE_URL },
      deadLetterQueue: { url: env.DEAD_LETTER_QUEUE_URL ?? "" },
      integrationQueues: byUrl(parseIntegrationQueues(env.JOB_QUEUES)),
      table: env.LINKS_TABLE ?? "",
      configPath: resolve(env.DESKBRIDGE_CONFIG ?? ""),
      // Emulators take any credentials; a stack in AWS takes the usual chain's.
      env:
        Object.keys(endpoints).length > 0
          ? { ...localCredentials, ...endpoints }
          : { ...(region ? { AWS_REGION: region } : {}) },
    };
  }
  const file = stackStateFile(env);
  const reading = readStackFile(file);
  if (reading.kind === "absent") throw new NoStackError(`no local stack is running: ${NO_STACK_HINT}`);
  if (reading.kind === "unreadable")
    throw new NoStackError(`${file} is not a stack state file (${reading.reason}): ${NO_STACK_HINT}`);
  const { state } = reading;
  if (reading.kind === "stale") {
    throw new NoStackError(
      `no local stack is running (the one started ${state.startedAt}, process ${state.pid}, is gone): ${NO_STACK_HINT}`,
    );
  }
  if (env.DESKBRIDGE_CONFIG && resolve(env.DESKBRIDGE_CONFIG) !== state.configPath) {
    throw new ValidationError([
      {
        path: "DESKBRIDGE_CONFIG",
        message: `names ${env.DESKBRIDGE_CONFIG}, but the running stack (process ${state.pid}) runs ${shortPath(state.configPath)}: unset it, or stop that stack`,
      },
    ]);
  }
  return {
    kind: "local",
    label: `local stack (process ${state.pid}, ${shortPath(state.configPath)})`,
    jobsQueue: { url: state.jobsQueueUrl },
    deadLetterQueue: { url: state.deadLetterQueueUrl },
    integrationQueues: byUrl(state.jobQueues ?? {}),
    table: state.table,
    configPath: state.configPath,
    env: {
      ...localCredentials,
      AWS_REGION: region ?? state.region,
      AWS_ENDPOINT_URL_SQS: state.sqsEndpoint,
      AWS_ENDPOINT_URL_DYNAMODB: state.dynamoEndpoint,
    },
    ...(state.secretsFile ? { secretsFile: state.secretsFile } : {}),
    secretsFromEnvironment: state.secretsFromEnvironment,
  };
}

const byUrl = (queues: IntegrationQueues) =>
  Object.fromEntries(
    Object.entries(queues).map(([id, pair]) => [
      id,
      { jobs: { url: pair.jobs }, deadLetters: { url: pair.deadLetters } },
    ]),
  );

/** A path inside the project relative to it (config/sandbox.json), any other one whole. */
const shortPath = (path: string) => (path.startsWith(`${ROOT}${sep}`) ? relative(ROOT, path) : path);

/** The resolved target: names turned into URLs, and the clients the commands share. */
export interface Connection extends OpsDeps {
  target: Target;
}

/**
 * Points this process at the target (the library code reads its table, queues and config file from
 * the environment, as a Lambda function does) and builds the data layer's dependencies explicitly.
 */
export async function connect(target: Target): Promise<Connection> {
  // A secret the stack took from its own environment is not read from the sandbox file: that value
  // would be the sandbox's, not the one the stack uses.
  const missing = (target.secretsFromEnvironment ?? []).filter((name) => !process.env[name]);
  if (target.secretsFile) loadEnvFile(target.secretsFile, new Set(missing));
  if (missing.length > 0) {
    const them = missing.length > 1 ? "them" : "it";
    process.stderr.write(
      `deskbridge: the running stack read ${missing.join(", ")} from its environment; this shell does not set ${them}, so calls that need ${them} will fail\n`,
    );
  }
  Object.assign(process.env, target.env);
  const sqs = new SQSClient(SQS_OPTIONS);
  const queueUrl = async (queue: QueueRef) =>
    "url" in queue
      ? queue.url
      : ((await sqs.send(new GetQueueUrlCommand({ QueueName: queue.name }))).QueueUrl ?? "");
  const [jobsQueueUrl, deadLetterQueueUrl, jobQueues] = await Promise.all([
    queueUrl(target.jobsQueue),
    queueUrl(target.deadLetterQueue),
    integrationQueueUrls(target, queueUrl),
  ]);
  Object.assign(process.env, {
    JOBS_QUEUE_URL: jobsQueueUrl,
    DEAD_LETTER_QUEUE_URL: deadLetterQueueUrl,
    JOB_QUEUES: JSON.stringify(jobQueues),
    LINKS_TABLE: target.table,
    DESKBRIDGE_CONFIG: target.configPath,
  });
  const config = loadDeploymentConfig(target.configPath);
  // The commands run any integration's code in this process, reading the config as a function would.
  useEveryIntegration(REGISTRY);
  return {
    target,
    db: DynamoDBDocumentClient.from(new DynamoDBClient({}), {
      marshallOptions: { removeUndefinedValues: true },
    }),
    table: target.table,
    sqs,
    jobsQueueUrl,
    deadLetterQueueUrl,
    jobQueues,
    config,
  };
}

/** The URLs of the target's integration queues; a pair the stage does not have yet is left out. */
async function integrationQueueUrls(
  target: Target,
  queueUrl: (queue: QueueRef) => Promise<string>,
): Promise<IntegrationQueues> {
  const pairs = await Promise.all(
    Object.entries(target.integrationQueues ?? {}).map(async ([id, pair]) => {
      try {
        return [
          [id, { jobs: await queueUrl(pair.jobs), deadLetters: await queueUrl(pair.deadLetters) }],
        ] as const;
      } catch (error) {
        if (error instanceof QueueDoesNotExist) return [];
        throw error;
      }
    }),
  );
  return Object.fromEntries(pairs.flat());
}
