import type { Config } from "../core/config-schema.ts";
import { type Ref, refKey } from "../links/refs.ts";
import type { ObjectView } from "./types.ts";

/** An object with its key and, when its system's URL is known, its page in that system. */
export function objectView(ref: Ref, config: Readonly<Config>): ObjectView {
  const url = uiUrl(ref, config);
  return { ref, key: refKey(ref), ...(url ? { url } : {}) };
}

/**
 * The page of an object in its own system's web UI. The base is `operators.uiUrls[system][instance]`
 * when set (a public host the bridge's API URL is not), else derived from the API URL in the config.
 * Undefined for objects with no page (a form submission, a chat) or an instance the config lacks.
 */
export function uiUrl(ref: Ref, config: Readonly<Config>): string | undefined {
  const override = config.operators?.uiUrls?.[ref.system]?.[ref.instance];
  const id = encodeURIComponent(ref.id);
  switch (ref.system) {
    case "glpi": {
      const base = override ?? config.systems.glpi[ref.instance]?.url.replace(/\/apirest\.php\/?$/, "");
      return base && ref.type === "Ticket" ? `${trim(base)}/front/ticket.form.php?id=${id}` : undefined;
    }
    case "otrs": {
      const instance = config.systems.otrs[ref.instance];
      const base =
        override ?? instance?.agentUrl ?? instance?.url.replace(/\/nph-genericinterface\.pl\/.*$/, "");
      if (!base || ref.type !== "ticket") return undefined;
      const agent = /\.pl$/.test(trim(base)) ? trim(base) : `${trim(base)}/index.pl`;
      return `${agent}?Action=AgentTicketZoom;TicketID=${id}`;
    }
    case "redmine": {
      const base = override ?? config.systems.redmine[ref.instance]?.url;
      return base && ref.type === "issue" ? `${trim(base)}/issues/${id}` : undefined;
    }
    case "itop": {
      const base =
        override ?? config.systems.itop[ref.instance]?.url.replace(/\/webservices\/rest\.php$/, "");
      // `class=Ticket` opens any ticket by id: iTop shows it as its concrete class.
      return base && ref.type === "ticket"
        ? `${trim(base)}/pages/UI.php?operation=details&class=Ticket&id=${id}`
        : undefined;
    }
    case "rt": {
      const instance = config.systems.rt[ref.instance];
      const base = override ?? instance?.webUrl ?? instance?.url.replace(/\/REST\/2\.0\/?$/, "");
      return base && ref.type === "ticket" ? `${trim(base)}/Ticket/Display.html?id=${id}` : undefined;
    }
    case "kanboard": {
      const base = override ?? config.systems.kanboard[ref.instance]?.url.replace(/\/jsonrpc\.php$/, "");
      return base && ref.type === "card"
        ? `${trim(base)}/?controller=TaskViewController&action=show&task_id=${id}`
        : undefined;
    }
    default:
      return undefined;
  }
}

const trim = (url: string) => url.replace(/\/+$/, "");
