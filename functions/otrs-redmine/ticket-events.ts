import { useIntegrations } from "../../lib/core/config.ts";
import { httpRoute } from "../../lib/core/http.ts";
import { newJob } from "../../lib/jobs/queue.ts";
import {
  authenticateOtrsRedmine,
  readOtrsTicketEvent,
  runEventJob,
} from "../../lib/sync/otrs-redmine/http.ts";
import { otrsRedmine } from "../../lib/sync/otrs-redmine/index.ts";
import { TICKET_JOB, ticketJob } from "../../lib/sync/otrs-redmine/ticket-job.ts";

useIntegrations(otrsRedmine);

/**
 * POST /otrs/ticket-events and POST /otrs/ticket-events/{ticketId}: OTRS's GenericInterface invoker
 * reports a ticket event (TicketStateUpdate; ArticleCreate for the conversation).
 */
export const handler = httpRoute(
  { name: "otrs.ticket-events", authenticate: authenticateOtrsRedmine },
  async (request) => {
    const { ticketId, previousState } = readOtrsTicketEvent(request);
    return runEventJob(newJob(TICKET_JOB, { ticketId, previousState }), ticketJob);
  },
);
