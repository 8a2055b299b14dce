import type { HTTPError, KyInstance, Options } from "ky";

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

/** A ky instance with these options, created the first time it is asked for. */
export function lazyHttp(options: Options): () => Promise<KyInstance> {
  let instance: Promise<KyInstance> | undefined;
  return () => {
    instance ??= loadKy().then((ky) => ky.default.create(options));
    return instance;
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
