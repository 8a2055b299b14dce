import * as v from "valibot";
import { MAX_ID } from "../../core/ids.ts";
import { defineIntegration, jobSpec } from "../descriptor.ts";
import { checkGlpiForms, glpiFormsSchema } from "./settings.ts";
import { FormSubmissionSchema } from "./submission.ts";

/** The job type of a form submission's ticket. */
export const CREATE_TICKET_JOB = "glpi-forms.create-ticket";

/** Opens the GLPI ticket of one form submission (create-ticket-job.ts runs it). */
export const createTicketSpec = jobSpec({
  type: CREATE_TICKET_JOB,
  input: v.object({
    submission: FormSubmissionSchema,
    /** The entity an operator assigned to a parked request: no CNPJ lookup then. */
    entityId: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(MAX_ID))),
  }),
  // A submission has no system of its own: its job id names it.
  source: (_input, { jobId }) => ({ system: "forms", instance: "glpi-forms", type: "submission", id: jobId }),
});

/** The job type that reads the CNPJ → entity map from GLPI (refresh-directory-job.ts). */
export const REFRESH_DIRECTORY_JOB = "glpi-forms.refresh-directory";

/** Refreshes the shared entity directory; queued by a route whose map is old. No source object. */
export const refreshDirectorySpec = jobSpec({
  type: REFRESH_DIRECTORY_JOB,
  input: v.object({}),
  source: () => undefined,
});

/** GLPI forms: web form submissions (`POST /glpi/tickets`, `/criar-chamado`) become GLPI tickets. */
export const glpiForms = defineIntegration({
  id: "glpi-forms",
  configKey: "glpiForms",
  settings: glpiFormsSchema,
  check: checkGlpiForms,
  systems: ["glpi"],
  links: { glpi: ["Ticket"], forms: ["submission"] },
  jobs: [createTicketSpec, refreshDirectorySpec],
});
