import * as v from "valibot";
import {
  type Config,
  lazy,
  maxConcurrency,
  missingInstances,
  regexSource,
  secretRefSchema,
  sharedSecretAuthSchema,
  stateName,
} from "../../core/config-schema.ts";
import type { FieldProblem } from "../../core/errors.ts";
import { TIME_ZONES } from "./time-zones.ts";

/**
 * The time zones Intl lists (as generated into time-zones.ts: asking Intl for them costs a cold start
 * 5–25 ms), and UTC: accepted without building a DateTimeFormat, whose first construction loads ICU's
 * locale data (over 10 ms at cold start). Any other zone (an alias) is checked by Intl itself.
 */
let knownTimeZones: ReadonlySet<string> | undefined;

const timeZone = lazy(() =>
  v.pipe(
    v.string(),
    v.check((zone) => {
      knownTimeZones ??= new Set(["UTC", ...TIME_ZONES.split(" ")]);
      if (knownTimeZones.has(zone)) return true;
      try {
        new Intl.DateTimeFormat("en", { timeZone: zone });
        return true;
      } catch {
        return false;
      }
    }, "must be an IANA time zone such as UTC or America/Sao_Paulo"),
  ),
);

/** The rules every ticket the bridge opens in OTRS follows (the old add-on's XSLT mapping, as settings). */
const otrsNewTicketSchema = lazy(() =>
  v.strictObject({
    state: v.optional(stateName(), "new"),
    priority: v.optional(v.pipe(v.string(), v.minLength(1)), "3 normal"),
    lock: v.optional(v.picklist(["lock", "unlock"]), "unlock"),
    /** An agent login, the ticket's owner; OTRS's default owner when absent. */
    owner: v.optional(v.pipe(v.string(), v.minLength(1))),
    /** Required when OTRS has ticket types enabled (SysConfig Ticket::Type). */
    type: v.optional(v.pipe(v.string(), v.minLength(1))),
  }),
);

/** How a notification reaches Rocket.Chat. */
export const TRANSPORTS = ["bot", "hooks"] as const;
export type Transport = (typeof TRANSPORTS)[number];
const transportSchema = lazy(() => v.picklist(TRANSPORTS, 'must be "bot" or "hooks"'));

/** A rule's destination: `#channel`, `@username`, or a room id. */
const targetSchema = lazy(() =>
  v.pipe(
    v.string(),
    v.regex(/^(?:[#@][^\s#@,]{1,100}|[A-Za-z0-9_-]{1,100})$/, "must be #channel, @username or a room id"),
  ),
);

/** `integrations.rocketchatOtrs`: this integration's settings, when the deployment enables it. */
export const rocketchatOtrsSchema = lazy(() =>
  v.strictObject({
    maxConcurrency: maxConcurrency(),
    /** Key of the OTRS instance under systems.otrs. */
    otrs: v.string(),
    /** Rocket.Chat Livechat → OTRS (`POST /rocketchat/livechat`). */
    livechat: v.optional(
      v.strictObject({
        /** The Omnichannel webhook's secret token (sent as `X-RocketChat-Livechat-Token`). */
        secret: secretRefSchema().entries.secret,
        /** The title of a new ticket when the chat has no topic; `{visitor}` is the visitor's name. */
        defaultTitle: v.optional(v.pipe(v.string(), v.minLength(1)), "Livechat with {visitor}"),
        /** Rocket.Chat department id → OTRS queue; other departments (and none) go to `defaultQueue`. */
        departments: v.optional(v.record(v.string(), v.pipe(v.string(), v.minLength(1))), {}),
        defaultQueue: v.pipe(v.string(), v.minLength(1)),
        ticket: v.optional(otrsNewTicketSchema(), {}),
        /** The customer of a chat whose visitor left no e-mail address (an existing OTRS customer login). */
        defaultCustomerUser: v.pipe(v.string(), v.minLength(1)),
        article: v.optional(
          v.strictObject({
            visibleForCustomer: v.optional(v.boolean(), false),
            /** `Internal`, or `Chat` where OTRS has a chat channel. */
            communicationChannel: v.optional(v.pipe(v.string(), v.minLength(1)), "Internal"),
            /** The article's sender; the visitor when absent. */
            from: v.optional(v.pipe(v.string(), v.minLength(1))),
          }),
          {},
        ),
        /**
         * A ticket dynamic field that records the chat's room id: searched (POST /TicketSearch) before
         * a ticket is created, so an attempt whose answer was lost never makes a second one.
         */
        roomDynamicField: v.optional(
          v.pipe(v.string(), v.regex(/^[A-Za-z0-9]+$/, "must be a dynamic field name")),
        ),
        /** How a chat's topic or tags name tickets: a regular expression whose first group is the number. */
        ticketReference: v.optional(
          v.pipe(
            regexSource(),
            v.check((pattern) => new RegExp(pattern).source.includes("("), "needs a capturing group"),
          ),
          "#(\\d+)",
        ),
        /** The time zone of the transcript's times. */
        timeZone: v.optional(timeZone(), "UTC"),
        /** Offline messages (the widget's form when no agent is online) become tickets too. */
        offlineMessages: v.optional(v.boolean(), true),
      }),
    ),
    /** OTRS ticket events → Rocket.Chat channels and people (`POST /otrs/notifications`). */
    notifications: v.optional(
      v.strictObject({
        /** The secret OTRS's requester sends (HTTP Basic's password, a header, or `?token=`). */
        auth: sharedSecretAuthSchema(),
        /**
         * How a rule that names none posts: `bot` (the REST API as a bot user, exactly once) or `hooks`
         * (Incoming WebHooks, at least once). Default: `bot` when `bot` is set, else `hooks`.
         */
        transport: v.optional(transportSchema()),
        /**
         * A bot user that posts through the REST API (`chat.sendMessage`) under message ids derived
         * from the event, so a retry asks Rocket.Chat whether its message landed and never posts twice.
         */
        bot: v.optional(
          v.strictObject({
            /** The server's base URL: `https://chat.example.com`. */
            url: v.pipe(v.string(), v.url("must be a URL such as https://chat.example.com")),
            /** The bot user's id (`X-User-Id`), shown with its personal access token. */
            userId: v.pipe(v.string(), v.minLength(1), v.maxLength(64)),
            /** The bot user's personal access token (`X-Auth-Token`). */
            authToken: secretRefSchema(),
          }),
        ),
        /** Rocket.Chat Incoming WebHook URLs by name; each URL holds its token, so it is a secret. */
        hooks: v.optional(
          v.record(
            v.pipe(v.string(), v.regex(/^[a-z0-9-]+$/, "must be lower-case letters, digits and -")),
            secretRefSchema(),
          ),
          {},
        ),
        rules: v.array(
          v.strictObject({
            /** OTRS events (TicketCreate, EscalationSolutionTimeNotifyBefore, …). */
            events: v.pipe(v.array(v.pipe(v.string(), v.minLength(1))), v.minLength(1)),
            /** Queue names; any queue when absent. */
            queues: v.optional(v.array(v.string())),
            /** Priority names (`5 very high`); any when absent. */
            priorities: v.optional(v.array(v.string())),
            /** CustomerID values; any when absent. */
            customers: v.optional(v.array(v.string())),
            /** This rule's transport; the integration's `transport` when absent. */
            transport: v.optional(transportSchema()),
            /**
             * Where the message goes: `#channel`, `@username` (a direct message) or a room id. Required
             * with the bot; with Incoming WebHooks, each hook posts there instead of its own channel
             * (the integration must allow overriding the destination channel).
             */
            targets: v.optional(v.pipe(v.array(targetSchema()), v.minLength(1))),
            /** Names under `hooks` (the Incoming WebHook transport). */
            hooks: v.optional(v.pipe(v.array(v.string()), v.minLength(1))),
            /** This rule's message; `template` when absent. */
            template: v.optional(v.pipe(v.string(), v.minLength(1))),
          }),
        ),
        /**
         * The message (Rocket.Chat Markdown): {event} {number} {id} {title} {queue} {state} {priority}
         * {customer} {customerId} {body} (the first `bodyLines` lines, quoted) {url} {link}.
         */
        template: v.optional(
          v.pipe(v.string(), v.minLength(1)),
          "*{event}* {link} {title}\n{customer} ({customerId}) wrote:\n{body}",
        ),
        bodyLines: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(50)), 5),
        /** The name the messages are posted as (Rocket.Chat's `alias`), and an emoji avatar. */
        alias: v.optional(v.string()),
        emoji: v.optional(v.string()),
      }),
    ),
  }),
);
export type RocketchatOtrsConfig = v.InferOutput<ReturnType<typeof rocketchatOtrsSchema>>;

declare module "../../core/config-schema.ts" {
  interface IntegrationSettingsMap {
    rocketchatOtrs: RocketchatOtrsConfig;
  }
}

type Systems = Config["systems"];

/** The transport a rule posts with: its own, else the integration's, else the bot when one is set. */
export function ruleTransport(
  notifications: NonNullable<RocketchatOtrsConfig["notifications"]>,
  rule: NonNullable<RocketchatOtrsConfig["notifications"]>["rules"][number],
): Transport {
  return rule.transport ?? notifications.transport ?? (notifications.bot ? "bot" : "hooks");
}

/** What its settings name must exist under `systems` (paths relative to `integrations.rocketchatOtrs`). */
export function checkRocketchatOtrs(settings: RocketchatOtrsConfig, systems: Systems): FieldProblem[] {
  const problems = missingInstances(systems, [["otrs", "otrs", settings.otrs]]);
  const notifications = settings.notifications;
  for (const [i, rule] of (notifications?.rules ?? []).entries()) {
    const at = `notifications.rules.${i}`;
    if (!notifications) break;
    if (ruleTransport(notifications, rule) === "bot") {
      if (!notifications.bot)
        problems.push({ path: "notifications.bot", message: `is required: rule ${i} posts through the bot` });
      if (!rule.targets)
        problems.push({ path: `${at}.targets`, message: "is required with the bot transport" });
      if (rule.hooks)
        problems.push({
          path: `${at}.hooks`,
          message: 'names Incoming WebHooks, but the rule posts through the bot (set "transport": "hooks")',
        });
      continue;
    }
    if (!rule.hooks) {
      problems.push({ path: `${at}.hooks`, message: "is required with the Incoming WebHook transport" });
      continue;
    }
    for (const hook of rule.hooks) {
      if (!notifications.hooks[hook]) {
        problems.push({
          path: `${at}.hooks`,
          message: `names ${hook}, which is not under notifications.hooks`,
        });
      }
    }
  }
  return problems;
}
