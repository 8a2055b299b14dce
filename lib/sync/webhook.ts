import type * as v from "valibot";
import { UpstreamError, ValidationError } from "../core/errors.ts";
import { type HttpRequest, type HttpResponse, json, readJsonBody } from "../core/http.ts";
import { logger } from "../core/logger.ts";
import type { JobHandler, JobMessage } from "../jobs/model.ts";
import { runInline } from "../jobs/runner.ts";
import { jobRuntime } from "../jobs/runtime.ts";

/** Reads a webhook body; a payload without the id the job needs is a 400 naming the field. */
export function readEvent<const S extends v.GenericSchema>(
  request: HttpRequest,
  schema: S,
  idPath: string,
): v.InferOutput<S> {
  try {
    return readJsonBody(request, schema, jobRuntime().config.http.maxBodyBytes);
  } catch (error) {
    if (error instanceof ValidationError && error.fields.some((f) => f.path === "(root)")) {
      throw new ValidationError([{ path: idPath, message: "is required" }]);
    }
    throw error;
  }
}

/**
 * Runs a sync job for a webhook inline and answers its sender: 200 `{}` when done (OTRS needs a
 * non-empty body, and must never get `OTRS_*` keys back: Ticket::Generic would run them as commands),
 * 202 `{"job_id"}` when the job was queued. A permanent failure (the target refused for good) is kept
 * in the dead-letter queue with its reason and answered 202 `{"job_id", "status": "failed", "error"}`: the
 * sender could not fix it, an operator can, then replay it.
 */
export async function runEventJob(job: JobMessage, handler: JobHandler): Promise<HttpResponse> {
  const runtime = jobRuntime();
  const outcome = await runInline(job, handler, {
    queue: runtime.queue,
    records: runtime.records,
    logger,
    budgetMs: runtime.config.jobs.inlineBudgetMs,
    onPermanent: "dead-letter",
  });
  if (outcome.kind === "done") return json(200, {});
  if (outcome.kind === "queued") return json(202, { job_id: outcome.jobId });
  const { error } = outcome;
  return json(202, {
    job_id: outcome.jobId,
    status: "failed",
    error: {
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
    },
  });
}
