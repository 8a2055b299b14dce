import { ConfigError, InProgressError } from "../../core/errors.ts";
import { loadSecrets, secret } from "../../core/secrets.ts";
import { defineJob } from "../../jobs/model.ts";
import { claimCreation, PENDING } from "../../links/claims.ts";
import type { Ref } from "../../links/refs.ts";
import type { Ticket } from "../../systems/otrs/schemas.ts";
import { postToHook } from "../../systems/rocketchat/client.ts";
import { rocketchatOtrsDeps, rocketchatOtrsSettings } from "./deps.ts";
import { NOTIFY_JOB, notifySpec } from "./index.ts";
import type { RocketchatOtrsConfig } from "./settings.ts";

export { NOTIFY_JOB };

const HOOK_TIMEOUT_MS = 5000;

type Notifications = NonNullable<RocketchatOtrsConfig["notifications"]>;
type Rule = Notifications["rules"][number];

/** Whether a rule sends this event for this ticket (event, then queue, priority and customer if given). */
export function ruleMatches(
  rule: Rule,
  event: string,
  ticket: Pick<Ticket, "Queue" | "Priority" | "CustomerID">,
) {
  return (
    rule.events.includes(event) &&
    (!rule.queues || rule.queues.includes(ticket.Queue)) &&
    (!rule.priorities || rule.priorities.includes(ticket.Priority)) &&
    (!rule.customers || rule.customers.includes(ticket.CustomerID ?? ""))
  );
}

/** The display name of an e-mail address (`"Maria Souza" <maria@…>` → Maria Souza). */
function displayName(from: string | null | undefined): string | undefined {
  if (!from) return undefined;
  const named = /^\s*"?([^"<]*?)"?\s*<[^>]+>\s*$/.exec(from)?.[1]?.trim();
  return named || from.replace(/[<>]/g, "").trim() || undefined;
}

/**
 * The message of one rule for one ticket, in Rocket.Chat Markdown: who wrote (the newest customer
 * article's sender, and the customer id), the first lines of its body quoted, and a link to the
 * ticket in the agent interface.
 */
export function renderMessage(
  template: string,
  values: { event: string; ticket: Ticket; agentUrl: string | undefined; bodyLines: number },
): string {
  const { ticket } = values;
  const articles = ticket.Article;
  const article = articles.find((a) => a.SenderType === "customer") ?? articles[0];
  const url = values.agentUrl ? `${values.agentUrl}?Action=AgentTicketZoom;TicketID=${ticket.TicketID}` : "";
  const lines = (article?.Body ?? "")
    .split(/\r?\n/)
    .map((line) => line.trimEnd())
    .filter((line) => line.trim() !== "")
    .slice(0, values.bodyLines);
  const fields: Record<string, string> = {
    event: values.event,
    number: ticket.TicketNumber,
    id: ticket.TicketID,
    title: ticket.Title,
    queue: ticket.Queue,
    state: ticket.State,
    priority: ticket.Priority,
    customer:
      displayName(article?.SenderType === "customer" ? article.From : undefined) ||
      ticket.CustomerUserID ||
      "",
    customerId: ticket.CustomerID ?? "",
    body: lines.map((line) => `> ${line}`).join("\n"),
    url,
    link: url ? `[Ticket#${ticket.TicketNumber}](${url})` : `Ticket#${ticket.TicketNumber}`,
  };
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => fields[name] ?? whole);
}

/**
 * Posts an OTRS ticket event to the Rocket.Chat channels its rules pick, each message once: a
 * message is claimed in the link store before it is posted and marked posted after, so a retry (a
 * channel down, then back), an OTRS redelivery or a replay posts nothing twice.
 */
export const notifyJob = defineJob({
  ...notifySpec,
  key: ({ eventKey }) => eventKey,
  // The incoming webhooks are one Rocket.Chat: one cap (the default; it has no instance under `systems`).
  systems: () => [
    { system: "otrs", instance: rocketchatOtrsSettings().otrs },
    { system: "rocketchat", instance: "hooks" },
  ],
  async run({ ticketId, event, eventKey }, context) {
    const deps = await rocketchatOtrsDeps();
    const settings = deps.settings.notifications;
    if (!settings)
      throw new ConfigError(
        [{ path: "integrations.rocketchatOtrs.notifications", message: "is required" }],
        "config",
      );
    const ticket = await deps.otrs.getTicket(ticketId, { articles: "all", signal: context.signal });
    const posts = settings.rules.flatMap((rule, index) =>
      ruleMatches(rule, event, ticket) ? rule.hooks.map((hook) => ({ rule, index, hook })) : [],
    );
    await loadSecrets([...new Set(posts.map(({ hook }) => hookSecret(settings, hook)))]);
    let posted = 0;
    for (const { rule, index, hook } of posts) {
      const source: Ref = {
        system: "otrs",
        instance: deps.otrsInstance,
        type: "notification",
        id: `${eventKey}.${index}.${hook}`,
      };
      const claim = await claimCreation(
        deps.links,
        source,
        { system: "rocketchat", instance: "hook", type: "message", id: PENDING },
        context.jobId,
      );
      if (claim.kind === "linked") continue;
      const text = renderMessage(rule.template ?? settings.template, {
        event,
        ticket,
        agentUrl: deps.agentUrl,
        bodyLines: settings.bodyLines,
      });
      await postToHook(
        secret(hookSecret(settings, hook)),
        hook,
        { text, alias: settings.alias, emoji: settings.emoji },
        { timeoutMs: HOOK_TIMEOUT_MS, signal: context.signal },
      );
      // The message is out and cannot be taken back or looked up through a webhook: a job failing now
      // would post it again on its retry. A passing table error gets a few more tries first.
      const saved = await persistently(() =>
        deps.links.replaceTarget(
          claim.link,
          { system: "rocketchat", instance: "hook", type: "message", id: hook },
          { posted: { syncedAt: new Date().toISOString() } },
        ),
      );
      if (saved.outcome === "stale") throw new InProgressError("the notification was claimed by another job");
      posted++;
      context.logger.info("OTRS event posted to Rocket.Chat", { event, ticket_id: ticketId, hook });
    }
    return { event, ticket: ticket.TicketNumber, matched: posts.length, posted };
  },
});

/** Runs a write up to three times, 200 ms apart, for a transient failure of the table. */
async function persistently<T>(write: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (error) {
      if (attempt >= 3) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

function hookSecret(settings: Notifications, hook: string): string {
  const ref = settings.hooks[hook];
  if (!ref)
    throw new ConfigError(
      [{ path: `integrations.rocketchatOtrs.notifications.hooks.${hook}`, message: "is missing" }],
      "config",
    );
  return ref.secret;
}
