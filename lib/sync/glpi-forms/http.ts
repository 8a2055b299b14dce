import { checkSharedSecret } from "../../core/auth.ts";
import { getConfig } from "../../core/config.ts";
import {
  AuthenticationError,
  type BridgeError,
  ConflictError,
  NotFoundError,
  PayloadError,
  UpstreamAuthError,
  UpstreamPermanentError,
  ValidationError,
} from "../../core/errors.ts";
import {
  type ErrorDialect,
  type HttpRequest,
  type HttpResponse,
  json,
  readJsonBody,
} from "../../core/http.ts";
import { glpiFormsSettings } from "./deps.ts";
import { type FormSubmission, FormSubmissionSchema } from "./submission.ts";

/** Checks the forms routes' shared secret (header, or `?token=` where the config allows it). */
export function authenticateForms(request: HttpRequest): Promise<void> {
  return checkSharedSecret(request, glpiFormsSettings().auth);
}

/** Reads and validates a form submission body (415, 413 or 400 naming every bad field). */
export function readSubmission(request: HttpRequest): FormSubmission {
  return readJsonBody(request, FormSubmissionSchema, getConfig().http.maxBodyBytes);
}

/** The answer when the ticket is queued: 202 with the job id and where to ask about it. */
export function queuedResponse(jobId: string): HttpResponse {
  const statusUrl = `/glpi/tickets/jobs/${jobId}`;
  return json(202, { job_id: jobId, status: "pending", status_url: statusUrl }, { location: statusUrl });
}

/**
 * The old Flask app's error answers (`{"erro": …}`, Portuguese messages, GLPI's own status on a
 * refused ticket), for `POST /criar-chamado`: missing fields under `campos_faltando` as the seed app
 * named them (and `campos_ausentes`, `campos` beside). Internal errors still carry only the request id.
 */
export const legacyErrorDialect: ErrorDialect = (error: BridgeError, standard) => {
  const headers = standard.headers ?? {};
  if (error instanceof ValidationError) {
    const missing = error.fields
      .filter((field) => field.message === "is required")
      .map((field) => field.path);
    const invalid = error.fields.filter((field) => field.message !== "is required");
    const body: Record<string, unknown> = {
      erro: missing.length > 0 ? "Campos obrigatórios ausentes" : "Campos inválidos",
      campos: error.fields.map((field) => field.path),
    };
    // The seed app named them `campos_faltando`, which old form clients still read.
    if (missing.length > 0) Object.assign(body, { campos_ausentes: missing, campos_faltando: missing });
    if (invalid.length > 0)
      body.detalhes = invalid.map((field) => ({ campo: field.path, problema: field.message }));
    return json(400, body);
  }
  if (error instanceof UpstreamAuthError) return json(401, { erro: "Falha ao iniciar sessão" });
  if (error instanceof AuthenticationError) return json(401, { erro: "Não autorizado" });
  if (error instanceof NotFoundError)
    return json(404, { erro: "Entidade não encontrada para o CNPJ informado" });
  if (error instanceof UpstreamPermanentError) {
    const { status, vendorCode, vendorMessage } = error.upstream;
    return json(status && status >= 400 ? status : 502, {
      erro: "Erro ao criar chamado",
      detalhe: [vendorCode, vendorMessage].filter(Boolean).join(": "),
    });
  }
  if (error instanceof PayloadError || error instanceof ConflictError)
    return json(error.status, { erro: error.message }, headers);
  return json(
    standard.status,
    {
      erro: standard.status === 503 ? "Serviço indisponível" : "Erro interno",
      detalhe: `request_id ${standard.body.request_id}`,
    },
    headers,
  );
};
