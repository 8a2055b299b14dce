import type { HTTPError, KyInstance, Options } from "ky";
import { emitMetric, METRIC } from "../core/metrics.ts";

/**
 * ky, loaded on first use. Evaluating ky reads fetch's globals (Request, ReadableStream), and that
 * loads Node's bundled undici: some 20 ms of a cold start. So a function that calls no helpdesk (a
 * webhook answered from the queue, a job status read) never pays for it. In a bundle, esbuild keeps
 * ky and runs it at the first import().
 */
let loading: Promise<typeof import("ky")> | undefined;

export function loadKy(): Promise<typeof import("ky")> {
  loading ??= import("ky");
  return loading;
}

/**
 * A ky instance with these options, created the first time it is asked for. With `system`, every call
 * it makes (each retry too) is measured: its latency and, when it gets no answer, a 5xx or a 429, an
 * error, as that system's metrics (lib/core/metrics.ts).
 */
export function lazyHttp(options: Options, system?: string): () => Promise<KyInstance> {
  let instance: Promise<KyInstance> | undefined;
  return () => {
    instance ??= loadKy().then((ky) =>
      ky.default.create(
        system ? { ...options, fetch: measuredFetch(system, options.fetch ?? fetch) } : options,
      ),
    );
    return instance;
  };
}

/** `fetch`, timing each call and counting its failures under `system`'s metrics. */
export function measuredFetch(system: string, inner: typeof fetch): typeof fetch {
  return async (input, init) => {
    const started = performance.now();
    let failed = true;
    try {
      const response = await inner(input, init);
      failed = response.status >= 500 || response.status === 429;
      return response;
    } finally {
      const dimensions = { system };
      emitMetric({
        name: METRIC.upstreamLatency,
        unit: "Milliseconds",
        value: performance.now() - started,
        dimensions,
      });
      if (failed) emitMetric({ name: METRIC.upstreamErrors, unit: "Count", value: 1, dimensions });
    }
  };
}

/** ky's HTTPError (an answer outside 2xx), recognised without loading ky. */
export function isHttpError(error: unknown): error is HTTPError {
  return (
    error instanceof Error &&
    error.name === "HTTPError" &&
    typeof (error as { response?: unknown }).response === "object" &&
    (error as { response?: unknown }).response !== null
  );
}
