import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";

/**
 * The bridge's own CloudWatch metrics, written as log lines in the embedded metric format (Powertools
 * Metrics): CloudWatch Logs turns them into metrics, with no API call from the function. Namespace
 * `POWERTOOLS_METRICS_NAMESPACE` (serverless.yml: `deskbridge-<stage>`), every metric with the
 * dimension `service` (deskbridge) and its own: `integration` or `system`.
 *
 * Each point is one line, written as it happens (a Powertools single metric), so a function that
 * crashes later loses none, and nothing is built before a function's first point: a route that
 * answers 401 never constructs a Metrics.
 */
export const METRIC = {
  /** Per integration: events (webhooks, poller finds, replays) that became jobs. */
  received: "EventsReceived",
  /** Per integration: jobs that synced. */
  synced: "EventsSynced",
  /** Per integration: attempts that failed and will be retried. */
  retried: "EventsRetried",
  /** Per integration: jobs that went to the dead-letter queue. */
  deadLettered: "EventsDeadLettered",
  /** Per integration: how far behind now a poller has read, in seconds (each run, success or not). */
  pollerLag: "PollerLagSeconds",
  /** Per system: each call's duration, in milliseconds (its SampleCount is the number of calls). */
  upstreamLatency: "UpstreamLatency",
  /** Per system: calls that failed (no answer, a 5xx or a 429). */
  upstreamErrors: "UpstreamErrors",
  /** Per system: 1 when its breaker opens or holds a job, 0 when it closes (lib/jobs/breakers.ts). */
  systemDown: "SystemDown",
} as const;
export type MetricName = (typeof METRIC)[keyof typeof METRIC];

export interface MetricPoint {
  name: MetricName;
  unit: "Count" | "Seconds" | "Milliseconds";
  value: number;
  dimensions: { integration: string } | { system: string };
}

/** The namespace when serverless.yml sets none (local runs). */
const LOCAL_NAMESPACE = "deskbridge-local";
/** The `service` dimension of every metric (the alarms name it). */
export const SERVICE = "deskbridge";
const observers = new Set<(point: MetricPoint) => void>();

/**
 * One single-metric writer per namespace and dimensions, kept for the container's life: a single
 * metric is written as it is added and its writer keeps only its default dimensions, so each is
 * reused, and a point costs a line, not a new writer (reading its settings from the environment).
 */
const writers = new Map<string, Metrics>();

function writerFor(dimensions: MetricPoint["dimensions"]): Metrics {
  const namespace = process.env.POWERTOOLS_METRICS_NAMESPACE || LOCAL_NAMESPACE;
  const key = `${namespace}|${JSON.stringify(dimensions)}`;
  let writer = writers.get(key);
  if (!writer) {
    writer = new Metrics({
      namespace,
      serviceName: SERVICE,
      singleMetric: true,
      defaultDimensions: dimensions,
    });
    writers.set(key, writer);
  }
  return writer;
}

/** Writes one metric point (never throws: a metric is an aside). */
export function emitMetric(point: MetricPoint): void {
  for (const observe of observers) observe(point);
  try {
    writerFor(point.dimensions).addMetric(point.name, MetricUnit[point.unit], point.value);
  } catch {
    // A metric that cannot be written is dropped: the work it measures goes on.
  }
}

/** Calls `observe` with every point emitted until the returned function is called (tests, the bench). */
export function observeMetrics(observe: (point: MetricPoint) => void): () => void {
  observers.add(observe);
  return () => observers.delete(observe);
}
