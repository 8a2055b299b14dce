import { useIntegrations } from "../../lib/core/config.ts";
import { httpRoute } from "../../lib/core/http.ts";
import { rocketchatOtrs } from "../../lib/sync/rocketchat-otrs/index.ts";
import {
  authenticateNotifications,
  receiveNotification,
} from "../../lib/sync/rocketchat-otrs/notifications.ts";

useIntegrations(rocketchatOtrs);

/**
 * POST /otrs/notifications and POST /otrs/notifications/{event}: an OTRS ticket event is posted to the
 * Rocket.Chat channels its rules pick.
 */
export const handler = httpRoute(
  { name: "otrs.notifications", authenticate: authenticateNotifications },
  receiveNotification,
);
