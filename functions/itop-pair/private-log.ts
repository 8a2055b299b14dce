import { useIntegrations } from "../../lib/core/config.ts";
import { httpRoute } from "../../lib/core/http.ts";
import { authenticateItop, readItopEvent, syncTicket } from "../../lib/sync/itop-pair/http.ts";
import { itopPair } from "../../lib/sync/itop-pair/index.ts";
import { InternalTicketEventSchema } from "../../lib/systems/itop/schemas.ts";

useIntegrations(itopPair);

/** POST /api/v1/ticket-update-private-log: the internal iTop's webhook on a private log change. */
export const handler = httpRoute(
  { name: "itop.ticket-update-private-log", authenticate: authenticateItop },
  async (request) => syncTicket("internal", readItopEvent(request, InternalTicketEventSchema, "id").id),
);
