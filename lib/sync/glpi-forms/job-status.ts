import * as v from "valibot";
import { NotFoundError, ValidationError } from "../../core/errors.ts";
import { JobIdSchema } from "../../core/ids.ts";
import type { JobRecord } from "../../jobs/records.ts";
import { jobRecords } from "../../jobs/runtime.ts";

import { CREATE_TICKET_JOB } from "./index.ts";

export { CREATE_TICKET_JOB };

/** The status of a queued ticket job, for `GET /glpi/tickets/jobs/{id}`. */
export async function ticketJobStatus(jobId: string): Promise<JobRecord> {
  const id = v.safeParse(JobIdSchema, jobId);
  if (!id.success)
    throw new ValidationError([
      { path: "id", message: "must be a job id (at most 128 letters, digits, - and _)" },
    ]);
  const record = await jobRecords().get(id.output);
  if (!record || record.type !== CREATE_TICKET_JOB) throw new NotFoundError("no ticket job has this id");
  return record;
}
