import * as v from "valibot";
import { MAX_ID } from "../../core/ids.ts";
import { isValidCnpj, normalizeCnpj } from "./cnpj.ts";

/** A required text field; old clients sometimes send phone or AnyDesk numbers as JSON numbers. */
const text = (max: number) =>
  v.pipe(
    v.union([v.string(), v.number()], "must be a string"),
    v.transform((value) => String(value).trim()),
    v.nonEmpty("must not be empty"),
    v.maxLength(max, `must be at most ${max} characters`),
  );

/**
 * The form body, with the keys the old Flask app used. Every problem is reported with its field name.
 */
export const FormSubmissionSchema = v.object({
  nome_cliente: text(255),
  telefone_cliente: v.pipe(
    text(40),
    v.regex(/^[0-9+()\s.-]+$/, "must be a phone number (digits, spaces, + ( ) . -)"),
  ),
  cnpj_cliente: v.pipe(
    text(32),
    v.check(isValidCnpj, "must be a valid CNPJ (14 characters, check digits correct; formatted or not)"),
    v.transform(normalizeCnpj),
  ),
  anydesk_cliente: text(64),
  descricao_problema: text(20_000),
  categoria: v.optional(
    v.pipe(
      v.union(
        [v.pipe(v.number(), v.integer()), v.pipe(v.string(), v.regex(/^\s*\d+\s*$/))],
        "must be a category id (a positive integer)",
      ),
      v.transform(Number),
      v.minValue(1, "must be a category id (a positive integer)"),
      v.maxValue(MAX_ID, "must be a category id (a positive integer)"),
    ),
  ),
});
export type FormSubmission = v.InferOutput<typeof FormSubmissionSchema>;
