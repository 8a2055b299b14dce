import type { Config } from "../core/config-schema.ts";
import { itopClientFromConfig } from "../systems/itop/from-config.ts";
import { otrsClientFromConfig } from "../systems/otrs/from-config.ts";

/**
 * Turns what an operator reads on screen into the id the links store: an OTRS TicketNumber into its
 * TicketID, an iTop ref (`R-000123`) into the ticket's numeric id. Loaded by lookup.ts only when a
 * direct lookup found nothing, so the status routes never load an adapter otherwise.
 */
export async function resolveIds(
  config: Readonly<Config>,
  system: "otrs" | "itop",
  instance: string,
  id: string,
): Promise<string[]> {
  if (system === "otrs") {
    const settings = config.systems.otrs[instance];
    if (!settings) return [];
    return (await otrsClientFromConfig(instance, settings)).findTicketIdsByNumber(id);
  }
  const settings = config.systems.itop[instance];
  if (!settings) return [];
  const client = await itopClientFromConfig(instance, settings, "deskbridge lookup");
  // The id's shape was checked by the caller (letters, a dash, digits): nothing to escape in the OQL.
  const found = await client.get("Ticket", `SELECT Ticket WHERE ref = '${id}'`, "id");
  return found.map((object) => String(object.key ?? object.fields.id ?? "")).filter((key) => key !== "");
}
