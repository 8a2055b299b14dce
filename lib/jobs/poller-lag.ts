import type { Config } from "../core/config-schema.ts";
import { logger } from "../core/logger.ts";
import { emitMetric, METRIC } from "../core/metrics.ts";
import { pollerLagSeconds } from "../links/cursors.ts";
import { jobRuntime } from "./runtime.ts";

/** An integration as far as its pollers go (its descriptor, lib/sync/descriptor.ts, a layer above). */
export interface PolledIntegration {
  id: string;
  pollers?: readonly { cursor(config: Readonly<Config>): string | undefined }[];
}

/**
 * Runs one of `integration`'s pollers, then emits each of its pollers' lag (PollerLagSeconds, per
 * integration), whether the run succeeded or not: a poller whose system is down keeps emitting a lag
 * that grows by its interval each run, so the lag alarm fires after its threshold. Before a poller's
 * first successful run there is no lag to emit (the status page says "never"; its errors show).
 */
export async function watchPoller<T>(
  integration: PolledIntegration,
  run: () => Promise<T>,
  now: () => Date = () => new Date(),
): Promise<T> {
  try {
    return await run();
  } finally {
    await reportPollerLag(integration, now());
  }
}

/** Emits the lag of each of the integration's pollers at `now`; the lags, for the caller. Never throws. */
export async function reportPollerLag(integration: PolledIntegration, now: Date): Promise<number[]> {
  const runtime = jobRuntime();
  const lags: number[] = [];
  for (const poller of integration.pollers ?? []) {
    const cursor = poller.cursor(runtime.config);
    if (!cursor) continue;
    try {
      const last = await runtime.cursors.lastRun(cursor);
      if (!last) continue;
      const lag = pollerLagSeconds(last, now);
      emitMetric({
        name: METRIC.pollerLag,
        unit: "Seconds",
        value: lag,
        dimensions: { integration: integration.id },
      });
      lags.push(lag);
    } catch (error) {
      logger.warn("could not read the poller's last run to report its lag", { cursor, error });
    }
  }
  return lags;
}
