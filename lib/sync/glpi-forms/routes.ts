import * as v from "valibot";
import { JobIdSchema } from "../../core/ids.ts";
import { errors, IdempotencyKey, json, jsonBody, named, type RouteSpec, SHARED } from "../route-docs.ts";
import { FormSubmissionSchema } from "./submission.ts";

/** The old Flask app's errors, kept by `POST /criar-chamado` (lib/sync/glpi-forms/http.ts). */
const LegacyErrorSchema = v.object({
  erro: v.string(),
  campos: v.optional(v.array(v.string())),
  campos_ausentes: v.optional(v.array(v.string())),
  campos_faltando: v.optional(
    v.pipe(v.array(v.string()), v.description("The same as campos_ausentes, as the seed app named it")),
  ),
  detalhes: v.optional(v.array(v.object({ campo: v.string(), problema: v.string() }))),
  detalhe: v.optional(v.string()),
});

const TicketCreatedSchema = v.object({ ticket_id: v.pipe(v.number(), v.integer()) });
const TicketQueuedSchema = v.object({
  job_id: v.string(),
  status: v.literal("pending"),
  status_url: v.pipe(v.string(), v.description("Where to ask about the job (also the Location header)")),
});
const TicketJobSchema = v.object({
  job_id: v.string(),
  status: v.picklist(["pending", "done", "failed"]),
  attempts: v.pipe(v.number(), v.integer()),
  ticket_id: v.optional(v.pipe(v.number(), v.integer(), v.description("When done"))),
  error: v.optional(v.pipe(v.string(), v.description("The last failure's reason, until done"))),
  updated_at: v.string(),
});

const S = {
  legacyError: named("LegacyErrorBody", LegacyErrorSchema),
  form: named("GlpiFormSubmission", FormSubmissionSchema),
  created: named("GlpiTicketCreated", TicketCreatedSchema),
  queued: named("GlpiTicketQueued", TicketQueuedSchema),
  ticketJob: named("GlpiTicketJob", TicketJobSchema),
} as const;

const glpiForm: Pick<RouteSpec, "tag" | "auth" | "parameters" | "body"> = {
  tag: "glpi-forms",
  auth: "sharedSecret",
  parameters: [IdempotencyKey],
  body: jsonBody(S.form),
};

/** The glpi-forms routes (functions/glpi-forms/), as the OpenAPI document describes them. */
export const routes: readonly RouteSpec[] = [
  {
    ...glpiForm,
    function: "glpiCreateTicket",
    method: "POST",
    path: "/glpi/tickets",
    summary: "Open a GLPI ticket from a form",
    description:
      "A form or portal opens a ticket in the GLPI entity whose CNPJ matches `cnpj_cliente`. When GLPI " +
      "is unreachable the ticket is queued (202). A CNPJ that matches no entity is parked for an " +
      "operator to assign (404 all the same).",
    responses: {
      201: { description: "Created", content: json(S.created) },
      202: { description: "Queued", content: json(S.queued), headers: ["Location"] },
      ...errors([400, 401, 404, 409, 413, 415, 500, 502, 503], SHARED.error, {
        404: "No GLPI entity has this CNPJ (the request is parked for an operator)",
      }),
    },
  },
  {
    function: "glpiGetTicketJob",
    method: "GET",
    path: "/glpi/tickets/jobs/{id}",
    tag: "glpi-forms",
    summary: "The state of a queued GLPI ticket",
    description: "Pending, done with `ticket_id`, or failed with the reason.",
    auth: "sharedSecret",
    parameters: [
      {
        name: "id",
        in: "path",
        required: true,
        description: "The job id a 202 answered",
        schema: JobIdSchema,
      },
    ],
    responses: {
      200: { description: "The job", content: json(S.ticketJob) },
      ...errors([400, 401, 500], SHARED.error),
      ...errors([404], SHARED.error, { 404: "No ticket job has this id" }),
    },
  },
  {
    ...glpiForm,
    function: "glpiCriarChamado",
    method: "POST",
    path: "/criar-chamado",
    summary: "Open a GLPI ticket (the old Flask app's route and answers)",
    description:
      "The same as POST /glpi/tickets, answering as the old app did: 200 `{ticket_id}`, errors as " +
      "`{erro, …}` in Portuguese.",
    responses: {
      200: { description: "Created", content: json(S.created) },
      202: { description: "Queued", content: json(S.queued), headers: ["Location"] },
      ...errors([400, 401, 404, 409, 413, 415, 500, 502, 503], S.legacyError, {
        400: "Campos obrigatórios ausentes / Campos inválidos: `campos` names them",
        404: "Entidade não encontrada para o CNPJ informado",
        502: "Erro ao criar chamado (GLPI's own status when it answered 4xx)",
      }),
    },
  },
];
