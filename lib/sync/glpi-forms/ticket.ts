import { formatCnpj } from "./cnpj.ts";
import type { GlpiFormsConfig } from "./settings.ts";
import type { FormSubmission } from "./submission.ts";

/** GLPI's Ticket.name is a varchar(255). */
const NAME_LIMIT = 255;

/** The text GLPI's `externalid` carries for a ticket the bridge created from a form submission. */
export function externalIdFor(jobId: string): string {
  return `deskbridge:glpi-forms:${jobId}`;
}

/**
 * The `input` of `POST /Ticket`: name = the problem description (cut to 255 characters), content =
 * every contact line, entity from the CNPJ, and everything else from config. Text is sent raw; the
 * content is GLPI 10 rich text, so the customer's words are HTML-escaped inside `<p>` lines.
 */
export function buildTicketInput(
  submission: FormSubmission,
  entityId: number,
  jobId: string,
  ticket: GlpiFormsConfig["ticket"],
): Record<string, unknown> {
  const description = submission.descricao_problema;
  const name = description.length > NAME_LIMIT ? `${description.slice(0, NAME_LIMIT - 1)}…` : description;
  const lines: [string, string][] = [
    ["Nome", submission.nome_cliente],
    ["Telefone", submission.telefone_cliente],
    ["CNPJ", formatCnpj(submission.cnpj_cliente)],
    ["AnyDesk", submission.anydesk_cliente],
    ["Descrição do problema", description],
  ];
  const content = lines
    .map(
      ([label, value]) => `<p><strong>${label}:</strong> ${escapeHtml(value).replace(/\r?\n/g, "<br>")}</p>`,
    )
    .join("\n");
  const input: Record<string, unknown> = {
    name: name.replace(/\s+/g, " "),
    content,
    entities_id: entityId,
    type: ticket.type,
    urgency: ticket.urgency,
    impact: ticket.impact,
    itilcategories_id: submission.categoria ?? ticket.defaultCategoryId,
    _users_id_requester: ticket.requesterUserId,
    users_id_recipient: ticket.recipientUserId,
    requesttypes_id: ticket.requestTypeId,
    externalid: externalIdFor(jobId),
  };
  if (ticket.requestSourceId !== undefined) input.requestsources_id = ticket.requestSourceId;
  return input;
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}
