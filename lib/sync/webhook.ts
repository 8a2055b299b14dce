import type * as v from "valibot";
import { getConfig } from "../core/config.ts";
import { UpstreamError, ValidationError } from "../core/errors.ts";
import { type FormBody, type HttpRequest, type HttpResponse, json, readBody } from "../core/http.ts";
import { logger } from "../core/logger.ts";
import type { JobHandler, JobMessage } from "../jobs/model.ts";
import { enqueueJob, runInline } from "../jobs/runner.ts";
import { jobRuntime } from "../jobs/runtime.ts";
import { capsFromHandlers } from "../jobs/system-caps.ts";

/**
 * Reads a webhook body (JSON, or a form where the sender posts one: `form`); a payload without the id
 * the job needs is a 400 naming the field.
 */
export function readEvent<const S extends v.GenericSchema>(
  request: HttpRequest,
  schema: S,
  idPath: string,
  form?: FormBody,
): v.InferOutput<S> {
  try {
    return readBody(request, schema, getConfig().http.maxBodyBytes, form);
  } catch (error) {
    if (error instanceof ValidationError && error.fields.some((f) => f.path === "(root)")) {
      throw new ValidationError([{ path: idPath, message: "is required" }]);
    }
    throw error;
  }
}

/** How a sender wants each outcome answered; the default suits OTRS and most webhook senders. */
export interface EventAnswers {
  done(result: Record<string, unknown>): HttpResponse;
  queued(jobId: string): HttpResponse;
  failed(jobId: string, error: ErrorSummary): HttpResponse;
}

/** What a sender is told of a job the target refused for good (never a secret; the vendor's words). */
export interface ErrorSummary {
  code: string;
  message: string;
  upstream?: {
    system: string;
    status?: number | undefined;
    code?: string | undefined;
    message?: string | undefined;
  };
}

/**
 * 200 `{}` when done (OTRS needs a non-empty body, and must never get `OTRS_*` keys back:
 * Ticket::Generic would run them as commands), 202 `{"job_id"}` when queued, and 202 `{"job_id",
 * "status": "failed", "error"}` for a permanent failure: the sender could not fix it, an operator can,
 * then replay it from the dead-letter queue.
 */
const DEFAULT_ANSWERS: EventAnswers = {
  done: () => json(200, {}),
  queued: (jobId) => json(202, { job_id: jobId }),
  failed: (jobId, error) => json(202, { job_id: jobId, status: "failed", error }),
};

/**
 * Turns a webhook's job into its sender's answer (`answers`). With `jobs.webhookAck: "queue"` (the
 * default) the job is queued for the worker and the sender answered at once; with `"inline"`, or for a
 * route whose answer is the job's result (`ack: "inline"`), the job runs here first, within the inline
 * budget, and is queued only on a retryable failure. A permanent failure is kept in the dead-letter
 * queue with its reason before it is answered.
 */
export async function runEventJob(
  job: JobMessage,
  handler: JobHandler,
  answers: EventAnswers = DEFAULT_ANSWERS,
  options: { ack?: "queue" | "inline" } = {},
): Promise<HttpResponse> {
  const runtime = jobRuntime();
  if ((options.ack ?? runtime.config.jobs.webhookAck) === "queue") {
    const queued = await enqueueJob(job, handler, { queue: runtime.queue, records: runtime.records, logger });
    return answers.queued(queued.jobId);
  }
  const outcome = await runInline(job, handler, {
    queue: runtime.queue,
    records: runtime.records,
    logger,
    budgetMs: runtime.config.jobs.inlineBudgetMs,
    onPermanent: "dead-letter",
    stats: runtime.stats,
    systemCaps: { slots: runtime.slots, breakers: runtime.breakers, capFor: capsFromHandlers([handler]) },
  });
  if (outcome.kind === "done") return answers.done(outcome.result);
  if (outcome.kind === "queued") return answers.queued(outcome.jobId);
  const { error } = outcome;
  return answers.failed(outcome.jobId, {
    code: error.code,
    message: error.message,
    ...(error instanceof UpstreamError
      ? {
          upstream: {
            system: error.upstream.system,
            status: error.upstream.status,
            code: error.upstream.vendorCode,
            message: error.upstream.vendorMessage,
          },
        }
      : {}),
  });
}
