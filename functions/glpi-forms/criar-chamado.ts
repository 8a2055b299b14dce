import { useIntegrations } from "../../lib/core/config.ts";
import { httpRoute, json } from "../../lib/core/http.ts";
import {
  authenticateForms,
  legacyErrorDialect,
  queuedResponse,
  readSubmission,
} from "../../lib/sync/glpi-forms/http.ts";
import { glpiForms } from "../../lib/sync/glpi-forms/index.ts";
import { requestTicket } from "../../lib/sync/glpi-forms/service.ts";

useIntegrations(glpiForms);

/**
 * POST /criar-chamado: the old Flask app's path, answering as it did (200 `{"ticket_id": n}`, errors
 * as `{"erro": …}`). When GLPI is unreachable it answers 202 with a job id instead of failing.
 */
export const handler = httpRoute(
  { name: "glpi.criar-chamado", authenticate: authenticateForms, errorDialect: legacyErrorDialect },
  async (request) => {
    const submission = readSubmission(request);
    const outcome = await requestTicket(submission, request.headers["idempotency-key"]);
    return outcome.kind === "created"
      ? json(200, { ticket_id: outcome.ticketId })
      : queuedResponse(outcome.jobId);
  },
);
