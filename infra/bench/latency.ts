import type { Stack } from "../../test/helpers/stack.ts";
import { type AwsCall, floorHandler, recordAwsCalls } from "./aws-recorder.ts";
import type { BenchRoute } from "./routes.ts";

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
  /** Calls to the external systems for one event, by system (the fakes count them). */
  upstream: Record<string, number>;
  aws: AwsCall[];
  /** One event's handler time at concurrency 1, median (the Lambda duration the cost uses). */
  durationMs: number;
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

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? 0;

/** Runs the calls `concurrency` at a time; returns each one's duration in ms, sorted. */
async function timed(calls: (() => Promise<unknown>)[], concurrency: number): Promise<number[]> {
  const durations: number[] = [];
  let next = 0;
  const lane = async () => {
    for (;;) {
      const call = calls[next++];
      if (!call) return;
      const started = performance.now();
      await call();
      durations.push(performance.now() - started);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return durations.sort((a, b) => a - b);
}

/**
 * Each route's ack latency (the handler, inline work included, against the emulators and fakes that
 * answer at once) at each concurrency, against its floor: the same DynamoDB and SQS calls, bare.
 * Also one event's profile: its calls to the external systems and to AWS.
 */
export async function measureLatency(
  stack: Stack,
  routes: BenchRoute[],
  options: { concurrency: number[]; requests: number; warmup: number },
): Promise<{ rows: LatencyRow[]; profiles: EventProfile[] }> {
  const rows: LatencyRow[] = [];
  const profiles: EventProfile[] = [];
  for (const route of routes) {
    for (let i = 0; i < options.warmup; i++) await (await route.prepare())();
    // One event, recorded: what it costs upstream and in AWS.
    const send = await route.prepare();
    const before = fakeCalls(stack);
    const { calls } = await recordAwsCalls(send);
    const upstream = diff(fakeCalls(stack), before);
    const floor = floorHandler(calls);
    let durationMs = 0;
    for (const concurrency of options.concurrency) {
      const sends: (() => Promise<number>)[] = [];
      for (let i = 0; i < options.requests; i++) sends.push(await route.prepare());
      const measured = await timed(sends, concurrency);
      const floored = await timed(
        Array.from({ length: options.requests }, () => floor),
        concurrency,
      );
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
      if (concurrency === 1) durationMs = row.p50;
    }
    profiles.push({ route: route.route, integration: route.integration, upstream, aws: calls, durationMs });
  }
  return { rows, profiles };
}
