/** One HTTP request the bridge sent to an external system (a fake, here), as it went out. */
export interface HttpCall {
  url: string;
  method: string;
  headers: [string, string][];
  body: ArrayBuffer | undefined;
}

/**
 * Records the HTTP requests the bridge's adapters send while `run` runs (they all go through the
 * global fetch, which ky calls): what an inline route's floor replays, bare, besides its AWS calls.
 */
export async function recordHttpCalls<T>(run: () => Promise<T>): Promise<{ result: T; calls: HttpCall[] }> {
  const original = globalThis.fetch;
  const calls: HttpCall[] = [];
  globalThis.fetch = async (input, init) => {
    const request = new Request(input, init);
    const body = request.body ? await request.clone().arrayBuffer() : undefined;
    calls.push({ url: request.url, method: request.method, headers: [...request.headers], body });
    return original(request);
  };
  try {
    return { result: await run(), calls };
  } finally {
    globalThis.fetch = original;
  }
}

/** Sends the recorded requests again, one after another, with nothing around them. */
export async function replayHttpCalls(calls: readonly HttpCall[]): Promise<void> {
  for (const call of calls) {
    const response = await fetch(call.url, {
      method: call.method,
      headers: call.headers,
      ...(call.body ? { body: call.body } : {}),
    });
    await response.arrayBuffer();
  }
}
