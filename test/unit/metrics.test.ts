import { afterEach, describe, expect, it, vi } from "vitest";
import { emitMetric, type MetricPoint, observeMetrics } from "../../lib/core/metrics.ts";
import { measuredFetch } from "../../lib/systems/http.ts";

/** The EMF lines written to stdout while `run` runs (metrics enabled, as on Lambda). */
async function emfLines(run: () => Promise<void> | void): Promise<unknown[]> {
  vi.stubEnv("POWERTOOLS_METRICS_DISABLED", "false");
  vi.stubEnv("POWERTOOLS_METRICS_NAMESPACE", "deskbridge-test");
  const lines: string[] = [];
  const write = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
    lines.push(String(chunk));
    return true;
  });
  try {
    await run();
  } finally {
    write.mockRestore();
  }
  return lines.flatMap((text) => text.split("\n").filter(Boolean)).map((line) => JSON.parse(line));
}

afterEach(() => vi.unstubAllEnvs());

describe("the bridge's metrics", () => {
  it("writes each point as one embedded-metric-format line, with its service and own dimension", async () => {
    const lines = await emfLines(() =>
      emitMetric({
        name: "PollerLagSeconds",
        unit: "Seconds",
        value: 75,
        dimensions: { integration: "rt-kanban" },
      }),
    );
    expect(lines).toEqual([
      {
        _aws: {
          Timestamp: expect.any(Number),
          CloudWatchMetrics: [
            {
              Namespace: "deskbridge-test",
              Dimensions: [["service", "integration"]],
              Metrics: [{ Name: "PollerLagSeconds", Unit: "Seconds" }],
            },
          ],
        },
        service: "deskbridge",
        integration: "rt-kanban",
        PollerLagSeconds: 75,
      },
    ]);
  });

  it("times every upstream call and counts the ones with no answer, a 5xx or a 429 as errors", async () => {
    const points: MetricPoint[] = [];
    const stop = observeMetrics((point) => points.push(point));
    const answers = [
      new Response("ok"),
      new Response("busy", { status: 503 }),
      new Response("", { status: 429 }),
    ];
    const fetcher = measuredFetch("rt", async () => {
      const next = answers.shift();
      if (!next) throw new TypeError("fetch failed");
      return next;
    });
    try {
      expect((await fetcher("http://127.0.0.1/")).status).toBe(200);
      expect((await fetcher("http://127.0.0.1/")).status).toBe(503);
      expect((await fetcher("http://127.0.0.1/")).status).toBe(429);
      await expect(fetcher("http://127.0.0.1/")).rejects.toThrow("fetch failed");
    } finally {
      stop();
    }
    expect(points.map((p) => [p.name, p.dimensions])).toEqual([
      ["UpstreamLatency", { system: "rt" }],
      ["UpstreamLatency", { system: "rt" }],
      ["UpstreamErrors", { system: "rt" }],
      ["UpstreamLatency", { system: "rt" }],
      ["UpstreamErrors", { system: "rt" }],
      ["UpstreamLatency", { system: "rt" }],
      ["UpstreamErrors", { system: "rt" }],
    ]);
  });
});
