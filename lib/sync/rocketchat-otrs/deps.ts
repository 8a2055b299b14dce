import { jobRuntime } from "../../jobs/runtime.ts";
import type { Ref } from "../../links/refs.ts";
import type { LinkStore } from "../../links/store.ts";
import type { OtrsClient } from "../../systems/otrs/client.ts";
import { otrsClientFromConfig } from "../../systems/otrs/from-config.ts";
import { buildOnce, integrationSettings, systemInstance } from "../integration.ts";
import { rocketchatOtrs } from "./index.ts";

/** What the Rocket.Chat ↔ OTRS integration works with, built once per container. */
export interface RocketchatOtrsDeps {
  settings: ReturnType<typeof rocketchatOtrsSettings>;
  otrsInstance: string;
  otrs: OtrsClient;
  /** `https://host/otrs/index.pl`, for links to tickets. */
  agentUrl: string | undefined;
  links: LinkStore;
}

/** The integration's settings; a ConfigError when the config does not enable it. */
export const rocketchatOtrsSettings = () => integrationSettings(rocketchatOtrs);

/** Builds the OTRS client on first use. */
export const rocketchatOtrsDeps = /* @__PURE__ */ buildOnce(async (): Promise<RocketchatOtrsDeps> => {
  const settings = rocketchatOtrsSettings();
  const otrs = systemInstance("otrs", settings.otrs, "integrations.rocketchatOtrs.otrs");
  return {
    settings,
    otrsInstance: settings.otrs,
    otrs: await otrsClientFromConfig(settings.otrs, otrs),
    agentUrl: otrs.agentUrl,
    links: jobRuntime().links,
  };
});

/** A chat (a Livechat room, or an offline message) as the source of a link. */
export const chatRef = (id: string): Ref => ({
  system: "rocketchat",
  instance: "livechat",
  type: "chat",
  id,
});

export const otrsTicketRef = (instance: string, id: string): Ref => ({
  system: "otrs",
  instance,
  type: "ticket",
  id,
});
