import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as v from "valibot";

/**
 * What a running `npm start` stack is: written by `npm start` once everything answers, removed when it
 * stops, and read by `npx deskbridge` so that the CLI works on that stack (its config, emulator ports,
 * table and queues) from any shell. Names and addresses only: no secret value is ever written here.
 */
export const StackStateSchema = v.object({
  /** The `npm start` process; a file whose process is gone is a stale file from a killed stack. */
  pid: v.pipe(v.number(), v.integer(), v.minValue(1)),
  startedAt: v.string(),
  /** Absolute path of the config file the stack runs. */
  configPath: v.string(),
  /** The KEY=value file the stack read secrets from (the sandbox's), for those its environment lacked. */
  secretsFile: v.optional(v.string()),
  /** The names of variables the stack took from its own environment: the CLI's shell needs them too. */
  secretsFromEnvironment: v.array(v.string()),
  httpUrl: v.string(),
  dynamoEndpoint: v.string(),
  sqsEndpoint: v.string(),
  region: v.string(),
  table: v.string(),
  jobsQueueUrl: v.string(),
  deadLetterQueueUrl: v.string(),
  /** Each integration's queue pair (JOB_QUEUES), by integration id. */
  jobQueues: v.optional(v.record(v.string(), v.object({ jobs: v.string(), deadLetters: v.string() }))),
});
export type StackState = v.InferOutput<typeof StackStateSchema>;

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/**
 * The state file: DESKBRIDGE_STACK_FILE, else .local/stack.json in the project. The tests' own stacks
 * name files of their own, so they never overwrite (or remove) the file of a developer's stack.
 */
export function stackStateFile(env: NodeJS.ProcessEnv = process.env): string {
  return env.DESKBRIDGE_STACK_FILE ? resolve(env.DESKBRIDGE_STACK_FILE) : resolve(ROOT, ".local/stack.json");
}

/** Writes the state file whole (a reader never sees half of it). */
export function writeStackState(file: string, state: StackState): void {
  mkdirSync(dirname(file), { recursive: true });
  const partial = `${file}.${process.pid}.tmp`;
  writeFileSync(partial, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(partial, file);
}

/** Removes the state file if it is this process's (a second stack may have replaced it since). */
export function removeStackState(file: string, pid: number = process.pid): void {
  const state = readStackFile(file);
  if (state.kind === "running" || state.kind === "stale") {
    if (state.state.pid === pid) rmSync(file, { force: true });
  }
}

export type StackFileReading =
  | { kind: "running"; state: StackState }
  /** Written by a stack whose process is gone (killed, or the machine restarted). */
  | { kind: "stale"; state: StackState }
  | { kind: "absent" }
  | { kind: "unreadable"; reason: string };

/** Reads the state file and checks that its process is still alive. */
export function readStackFile(file: string): StackFileReading {
  if (!existsSync(file)) return { kind: "absent" };
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    return { kind: "unreadable", reason: (error as Error).message };
  }
  const state = v.safeParse(StackStateSchema, parsed);
  if (!state.success) return { kind: "unreadable", reason: v.summarize(state.issues).split("\n")[0] ?? "" };
  return { kind: isAlive(state.output.pid) ? "running" : "stale", state: state.output };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
