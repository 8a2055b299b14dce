import type * as v from "valibot";
import { checkSharedSecret } from "../../core/auth.ts";
import { ValidationError } from "../../core/errors.ts";
import { type FormBody, type HttpRequest, type HttpResponse, json } from "../../core/http.ts";
import { newJob } from "../../jobs/queue.ts";
import { readEvent, runEventJob } from "../webhook.ts";
import { itopPairSettings, type Side } from "./deps.ts";
import { ITOP_SYNC_JOB, itopSyncJob } from "./sync-job.ts";

/** Checks the shared secret the iTop webhooks send (a header set in the ActionWebhook, Basic, or ?token). */
export function authenticateItop(request: HttpRequest): Promise<void> {
  return checkSharedSecret(request, itopPairSettings().auth);
}

/**
 * The webhook extension's iTop-to-iTop action posts its payload form-encoded by default,
 * `version=1.3&json_data={…}` (as iTop's own REST API takes it); an ActionWebhook posts it as JSON.
 */
const ITOP_FORM: FormBody = { kind: "json-field", field: "json_data" };

/** Reads an iTop webhook's payload, JSON or form-encoded `json_data`; 400 naming the bad field. */
export function readItopEvent<const S extends v.GenericSchema>(
  request: HttpRequest,
  schema: S,
  idPath: string,
): v.InferOutput<S> {
  return readEvent(request, schema, idPath, ITOP_FORM);
}

/** Runs the sync job for one ticket of one side (inline first, queued when that takes too long). */
export function syncTicket(side: Side, ticketId: string, ticketClass?: string): Promise<HttpResponse> {
  const settings = itopPairSettings();
  if (ticketClass !== undefined && !settings.classes.includes(ticketClass)) {
    return Promise.resolve(json(200, { ignored: `class ${ticketClass} is not shared` }));
  }
  return runEventJob(
    newJob(ITOP_SYNC_JOB, { side, ticketId, ...(ticketClass ? { ticketClass } : {}) }),
    itopSyncJob,
  );
}

/** The side an attachment webhook comes from, by its `source` value. */
export function sideOfSource(source: string): Side {
  const settings = itopPairSettings();
  if (source === settings.sources.external) return "external";
  if (source === (settings.sources.internal ?? settings.internal)) return "internal";
  throw new ValidationError([
    {
      path: "source",
      message: `must be "${settings.sources.external}" or "${settings.sources.internal ?? settings.internal}"`,
    },
  ]);
}
