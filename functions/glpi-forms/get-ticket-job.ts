import { useIntegrations } from "../../lib/core/config.ts";
import { httpRoute, json } from "../../lib/core/http.ts";
import { authenticateForms } from "../../lib/sync/glpi-forms/http.ts";
import { glpiForms } from "../../lib/sync/glpi-forms/index.ts";
import { ticketJobStatus } from "../../lib/sync/glpi-forms/job-status.ts";

useIntegrations(glpiForms);

/** GET /glpi/tickets/jobs/{id}: pending, done with `ticket_id`, or failed with the reason. */
export const handler = httpRoute(
  { name: "glpi.get-ticket-job", authenticate: authenticateForms },
  async (request) => {
    const job = await ticketJobStatus(request.pathParameters.id ?? "");
    return json(200, {
      job_id: job.jobId,
      status: job.status,
      attempts: job.attempts,
      ...(job.status === "done" ? { ticket_id: job.result?.ticket_id } : {}),
      ...(job.lastError && job.status !== "done" ? { error: job.lastError.message } : {}),
      updated_at: job.updatedAt,
    });
  },
);
