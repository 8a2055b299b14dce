/** The bench's clocks: calls run a few at a time, and percentiles of what they took. */

/** Runs the calls `concurrency` at a time; returns each one's duration in ms, sorted. */
export async function timed(calls: (() => Promise<unknown>)[], concurrency: number): Promise<number[]> {
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

/** The p-th percentile (nearest rank) of sorted values; 0 for none. */
export const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? 0;
