import { useIntegrations } from "../../lib/core/config.ts";
import { httpRoute } from "../../lib/core/http.ts";
import { authenticateItop, syncTicket } from "../../lib/sync/itop-pair/http.ts";
import { readEvent } from "../../lib/sync/webhook.ts";
import { InternalTicketEventSchema } from "../../lib/systems/itop/schemas.ts";

useIntegrations("itopPair");

/** POST /api/v1/ticket-state-change: the internal iTop's webhook on entering a state. */
export const handler = httpRoute(
  { name: "itop.ticket-state-change", authenticate: authenticateItop },
  async (request) => syncTicket("internal", readEvent(request, InternalTicketEventSchema, "id").id),
);
