import { useIntegrations } from "../../lib/core/config.ts";
import { httpRoute, json } from "../../lib/core/http.ts";
import { newJob } from "../../lib/jobs/queue.ts";
import { rtKanbanDeps } from "../../lib/sync/rt-kanban/deps.ts";
import { authenticateRt, isBridgeEcho, SCRIP_FORM } from "../../lib/sync/rt-kanban/http.ts";
import { rtKanban } from "../../lib/sync/rt-kanban/index.ts";
import { RT_TICKET_JOB, rtTicketJob } from "../../lib/sync/rt-kanban/ticket-job.ts";
import { readEvent, runEventJob } from "../../lib/sync/webhook.ts";
import { ScripEventSchema } from "../../lib/systems/rt/schemas.ts";

useIntegrations(rtKanban);

/** POST /rt/ticket-events: an RT Scrip (On Create, On Transaction) reports a ticket change. */
export const handler = httpRoute(
  { name: "rt.ticket-events", authenticate: authenticateRt },
  async (request) => {
    const event = readEvent(request, ScripEventSchema, "ticket_id", SCRIP_FORM);
    if (isBridgeEcho(event, (await rtKanbanDeps()).rtUser))
      return json(200, { ignored: "the bridge's own change (the card id written back)" });
    return runEventJob(newJob(RT_TICKET_JOB, { ticketId: Number(event.ticket_id) }), rtTicketJob);
  },
);
