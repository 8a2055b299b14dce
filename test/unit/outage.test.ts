import { describe, expect, it } from "vitest";
import { deployedProblems } from "../../lib/core/config.ts";
import { UpstreamRetryableError } from "../../lib/core/errors.ts";
import { breakerSettings, breakerWaitSeconds } from "../../lib/jobs/breakers.ts";
import { DEFAULT_OUTAGE_SETTINGS, outageStep, scaledDelaySeconds } from "../../lib/jobs/outage.ts";
import { newJob } from "../../lib/jobs/queue.ts";

const outage = new UpstreamRetryableError({ system: "glpi:main" }, "GLPI did not answer");
const HOUR = 3_600_000;

describe("the outage clock", () => {
  it("puts a job back without using an attempt, keeping when it first met the outage", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    const job = { ...newJob("glpi-forms.create-ticket", {}), priorAttempts: 1 };
    const step = outageStep(job, outage, 1, DEFAULT_OUTAGE_SETTINGS, now, () => 0.5);
    if (step.kind !== "retry") throw new Error("expected a retry");
    expect(step.job).toMatchObject({ priorAttempts: 1, outages: 1, outageSince: "2026-01-01T00:00:00.000Z" });
    const later = outageStep(step.job, outage, 1, DEFAULT_OUTAGE_SETTINGS, now + 71 * HOUR, () => 0.5);
    expect(later.kind === "retry" && later.job.outageSince).toBe("2026-01-01T00:00:00.000Z");
  });

  it("caps the outage backoff at outageBackoffMaxSeconds and honours a longer Retry-After up to it", () => {
    const job = { ...newJob("x.y", {}), outageSince: new Date().toISOString(), outages: 30 };
    const step = outageStep(job, outage, 0, { ...DEFAULT_OUTAGE_SETTINGS, outageBackoffMaxSeconds: 600 });
    expect(step.kind === "retry" && step.delaySeconds).toBeLessThanOrEqual(600);
    const asked = new UpstreamRetryableError({ system: "rt:main" }, "429", { retryAfterSeconds: 5000 });
    const slow = outageStep(job, asked, 0, DEFAULT_OUTAGE_SETTINGS);
    expect(slow.kind === "retry" && slow.delaySeconds).toBe(900);
  });

  it("expires once the horizon since the first outage has passed", () => {
    const now = Date.parse("2026-01-04T00:00:01Z");
    const job = { ...newJob("x.y", {}), outageSince: "2026-01-01T00:00:00.000Z" };
    expect(outageStep(job, outage, 0, { ...DEFAULT_OUTAGE_SETTINGS, outageHorizonHours: 72 }, now).kind).toBe(
      "expired",
    );
    expect(outageStep(job, outage, 0, DEFAULT_OUTAGE_SETTINGS, now).kind).toBe("retry");
  });

  it("compresses every delay by the time scale, never below SQS's one second", () => {
    expect(scaledDelaySeconds(900, 1)).toBe(900);
    expect(scaledDelaySeconds(900, 100)).toBe(9);
    expect(scaledDelaySeconds(5, 3600)).toBe(1);
    expect(scaledDelaySeconds(0, 3600)).toBe(0);
    const now = Date.parse("2026-01-01T00:10:00Z");
    const job = { ...newJob("x.y", {}), outageSince: "2026-01-01T00:00:00.000Z" };
    // 96 h at 1000× is 345.6 s: ten minutes is past it.
    expect(outageStep(job, outage, 0, { ...DEFAULT_OUTAGE_SETTINGS, timeScale: 1000 }, now).kind).toBe(
      "expired",
    );
    const jobs = {
      breaker: { failureThreshold: 5, probeIntervalSeconds: 60, waitSeconds: 300, trustHealthySeconds: 6 },
      timeScale: 60,
    };
    expect(breakerSettings(jobs)).toEqual({
      failureThreshold: 5,
      probeIntervalMs: 1000,
      trustHealthyMs: 100,
    });
    expect(breakerWaitSeconds(jobs, 0, () => 0)).toBe(4);
    expect(breakerWaitSeconds(jobs, 0, () => 0.5)).toBe(5);
    // A job that has waited half the horizon sleeps three quarters as long.
    expect(breakerWaitSeconds({ ...jobs, timeScale: 1 }, 0.5, () => 0.5)).toBe(225);
  });

  it("refuses a time scale in a deployed stage", () => {
    const jobs = (timeScale: number) => ({ jobs: { timeScale } }) as Parameters<typeof deployedProblems>[0];
    expect(deployedProblems(jobs(100), { DESKBRIDGE_SSM_PREFIX: "/deskbridge/prod/" })).toEqual([
      { path: "jobs.timeScale", message: "is for tests only: a deployed stage must leave it at 1" },
    ]);
    expect(deployedProblems(jobs(1), { DESKBRIDGE_SSM_PREFIX: "/deskbridge/prod/" })).toEqual([]);
    expect(deployedProblems(jobs(100), {})).toEqual([]);
  });
});
