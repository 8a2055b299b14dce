/**
 * The bridge's error hierarchy. Every failure that can reach a caller or the jobs queue is one of these;
 * `lib/core/http.ts` is the only place that turns them into HTTP responses, and the job runtime is the
 * only place that decides from `retryable` whether a job goes back on the queue.
 */

/** One problem with one input field, named by its path (`cnpj_cliente`, `systems.glpi.main.url`). */
export interface FieldProblem {
  path: string;
  message: string;
}

/** Base class: `status` is the HTTP status a caller sees, `code` a stable machine-readable name. */
export abstract class BridgeError extends Error {
  abstract readonly status: number;
  abstract readonly code: string;
  /** Whether running the same job again later may succeed. */
  readonly retryable: boolean = false;
  /** Whether the message may be shown to the caller (4xx) or only logged (5xx). */
  get expose(): boolean {
    return this.status < 500 || this.status === 502;
  }
}

/** 400: the request (or config, or queue message) does not match its schema; lists every bad field. */
export class ValidationError extends BridgeError {
  override readonly name = "ValidationError";
  readonly status = 400;
  readonly code = "validation_failed";
  constructor(
    readonly fields: FieldProblem[],
    message = `invalid input: ${fields.map((f) => `${f.path}: ${f.message}`).join("; ")}`,
  ) {
    super(message);
  }
}

/** 401: the caller did not prove it may call this route. Deliberately says nothing more. */
export class AuthenticationError extends BridgeError {
  override readonly name = "AuthenticationError";
  readonly status = 401;
  readonly code = "unauthorized";
}

/** 404: what the request refers to does not exist (an entity for a CNPJ, a job id). */
export class NotFoundError extends BridgeError {
  override readonly name: string = "NotFoundError";
  readonly status = 404;
  readonly code = "not_found";
}

/** 409: the request conflicts with what is stored (an Idempotency-Key reused with another body). */
export class ConflictError extends BridgeError {
  override readonly name = "ConflictError";
  readonly status = 409;
  readonly code = "conflict";
}

/**
 * Another attempt holds the work this job needs (a claim on a link that is being created or applied).
 * Retryable: a later attempt finds the work done, or takes over a claim whose holder died.
 */
export class InProgressError extends BridgeError {
  override readonly name = "InProgressError";
  readonly status = 409;
  readonly code = "in_progress";
  override readonly retryable = true;
}

/** 413 / 415: the HTTP envelope is wrong before any field can be read. */
export class PayloadError extends BridgeError {
  override readonly name = "PayloadError";
  readonly code: string;
  constructor(
    readonly status: 413 | 415,
    message: string,
  ) {
    super(message);
    this.code = status === 413 ? "payload_too_large" : "unsupported_media_type";
  }
}

/** Data about the external system that refused or failed, for logs and for 502 bodies. */
export interface UpstreamDetail {
  system: string;
  /** The vendor's HTTP status, when there was a response. */
  status?: number;
  /** The vendor's own error code and message (never a credential). */
  vendorCode?: string;
  vendorMessage?: string;
}

/** Base of the errors that come from an external system; carries what that system said. */
export abstract class UpstreamError extends BridgeError {
  constructor(
    readonly upstream: UpstreamDetail,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** An external system failed in a way that may pass: timeout, connection error, 5xx, 429. */
export class UpstreamRetryableError extends UpstreamError {
  override readonly name = "UpstreamRetryableError";
  readonly status = 503;
  readonly code = "upstream_unavailable";
  override readonly retryable = true;
  /** How long the target asked us to wait (Retry-After), if it did. */
  readonly retryAfterSeconds: number | undefined;
  constructor(
    upstream: UpstreamDetail,
    message: string,
    options?: ErrorOptions & { retryAfterSeconds?: number | undefined },
  ) {
    super(upstream, message, options);
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }
}

/** An external system refused the request for good (4xx, a business error): retrying will not help. */
export class UpstreamPermanentError extends UpstreamError {
  override readonly name = "UpstreamPermanentError";
  readonly status = 502;
  readonly code = "upstream_refused";
}

/** An external system rejected the bridge's own credentials: a setup problem, answered as 401. */
export class UpstreamAuthError extends UpstreamError {
  override readonly name = "UpstreamAuthError";
  readonly status = 401;
  readonly code = "upstream_auth_failed";
}

/** The bridge's configuration is missing or invalid; fails cold start with the path and the problem. */
export class ConfigError extends BridgeError {
  override readonly name = "ConfigError";
  readonly status = 500;
  readonly code = "config_invalid";
  constructor(
    readonly problems: FieldProblem[],
    readonly source: string,
  ) {
    super(
      `invalid configuration in ${source}:\n${problems.map((p) => `  ${p.path}: ${p.message}`).join("\n")}`,
    );
  }
}

/** 500: anything else. Its message is logged, never shown. */
export class UnexpectedError extends BridgeError {
  override readonly name = "UnexpectedError";
  readonly status = 500;
  readonly code = "internal_error";
}

/** Wraps whatever was thrown into a BridgeError, keeping the original as `cause`. */
export function asBridgeError(error: unknown): BridgeError {
  if (error instanceof BridgeError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new UnexpectedError(message, { cause: error });
}

/**
 * Whether a failed job should go straight to an error answer / the dead-letter queue rather than be
 * retried: the target refused it, or the input or config is wrong. Unexpected errors (a bug, an AWS
 * hiccup) are retried: nothing is lost, and past max attempts they are kept in the dead-letter queue.
 */
export function isPermanent(error: BridgeError): boolean {
  return !error.retryable && !(error instanceof UnexpectedError);
}

/**
 * The bridge's error for an upstream call that failed without an HTTP answer: a timeout or abort, a
 * refused or reset connection (fetch rejects with `TypeError("fetch failed")`; an aborted signal with
 * its reason, a DOMException named TimeoutError or AbortError) is retryable; anything else is a bug.
 */
export function transportError(error: unknown, system: string, name: string): BridgeError {
  if (!(error instanceof Error)) return new UnexpectedError(String(error));
  if (
    error.name === "TimeoutError" ||
    error.name === "AbortError" ||
    (error instanceof TypeError && /fetch failed|network|socket|terminated/i.test(error.message))
  ) {
    return new UpstreamRetryableError({ system }, `${name} did not answer in time or could not be reached`, {
      cause: error,
    });
  }
  return new UnexpectedError(error.message, { cause: error });
}
