import * as v from "valibot";
import { defineIntegration, instanceRef, jobSpec } from "../descriptor.ts";
import { checkRtKanban, rtKanbanSchema } from "./settings.ts";

export const RT_TICKET_JOB = "rt-kanban.ticket";

/** The RT poller's cursor (poller.ts): the ticket transactions of one instance. */
export const rtTransactionsCursor = (instance: string) => `rt:${instance}:transactions`;

/** Makes the board's card reflect one RT ticket (ticket-job.ts runs it). */
export const ticketSpec = jobSpec({
  type: RT_TICKET_JOB,
  input: v.object({
    ticketId: v.pipe(v.number(), v.integer(), v.minValue(1)),
    force: v.optional(v.boolean()),
  }),
  source: ({ ticketId }, { config }) =>
    instanceRef("rt", config.integrations.rtKanban?.rt, "ticket", ticketId),
});

/** RT → Kanboard: the tickets of RT queues as cards on a board, columns following their status. */
export const rtKanban = defineIntegration({
  id: "rt-kanban",
  configKey: "rtKanban",
  settings: rtKanbanSchema,
  check: checkRtKanban,
  systems: ["rt", "kanboard"],
  links: { rt: ["ticket"], kanboard: ["card"] },
  jobs: [ticketSpec],
  pollers: [
    {
      system: "rt",
      cursor: ({ integrations }) => integrations.rtKanban && rtTransactionsCursor(integrations.rtKanban.rt),
    },
  ],
});
