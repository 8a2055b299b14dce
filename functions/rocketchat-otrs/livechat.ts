import { useIntegrations } from "../../lib/core/config.ts";
import { httpRoute } from "../../lib/core/http.ts";
import { rocketchatOtrs } from "../../lib/sync/rocketchat-otrs/index.ts";
import { authenticateLivechat, receiveLivechat } from "../../lib/sync/rocketchat-otrs/livechat.ts";

useIntegrations(rocketchatOtrs);

/** POST /rocketchat/livechat: Rocket.Chat's Omnichannel webhook; a closed chat is put on record in OTRS. */
export const handler = httpRoute(
  { name: "rocketchat.livechat", authenticate: authenticateLivechat },
  receiveLivechat,
);
