import type { ItopInstance } from "../../core/config-schema.ts";
import { loadSecrets } from "../../core/secrets.ts";
import { jobRuntime } from "../../jobs/runtime.ts";
import type { Ref } from "../../links/refs.ts";
import type { LinkStore } from "../../links/store.ts";
import type { ItopClient } from "../../systems/itop/client.ts";
import { itopClientFromConfig } from "../../systems/itop/from-config.ts";
import { buildOnce, integrationSettings, systemInstance } from "../integration.ts";
import { itopPair } from "./index.ts";
import type { ItopDirection, ItopPairConfig } from "./settings.ts";

export type Side = "external" | "internal";
export const SIDES: readonly Side[] = ["external", "internal"];
export const otherSide = (side: Side): Side => (side === "external" ? "internal" : "external");

/** Whether an aspect configured with `direction` flows out of `from`. */
export function flowsFrom(direction: ItopDirection, from: Side): boolean {
  return direction === "both" || direction === `${from}-to-${otherSide(from)}`;
}

/** What the iTop ↔ iTop integration works with, built once per container. */
export interface ItopPairDeps {
  settings: ItopPairConfig;
  instances: Record<Side, string>;
  clients: Record<Side, ItopClient>;
  links: LinkStore;
}

/** Both sides' tickets are linked by id: ids are unique across the Ticket classes of one iTop. */
export const ticketRef = (instance: string, id: string): Ref => ({
  system: "itop",
  instance,
  type: "ticket",
  id,
});

/** The integration's settings; a ConfigError when the config does not enable it. */
export const itopPairSettings = () => integrationSettings(itopPair);

/** Builds both iTop clients on first use. */
export const itopPairDeps = /* @__PURE__ */ buildOnce(async (): Promise<ItopPairDeps> => {
  const runtime = jobRuntime();
  const settings = itopPairSettings();
  const instances = { external: settings.external, internal: settings.internal };
  const configs: Record<Side, ItopInstance> = {
    external: systemInstance("itop", settings.external, "integrations.itopPair.external"),
    internal: systemInstance("itop", settings.internal, "integrations.itopPair.internal"),
  };
  // Both sides' secrets in one read (one SSM call when deployed); each client then finds its own.
  const refs = SIDES.flatMap((side) => [configs[side].password?.secret, configs[side].token?.secret]);
  await loadSecrets(refs.filter((ref): ref is string => ref !== undefined));
  const client = (side: Side) => itopClientFromConfig(instances[side], configs[side], settings.comment);
  const [external, internal] = await Promise.all([client("external"), client("internal")]);
  return {
    settings,
    instances,
    clients: { external, internal },
    links: runtime.links,
  };
});
