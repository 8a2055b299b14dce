/**
 * The processes of the scale run besides its own (infra/bench/scale.ts), so that what is not the
 * bridge's functions does not share their one thread, as in a deployment:
 *   `aws`       dynalite and fauxqs, standing for DynamoDB and SQS;
 *   `backfill`  the RT and Kanboard fakes seeded with the backlog, and the backfill run against them,
 *               as an operator runs `npx deskbridge backfill rt-kanban` from a machine of their own.
 * Each is forked by scale.ts and talks to it over the IPC channel.
 */
import "./quiet.ts";
import { type ChildProcess, fork } from "node:child_process";
import { setPriority } from "node:os";
import { fileURLToPath } from "node:url";
import { Logger } from "@aws-lambda-powertools/logger";
import * as v from "valibot";
import { startEmulators } from "../local/emulators.ts";
import { startKanboardFake } from "../sandbox/kanboard.ts";
import { startRtFake } from "../sandbox/rt.ts";
import { KANBOARD_FAKE_OPTIONS, RT_FAKE_OPTIONS } from "../sandbox/stack.ts";

const AwsReadySchema = v.object({ dynamo: v.string(), sqs: v.string() });
const BackfillReadySchema = v.object({ rt: v.string(), kanboard: v.string() });
const BackfillDoneSchema = v.object({
  tickets: v.number(),
  created: v.number(),
  failed: v.number(),
  seconds: v.number(),
  maxInFlight: v.object({ rt: v.number(), kanboard: v.number() }),
});
export type BackfillDone = v.InferOutput<typeof BackfillDoneSchema>;
const CommandSchema = v.variant("kind", [
  v.object({ kind: v.literal("run"), env: v.record(v.string(), v.string()), concurrency: v.number() }),
  v.object({ kind: v.literal("stop") }),
]);
type Command = v.InferOutput<typeof CommandSchema>;

/** A forked process of this file in `role`, and its first message (parsed with `schema`). */
async function start<T>(
  role: string,
  args: string[],
  schema: v.GenericSchema<unknown, T>,
): Promise<{ child: ChildProcess; ready: T }> {
  const child = fork(fileURLToPath(import.meta.url), [role, ...args], { stdio: "inherit" });
  const ready = await new Promise<T>((resolve, reject) => {
    child.once("message", (message) => resolve(v.parse(schema, message)));
    child.once("exit", (code) => reject(new Error(`the scale run's ${role} process exited (${code})`)));
  });
  return { child, ready };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.send({ kind: "stop" } satisfies Command);
  await exited;
}

/** dynalite and fauxqs in a process of their own. */
export async function startAwsProcess() {
  const { child, ready } = await start("aws", [], AwsReadySchema);
  return { dynamoEndpoint: ready.dynamo, sqsEndpoint: ready.sqs, stop: () => stop(child) };
}

/**
 * The RT and Kanboard fakes, `tickets` open RT tickets in them, and the backfill, in a process of their
 * own, at a lower priority (nice `niceness`): it stands for machines apart from the functions' (the
 * operator's, the helpdesks'), so on a machine with too few cores it gets what the functions leave,
 * rather than taking a Lambda's CPU as it never could deployed.
 */
export async function startBackfillProcess(tickets: number, niceness: number, callMs: number) {
  const { child, ready } = await start("backfill", [String(tickets), String(callMs)], BackfillReadySchema);
  if (child.pid !== undefined && niceness > 0) setPriority(child.pid, niceness);
  return {
    rtUrl: ready.rt,
    kanboardUrl: ready.kanboard,
    /** Runs the backfill with this environment (the stack's config, table and endpoints). */
    run: (env: NodeJS.ProcessEnv, concurrency: number) =>
      new Promise<BackfillDone>((resolve, reject) => {
        child.once("message", (message) => resolve(v.parse(BackfillDoneSchema, message)));
        child.once("exit", (code) => reject(new Error(`the backfill process exited (${code})`)));
        const strings = Object.fromEntries(
          Object.entries(env).filter((entry): entry is [string, string] => typeof entry[1] === "string"),
        );
        child.send({ kind: "run", env: strings, concurrency } satisfies Command);
      }),
    stop: () => stop(child),
  };
}

function commands(handle: (command: Command) => Promise<void>): void {
  process.on("message", (message) => {
    handle(v.parse(CommandSchema, message)).catch((error: unknown) => {
      console.error(error instanceof Error ? (error.stack ?? error.message) : error);
      process.exit(1);
    });
  });
}

const send = (message: unknown) =>
  new Promise<void>((resolve, reject) =>
    process.send?.(message, (error: Error | null) => (error ? reject(error) : resolve())),
  );

async function aws(): Promise<void> {
  const emulators = await startEmulators({ dynamo: 0, sqs: 0 });
  commands(async () => {
    await emulators.stop();
    process.exit(0);
  });
  await send({ dynamo: emulators.dynamoEndpoint, sqs: emulators.sqsEndpoint });
}

async function backfill(tickets: number, callMs: number): Promise<void> {
  const rt = await startRtFake(RT_FAKE_OPTIONS);
  const kanboard = await startKanboardFake(KANBOARD_FAKE_OPTIONS);
  seedBacklog(rt, tickets);
  answerIn([rt, kanboard], callMs);
  commands(async (command) => {
    if (command.kind === "stop") {
      await Promise.all([rt.close(), kanboard.close()]);
      process.exit(0);
    }
    Object.assign(process.env, command.env);
    // After the environment: the backfill's modules read the config when they load.
    const { backfillBoard } = await import("../../lib/sync/rt-kanban/backfill.ts");
    rt.resetInFlight();
    kanboard.resetInFlight();
    const started = performance.now();
    const summary = await backfillBoard({
      logger: new Logger({ serviceName: "deskbridge-backfill", logLevel: "SILENT" }),
      concurrency: command.concurrency,
    });
    await send({
      tickets: summary.tickets,
      created: summary.created,
      failed: summary.failed.length,
      seconds: (performance.now() - started) / 1000,
      maxInFlight: { rt: rt.maxInFlight, kanboard: kanboard.maxInFlight },
    } satisfies BackfillDone);
  });
  await send({ rt: rt.url, kanboard: kanboard.url });
}

/** Makes every call to these fakes take `ms` before its answer, as a helpdesk's does (0: at once). */
export function answerIn(
  fakes: { setChaos(chaos: { seed: number; rate: number; faults: { kind: "delay"; ms: number }[] }): void }[],
  ms: number,
): void {
  if (ms <= 0) return;
  for (const fake of fakes) fake.setChaos({ seed: 1, rate: 1, faults: [{ kind: "delay", ms }] });
}

/** Puts `count` open tickets in the exposed RT queues, as they were before the bridge (no Scrip call kept). */
export function seedBacklog(
  rt: { personCreates(input: { queue: string; subject: string }): unknown; takeScripCalls(): unknown },
  count: number,
): void {
  for (let i = 1; i <= count; i++) {
    rt.personCreates({ queue: i % 2 ? "General" : "Helpdesk", subject: `Backlog ticket ${i}` });
  }
  rt.takeScripCalls();
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.send) {
  const [role, tickets, callMs] = process.argv.slice(2);
  const main =
    role === "aws" ? aws() : role === "backfill" ? backfill(Number(tickets), Number(callMs)) : undefined;
  if (!main) throw new Error(`unknown role ${role}`);
  main.catch((error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  });
}
