import { useIntegrations } from "../../lib/core/config.ts";
import { httpRoute } from "../../lib/core/http.ts";
import { authenticateItop, readItopEvent, sideOfSource, syncTicket } from "../../lib/sync/itop-pair/http.ts";
import { itopPair } from "../../lib/sync/itop-pair/index.ts";
import { TicketEventSchema } from "../../lib/systems/itop/schemas.ts";

useIntegrations(itopPair);

/**
 * POST /api/v1/update-ticket: the external iTop's webhook on any ticket update (and, with `source`, the
 * internal one's, where the form flows both ways).
 */
export const handler = httpRoute(
  { name: "itop.update-ticket", authenticate: authenticateItop },
  async (request) => {
    const event = readItopEvent(request, TicketEventSchema, "id");
    const side = event.source === undefined ? "external" : sideOfSource(event.source);
    return syncTicket(side, event.id, event.class);
  },
);
