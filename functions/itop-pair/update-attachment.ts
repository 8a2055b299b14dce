import { useIntegrations } from "../../lib/core/config.ts";
import { httpRoute } from "../../lib/core/http.ts";
import { authenticateItop, readItopEvent, sideOfSource, syncTicket } from "../../lib/sync/itop-pair/http.ts";
import { itopPair } from "../../lib/sync/itop-pair/index.ts";
import { AttachmentEventSchema } from "../../lib/systems/itop/schemas.ts";

useIntegrations(itopPair);

/** POST /api/v1/update-attachment: either iTop's webhook on attachment create, update or delete. */
export const handler = httpRoute(
  { name: "itop.update-attachment", authenticate: authenticateItop },
  async (request) => {
    const event = readItopEvent(request, AttachmentEventSchema, "item_id");
    return syncTicket(sideOfSource(event.source), event.item_id, event.item_class);
  },
);
