import { ConfigError, InProgressError } from "../../core/errors.ts";
import { loadSecrets, secret } from "../../core/secrets.ts";
import { defineJob } from "../../jobs/model.ts";
import { claimCreation, PENDING } from "../../links/claims.ts";
import type { Ref } from "../../links/refs.ts";
import type { Ticket } from "../../systems/otrs/schemas.ts";
import { notificationMessageId, RocketChatBot } from "../../systems/rocketchat/bot.ts";
import { postToHook } from "../../systems/rocketchat/client.ts";
import { rocketchatOtrsDeps, rocketchatOtrsSettings } from "./deps.ts";
import { NOTIFY_JOB, notifySpec } from "./index.ts";
import { type RocketchatOtrsConfig, ruleTransport } from "./settings.ts";

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

/** One message a rule sends: through the bot to a target, or through an Incoming WebHook (to a target). */
type Post =
  | { transport: "bot"; rule: Rule; index: number; target: string }
  | { transport: "hooks"; rule: Rule; index: number; hook: string; target?: string };

/** The messages an event's matching rules send, each with its own claim. */
function postsOf(settings: Notifications, event: string, ticket: Ticket): Post[] {
  return settings.rules.flatMap((rule, index): Post[] => {
    if (!ruleMatches(rule, event, ticket)) return [];
    if (ruleTransport(settings, rule) === "bot")
      return (rule.targets ?? []).map((target) => ({ transport: "bot", rule, index, target }));
    return (rule.hooks ?? []).flatMap((hook): Post[] =>
      rule.targets
        ? rule.targets.map((target) => ({ transport: "hooks", rule, index, hook, target }))
        : [{ transport: "hooks", rule, index, hook }],
    );
  });
}

/** The claim of one message: `<event key>.<rule>.<hook>`, `<event key>.<rule>.<hook>.<target>` or `<event key>.<rule>.<target>`. */
function claimId(eventKey: string, post: Post): string {
  if (post.transport === "bot") return `${eventKey}.${post.index}.${post.target}`;
  return post.target === undefined
    ? `${eventKey}.${post.index}.${post.hook}`
    : `${eventKey}.${post.index}.${post.hook}.${post.target}`;
}

let bot: { key: string; client: RocketChatBot } | undefined;

/** The bot user's client, built once per container (its room resolutions are kept with it). */
function botClient(settings: Notifications): RocketChatBot {
  const config = settings.bot;
  if (!config)
    throw new ConfigError(
      [
        {
          path: "integrations.rocketchatOtrs.notifications.bot",
          message: "is required by the bot transport",
        },
      ],
      "config",
    );
  const key = `${config.url}\u0000${config.userId}\u0000${config.authToken.secret}`;
  if (bot?.key !== key) {
    bot = {
      key,
      client: new RocketChatBot({
        url: config.url,
        userId: config.userId,
        authToken: secret(config.authToken.secret),
        timeoutMs: HOOK_TIMEOUT_MS,
      }),
    };
  }
  return bot.client;
}

/**
 * Posts an OTRS ticket event to the Rocket.Chat channels and people its rules pick, each message once:
 * a message is claimed in the link store before it is posted and marked posted after, so a retry (a
 * channel down, then back), an OTRS redelivery or a replay posts nothing twice. Through the bot, a
 * message is posted under an id derived from the event (ticket, event, rule, target): an attempt that
 * takes over a claim (the answer was lost, or the worker died before marking it posted) first asks
 * Rocket.Chat for that id, and a message there is this one, landed. Through an Incoming WebHook (no
 * message id) such an attempt posts again: at least once.
 */
export const notifyJob = defineJob({
  ...notifySpec,
  key: ({ eventKey }) => eventKey,
  // The bot and the incoming webhooks are one Rocket.Chat each: one cap (the default; no instance under `systems`).
  systems: () => {
    const settings = rocketchatOtrsSettings();
    const notifications = settings.notifications;
    const transports = new Set(
      (notifications?.rules ?? []).map((rule) =>
        notifications ? ruleTransport(notifications, rule) : "hooks",
      ),
    );
    return [
      { system: "otrs", instance: settings.otrs },
      ...[...transports].map((transport) => ({ system: "rocketchat", instance: transport })),
    ];
  },
  async run({ ticketId, event, eventKey }, context) {
    const deps = await rocketchatOtrsDeps();
    const settings = deps.settings.notifications;
    if (!settings)
      throw new ConfigError(
        [{ path: "integrations.rocketchatOtrs.notifications", message: "is required" }],
        "config",
      );
    const ticket = await deps.otrs.getTicket(ticketId, { articles: "all", signal: context.signal });
    const posts = postsOf(settings, event, ticket);
    await loadSecrets([
      ...new Set(
        posts.map((post) =>
          post.transport === "bot" ? botSecret(settings) : hookSecret(settings, post.hook),
        ),
      ),
    ]);
    let posted = 0;
    for (const post of posts) {
      const source: Ref = {
        system: "otrs",
        instance: deps.otrsInstance,
        type: "notification",
        id: claimId(eventKey, post),
      };
      const instance = post.transport === "bot" ? "bot" : "hook";
      const claim = await claimCreation(
        deps.links,
        source,
        { system: "rocketchat", instance, type: "message", id: PENDING },
        context.jobId,
      );
      if (claim.kind === "linked") continue;
      const text = renderMessage(post.rule.template ?? settings.template, {
        event,
        ticket,
        agentUrl: deps.agentUrl,
        bodyLines: settings.bodyLines,
      });
      let targetId: string;
      if (post.transport === "bot") {
        const client = botClient(settings);
        const id = notificationMessageId([ticketId, eventKey, String(post.index), post.target]);
        // A claim taken over (version > 1) may have been posted by the attempt that held it.
        const landed = claim.link.version > 1 ? await client.getMessage(id, context.signal) : undefined;
        if (!landed) {
          const rid = await client.roomOf(post.target, context.signal);
          await client.sendMessage(
            { _id: id, rid, msg: text, alias: settings.alias, emoji: settings.emoji },
            context.signal,
          );
        }
        targetId = id;
      } else {
        await postToHook(
          secret(hookSecret(settings, post.hook)),
          post.hook,
          { text, alias: settings.alias, emoji: settings.emoji, channel: post.target },
          { timeoutMs: HOOK_TIMEOUT_MS, signal: context.signal },
        );
        targetId = post.hook;
      }
      // Through a webhook, the message is out and cannot be looked up: a job failing now would post it
      // again on its retry. A passing table error gets a few more tries first.
      const saved = await persistently(() =>
        deps.links.replaceTarget(
          claim.link,
          { system: "rocketchat", instance, type: "message", id: targetId },
          { posted: { syncedAt: new Date().toISOString() } },
        ),
      );
      if (saved.outcome === "stale") throw new InProgressError("the notification was claimed by another job");
      posted++;
      context.logger.info("OTRS event posted to Rocket.Chat", {
        event,
        ticket_id: ticketId,
        transport: post.transport,
        ...(post.transport === "hooks" ? { hook: post.hook } : {}),
        ...(post.target !== undefined ? { target: post.target } : {}),
      });
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

function botSecret(settings: Notifications): string {
  const ref = settings.bot?.authToken;
  if (!ref)
    throw new ConfigError(
      [
        {
          path: "integrations.rocketchatOtrs.notifications.bot",
          message: "is required by the bot transport",
        },
      ],
      "config",
    );
  return ref.secret;
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
