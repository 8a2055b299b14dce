import type * as v from "valibot";
import { checkSharedSecret } from "../../core/auth.ts";
import { ValidationError } from "../../core/errors.ts";
import { type HttpRequest, type HttpResponse, json, readJsonBody } from "../../core/http.ts";
import { logger } from "../../core/logger.ts";
import type { JobHandler, JobMessage } from "../../jobs/model.ts";
import { runInline } from "../../jobs/runner.ts";
import { jobRuntime } from "../../jobs/runtime.ts";
import { otrsRedmineSettings } from "./deps.ts";

/** Checks the integration's shared secret (header, HTTP Basic password, or `?token=` where allowed). */
export function authenticateOtrsRedmine(request: HttpRequest): Promise<void> {
  return checkSharedSecret(request, otrsRedmineSettings().auth);
}

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
 * Runs a sync job inline and answers the sender in its own terms: 200 `{}` when done (OTRS needs a
 * non-empty body, and must never get `OTRS_*` keys back: Ticket::Generic would run them as commands),
 * 202 `{"job_id"}` when the job was queued.
 */
export async function runEventJob(job: JobMessage, handler: JobHandler): Promise<HttpResponse> {
  const runtime = jobRuntime();
  const outcome = await runInline(job, handler, {
    queue: runtime.queue,
    records: runtime.records,
    logger,
    budgetMs: runtime.config.jobs.inlineBudgetMs,
  });
  return outcome.kind === "done" ? json(200, {}) : json(202, { job_id: outcome.jobId });
}
