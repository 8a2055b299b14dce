import { useIntegrations } from "../../lib/core/config.ts";
import { httpRoute, json } from "../../lib/core/http.ts";
import { authenticateForms, queuedResponse, readSubmission } from "../../lib/sync/glpi-forms/http.ts";
import { glpiForms } from "../../lib/sync/glpi-forms/index.ts";
import { requestTicket } from "../../lib/sync/glpi-forms/service.ts";

useIntegrations(glpiForms);

/** POST /glpi/tickets: a form or portal opens a GLPI ticket in the customer's entity (found by CNPJ). */
export const handler = httpRoute(
  { name: "glpi.create-ticket", authenticate: authenticateForms },
  async (request) => {
    const submission = readSubmission(request);
    const outcome = await requestTicket(submission, request.headers["idempotency-key"]);
    return outcome.kind === "created"
      ? json(201, { ticket_id: outcome.ticketId })
      : queuedResponse(outcome.jobId);
  },
);
