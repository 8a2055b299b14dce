/**
 * CNPJ (Brazilian company registry number) handling. Since July 2026 CNPJs may be alphanumeric: the
 * first 12 characters are 0-9 or A-Z, the last two are numeric check digits computed with the same
 * modulo-11 weights, each character counting as its ASCII code minus 48 (so digits keep their value).
 */

/** Strips punctuation and spaces (`11.222.333/0001-81` → `11222333000181`) and upper-cases letters. */
export function normalizeCnpj(value: string): string {
  return value.replace(/[\s./-]/g, "").toUpperCase();
}

const WEIGHTS_1 = [5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2];
const WEIGHTS_2 = [6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2];

function checkDigit(base: string, weights: number[]): number {
  let sum = 0;
  for (let i = 0; i < weights.length; i++) sum += (base.charCodeAt(i) - 48) * (weights[i] ?? 0);
  const remainder = sum % 11;
  return remainder < 2 ? 0 : 11 - remainder;
}

/** Whether a CNPJ, formatted or not, is well formed and its check digits are right. */
export function isValidCnpj(value: string): boolean {
  const cnpj = normalizeCnpj(value);
  if (!/^[0-9A-Z]{12}[0-9]{2}$/.test(cnpj)) return false;
  if (/^(\d)\1{13}$/.test(cnpj)) return false; // 00000000000000 and the like pass the arithmetic
  const first = checkDigit(cnpj.slice(0, 12), WEIGHTS_1);
  const second = checkDigit(cnpj.slice(0, 12) + first, WEIGHTS_2);
  return cnpj.endsWith(`${first}${second}`);
}

/** A CNPJ from its first 12 characters (0-9, A-Z) and the two check digits computed for them. */
export function cnpjWithCheckDigits(base: string): string {
  const first = checkDigit(base, WEIGHTS_1);
  return `${base}${first}${checkDigit(base + first, WEIGHTS_2)}`;
}

/** The usual display form `AA.AAA.AAA/AAAA-DD` of a normalized CNPJ. */
export function formatCnpj(normalized: string): string {
  return normalized.replace(/^(.{2})(.{3})(.{3})(.{4})(.{2})$/, "$1.$2.$3/$4-$5");
}
