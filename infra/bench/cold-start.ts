/**
 * Cold-start benchmark: per function of serverless.yml, the bundle's size and the time a fresh Node
 * process takes to import it (and to answer one cold request), against the function's floor, a bundle
 * that only creates the AWS SDK clients its IAM role allows. Also audits which adapters
 * (lib/systems/<system>/) and SDK clients each bundle holds.
 *
 *   npx tsx infra/bench/cold-start.ts            (BENCH_COLD_RUNS=15 by default)
 *   BENCH_COLD_ONLY=worker,glpiFormsWorker npx tsx infra/bench/cold-start.ts   (only these functions)
 *
 * Bundles go to .bench/functions/<name>.mjs and .bench/floors/<kind>.mjs, built with esbuild's JS API
 * and exactly the options of serverless.yml `custom.esbuild` (plus `metafile`). Each run is a fresh
 * `node` with the literal provider environment of serverless.yml, Lambda's own variables,
 * config/prod.json and its checked form as packaging writes it, dummy credentials and every secret the
 * config names (so nothing goes to SSM). The cold request of an HTTP route is an API Gateway event
 * without credentials (401 once the config and the secrets are read; ping answers 200): a route builds
 * its AWS clients on its first authenticated request, so this is the lighter measure, where the floor
 * builds its clients at import. A worker's is an SQS event with no records, after a cold start that
 * built the config, the DynamoDB client and the stores, as the floor does. Scheduled functions are only
 * imported (their first call needs the network).
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";
import { parse } from "yaml";
import { configSecretNames } from "../../lib/core/secrets.ts";
import { INTEGRATION_IDS, integrationById } from "../../lib/sync/registry.ts";
import { integrationStack } from "../integrations.cjs";
import { serviceFunctions } from "../local/routes.ts";
import { writeCheckedConfig } from "../tools/check-config.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const OUT_DIR = join(ROOT, ".bench");
const FLOOR_SOURCES = join(ROOT, "infra/bench/cold-start-floors");
const CONFIG_FILE = "config/prod.json";
/** Its checked form, as packaging writes it (infra/tools/check-config.ts) and deployed functions read it. */
const CHECKED_CONFIG_FILE = ".bench/checked-config/prod.json";

export interface ColdStartRow {
  name: string;
  bundleBytes: number;
  floorBytes: number;
  /** Medians over the runs, in milliseconds. */
  importMs: number;
  floorImportMs: number;
  /** The median of the runs' ratios (function / the mean of the floor runs before and after it). */
  importRatio: number;
  coldRequestMs: number;
  floorColdRequestMs: number;
  coldRequestRatio: number;
  importP90Ms: number;
  floorImportP90Ms: number;
  coldRequestP90Ms: number;
  floorColdRequestP90Ms: number;
  /** What the cold request was (`POST /glpi/tickets → 401`, `SQS 0 records`, `import only`). */
  coldRequest: string;
  /** The floor this function is compared with (`dynamodb-sqs`, `dynamodb`, `none`). */
  floor: string;
  adapters: string[];
  sdkClients: string[];
  /** Adapters or SDK clients in the bundle that the function's integration or IAM role does not use. */
  unexpected: string[];
  /** Adapters the function's integration uses that the bundle does not hold. */
  missing: string[];
}

// ---------------------------------------------------------------------------------------------------
// serverless.yml and infra/iam.yml

interface HttpEvent {
  method: string;
  path: string;
}

interface FunctionSpec {
  name: string;
  entry: string;
  exportName: string;
  role: string;
  memorySize: number;
  http: HttpEvent | undefined;
  sqs: boolean;
  schedule: boolean;
}

interface Service {
  functions: FunctionSpec[];
  esbuildOptions: esbuild.BuildOptions;
  /** provider.environment values that are literals (NODE_OPTIONS, POWERTOOLS_SERVICE_NAME). */
  providerEnv: Record<string, string>;
  /** AWS services (dynamodb, sqs, ssm) each role may call. */
  roleServices: Record<string, string[]>;
}

type Yaml = Record<string, unknown>;

const isObject = (value: unknown): value is Yaml =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** Options of serverless-esbuild that are not esbuild's (bundle.ts in serverless-esbuild strips them). */
const PLUGIN_ONLY_OPTIONS = [
  "concurrency",
  "zipConcurrency",
  "exclude",
  "nativeZip",
  "packager",
  "packagePath",
  "watch",
  "keepOutputDirectory",
  "packagerOptions",
  "installExtraArgs",
  "outputFileExtension",
  "outputBuildFolder",
  "outputWorkFolder",
  "nodeExternals",
  "skipBuild",
  "skipRebuild",
  "skipBuildExcludeFns",
  "stripEntryResolveExtensions",
  "disposeContext",
  "config",
];

/** esbuild options as serverless-esbuild derives them from `custom.esbuild`. */
function esbuildOptionsOf(custom: Yaml): esbuild.BuildOptions {
  const options: Yaml = { bundle: true, platform: "node", ...custom };
  for (const key of PLUGIN_ONLY_OPTIONS) delete options[key];
  const strings = (value: unknown) =>
    (Array.isArray(value) ? value : []).filter((s): s is string => typeof s === "string");
  const exclude = "exclude" in custom ? strings(custom.exclude) : ["aws-sdk"];
  options.external = [...strings(custom.external), ...(exclude.includes("*") ? [] : exclude)];
  const extension = typeof custom.outputFileExtension === "string" ? custom.outputFileExtension : ".js";
  if (extension !== ".js") options.outExtension = { ".js": extension };
  return options as esbuild.BuildOptions;
}

function roleServicesOf(iam: Yaml): Record<string, string[]> {
  const resources = isObject(iam.Resources) ? iam.Resources : {};
  const roles: Record<string, string[]> = {};
  for (const [name, resource] of Object.entries(resources)) {
    if (!isObject(resource) || resource.Type !== "AWS::IAM::Role") continue;
    const services = new Set<string>();
    const properties = isObject(resource.Properties) ? resource.Properties : {};
    for (const policy of Array.isArray(properties.Policies) ? properties.Policies : []) {
      const document = isObject(policy) && isObject(policy.PolicyDocument) ? policy.PolicyDocument : {};
      for (const statement of Array.isArray(document.Statement) ? document.Statement : []) {
        if (!isObject(statement) || statement.Effect !== "Allow") continue;
        const actions = Array.isArray(statement.Action) ? statement.Action : [statement.Action];
        for (const action of actions)
          if (typeof action === "string") services.add(action.split(":")[0] ?? "");
      }
    }
    roles[name] = [...services].sort();
  }
  return roles;
}

function readService(): Service {
  const doc = parse(readFileSync(join(ROOT, "serverless.yml"), "utf8"), { logLevel: "silent" }) as Yaml;
  const iam = parse(readFileSync(join(ROOT, "infra/iam.yml"), "utf8"), { logLevel: "silent" }) as Yaml;
  // Each integration's worker and its role are generated (infra/integrations.cjs).
  const roles = {
    ...(isObject(iam.Resources) ? iam.Resources : {}),
    ...integrationStack().resources.Resources,
  };
  const custom = isObject(doc.custom) && isObject(doc.custom.esbuild) ? doc.custom.esbuild : {};
  const provider = isObject(doc.provider) ? doc.provider : {};
  const providerEnv: Record<string, string> = {};
  for (const [key, value] of Object.entries(isObject(provider.environment) ? provider.environment : {})) {
    if (typeof value === "string" && !value.includes("${")) providerEnv[key] = value;
  }
  const defaultMemory = typeof provider.memorySize === "number" ? provider.memorySize : 1024;
  const functions: FunctionSpec[] = [];
  for (const [name, fn] of Object.entries(serviceFunctions(join(ROOT, "serverless.yml")))) {
    if (!isObject(fn) || typeof fn.handler !== "string") continue;
    const dot = fn.handler.lastIndexOf(".");
    const base = fn.handler.slice(0, dot);
    const entry = [".ts", ".mts", ".js", ".mjs"]
      .map((ext) => `${base}${ext}`)
      .find((file) => existsSync(join(ROOT, file)));
    if (!entry) throw new Error(`${name}: no source file for handler ${fn.handler}`);
    const events = (Array.isArray(fn.events) ? fn.events : []).filter(isObject);
    const httpApi = events.map((event) => event.httpApi).find(isObject);
    functions.push({
      name,
      entry,
      exportName: fn.handler.slice(dot + 1),
      role: typeof fn.role === "string" ? fn.role : "",
      memorySize: typeof fn.memorySize === "number" ? fn.memorySize : defaultMemory,
      http:
        httpApi && typeof httpApi.method === "string" && typeof httpApi.path === "string"
          ? { method: httpApi.method.toUpperCase(), path: httpApi.path }
          : undefined,
      sqs: events.some((event) => "sqs" in event),
      schedule: events.some((event) => "schedule" in event),
    });
  }
  return {
    functions,
    esbuildOptions: esbuildOptionsOf(custom),
    providerEnv,
    roleServices: roleServicesOf({ Resources: roles }),
  };
}

/**
 * The floor of a role: the clients of the services it may call. SSM counts for a role that may read
 * secrets: in a deployed stage each such function reads its secrets from SSM at cold start.
 */
function floorOf(services: readonly string[]): string {
  const dynamodb = services.includes("dynamodb");
  const sqs = services.includes("sqs");
  const ssm = services.includes("ssm") ? "-ssm" : "";
  if (dynamodb && sqs) return `dynamodb-sqs${ssm}`;
  if (dynamodb) return `dynamodb${ssm}`;
  if (sqs && !ssm) return "sqs";
  if (sqs || ssm)
    throw new Error(`no floor for a role calling ${services.join(", ")}: add one to cold-start-floors/`);
  return "none";
}

// ---------------------------------------------------------------------------------------------------
// Building

interface Built {
  file: string;
  bytes: number;
  metafile: esbuild.Metafile;
}

async function build(
  options: esbuild.BuildOptions,
  name: string,
  entry: string,
  outdir: string,
): Promise<Built> {
  const result = await esbuild.build({
    ...options,
    absWorkingDir: ROOT,
    entryPoints: { [name]: entry },
    outdir,
    metafile: true,
    logLevel: "error",
  });
  const extension = options.outExtension?.[".js"] ?? ".js";
  const file = join(outdir, `${name}${extension}`);
  return { file, bytes: statSync(file).size, metafile: result.metafile };
}

/** Adapter directories (lib/systems/<system>/) and AWS SDK clients (@aws-sdk/client-*) in a bundle. */
function auditOf(metafile: esbuild.Metafile): { adapters: string[]; sdkClients: string[] } {
  const adapters = new Set<string>();
  const sdkClients = new Set<string>();
  // What the bundle holds: the inputs with bytes in an output (an import tree-shaken away has none).
  const held = Object.values(metafile.outputs).flatMap((output) =>
    Object.entries(output.inputs)
      .filter(([, info]) => info.bytesInOutput > 0)
      .map(([input]) => input),
  );
  for (const input of held) {
    const adapter = /^lib\/systems\/([^/]+)\//.exec(input);
    if (adapter?.[1]) adapters.add(adapter[1]);
    const client = /node_modules\/@aws-sdk\/(client-[^/]+)\//.exec(input);
    if (client?.[1]) sdkClients.add(`@aws-sdk/${client[1]}`);
  }
  return { adapters: [...adapters].sort(), sdkClients: [...sdkClients].sort() };
}

/** The adapters a function's integration works with: its registry entry's systems, by its folder (its id). */
function expectedAdapters(entry: string): string[] {
  // Ping answers alone; the drain moves jobs between queues: no adapter at all.
  if (entry === "functions/ping.ts" || entry === "functions/worker.ts") return [];
  // The link lookup resolves an OTRS ticket number or an iTop ref through that system (loaded on use).
  if (entry === "functions/ops/links.ts") return ["itop", "otrs"];
  if (entry.startsWith("functions/ops/")) return [];
  const folder = /^functions\/([^/]+)\//.exec(entry)?.[1] ?? "";
  const integration = integrationById(folder);
  if (!integration)
    throw new Error(`${entry}: functions/${folder}/ is no integration's id (lib/sync/registry.ts)`);
  return [...integration.systems].sort();
}

// ---------------------------------------------------------------------------------------------------
// Running

/** What Lambda and serverless.yml give the function (secrets from the environment, not SSM). */
function benchEnv(providerEnv: Record<string, string>, fn: FunctionSpec): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    LANG: "en_US.UTF-8",
    TZ: ":UTC",
    AWS_EXECUTION_ENV: "AWS_Lambda_nodejs22.x",
    AWS_LAMBDA_FUNCTION_NAME: `deskbridge-prod-${fn.name}`,
    AWS_LAMBDA_FUNCTION_VERSION: "$LATEST",
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memorySize),
    ...providerEnv,
    DESKBRIDGE_CONFIG: CONFIG_FILE,
    DESKBRIDGE_CONFIG_CHECKED: CHECKED_CONFIG_FILE,
    LINKS_TABLE: "deskbridge-prod-links",
    JOBS_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/123456789012/deskbridge-prod-jobs",
    DEAD_LETTER_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/123456789012/deskbridge-prod-jobs-dlq",
    JOB_QUEUES: JSON.stringify(
      Object.fromEntries(
        INTEGRATION_IDS.map((id) => {
          const url = `https://sqs.us-east-1.amazonaws.com/123456789012/deskbridge-prod-${id}`;
          return [id, { jobs: url, deadLetters: `${url}-dlq` }];
        }),
      ),
    ),
    AWS_REGION: "us-east-1",
    AWS_DEFAULT_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: "AKIABENCHDUMMY000000",
    AWS_SECRET_ACCESS_KEY: "bench-dummy-secret-access-key",
    AWS_SESSION_TOKEN: "bench-dummy-session-token",
    POWERTOOLS_LOG_LEVEL: "SILENT",
  };
  delete env.DESKBRIDGE_SSM_PREFIX;
  const config = JSON.parse(readFileSync(join(ROOT, CONFIG_FILE), "utf8")) as unknown;
  for (const name of configSecretNames(config)) env[name] = `bench-dummy-${name.toLowerCase()}`;
  return env;
}

/**
 * The child: times `await import()` of the bundle, then (with an event) one handler call, and prints
 * one JSON line. Everything before `t0` (argument parsing, the event) is outside the measure.
 */
const RUNNER = `
import { pathToFileURL } from "node:url";
const [file, exportName, eventJson] = process.argv.slice(1);
const url = pathToFileURL(file).href;
const event = eventJson ? JSON.parse(eventJson) : undefined;
const context = {
  awsRequestId: "bench-request", functionName: "deskbridge-prod-bench", functionVersion: "$LATEST",
  invokedFunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:deskbridge-prod-bench",
  memoryLimitInMB: "256", logGroupName: "/aws/lambda/bench", logStreamName: "bench",
  callbackWaitsForEmptyEventLoop: true, getRemainingTimeInMillis: () => 10000,
};
const t0 = performance.now();
const mod = await import(url);
const t1 = performance.now();
let outcome = "import only";
if (event !== undefined) {
  const result = await mod[exportName](event, context);
  outcome = result && typeof result === "object" && "statusCode" in result
    ? String(result.statusCode)
    : JSON.stringify(result);
}
const t2 = performance.now();
process.stdout.write("\\n" + JSON.stringify({ importMs: t1 - t0, coldRequestMs: t2 - t0, outcome }) + "\\n", () => process.exit(0));
`;

interface Sample {
  importMs: number;
  coldRequestMs: number;
  outcome: string;
}

function runOnce(file: string, exportName: string, event: unknown, env: NodeJS.ProcessEnv): Promise<Sample> {
  const args = ["--input-type=module", "-e", RUNNER, file, exportName];
  if (event !== undefined) args.push(JSON.stringify(event));
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      const last = stdout.trim().split("\n").at(-1) ?? "";
      try {
        if (code !== 0) throw new Error(`exit ${code}`);
        resolvePromise(JSON.parse(last) as Sample);
      } catch (error) {
        reject(
          new Error(`${file}: ${(error as Error).message}\n${stderr.slice(-2000)}\n${stdout.slice(-500)}`),
        );
      }
    });
  });
}

/** An API Gateway HTTP API (payload 2.0) event without credentials. */
function httpEvent({ method, path }: HttpEvent): unknown {
  const pathParameters: Record<string, string> = {};
  const rawPath = path.replace(/\{([^}]+)\}/g, (_, name: string) => {
    pathParameters[name] = "bench-job-1";
    return "bench-job-1";
  });
  const body = method === "GET" ? undefined : "{}";
  const host = "bench.execute-api.us-east-1.amazonaws.com";
  return {
    version: "2.0",
    routeKey: `${method} ${path}`,
    rawPath,
    rawQueryString: "",
    headers: {
      host,
      "user-agent": "deskbridge-bench",
      ...(body ? { "content-type": "application/json", "content-length": String(body.length) } : {}),
    },
    requestContext: {
      accountId: "123456789012",
      apiId: "bench",
      domainName: host,
      domainPrefix: "bench",
      http: {
        method,
        path: rawPath,
        protocol: "HTTP/1.1",
        sourceIp: "203.0.113.7",
        userAgent: "deskbridge-bench",
      },
      requestId: "bench-request",
      routeKey: `${method} ${path}`,
      stage: "$default",
      time: "01/Jan/2026:00:00:00 +0000",
      timeEpoch: 1767225600000,
    },
    ...(Object.keys(pathParameters).length > 0 ? { pathParameters } : {}),
    ...(body ? { body } : {}),
    isBase64Encoded: false,
  };
}

/** Routes without authentication (ping, the API description: public on purpose); every other answers 401. */
const PUBLIC_FUNCTIONS = new Set(["ping", "openapi"]);

/** The cold request of a function: what it answers without credentials, an empty batch, or none. */
function coldRequestOf(fn: FunctionSpec): { event: unknown; label: string; expect: string | undefined } {
  if (fn.http) {
    const expect = PUBLIC_FUNCTIONS.has(fn.name) ? "200" : "401";
    return { event: httpEvent(fn.http), label: `${fn.http.method} ${fn.http.path}`, expect };
  }
  if (fn.sqs) return { event: { Records: [] }, label: "SQS, 0 records", expect: '{"batchItemFailures":[]}' };
  return { event: undefined, label: "import only", expect: undefined };
}

function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[rank - 1] ?? Number.NaN;
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  return sorted.length % 2 === 1
    ? (sorted[Math.floor(mid)] ?? Number.NaN)
    : ((sorted[mid - 1] ?? Number.NaN) + (sorted[mid] ?? Number.NaN)) / 2;
};

/** Two floor runs as one sample: the mean of their times. */
function meanOf(a: Sample, b: Sample): Sample {
  return {
    importMs: (a.importMs + b.importMs) / 2,
    coldRequestMs: (a.coldRequestMs + b.coldRequestMs) / 2,
    outcome: a.outcome,
  };
}

/**
 * The median of the run-by-run ratios: each run times the function between two runs of its floor, so
 * a moment when the machine is slow slows all three and cancels out of their ratio (a ratio of the
 * medians would mix samples from different moments).
 */
function pairedRatio(
  own: readonly Sample[],
  base: readonly Sample[],
  key: "importMs" | "coldRequestMs",
): number {
  return median(own.map((sample, k) => sample[key] / (base[k]?.[key] ?? Number.NaN)));
}

// ---------------------------------------------------------------------------------------------------

/** The functions named in BENCH_COLD_ONLY (comma-separated), or every function when it is unset. */
function selectedFunctions(functions: readonly FunctionSpec[], only: string | undefined): FunctionSpec[] {
  const names = (only ?? "")
    .split(",")
    .map((name) => name.trim())
    .filter(Boolean);
  if (names.length === 0) return [...functions];
  const unknown = names.filter((name) => !functions.some((fn) => fn.name === name));
  if (unknown.length > 0) throw new Error(`BENCH_COLD_ONLY names no function ${unknown.join(", ")}`);
  return functions.filter((fn) => names.includes(fn.name));
}

export async function measureColdStart(
  options: { runs?: number; only?: string } = {},
): Promise<ColdStartRow[]> {
  const runs = options.runs ?? (Number(process.env.BENCH_COLD_RUNS) || 15);
  const all = readService();
  const service = {
    ...all,
    functions: selectedFunctions(all.functions, options.only ?? process.env.BENCH_COLD_ONLY),
  };
  writeCheckedConfig(CONFIG_FILE, join(ROOT, CHECKED_CONFIG_FILE));
  const functionsDir = join(OUT_DIR, "functions");
  const floorsDir = join(OUT_DIR, "floors");
  await mkdir(functionsDir, { recursive: true });
  await mkdir(floorsDir, { recursive: true });
  const floorKinds = new Map<string, string>();
  for (const fn of service.functions) {
    const services = service.roleServices[fn.role];
    if (!services) throw new Error(`${fn.name}: role ${fn.role} is not in infra/iam.yml`);
    floorKinds.set(fn.name, floorOf(services));
  }
  const floorNames = [...new Set(floorKinds.values())];
  const [bundles, floors] = await Promise.all([
    Promise.all(
      service.functions.map((fn) => build(service.esbuildOptions, fn.name, fn.entry, functionsDir)),
    ),
    Promise.all(
      floorNames.map((kind) =>
        build(service.esbuildOptions, kind, join(FLOOR_SOURCES, `${kind}.ts`), floorsDir),
      ),
    ),
  ]);
  const floorByKind = new Map(floorNames.map((kind, i) => [kind, floors[i] as Built]));
  await writeFile(
    join(OUT_DIR, "cold-start-meta.json"),
    JSON.stringify(
      Object.fromEntries(service.functions.map((fn, i) => [fn.name, bundles[i]?.metafile])),
      null,
      0,
    ),
  );

  const envs = service.functions.map((fn) => benchEnv(service.providerEnv, fn));
  const samples = service.functions.map(() => ({ fn: [] as Sample[], floor: [] as Sample[] }));
  // Each sample times the function between two runs of its floor (floor, function, floor) and compares
  // it with their mean: that cancels a machine that speeds up or slows down across the three runs,
  // which one neighbour does not. Two copies of one bundle timed so: the interquartile range of their
  // ratio is 0.12, against 0.25 with one neighbour, on a 2-vCPU VM. The floor run after one function
  // is the run before the next when both have the same floor, run the same way (imported, or asked).
  let lastFloor: { key: string; sample: Sample } | undefined;
  for (let run = 0; run < runs; run++) {
    for (const [i, fn] of service.functions.entries()) {
      const bundle = bundles[i] as Built;
      const kind = floorKinds.get(fn.name) ?? "";
      const floor = floorByKind.get(kind) as Built;
      const cold = coldRequestOf(fn);
      const env = envs[i] ?? {};
      const floorEvent = cold.event === undefined ? undefined : {};
      const runFloor = () => runOnce(floor.file, "handler", floorEvent, env);
      const floorKey = `${kind} ${floorEvent === undefined ? "import" : "request"}`;
      const before = lastFloor?.key === floorKey ? lastFloor.sample : await runFloor();
      const sample = await runOnce(bundle.file, fn.exportName, cold.event, env);
      if (cold.expect !== undefined && sample.outcome !== cold.expect) {
        throw new Error(
          `${fn.name}: the cold request (${cold.label}) answered ${sample.outcome}, not ${cold.expect}`,
        );
      }
      const after = await runFloor();
      lastFloor = { key: floorKey, sample: after };
      samples[i]?.fn.push(sample);
      samples[i]?.floor.push(meanOf(before, after));
    }
  }

  return service.functions.map((fn, i): ColdStartRow => {
    const bundle = bundles[i] as Built;
    const floorKind = floorKinds.get(fn.name) ?? "";
    const floor = floorByKind.get(floorKind) as Built;
    const { fn: own, floor: base } = samples[i] ?? { fn: [], floor: [] };
    const importMs = median(own.map((s) => s.importMs));
    const floorImportMs = median(base.map((s) => s.importMs));
    const coldRequestMs = median(own.map((s) => s.coldRequestMs));
    const floorColdRequestMs = median(base.map((s) => s.coldRequestMs));
    const { adapters, sdkClients } = auditOf(bundle.metafile);
    const expected = expectedAdapters(fn.entry);
    // Clients the role may call, and whatever the floor itself holds (the SDK's credential chain).
    const allowedClients = new Set([
      ...(service.roleServices[fn.role] ?? []).map((s) => `@aws-sdk/client-${s}`),
      ...auditOf(floor.metafile).sdkClients,
    ]);
    return {
      name: fn.name,
      bundleBytes: bundle.bytes,
      floorBytes: floor.bytes,
      importMs,
      floorImportMs,
      importRatio: pairedRatio(own, base, "importMs"),
      coldRequestMs,
      floorColdRequestMs,
      coldRequestRatio: pairedRatio(own, base, "coldRequestMs"),
      importP90Ms: quantile(
        own.map((s) => s.importMs),
        0.9,
      ),
      floorImportP90Ms: quantile(
        base.map((s) => s.importMs),
        0.9,
      ),
      coldRequestP90Ms: quantile(
        own.map((s) => s.coldRequestMs),
        0.9,
      ),
      floorColdRequestP90Ms: quantile(
        base.map((s) => s.coldRequestMs),
        0.9,
      ),
      coldRequest: `${coldRequestOf(fn).label}${own[0] && own[0].outcome !== "import only" ? ` → ${own[0].outcome}` : ""}`,
      floor: floorKind,
      adapters,
      sdkClients,
      unexpected: [
        ...adapters.filter((a) => !expected.includes(a)).map((a) => `adapter ${a}`),
        ...sdkClients.filter((c) => !allowedClients.has(c)).map((c) => `client ${c}`),
      ],
      missing: expected.filter((a) => !adapters.includes(a)).map((a) => `adapter ${a}`),
    };
  });
}

/** The rows as a plain-text table (sizes in KB, times in ms, median and p90). */
export function formatColdStartTable(rows: readonly ColdStartRow[], target = 1.15): string {
  const kb = (bytes: number) => (bytes / 1024).toFixed(0);
  const ms = (value: number) => value.toFixed(1);
  const header = [
    "function",
    "KB",
    "floor KB",
    "import ms (p90)",
    "floor (p90)",
    "ratio",
    "cold req ms (p90)",
    "floor (p90)",
    "ratio",
    "",
    "+ms",
    "adapters",
    "sdk clients",
    "unexpected",
  ];
  const lines = rows.map((row) => [
    row.name,
    kb(row.bundleBytes),
    kb(row.floorBytes),
    `${ms(row.importMs)} (${ms(row.importP90Ms)})`,
    `${ms(row.floorImportMs)} (${ms(row.floorImportP90Ms)})`,
    row.importRatio.toFixed(2),
    `${ms(row.coldRequestMs)} (${ms(row.coldRequestP90Ms)})`,
    `${ms(row.floorColdRequestMs)} (${ms(row.floorColdRequestP90Ms)})`,
    row.coldRequestRatio.toFixed(2),
    row.coldRequestRatio <= target ? "ok" : "MISS",
    `+${ms(row.coldRequestMs - row.floorColdRequestMs)}`,
    row.adapters.join(",") || "-",
    row.sdkClients.map((c) => c.replace("@aws-sdk/client-", "")).join(",") || "-",
    [...row.unexpected, ...row.missing.map((m) => `missing ${m}`)].join("; ") || "-",
  ]);
  const table = [header, ...lines];
  const widths = header.map((_, col) => Math.max(...table.map((line) => (line[col] ?? "").length)));
  const numeric = new Set([1, 2, 3, 4, 5, 6, 7, 8, 10]);
  return table
    .map((line) =>
      line
        .map((cell, col) =>
          numeric.has(col) ? cell.padStart(widths[col] ?? 0) : cell.padEnd(widths[col] ?? 0),
        )
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const runs = Number(process.env.BENCH_COLD_RUNS) || 15;
  const rows = await measureColdStart({ runs });
  console.log(`cold start: ${runs} runs per function and floor, node ${process.version}, medians (p90)`);
  console.log(formatColdStartTable(rows));
  for (const row of rows) console.log(`  ${row.name}: cold request = ${row.coldRequest}; floor ${row.floor}`);
  if (process.env.BENCH_COLD_JSON)
    await writeFile(process.env.BENCH_COLD_JSON, JSON.stringify(rows, null, 2));
}
