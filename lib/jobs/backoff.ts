/**
 * Delay before attempt `attempt + 1`: exponential from `baseSeconds`, capped at `maxSeconds`, with
 * "equal jitter" (half fixed, half random) so that jobs failing together do not retry together.
 * A Retry-After from the target is honoured when it asks for longer.
 */
export function backoffSeconds(
  attempt: number,
  options: { baseSeconds: number; maxSeconds: number; retryAfterSeconds?: number | undefined },
  random: () => number = Math.random,
): number {
  const exponential = Math.min(options.maxSeconds, options.baseSeconds * 2 ** Math.max(0, attempt - 1));
  const jittered = Math.ceil(exponential / 2 + random() * (exponential / 2));
  return Math.min(options.maxSeconds, Math.max(jittered, options.retryAfterSeconds ?? 0));
}
