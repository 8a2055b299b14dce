import type { RtTicket } from "../../systems/rt/schemas.ts";
import type { RtFilterRule, RtKanbanConfig } from "./settings.ts";

/** The card reference of an RT ticket (Kanboard shows it on the card). */
export const cardReference = (ticketId: number) => `RT#${ticketId}`;

/** The ticket id a card reference names, if it is one of the bridge's. */
export function ticketIdOfReference(reference: string): number | undefined {
  const match = /^RT#(\d+)$/.exec(reference);
  return match?.[1] ? Number(match[1]) : undefined;
}

export type Exposure = { show: true } | { show: false; reason: string; sensitive: boolean };

/**
 * Whether a ticket belongs on the board: in an exposed queue, not deleted, and passing every filter.
 * A ticket of a sensitive queue never does, and its card (if it had one) is deleted, never archived.
 */
export function exposure(ticket: RtTicket, settings: RtKanbanConfig): Exposure {
  if (settings.sensitiveQueues.includes(ticket.queue))
    return { show: false, reason: `queue ${ticket.queue} is sensitive`, sensitive: true };
  if (ticket.status === "deleted") return { show: false, reason: "deleted in RT", sensitive: false };
  if (!settings.queues.includes(ticket.queue))
    return { show: false, reason: `queue ${ticket.queue} is not on the board`, sensitive: false };
  const failed = settings.filters.find((rule) => !passes(ticket, rule));
  if (failed) return { show: false, reason: `filtered out by ${failed.field}`, sensitive: false };
  return { show: true };
}

function passes(ticket: RtTicket, rule: RtFilterRule): boolean {
  const values = fieldValues(ticket, rule.field);
  if (rule.in && !values.some((value) => rule.in?.includes(value))) return false;
  if (rule.notIn && values.some((value) => rule.notIn?.includes(value))) return false;
  if (rule.matches) {
    const pattern = new RegExp(rule.matches, "i");
    if (!values.some((value) => pattern.test(value))) return false;
  }
  if (rule.notMatches) {
    const pattern = new RegExp(rule.notMatches, "i");
    if (values.some((value) => pattern.test(value))) return false;
  }
  return true;
}

function fieldValues(ticket: RtTicket, field: string): string[] {
  const custom = /^CF\.\{(.+)\}$/.exec(field);
  if (custom?.[1]) return [ticket.customFields[custom[1]] ?? ""];
  switch (field) {
    case "Subject":
      return [ticket.subject];
    case "Status":
      return [ticket.status];
    case "Owner":
      return [ticket.owner];
    case "Priority":
      return [String(ticket.priority)];
    case "Requestor":
      return ticket.requestors.length > 0 ? ticket.requestors : [""];
    default:
      return [""];
  }
}

/** The column a status maps to; `undefined` means the board's first column. */
export function columnOf(status: string, settings: RtKanbanConfig): string | undefined {
  return settings.columns[status] ?? settings.defaultColumn;
}

/** The board priority of an RT priority: the last band whose `from` it reaches. */
export function priorityOf(priority: number, settings: RtKanbanConfig): number {
  const bands = [...settings.priorities].sort((a, b) => a.from - b.from);
  let result = bands[0]?.priority ?? 0;
  for (const band of bands) if (priority >= band.from) result = band.priority;
  return result;
}

/** The card's title from the configured template. */
export function titleOf(ticket: RtTicket, settings: RtKanbanConfig): string {
  return settings.title
    .replaceAll("{id}", String(ticket.id))
    .replaceAll("{subject}", ticket.subject)
    .replaceAll("{queue}", ticket.queue);
}

/** The card's description (Markdown): a link back to the ticket, its queue and requestors. */
export function descriptionOf(ticket: RtTicket, webUrl: string | undefined): string {
  const name = `RT #${ticket.id}`;
  const link = webUrl ? `[${name}](${webUrl.replace(/\/+$/, "")}/Ticket/Display.html?id=${ticket.id})` : name;
  const parts = [link, `queue ${ticket.queue}`];
  if (ticket.requestors.length > 0) parts.push(`requested by ${ticket.requestors.join(", ")}`);
  return parts.join(" · ");
}
