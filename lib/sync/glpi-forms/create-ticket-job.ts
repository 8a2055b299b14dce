import { NotFoundError, UpstreamPermanentError } from "../../core/errors.ts";
import { defineJob } from "../../jobs/model.ts";
import type { Ref } from "../../links/refs.ts";
import { glpiFormsDeps, glpiFormsSettings } from "./deps.ts";
import { createTicketSpec } from "./index.ts";
import { CREATE_TICKET_JOB } from "./job-status.ts";
import { buildTicketInput, externalIdFor } from "./ticket.ts";

export { CREATE_TICKET_JOB };

/** The form submission, as the source of the link to the GLPI ticket it opened. */
export function submissionRef(jobId: string): Ref {
  return { system: "forms", instance: "glpi-forms", type: "submission", id: jobId };
}

/**
 * Makes sure a GLPI ticket exists for one form submission. When an earlier attempt may have run
 * (a retry, a replay, a request that took over an Idempotency-Key), it first looks for the link and
 * then for a ticket carrying the submission's `externalid`, so a ticket is never created twice.
 * A CNPJ no entity has is still a 404 for the caller, but the request is parked first (lib/sync/glpi-forms/parked.ts);
 * an operator's replay then names the entity (`entityId`) and, once the ticket is linked, unparks it.
 */
export const createTicketJob = defineJob({
  ...createTicketSpec,
  systems: () => [{ system: "glpi", instance: glpiFormsSettings().glpi }],
  async run({ submission, entityId: assigned }, context) {
    const { settings, instance, glpi, entities, links, parked } = await glpiFormsDeps();
    const source = submissionRef(context.jobId);
    const externalid = externalIdFor(context.jobId);
    let ticketId: number | undefined;
    const park = (reason: string) =>
      parked
        .park({ id: context.jobId, cnpj: submission.cnpj_cliente, reason, submission })
        .catch((parkError: unknown) =>
          context.logger.warn("could not park the request", { reason: (parkError as Error).message }),
        );
    if (context.maybeRan) {
      const link = await links.get(source);
      if (link) {
        // A replay whose earlier run linked the ticket and stopped before unparking it.
        if (assigned !== undefined) await parked.remove(context.jobId);
        return { ticket_id: Number(link.target.id) };
      }
      const found = await glpi.listTickets({ externalid }, { signal: context.signal });
      ticketId = found.find((ticket) => ticket.externalid === externalid)?.id;
      if (ticketId !== undefined)
        context.logger.info("found the ticket an earlier attempt created", { ticket_id: ticketId });
    }
    if (ticketId === undefined) {
      const input = (entityId: number) =>
        buildTicketInput(submission, entityId, context.jobId, settings.ticket);
      const options = { signal: context.signal };
      const match =
        assigned === undefined
          ? await entities
              .entityIdFor(submission.cnpj_cliente, context.signal)
              .catch(async (error: unknown) => {
                if (error instanceof NotFoundError) await park(error.message);
                throw error;
              })
          : { entityId: assigned, from: "assigned" as const };
      // The directory's upkeep (sharing what a search found, queueing a refresh) runs beside the
      // creation, so the answer waits for whichever is slower: the creation, but for a DynamoDB hiccup.
      const upkeep = entities.maintain();
      try {
        ticketId = await glpi
          .create("Ticket", input(match.entityId), options)
          .catch(async (error: unknown) => {
            if (match.from !== "directory" || !refusedEntity(error)) throw error;
            // GLPI refused the entity the map gave (deleted, or out of the bridge's reach since):
            // nothing was created, so ask GLPI where the CNPJ is now and try once more.
            const entityId = await entities.recheck(submission.cnpj_cliente, match.entityId, context.signal);
            // Still that entity's CNPJ: GLPI refused for another reason (the profile's rights).
            if (entityId === match.entityId) throw error;
            if (entityId === undefined) {
              await park("no GLPI entity has this CNPJ");
              throw new NotFoundError("no GLPI entity has this CNPJ any more", { cause: error });
            }
            match.entityId = entityId;
            return glpi.create("Ticket", input(entityId), options);
          });
      } finally {
        await upkeep;
      }
      context.logger.info("GLPI ticket created", { ticket_id: ticketId, entities_id: match.entityId });
    }
    const target: Ref = { system: "glpi", instance, type: "Ticket", id: String(ticketId) };
    // GLPI's part is over: its slot goes back while the link is written.
    const [saved] = await Promise.all([links.create(source, target), context.systemsDone?.()]);
    if (assigned !== undefined) await parked.remove(context.jobId);
    return { ticket_id: Number(saved.link.target.id) };
  },
});

/** GLPI's answer to a ticket in an entity the session cannot reach: ERROR_GLPI_ADD, permission denied. */
function refusedEntity(error: unknown): boolean {
  return (
    error instanceof UpstreamPermanentError &&
    error.upstream.vendorCode === "ERROR_GLPI_ADD" &&
    /permission/i.test(error.upstream.vendorMessage ?? "")
  );
}
