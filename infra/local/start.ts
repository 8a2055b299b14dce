/**
 * `npm start`: the whole bridge on this machine. dynalite and fauxqs in this process, the links table
 * and the jobs queues created, a sandbox fake for every system the config points at an idle loopback
 * port, serverless-offline serving every route behind API Gateway's stand-in (http-gateway.ts), and a
 * local SQS event source feeding the worker. It writes .local/stack.json for the CLI while it runs.
 * Ctrl-C stops everything it started.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { resolve } from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SQSClient } from "@aws-sdk/client-sqs";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import * as v from "valibot";
import { SQS_OPTIONS } from "../../lib/core/aws.ts";
import { DEFAULT_CONFIG_PATH } from "../../lib/core/config.ts";
import { DEFAULT_WORKER_CONCURRENCY } from "../../lib/core/config-schema.ts";
import { configSecretNames } from "../../lib/core/secrets.ts";
import { loadDeploymentConfig, REGISTRY } from "../../lib/sync/registry.ts";
import { loadEnvFile, SANDBOX_ENV } from "../tools/stack-env.ts";
import { startEmulators } from "./emulators.ts";
import { freePort } from "./free-port.ts";
import { startHttpGateway } from "./http-gateway.ts";
import { printRoutes } from "./print-routes.ts";
import { createLocalResources, integrationQueueNames } from "./resources.ts";
import { forwardOutbox, startSandboxFakes } from "./sandbox.ts";
import { SqsEventSource } from "./sqs-event-source.ts";
import { removeStackState, stackStateFile, writeStackState } from "./stack-state.ts";

const BatchResponseSchema = v.object({
  batchItemFailures: v.array(v.object({ itemIdentifier: v.string() })),
});

async function main(): Promise<void> {
  const sandboxSecrets = loadEnvFile(SANDBOX_ENV);
  const configPath = resolve(process.env.DESKBRIDGE_CONFIG ?? DEFAULT_CONFIG_PATH);
  const config = loadDeploymentConfig(configPath);
  const stateFile = stackStateFile();
  const ports = {
    dynamo: port("DYNAMODB_PORT", 8000),
    sqs: port("SQS_PORT", 9324),
    http: port("HTTP_PORT", 3000),
    lambda: port("LAMBDA_PORT", 3002),
  };
  const stops: (() => Promise<unknown> | unknown)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await Promise.resolve(stop()).catch(() => undefined);
  };
  process.once("SIGINT", () => void stopAll().then(() => process.exit(0)));
  process.once("SIGTERM", () => void stopAll().then(() => process.exit(0)));

  try {
    Object.assign(process.env, {
      AWS_REGION: process.env.AWS_REGION ?? "us-east-1",
      AWS_ACCESS_KEY_ID: "local",
      AWS_SECRET_ACCESS_KEY: "local",
    });
    delete process.env.AWS_PROFILE;
    delete process.env.AWS_SESSION_TOKEN;
    const emulators = await startEmulators(ports);
    stops.push(() => emulators.stop());
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_DYNAMODB: emulators.dynamoEndpoint,
      AWS_ENDPOINT_URL_SQS: emulators.sqsEndpoint,
      // The metrics' log lines (lib/core/metrics.ts) mean nothing without CloudWatch: off unless asked for.
      POWERTOOLS_METRICS_DISABLED: process.env.POWERTOOLS_METRICS_DISABLED ?? "true",
    });
    const sqs = new SQSClient(SQS_OPTIONS);
    const resources = await createLocalResources(
      { dynamo: new DynamoDBClient({}), sqs },
      {
        table: "deskbridge-local-links",
        jobsQueue: "deskbridge-local-jobs",
        deadLetterQueue: "deskbridge-local-jobs-dlq",
        integrationQueues: integrationQueueNames(
          "deskbridge-local",
          REGISTRY.map((integration) => integration.id),
        ),
      },
      { maxReceiveCount: 20, visibilityTimeoutSeconds: 360 },
    );
    console.log(`DynamoDB (dynalite)  ${emulators.dynamoEndpoint}  table ${resources.table}`);
    console.log(
      `SQS (fauxqs)         ${emulators.sqsEndpoint}  queues deskbridge-local-<integration>(-dlq) and deskbridge-local-jobs(-dlq)`,
    );

    const fakes = await startSandboxFakes(config, stops);

    // Senders talk to API Gateway's stand-in; serverless-offline listens behind it, on a port of its own.
    const offlinePort = await freePort();
    const gateway = await startHttpGateway({
      port: ports.http,
      target: { host: "127.0.0.1", port: offlinePort },
      onInvocationError: (message) => console.error(`invocation failed (answered 500): ${message}`),
    });
    stops.push(() => gateway.close());

    const env = {
      ...process.env,
      DESKBRIDGE_CONFIG: configPath,
      LINKS_TABLE: resources.table,
      JOBS_QUEUE_URL: resources.jobsQueueUrl,
      DEAD_LETTER_QUEUE_URL: resources.deadLetterQueueUrl,
      JOB_QUEUES: JSON.stringify(resources.jobQueues),
      HTTP_PORT: String(offlinePort),
      LAMBDA_PORT: String(ports.lambda),
    };
    const offline = spawn(
      process.execPath,
      ["node_modules/osls/bin/serverless.js", "offline", "start", "--stage", "local"],
      {
        env,
        stdio: ["ignore", "pipe", "pipe"],
        detached: true,
      },
    );
    stops.push(() => killGroup(offline));
    offline.stderr?.on("data", (chunk: Buffer) => process.stderr.write(chunk));
    offline.stdout?.on("data", (chunk: Buffer) => {
      if (process.env.OFFLINE_VERBOSE) process.stdout.write(chunk);
      else for (const line of chunk.toString().split("\n")) if (/^\s*\{"level"/.test(line)) console.log(line);
    });
    offline.once("exit", (code) => {
      console.error(`serverless-offline exited (${code}); stopping.`);
      void stopAll().then(() => process.exit(1));
    });
    const base = gateway.url;
    await waitFor(`${base}/ping`, 120_000);

    // Each integration's queue feeds its own worker, at most its maxConcurrency batches at once (as the
    // event source mapping in AWS); the shared queue feeds the drain (`worker`), as after an upgrade.
    const sources = [
      ...REGISTRY.map((integration) => ({
        name: `${integration.configKey}Worker`,
        queue: `deskbridge-local-${integration.id}`,
        url: resources.jobQueues[integration.id]?.jobs ?? "",
        concurrency: config.integrations[integration.configKey]?.maxConcurrency ?? DEFAULT_WORKER_CONCURRENCY,
      })),
      { name: "worker", queue: "deskbridge-local-jobs", url: resources.jobsQueueUrl, concurrency: 2 },
    ];
    for (const source of sources) {
      const worker = new SqsEventSource({
        sqs,
        queueUrl: source.url,
        queueArn: `arn:aws:sqs:us-east-1:000000000000:${source.queue}`,
        maximumConcurrency: source.concurrency,
        invoke: (event) => invokeWorker(ports.lambda, source.name, event),
        onError: (error) => console.error(`${source.name} event source:`, (error as Error).message),
      });
      worker.start();
      stops.push(() => worker.stop());
    }

    // Lambda's scheduler does not run locally: call the pollers and the reconciler on timers instead.
    const schedules = [
      {
        on: config.integrations.otrsRedmine,
        fn: "pollRedmine",
        seconds: process.env.REDMINE_POLL_SECONDS ?? 20,
      },
      { on: config.integrations.rtKanban, fn: "pollRt", seconds: process.env.RT_POLL_SECONDS ?? 20 },
      {
        on: config.integrations.rtKanban,
        fn: "reconcileBoard",
        seconds: process.env.RECONCILE_SECONDS ?? 300,
      },
    ];
    for (const { on, fn, seconds } of schedules) {
      if (!on) continue;
      const timer = setInterval(() => {
        void invokeFunction(ports.lambda, fn, {}).catch((error: unknown) =>
          console.error(`${fn}:`, (error as Error).message),
        );
      }, Number(seconds) * 1000);
      stops.push(() => clearInterval(timer));
    }

    await printRoutes({ base, config, sandboxSecrets, fakes });
    const pair = config.integrations.itopPair;
    const pairToken = pair ? process.env[pair.auth.secret] : undefined;
    if (pair && pairToken) {
      const take = () => Object.values(fakes.itop).flatMap((fake) => fake.takeWebhooks());
      stops.push(forwardOutbox("iTop webhook", take, base, { header: pair.auth.header, token: pairToken }));
    }
    const rtKanban = config.integrations.rtKanban;
    const rtToken = rtKanban ? process.env[rtKanban.auth.secret] : undefined;
    if (rtKanban && rtToken) {
      const take = () =>
        Object.values(fakes.rt).flatMap((fake) =>
          fake.takeScripCalls().map((payload) => ({ path: "/rt/ticket-events", payload })),
        );
      stops.push(forwardOutbox("RT Scrip", take, base, { header: rtKanban.auth.header, token: rtToken }));
    }
    // The CLI (`npx deskbridge …`, any shell) works on this stack through this file; gone when it stops.
    writeStackState(stateFile, {
      pid: process.pid,
      startedAt: new Date().toISOString(),
      configPath,
      secretsFile: resolve(SANDBOX_ENV),
      secretsFromEnvironment: [...configSecretNames(config)].filter((name) => !(name in sandboxSecrets)),
      httpUrl: base,
      dynamoEndpoint: emulators.dynamoEndpoint,
      sqsEndpoint: emulators.sqsEndpoint,
      region: process.env.AWS_REGION ?? "us-east-1",
      table: resources.table,
      jobsQueueUrl: resources.jobsQueueUrl,
      deadLetterQueueUrl: resources.deadLetterQueueUrl,
      jobQueues: resources.jobQueues,
    });
    stops.push(() => removeStackState(stateFile));
    console.log("\nThe bridge is running. Ctrl-C stops everything.");
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** Calls a worker Lambda through serverless-offline's Lambda API, as the event source mapping would. */
async function invokeWorker(lambdaPort: number, name: string, event: SQSEvent): Promise<SQSBatchResponse> {
  const result = await invokeFunction(lambdaPort, name, event);
  return v.parse(BatchResponseSchema, result ?? { batchItemFailures: [] });
}

/** Invokes one function through serverless-offline's Lambda API; returns its parsed result. */
async function invokeFunction(lambdaPort: number, name: string, event: unknown): Promise<unknown> {
  const response = await fetch(
    `http://127.0.0.1:${lambdaPort}/2015-03-31/functions/deskbridge-local-${name}/invocations`,
    { method: "POST", body: JSON.stringify(event) },
  );
  const text = await response.text();
  if (!response.ok || response.headers.get("x-amz-function-error"))
    throw new Error(`${name} failed: ${text.slice(0, 500)}`);
  return text ? JSON.parse(text) : undefined;
}

/** Reads KEY=VALUE lines into process.env for keys not set already; returns what it set. */
function port(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 0 || value > 65535)
    throw new Error(`${name} must be a port number`);
  return value;
}

async function waitFor(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`serverless-offline did not answer ${url} within ${timeoutMs / 1000}s`);
}

async function killGroup(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null) return;
  child.removeAllListeners("exit");
  const exited = new Promise((resolve) => child.once("exit", resolve));
  try {
    process.kill(-child.pid, "SIGTERM");
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }, 3000);
  await exited;
  clearTimeout(timer);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
