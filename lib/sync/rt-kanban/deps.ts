import type { BoardPort } from "../../boards/port.ts";
import { loadSecrets } from "../../core/secrets.ts";
import { jobRuntime } from "../../jobs/runtime.ts";
import type { Ref } from "../../links/refs.ts";
import type { LinkStore } from "../../links/store.ts";
import { KanboardBoard } from "../../systems/kanboard/board.ts";
import { kanboardClientFromConfig } from "../../systems/kanboard/from-config.ts";
import type { RtClient } from "../../systems/rt/client.ts";
import { rtClientFromConfig } from "../../systems/rt/from-config.ts";
import { buildOnce, integrationSettings, systemInstance } from "../integration.ts";
import { rtKanban } from "./index.ts";
import type { RtKanbanConfig } from "./settings.ts";

/** What the RT → Kanban integration works with, built once per container. */
export interface RtKanbanDeps {
  settings: RtKanbanConfig;
  rtInstance: string;
  /** The bridge's RT user: its own changes (the card id written back) are not synced again. */
  rtUser: string;
  webUrl: string | undefined;
  rt: RtClient;
  board: BoardPort;
  links: LinkStore;
  /** Board user ids by RT user name, as found so far (undefined: no such user on the board). */
  owners: Map<string, string | undefined>;
}

export const ticketRef = (instance: string, id: number): Ref => ({
  system: "rt",
  instance,
  type: "ticket",
  id: String(id),
});

export const cardRef = (board: BoardPort, id: string): Ref => {
  const [system = "board", instance = "main"] = board.name.split(":");
  return { system, instance, type: "card", id };
};

/** The integration's settings; a ConfigError when the config does not enable it. */
export const rtKanbanSettings = () => integrationSettings(rtKanban);

/** Builds the RT client and the board on first use. */
export const rtKanbanDeps = /* @__PURE__ */ buildOnce(async (): Promise<RtKanbanDeps> => {
  const runtime = jobRuntime();
  const settings = rtKanbanSettings();
  const rt = systemInstance("rt", settings.rt, "integrations.rtKanban.rt");
  const kanboard = systemInstance(
    "kanboard",
    settings.board.kanboard,
    "integrations.rtKanban.board.kanboard",
  );
  // Both clients' secrets in one read (one SSM call when deployed); each builder then finds its own.
  await loadSecrets([rt.token.secret, kanboard.token.secret]);
  const client = await kanboardClientFromConfig(settings.board.kanboard, kanboard);
  return {
    settings,
    rtInstance: settings.rt,
    rtUser: rt.user,
    webUrl: rt.webUrl,
    rt: await rtClientFromConfig(settings.rt, rt),
    board: new KanboardBoard(client, settings.board.projectId, settings.board.swimlane),
    links: runtime.links,
    owners: new Map(),
  };
});
