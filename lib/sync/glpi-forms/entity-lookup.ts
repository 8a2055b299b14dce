import { NotFoundError } from "../../core/errors.ts";
import type { GlpiClient } from "../../systems/glpi/client.ts";
import { formatCnpj, normalizeCnpj } from "./cnpj.ts";
import type { GlpiFormsConfig } from "./settings.ts";

/** GLPI's search option 2 is the item id on every itemtype. */
const ID_OPTION = 2;

/**
 * Finds the GLPI entity whose CNPJ field (GLPI "Fields" plugin) holds a CNPJ, comparing normalized
 * values so that `11.222.333/0001-81` and `11222333000181` match each other. Found entities are cached
 * per container for `cacheTtlSeconds`; misses are not cached, so a CNPJ registered a minute ago works.
 */
export class EntityLookup {
  private readonly cache = new Map<string, { entityId: number; expires: number }>();

  constructor(
    private readonly glpi: GlpiClient,
    private readonly options: GlpiFormsConfig["entityLookup"],
    private readonly now: () => number = Date.now,
  ) {}

  async entityIdFor(cnpj: string, signal?: AbortSignal): Promise<number> {
    const wanted = normalizeCnpj(cnpj);
    const hit = this.cache.get(wanted);
    if (hit && hit.expires > this.now()) return hit.entityId;
    // GLPI compares with SQL LIKE on the stored text, so try the two ways people store a CNPJ.
    const entityId =
      (await this.search(wanted, wanted, signal)) ?? (await this.search(formatCnpj(wanted), wanted, signal));
    if (entityId === undefined) throw new NotFoundError("no GLPI entity has this CNPJ");
    if (this.options.cacheTtlSeconds > 0)
      this.cache.set(wanted, { entityId, expires: this.now() + this.options.cacheTtlSeconds * 1000 });
    return entityId;
  }

  private async search(value: string, wanted: string, signal?: AbortSignal): Promise<number | undefined> {
    const field = this.options.searchOptionId;
    const result = await this.glpi.search(this.options.itemtype, [{ field, searchtype: "contains", value }], {
      forcedisplay: [field, ID_OPTION],
      range: [0, 49],
      ...(signal ? { signal } : {}),
    });
    const ids = result.data
      .filter(
        (row) =>
          typeof row[String(field)] === "string" && normalizeCnpj(row[String(field)] as string) === wanted,
      )
      .map((row) => Number(row[String(ID_OPTION)]))
      .filter((id) => Number.isInteger(id) && id >= 0)
      .sort((a, b) => a - b);
    return ids[0];
  }
}
