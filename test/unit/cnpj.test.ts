import { describe, expect, it } from "vitest";
import { formatCnpj, isValidCnpj, normalizeCnpj } from "../../lib/sync/glpi-forms/cnpj.ts";

describe("CNPJ", () => {
  it("accepts a valid CNPJ formatted or as digits only", () => {
    expect(isValidCnpj("11.222.333/0001-81")).toBe(true);
    expect(isValidCnpj("11222333000181")).toBe(true);
    expect(isValidCnpj(" 11 222 333 0001 81 ")).toBe(true);
  });

  it("rejects wrong check digits, wrong lengths and repeated digits", () => {
    expect(isValidCnpj("11.222.333/0001-82")).toBe(false);
    expect(isValidCnpj("11.222.333/0001-18")).toBe(false);
    expect(isValidCnpj("1122233300018")).toBe(false);
    expect(isValidCnpj("112223330001811")).toBe(false);
    expect(isValidCnpj("00.000.000/0000-00")).toBe(false);
    expect(isValidCnpj("11111111111111")).toBe(false);
    expect(isValidCnpj("00.000.000/0001-00")).toBe(false);
  });

  it("accepts the alphanumeric CNPJ introduced in 2026 and checks its digits", () => {
    // Receita Federal's published example: 12.ABC.345/01DE-35.
    expect(isValidCnpj("12.ABC.345/01DE-35")).toBe(true);
    expect(isValidCnpj("12abc34501de35")).toBe(true);
    expect(isValidCnpj("12.ABC.345/01DE-36")).toBe(false);
    // Check digits are always numeric.
    expect(isValidCnpj("12ABC34501DE3A")).toBe(false);
  });

  it("normalizes and formats", () => {
    expect(normalizeCnpj("11.222.333/0001-81")).toBe("11222333000181");
    expect(formatCnpj("11222333000181")).toBe("11.222.333/0001-81");
    expect(formatCnpj(normalizeCnpj("12.abc.345/01de-35"))).toBe("12.ABC.345/01DE-35");
  });
});
