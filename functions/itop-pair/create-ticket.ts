import { useIntegrations } from "../../lib/core/config.ts";
import { httpRoute } from "../../lib/core/http.ts";
import { authenticateItop, readItopEvent, syncTicket } from "../../lib/sync/itop-pair/http.ts";
import { itopPair } from "../../lib/sync/itop-pair/index.ts";
import { TicketEventSchema } from "../../lib/systems/itop/schemas.ts";

useIntegrations(itopPair);

/** POST /api/v1/create-ticket: the external iTop's webhook on ticket creation. */
export const handler = httpRoute(
  { name: "itop.create-ticket", authenticate: authenticateItop },
  async (request) => {
    const event = readItopEvent(request, TicketEventSchema, "id");
    return syncTicket("external", event.id, event.class);
  },
);
