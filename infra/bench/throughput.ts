import { Session } from "node:inspector/promises";
import { SqsEventSource } from "../../infra/local/sqs-event-source.ts";
import { newJob } from "../../lib/jobs/queue.ts";
import { jobRuntime } from "../../lib/jobs/runtime.ts";
import { lambdaContext, type Stack } from "../../test/helpers/stack.ts";

export interface ThroughputRow {
  batchSize: number;
  jobs: number;
  seconds: number;
  jobsPerSecond: number;
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
  const { handler } = await import("../../functions/worker.ts");
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
): Promise<{ rows: ThroughputRow[]; hotSpots: HotSpot[] }> {
  const rows: ThroughputRow[] = [];
  let hotSpots: HotSpot[] = [];
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
    }
    rows.push({ batchSize, jobs: options.jobs, seconds, jobsPerSecond: options.jobs / seconds });
  }
  return { rows, hotSpots };
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
