import type { HTTPError } from "ky";
import {
  type BridgeError,
  NotFoundError,
  transportError,
  UpstreamAuthError,
  type UpstreamDetail,
  UpstreamPermanentError,
  UpstreamRetryableError,
} from "../core/errors.ts";
import { isHttpError } from "./http.ts";

/**
 * What a vendor said in a failed HTTP answer: what `extract` finds in its JSON body, else the start of
 * its text (a proxy's HTML page, an empty 404), at most 300 characters. Never throws.
 */
export async function vendorMessage(
  error: HTTPError,
  extract?: (body: unknown) => string | undefined,
): Promise<string> {
  const text = await error.response
    .clone()
    .text()
    .catch(() => "");
  if (extract) {
    try {
      const found = extract(JSON.parse(text));
      if (found !== undefined) return found.slice(0, 300);
    } catch {
      // not JSON
    }
  }
  return text.slice(0, 300);
}

/** What the bridge makes of a failed answer: a step of the ladder. */
export type Rung = "auth" | "not-found" | "retryable" | "permanent";

/** A failed answer as the ladder reads it. */
export interface FailedAnswer {
  status: number;
  /** The vendor's own error code, when its body has one (GLPI's `ERROR_…`, an OTRS faultcode). */
  code?: string | undefined;
  /** The vendor's message, when the system reads one. */
  message?: string | undefined;
  /** What the bridge's error carries about the answer (system, status, the vendor's code and message). */
  upstream: UpstreamDetail;
  error: HTTPError;
}

/** How one system differs from the common ladder; everything is optional but its names. */
export interface HttpErrorLadder {
  /** `rt:main`: the system and instance, as the error's upstream detail names them. */
  system: string;
  /** `RT`: the system as a sentence names it. */
  label: string;
  /**
   * Finds the vendor's message in the answer's JSON body (else the start of its text is the message),
   * for a system whose errors carry one. Without it and without `read`, the detail carries the status
   * only and the body is not read at all.
   */
  extract?: (body: unknown) => string | undefined;
  /** Reads the vendor's code and message from the answer, for a system that has more to say than `extract`. */
  read?: (error: HTTPError) => Promise<{ code?: string | undefined; message?: string | undefined }>;
  /**
   * An answer this system means otherwise than its status says (GLPI's setup codes, whatever the status;
   * OTRS's faults in a 500): the error to give, or undefined to climb the ladder.
   */
  before?: (answer: FailedAnswer) => BridgeError | undefined;
  /** Statuses this system reads otherwise than the common ladder (RT's 403 is a refusal, not a login). */
  rungs?: Partial<Record<number, Rung>>;
  /** The system's sentence for a rung, where it is not the common one. */
  say?: Partial<Record<Rung, (answer: FailedAnswer) => string>>;
}

/** 401/403: the bridge's credentials; 404: the object is not there; 429 and 5xx may pass; other 4xx do not. */
function commonRung(status: number): Rung {
  if (status === 401 || status === 403) return "auth";
  if (status === 404) return "not-found";
  if (status === 429 || status >= 500) return "retryable";
  return "permanent";
}

const commonSay: Record<Rung, (answer: FailedAnswer, label: string) => string> = {
  auth: (_, label) => `${label} refused the bridge's credentials`,
  "not-found": (answer, label) => `${label}: ${answer.message || "not found"}`,
  retryable: (answer, label) => `${label} answered ${answer.status}`,
  permanent: (answer, label) => `${label} refused the request: ${answer.message || answer.status}`,
};

/** The seconds a 429 or 503 asks the bridge to wait (a number of seconds; a date is not read). */
function retryAfter(error: HTTPError): number | undefined {
  const seconds = Number(error.response.headers.get("retry-after"));
  return Number.isFinite(seconds) && seconds > 0 ? seconds : undefined;
}

/**
 * The one translation of a failed call to an external system into the bridge's errors. An answer
 * outside 2xx climbs the ladder (the system's own exceptions first): 401/403 are the bridge's
 * credentials (UpstreamAuthError), 404 a missing object (NotFoundError), 429 and 5xx retryable (with
 * the Retry-After the system asked for), any other status a permanent refusal. No answer at all (a
 * timeout, a refused connection) is `transportError`'s.
 */
export async function translateHttpError(error: unknown, ladder: HttpErrorLadder): Promise<BridgeError> {
  const { system, label } = ladder;
  if (!isHttpError(error)) return transportError(error, system, label);
  const status = error.response.status;
  const said = ladder.read
    ? await ladder.read(error)
    : ladder.extract
      ? { message: await vendorMessage(error, ladder.extract) }
      : {};
  const upstream: UpstreamDetail = { system, status };
  if (said.code !== undefined) upstream.vendorCode = said.code;
  if (said.message !== undefined) upstream.vendorMessage = said.message;
  const answer: FailedAnswer = { status, code: said.code, message: said.message, upstream, error };
  const special = ladder.before?.(answer);
  if (special) return special;
  const rung = ladder.rungs?.[status] ?? commonRung(status);
  const message = ladder.say?.[rung]?.(answer) ?? commonSay[rung](answer, label);
  const cause = { cause: error };
  switch (rung) {
    case "auth":
      return new UpstreamAuthError(upstream, message, cause);
    case "not-found":
      return new NotFoundError(message, cause);
    case "retryable":
      return new UpstreamRetryableError(upstream, message, {
        ...cause,
        retryAfterSeconds: retryAfter(error),
      });
    case "permanent":
      return new UpstreamPermanentError(upstream, message, cause);
  }
}
