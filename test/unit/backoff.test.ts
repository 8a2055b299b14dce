import { describe, expect, it } from "vitest";
import { backoffSeconds } from "../../lib/jobs/backoff.ts";

describe("backoffSeconds", () => {
  const options = { baseSeconds: 2, maxSeconds: 300 };

  it("doubles with each attempt, between half and all of the exponential delay", () => {
    expect(backoffSeconds(1, options, () => 0)).toBe(1);
    expect(backoffSeconds(1, options, () => 0.999)).toBe(2);
    expect(backoffSeconds(3, options, () => 0)).toBe(4);
    expect(backoffSeconds(3, options, () => 0.999)).toBe(8);
  });

  it("never exceeds the maximum", () => {
    expect(backoffSeconds(30, options, () => 0.999)).toBe(300);
    expect(backoffSeconds(30, options, () => 0)).toBe(150);
  });

  it("waits at least as long as the target's Retry-After, capped at the maximum", () => {
    expect(backoffSeconds(1, { ...options, retryAfterSeconds: 60 }, () => 0)).toBe(60);
    expect(backoffSeconds(1, { ...options, retryAfterSeconds: 5000 }, () => 0)).toBe(300);
  });

  it("spreads jobs that fail together", () => {
    const delays = new Set(Array.from({ length: 50 }, () => backoffSeconds(6, options)));
    expect(delays.size).toBeGreaterThan(5);
  });
});
