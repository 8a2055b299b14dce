import { Session } from "node:inspector/promises";
import { SqsEventSource } from "../../infra/local/sqs-event-source.ts";
import { newJob } from "../../lib/jobs/queue.ts";
import { jobRuntime } from "../../lib/jobs/runtime.ts";
import { lambdaContext } from "../local/events.ts";
import type { Stack } from "../sandbox/stack.ts";

export interface ThroughputRow {
  batchSize: number;
  jobs: number;
  seconds: number;
  jobsPerSecond: number;
}

/** Self time by what it belongs to: the bridge's code, the AWS SDK, the stand-ins of the systems… */
export interface Area {
  area: string;
  selfMs: number;
  share: number;
}

export interface HotSpot {
  fn: string;
  where: string;
  selfMs: number;
  share: number;
}

/** Queues `count` RT ticket jobs (a new ticket each: search, create, write back), made in the RT fake. */
async function queueJobs(stack: Stack, count: number): Promise<void> {
  const runtime = jobRuntime();
  for (let i = 0; i < count; i++) {
    const ticket = stack.rt.personCreates({ queue: "General", subject: `Throughput ${i}` });
    await runtime.queue.send(newJob("rt-kanban.ticket", { ticketId: ticket.id }, { origin: "poller" }));
  }
  stack.rt.takeScripCalls();
}

/** Drains the jobs queue with the worker in this process, `batchSize` messages an invocation. */
async function drain(stack: Stack, batchSize: number, expected: number): Promise<number> {
  const { handler } = await import("../sandbox/every-job-worker.ts");
  const source = new SqsEventSource({
    sqs: stack.sqs,
    queueUrl: stack.resources.jobsQueueUrl,
    queueArn: "arn:aws:sqs:us-east-1:000000000000:jobs",
    invoke: (event) => handler(event, lambdaContext()),
    batchSize,
    waitSeconds: 0,
  });
  const started = performance.now();
  let done = 0;
  while (done < expected) {
    const received = await source.pollOnce();
    done += received;
    if (received === 0) await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return (performance.now() - started) / 1000;
}

/**
 * Jobs per second the worker drains (the fakes answering at once), by batch size; and, for the last
 * batch size, where the time goes (a CPU profile of the drain, top functions by self time).
 */
export async function measureThroughput(
  stack: Stack,
  options: { jobs: number; batchSizes: number[] },
): Promise<{ rows: ThroughputRow[]; hotSpots: HotSpot[]; areas: Area[] }> {
  const rows: ThroughputRow[] = [];
  let hotSpots: HotSpot[] = [];
  let areas: Area[] = [];
  for (const [i, batchSize] of options.batchSizes.entries()) {
    await queueJobs(stack, options.jobs);
    const profile = i === options.batchSizes.length - 1;
    const session = new Session();
    if (profile) {
      session.connect();
      await session.post("Profiler.enable");
      await session.post("Profiler.start");
    }
    const seconds = await drain(stack, batchSize, options.jobs);
    if (profile) {
      const { profile: cpu } = await session.post("Profiler.stop");
      session.disconnect();
      hotSpots = topFunctions(cpu, 12);
      areas = byArea(cpu);
    }
    rows.push({ batchSize, jobs: options.jobs, seconds, jobsPerSecond: options.jobs / seconds });
  }
  return { rows, hotSpots, areas };
}

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples?: number[];
  timeDeltas?: number[];
}

function topFunctions(profile: CpuProfile, count: number): HotSpot[] {
  const byNode = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<string, { fn: string; where: string; us: number }>();
  let total = 0;
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (const [i, id] of samples.entries()) {
    const node = byNode.get(id);
    const us = deltas[i] ?? 0;
    total += us;
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const fn = functionName || "(anonymous)";
    const where = url
      ? `${url.replace(/^.*\/(node_modules|lib|infra|test|functions)\//, "$1/")}:${lineNumber + 1}`
      : "(native)";
    const key = `${fn}@${where}`;
    const entry = self.get(key) ?? { fn, where, us: 0 };
    entry.us += us;
    self.set(key, entry);
  }
  return [...self.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, count)
    .map((entry) => ({
      fn: entry.fn,
      where: entry.where,
      selfMs: entry.us / 1000,
      share: total ? entry.us / total : 0,
    }));
}

/** Which part of the process a frame's code belongs to. */
function areaOf(url: string, fn: string): string {
  if (fn === "(garbage collector)") return "garbage collection";
  if (fn === "(idle)" || fn === "(program)") return "idle / V8";
  if (!url) return "Node.js natives (sockets, timers, crypto)";
  if (/\/(lib|functions)\//.test(url) && !url.includes("node_modules"))
    return "deskbridge (lib/, functions/)";
  if (url.includes("/infra/sandbox/")) return "system fakes (infra/sandbox)";
  if (/node_modules\/(@aws-sdk|@smithy|@aws-crypto)/.test(url)) return "AWS SDK";
  if (/node_modules\/(dynalite|fauxqs|levelup|leveldown|memdown|lazy)/.test(url))
    return "emulators (dynalite, fauxqs)";
  if (/node_modules\/(undici|ky)/.test(url) || url.startsWith("node:internal/deps/undici"))
    return "HTTP client (ky, undici)";
  if (/node_modules\/(valibot|@aws-lambda-powertools)/.test(url)) return "valibot, Powertools";
  if (url.startsWith("node:")) return "Node.js internals";
  if (url.includes("/infra/")) return "local event source (infra/local)";
  return "other dependencies";
}

function byArea(profile: CpuProfile): Area[] {
  const byNode = new Map(profile.nodes.map((node) => [node.id, node]));
  const totals = new Map<string, number>();
  let total = 0;
  for (const [i, id] of (profile.samples ?? []).entries()) {
    const node = byNode.get(id);
    const us = profile.timeDeltas?.[i] ?? 0;
    total += us;
    const area = node ? areaOf(node.callFrame.url, node.callFrame.functionName) : "other dependencies";
    totals.set(area, (totals.get(area) ?? 0) + us);
  }
  return [...totals.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([area, us]) => ({ area, selfMs: us / 1000, share: total ? us / total : 0 }));
}
