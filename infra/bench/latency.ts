import { PurgeQueueCommand } from "@aws-sdk/client-sqs";
import { lambdaContext } from "../local/events.ts";
import { SqsEventSource } from "../local/sqs-event-source.ts";
import type { Stack } from "../sandbox/stack.ts";
import { type AwsCall, floorHandler, recordAwsCalls } from "./aws-recorder.ts";
import { type HttpCall, recordHttpCalls, replayHttpCalls } from "./http-recorder.ts";
import type { BenchRoute } from "./routes.ts";
import { percentile, timed } from "./timing.ts";

export interface LatencyRow {
  route: string;
  integration: string;
  concurrency: number;
  requests: number;
  p50: number;
  p99: number;
  floorP50: number;
  floorP99: number;
  /** p99 against the floor's p99. */
  ratio: number;
}

export interface EventProfile {
  route: string;
  integration: string;
  /** Calls to the external systems for one event, by system (the fakes count them), ack and worker. */
  upstream: Record<string, number>;
  /** The route's own DynamoDB and SQS calls (what its ack waits for). */
  aws: AwsCall[];
  /** The HTTP requests the route itself sent to the external systems (an inline route's), as sent. */
  http: HttpCall[];
  /** One event's handler time at concurrency 1, median (the Lambda duration the cost uses). */
  durationMs: number;
  /** The worker's share, for a route that queues its job: its calls and its time for that one job. */
  worker?: { aws: AwsCall[]; durationMs: number };
}

/** Calls each fake has answered so far, by system. */
export function fakeCalls(stack: Stack): Record<string, number> {
  return {
    glpi: stack.glpi.calls.length,
    otrs: stack.otrs.calls.length,
    redmine: stack.redmine.calls.length,
    "itop-external": stack.itop.external.calls.length,
    "itop-internal": stack.itop.internal.calls.length,
    rt: stack.rt.calls.length,
    kanboard: stack.kanboard.calls.length,
    rocketchat: stack.rocketchat.calls.length,
  };
}

function diff(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [system, count] of Object.entries(after)) {
    const delta = count - (before[system] ?? 0);
    if (delta > 0) out[system] = delta;
  }
  return out;
}

/**
 * Runs the worker Lambda's handler on what the jobs queue holds (the job of the event just sent), as
 * its event source would: the AWS calls the handler makes, and how long it takes.
 */
async function runQueuedJobs(stack: Stack): Promise<{ aws: AwsCall[]; durationMs: number; jobs: number }> {
  const { handler } = await import("../sandbox/every-job-worker.ts");
  const aws: AwsCall[] = [];
  let durationMs = 0;
  let jobs = 0;
  const source = new SqsEventSource({
    sqs: stack.sqs,
    queueUrl: stack.resources.jobsQueueUrl,
    queueArn: "arn:aws:sqs:us-east-1:000000000000:bench-jobs",
    invoke: async (event) => {
      const started = performance.now();
      const { result, calls } = await recordAwsCalls(() => handler(event, lambdaContext()));
      durationMs += performance.now() - started;
      aws.push(...calls);
      jobs += event.Records.length;
      return result;
    },
    waitSeconds: 0,
  });
  while ((await source.pollOnce()) > 0);
  return { aws, durationMs, jobs };
}

/** Rounds a concurrency level is measured in (route and floor alternating). */
const ROUNDS = 5;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

/**
 * Each route's ack latency (the handler: what API Gateway waits for, against the emulators and fakes
 * that answer at once) at each concurrency, against its floor: the same DynamoDB and SQS calls, bare.
 * Also one event's profile: its calls to the external systems and to AWS, the route's and (for a route
 * that queues its job) the worker's, and how long each took.
 */
export async function measureLatency(
  stack: Stack,
  routes: BenchRoute[],
  options: { concurrency: number[]; requests: number; warmup: number },
): Promise<{ rows: LatencyRow[]; profiles: EventProfile[] }> {
  const rows: LatencyRow[] = [];
  const profiles: EventProfile[] = [];
  const purge = () => stack.sqs.send(new PurgeQueueCommand({ QueueUrl: stack.resources.jobsQueueUrl }));
  for (const route of routes) {
    // Warm the route and the worker (sessions, caches), then leave the queue empty.
    for (let i = 0; i < options.warmup; i++) await (await route.prepare())();
    await stack.drainJobs({ idleMs: 100, timeoutMs: 60_000 });
    // A few events, one at a time, recorded: what each costs upstream and in AWS, ack and worker.
    let profile: EventProfile | undefined;
    const workerMs: number[] = [];
    for (let i = 0; i < 5; i++) {
      const send = await route.prepare();
      const before = fakeCalls(stack);
      const {
        result: { calls },
        calls: http,
      } = await recordHttpCalls(() => recordAwsCalls(send));
      const worker = await runQueuedJobs(stack);
      const upstream = diff(fakeCalls(stack), before);
      if (worker.jobs > 0) workerMs.push(worker.durationMs);
      profile = {
        route: route.route,
        integration: route.integration,
        upstream,
        aws: calls,
        http,
        durationMs: 0,
        ...(worker.jobs > 0 ? { worker: { aws: worker.aws, durationMs: 0 } } : {}),
      };
    }
    if (!profile) throw new Error(`${route.route}: no event was profiled`);
    if (profile.worker) profile.worker.durationMs = median(workerMs);
    const awsFloor = floorHandler(profile.aws);
    const http = profile.http;
    // A route that must answer with the sync's result also waits for the helpdesk: its floor does too.
    const floor = async () => {
      await awsFloor();
      await replayHttpCalls(http);
    };
    for (const concurrency of options.concurrency) {
      // In rounds, the route and its floor alternating, so that a slow moment of the machine (a GC of
      // the emulators in this process) falls on both alike.
      const measured: number[] = [];
      const floored: number[] = [];
      const perRound = Math.max(concurrency, Math.ceil(options.requests / ROUNDS));
      for (let round = 0, done = 0; done < options.requests; round += 1, done += perRound) {
        const count = Math.min(perRound, options.requests - done);
        const sends: (() => Promise<number>)[] = [];
        for (let i = 0; i < count; i++) sends.push(await route.prepare());
        const floors = Array.from({ length: count }, () => floor);
        if (round % 2 === 0) {
          measured.push(...(await timed(sends, concurrency)));
          floored.push(...(await timed(floors, concurrency)));
        } else {
          floored.push(...(await timed(floors, concurrency)));
          measured.push(...(await timed(sends, concurrency)));
        }
      }
      measured.sort((a, b) => a - b);
      floored.sort((a, b) => a - b);
      // The measured events' jobs are not run (their upstream calls were counted above), and the
      // floor's messages are only there to be sent.
      await purge();
      const row: LatencyRow = {
        route: route.route,
        integration: route.integration,
        concurrency,
        requests: options.requests,
        p50: percentile(measured, 50),
        p99: percentile(measured, 99),
        floorP50: percentile(floored, 50),
        floorP99: percentile(floored, 99),
        ratio: percentile(measured, 99) / Math.max(0.001, percentile(floored, 99)),
      };
      rows.push(row);
      if (concurrency === 1) profile.durationMs = row.p50;
    }
    profiles.push(profile);
  }
  return { rows, profiles };
}
