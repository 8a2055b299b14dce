import { Logger } from "@aws-lambda-powertools/logger";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useEveryIntegration } from "../../lib/core/config.ts";
import { type MetricPoint, observeMetrics } from "../../lib/core/metrics.ts";
import { newJob } from "../../lib/jobs/queue.ts";
import { jobRuntime } from "../../lib/jobs/runtime.ts";
import { opsDeps } from "../../lib/ops/deps.ts";
import { statusOverview } from "../../lib/ops/overview.ts";
import { REGISTRY } from "../../lib/sync/registry.ts";
import { RT_TICKET_JOB } from "../../lib/sync/rt-kanban/index.ts";
import { lambdaContext, type Stack, setupStack } from "../helpers/stack.ts";

/**
 * Lag, seen before users see it: a poller whose system goes down turns the status page's lag warning
 * on and emits a lag past the alarm's threshold (the `monitoring` thresholds of the config, which the
 * stack's alarms use too: test/unit/cloudformation-template.test.ts), and a job left waiting on its
 * queue shows its age.
 */
const LAG_THRESHOLD = 300;
const QUEUE_AGE_THRESHOLD = 600;
const quiet = new Logger({ logLevel: "SILENT" });

let stack: Stack;
const points: MetricPoint[] = [];
let stopObserving: () => void = () => {};

beforeAll(async () => {
  stack = await setupStack({
    integrationQueues: true,
    configure: (config) =>
      Object.assign(config, {
        monitoring: { pollerLagSeconds: LAG_THRESHOLD, queueAgeSeconds: QUEUE_AGE_THRESHOLD },
      }),
  });
  // The status page's function reads every integration; so does this test's process.
  useEveryIntegration(REGISTRY);
  stopObserving = observeMetrics((point) => points.push(point));
});
afterAll(async () => {
  stopObserving();
  await stack.close();
});

const minutesFrom = (date: Date, minutes: number) => new Date(date.getTime() + minutes * 60_000);
const rtRow = async (now: Date) =>
  (await statusOverview(opsDeps(), now)).integrations.find((row) => row.integration === "rt-kanban");
const lagPoints = () =>
  points.filter((point) => point.name === "PollerLagSeconds").map((point) => [point.dimensions, point.value]);

describe("a poller whose system goes down", () => {
  it("turns the lag warning on and emits a lag past the alarm's threshold", async () => {
    const { handler } = await import("../../functions/rt-kanban/poll-rt.ts");
    const { pollRt } = await import("../../lib/sync/rt-kanban/poller.ts");
    const { watchPoller } = await import("../../lib/jobs/poller-lag.ts");
    const { rtKanban } = await import("../../lib/sync/rt-kanban/index.ts");

    // Before its first successful run there is no lag to show or emit.
    const before = await rtRow(new Date());
    expect(before?.pollers).toEqual([
      { cursor: "rt:main:transactions", system: "rt", thresholdSeconds: LAG_THRESHOLD, warning: false },
    ]);

    // A healthy poll: caught up, no warning, a lag of (about) zero emitted.
    const startedAt = new Date();
    await handler(undefined, lambdaContext());
    await stack.drainJobs();
    const healthy = await rtRow(new Date());
    expect(healthy?.pollers[0]).toMatchObject({ warning: false, lastSuccessAt: expect.any(String) });
    expect(healthy?.pollers[0]?.lagSeconds).toBeLessThan(5);
    expect(Date.parse(healthy?.pollers[0]?.caughtUpTo ?? "")).toBeGreaterThanOrEqual(
      startedAt.getTime() - 1000,
    );
    expect(healthy?.warning).toBe(false);
    expect(lagPoints()).toEqual([[{ integration: "rt-kanban" }, expect.any(Number)]]);

    // RT goes down: every call fails, the runs fail, and the record of the last success stays put.
    stack.rt.failNext(1000, { kind: "status", status: 503 }, {});
    await expect(handler(undefined, lambdaContext())).rejects.toThrow();
    const stalledAt = (await rtRow(new Date()))?.pollers[0];
    expect(stalledAt?.lastSuccessAt).toBe(healthy?.pollers[0]?.lastSuccessAt);
    expect(lagPoints()).toHaveLength(2); // the failed run emitted its lag too

    // Ten minutes on (the poller failing every minute), the lag is past its threshold: the page warns,
    // and the failing run emits a lag the alarm (threshold: the same setting) fires on.
    const later = minutesFrom(new Date(), 10);
    await expect(
      watchPoller(
        rtKanban,
        () => pollRt(quiet),
        () => later,
      ),
    ).rejects.toThrow();
    const emitted = lagPoints().at(-1);
    expect(emitted?.[0]).toEqual({ integration: "rt-kanban" });
    expect(emitted?.[1]).toBeGreaterThan(LAG_THRESHOLD);
    const stalled = await rtRow(later);
    expect(stalled?.pollers[0]).toMatchObject({ warning: true, thresholdSeconds: LAG_THRESHOLD });
    expect(stalled?.pollers[0]?.lagSeconds).toBeGreaterThan(LAG_THRESHOLD);
    expect(stalled?.warning).toBe(true);

    // The page and the JSON answer say so.
    const { renderStatusPage } = await import("../../lib/ops/page/status-page.ts");
    const page = String(renderStatusPage(await statusOverview(opsDeps(), later), { csrfToken: "t" }));
    expect(page).toMatch(/data-poller="rt:main:transactions" data-warning="lag"/);
    expect(page).toMatch(/10m \d+s behind/);

    // RT is back: the next run catches up and the warning goes.
    stack.rt.reset();
    await handler(undefined, lambdaContext());
    await stack.drainJobs();
    expect((await rtRow(new Date()))?.pollers[0]?.warning).toBe(false);
  });
});

describe("a job waiting on its integration's queue", () => {
  it("shows the queue's oldest age, with a warning past its threshold", async () => {
    const queue = stack.resources.jobQueues["rt-kanban"]?.jobs ?? "";
    expect(queue).not.toBe("");
    expect((await rtRow(new Date()))?.queue).toEqual({
      oldestAgeSeconds: 0,
      thresholdSeconds: QUEUE_AGE_THRESHOLD,
      warning: false,
    });
    await jobRuntime().queue.send(newJob(RT_TICKET_JOB, { ticketId: 999_999 }, { origin: "poller" }));
    expect(await stack.queueDepth(queue)).toBe(1);
    const soon = await rtRow(new Date());
    expect(soon?.queue?.oldestAgeSeconds).toBeLessThan(5);
    expect(soon?.queue?.warning).toBe(false);
    const later = await rtRow(minutesFrom(new Date(), 15));
    expect(later?.queue?.oldestAgeSeconds).toBeGreaterThanOrEqual(15 * 60 - 5);
    expect(later?.queue?.warning).toBe(true);
    expect(later?.warning).toBe(true);
    // Reading the age never took the message off the queue or counted a receive.
    expect(await stack.queueDepth(queue)).toBe(1);
  });
});
