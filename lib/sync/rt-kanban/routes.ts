import { ScripEventSchema } from "../../systems/rt/schemas.ts";
import { FORM_415, jsonOrFormBody, named, type RouteSpec, webhookResponses } from "../route-docs.ts";

const S = { rtScripEvent: named("RtScripEvent", ScripEventSchema) } as const;

/** The rt-kanban routes (functions/rt-kanban/), as the OpenAPI document describes them. */
export const routes: readonly RouteSpec[] = [
  {
    function: "rtTicketEvents",
    method: "POST",
    path: "/rt/ticket-events",
    tag: "rt-kanban",
    summary: "An RT Scrip reports a ticket change",
    description:
      "Only ids, as JSON or form fields (`ticket_id=…`): the bridge reads the ticket again and moves its " +
      "Kanboard card.",
    auth: "sharedSecret",
    body: jsonOrFormBody(S.rtScripEvent),
    responses: webhookResponses("Synced, or ignored (`ignored`: the bridge's own change)", FORM_415),
  },
];
