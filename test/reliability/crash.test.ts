import { type ChildProcess, spawn } from "node:child_process";
import { PurgeQueueCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { failDynamoWrite } from "../../infra/sandbox/dynamo-faults.ts";
import { type Scenario, type ScenarioKey, scenarios } from "../../infra/sandbox/scenarios.ts";
import { type Stack, setupStack } from "../helpers/stack.ts";

/**
 * A crash between two steps: the worker process is killed (SIGKILL) the moment the target has done
 * the work of a step, before the next step (saving the link, writing back) runs. Its message stays in
 * flight, comes back after the visibility timeout, and the next attempt must find the work done:
 * exactly one object, back-references written, link saved.
 */
const CRASHES: { key: ScenarioKey; after: string; twice?: string }[] = [
  { key: "glpiForms", after: "create the ticket" },
  { key: "otrsRedmine", after: "create the issue" },
  { key: "otrsRedmine", after: "write the issue id back to OTRS" },
  { key: "otrsRedmineConversation", after: "add the article" },
  { key: "otrsRedmineConversation", after: "add the note" },
  { key: "itopPair", after: "create the internal ticket" },
  { key: "rtKanban", after: "create the card" },
  { key: "rtKanban", after: "write the card id back to RT" },
  { key: "livechat", after: "create the ticket" },
  // Through the bot: the next attempt asks Rocket.Chat for the message's id and finds it posted.
  { key: "notifications", after: "post to Rocket.Chat" },
  {
    key: "notificationsHooks",
    after: "post to Rocket.Chat",
    twice:
      "the message was posted through an Incoming WebHook and the process died before recording it: the next attempt posts again (at least once)",
  },
];

let stack: Stack;
let all: Record<ScenarioKey, Scenario>;
const children: ChildProcess[] = [];

beforeAll(async () => {
  stack = await setupStack({ jobs: { maxAttempts: 5 }, visibilityTimeoutSeconds: 3 });
  all = await scenarios(stack);
});
afterAll(async () => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  await stack.close();
});

/** Starts the worker in its own process and waits until it polls the queue. */
async function startWorker(): Promise<ChildProcess & { runnerPid: number }> {
  const child = spawn(
    process.execPath,
    // tsx's loader in this very process: the tsx CLI would run the worker in a child of its own,
    // which a SIGKILL of the CLI leaves running (and taking the jobs the test means to strand).
    ["--import", "tsx", "test/reliability/worker-process.ts"],
    {
      env: { ...process.env, POWERTOOLS_LOG_LEVEL: "SILENT" },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  children.push(child);
  const runnerPid = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the worker process did not start")), 30_000);
    child.stdout?.on("data", (chunk: Buffer) => {
      const ready = /ready (\d+)/.exec(chunk.toString());
      if (ready) {
        clearTimeout(timer);
        resolve(Number(ready[1]));
      }
    });
    child.once("exit", () => reject(new Error("the worker process exited before it was ready")));
  });
  return Object.assign(child, { runnerPid });
}

const exited = (child: ChildProcess, ms: number) =>
  new Promise<string | null>((resolve, reject) => {
    if (child.signalCode !== null || child.exitCode !== null) return resolve(child.signalCode);
    const timer = setTimeout(
      () => reject(new Error("the worker process was never killed: the step did not run")),
      ms,
    );
    child.once("exit", (_code, signal) => {
      clearTimeout(timer);
      resolve(signal);
    });
  });

describe("a worker killed between two steps", () => {
  for (const crash of CRASHES) {
    it(`${crash.key}: killed right after "${crash.after}", the job converges${crash.twice ? " (delivered twice)" : " once"}`, async () => {
      const scenario = all[crash.key];
      scenario.reset();
      failDynamoWrite(undefined);
      await stack.sqs.send(new PurgeQueueCommand({ QueueUrl: stack.resources.deadLetterQueueUrl }));
      const [first] = scenario.steps;
      const step = scenario.steps.find((s) => s.name === crash.after);
      if (!first?.raw || !step?.raw) throw new Error("the steps take no raw fault");
      // The inline attempt fails its first step, so the job goes to the queue and the worker process.
      first.raw({ kind: "status", status: 503, body: "Service Unavailable" });
      const worker = await startWorker();
      step.raw({ kind: "crash", onServed: () => worker.kill("SIGKILL") });
      const { handle, send } = await scenario.prepare();
      const status = await send();
      expect(status).toBeLessThan(300);
      expect(await exited(worker, 30_000)).toBe("SIGKILL");
      // The process that ran the job is the one killed (not a launcher whose child would run on).
      expect(worker.runnerPid).toBe(worker.pid);
      expect(() => process.kill(worker.runnerPid, 0)).toThrow(expect.objectContaining({ code: "ESRCH" }));
      // After the visibility timeout the message is back; this process's worker takes it.
      await stack.drainJobs({ timeoutMs: 60_000, idleMs: 4000 });
      const outcome = await scenario.converged(handle);
      expect(outcome.objects, `${outcome.detail}${crash.twice ? ` (${crash.twice})` : ""}`).toBe(
        crash.twice ? 2 : 1,
      );
      if (!crash.twice) expect(outcome.complete, outcome.detail).toBe(true);
    }, 120_000);
  }
});
