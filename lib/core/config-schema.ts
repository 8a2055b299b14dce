import * as v from "valibot";

/**
 * The configuration's schemas. Each is built on first use and then kept: a function validates only
 * the parts of the config it uses (`useIntegrations` in config.ts), so at cold start it builds only
 * the schemas of those parts.
 */
function lazy<T>(build: () => T): () => T {
  let built: T | undefined;
  return () => {
    built ??= build();
    return built;
  };
}

/** Names an environment variable that holds a secret; the value itself never sits in a config file. */
export const secretRefSchema = lazy(() =>
  v.strictObject({
    secret: v.pipe(
      v.string(),
      v.regex(/^[A-Z][A-Z0-9_]*$/, "must be an environment variable name in UPPER_SNAKE_CASE"),
    ),
  }),
);
export type SecretRef = v.InferOutput<ReturnType<typeof secretRefSchema>>;

const instanceName = lazy(() =>
  v.pipe(v.string(), v.regex(/^[a-z0-9-]+$/, "must be lower-case letters, digits and -")),
);
const positiveInt = lazy(() => v.pipe(v.number(), v.integer(), v.minValue(1)));
const nonNegativeInt = lazy(() => v.pipe(v.number(), v.integer(), v.minValue(0)));
/**
 * `maxConcurrentCalls` of a system instance: how many calls the bridge makes to it at once, across all
 * its functions (a slot per call in the links table, lib/links/system-slots.ts). A job over the cap
 * waits on the queue. The default suits one small VM (an OTRS or RT on one host).
 */
export const DEFAULT_MAX_CONCURRENT_CALLS = 4;
const maxConcurrentCalls = lazy(() =>
  v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(100)), DEFAULT_MAX_CONCURRENT_CALLS),
);
/**
 * `integrations.<integration>.maxConcurrency`: how many invocations of the integration's worker may
 * run at once (the `maximumConcurrency` of its queue's event source, which serverless.yml reads from
 * the config file; AWS allows 2 to 1000). The default keeps one integration's backlog from fanning out.
 */
export const DEFAULT_WORKER_CONCURRENCY = 5;
const maxConcurrency = lazy(() =>
  v.optional(v.pipe(v.number(), v.integer(), v.minValue(2), v.maxValue(1000)), DEFAULT_WORKER_CONCURRENCY),
);
const httpUrl = lazy(() =>
  v.pipe(
    v.string(),
    v.url("must be an absolute URL"),
    v.regex(/^https?:\/\//, "must start with http:// or https://"),
  ),
);

/** How a route checks its caller: a shared secret in a header (or, if allowed, a `token` query parameter). */
export const sharedSecretAuthSchema = lazy(() =>
  v.strictObject({
    header: v.optional(
      v.pipe(v.string(), v.regex(/^[A-Za-z0-9-]+$/, "must be an HTTP header name")),
      "X-Deskbridge-Token",
    ),
    secret: secretRefSchema().entries.secret,
    allowQueryToken: v.optional(v.boolean(), false),
  }),
);
export type SharedSecretAuth = v.InferOutput<ReturnType<typeof sharedSecretAuthSchema>>;

/** One GLPI instance reached through the legacy REST API (apirest.php). */
export const glpiInstanceSchema = lazy(() =>
  v.strictObject({
    url: httpUrl(),
    appToken: secretRefSchema(),
    userToken: secretRefSchema(),
    timeoutMs: v.optional(positiveInt(), 8000),
    maxConcurrentCalls: maxConcurrentCalls(),
    /** Ask GLPI for every entity the API user can see (changeActiveEntities all, recursive) after login. */
    activateAllEntities: v.optional(v.boolean(), true),
  }),
);
export type GlpiInstance = v.InferOutput<ReturnType<typeof glpiInstanceSchema>>;

/** One OTRS 6 / Znuny instance reached through a GenericInterface REST web service. */
export const otrsInstanceSchema = lazy(() =>
  v.strictObject({
    /** The web service's base URL: `https://host/otrs/nph-genericinterface.pl/Webservice/<Name>`. */
    url: httpUrl(),
    /** The bridge's agent login; its changes are recognised as the bridge's own. */
    login: v.pipe(v.string(), v.minLength(1)),
    password: secretRefSchema(),
    /** `body` works everywhere; `headers` (Znuny 6.x+) keeps the session id out of URLs. */
    credentialsIn: v.optional(v.picklist(["body", "headers"]), "body"),
    timeoutMs: v.optional(positiveInt(), 8000),
    maxConcurrentCalls: maxConcurrentCalls(),
    /** The agent interface URL, for links in messages (e.g. `https://host/otrs/index.pl`). */
    agentUrl: v.optional(httpUrl()),
  }),
);
export type OtrsInstance = v.InferOutput<ReturnType<typeof otrsInstanceSchema>>;

/** One Redmine instance (REST API enabled). */
export const redmineInstanceSchema = lazy(() =>
  v.strictObject({
    url: httpUrl(),
    apiKey: secretRefSchema(),
    timeoutMs: v.optional(positiveInt(), 8000),
    maxConcurrentCalls: maxConcurrentCalls(),
  }),
);
export type RedmineInstance = v.InferOutput<ReturnType<typeof redmineInstanceSchema>>;

const stateName = lazy(() => v.pipe(v.string(), v.minLength(1)));
const redmineId = lazy(() => v.pipe(v.number(), v.integer(), v.minValue(1)));

export const otrsRedmineSchema = lazy(() =>
  v.strictObject({
    maxConcurrency: maxConcurrency(),
    otrs: v.string(),
    redmine: v.string(),
    /** The secret both webhook routes check (header, `?token=`, or the password of HTTP Basic auth). */
    auth: sharedSecretAuthSchema(),
    /**
     * The secret Redmine's own webhooks (Redmine 7) sign their body with: a request to
     * `/redmine/issue-events` carrying `X-Redmine-Signature-256` is authenticated by that signature.
     */
    redmineWebhookSecret: v.optional(secretRefSchema()),
    /** Name of the OTRS ticket dynamic field that holds the Redmine issue id. */
    otrsDynamicField: v.pipe(v.string(), v.regex(/^[A-Za-z0-9]+$/, "must be a dynamic field name")),
    /** Id of the Redmine issue custom field that holds the OTRS ticket number. */
    redmineCustomFieldId: redmineId(),
    /** Moving a ticket into this state creates the Redmine issue. */
    triggerState: stateName(),
    /** Moving a linked ticket into this state sets the issue back to `issue.initialStatusId`. */
    reopenState: v.optional(stateName()),
    /** OTRS queue name → Redmine project (id or identifier). Tickets of other queues are skipped. */
    queueProjects: v.record(v.string(), v.union([redmineId(), v.pipe(v.string(), v.minLength(1))])),
    issue: v.strictObject({
      trackerId: redmineId(),
      initialStatusId: redmineId(),
      priorityId: v.optional(redmineId()),
      assigneeId: v.optional(redmineId()),
    }),
    /** A Redmine status that means "development done": the ticket moves to `otrsState` with a note. */
    done: v.strictObject({
      redmineStatusId: redmineId(),
      otrsState: stateName(),
      noteSubject: v.optional(v.string(), "Retorno do Desenvolvimento"),
    }),
    /** Further state pairs; `null` means "no action". Unlisted states are no action too. */
    stateMap: v.optional(
      v.strictObject({
        otrsToRedmine: v.optional(v.record(v.string(), v.nullable(redmineId())), {}),
        redmineToOtrs: v.optional(
          v.record(v.pipe(v.string(), v.regex(/^\d+$/, "must be a status id")), v.nullable(stateName())),
          {},
        ),
      }),
      {},
    ),
    poller: v.optional(
      v.strictObject({
        /** How far each poll reaches back before the cursor, for changes committed late. */
        overlapSeconds: v.optional(nonNegativeInt(), 120),
        /** Where the first poll starts when there is no cursor yet. */
        initialLookbackHours: v.optional(nonNegativeInt(), 24),
        /** Project to poll (id or identifier); all visible projects when absent. */
        project: v.optional(v.union([redmineId(), v.string()])),
      }),
      {},
    ),
  }),
);
export type OtrsRedmineConfig = v.InferOutput<ReturnType<typeof otrsRedmineSchema>>;

export const glpiFormsSchema = lazy(() =>
  v.strictObject({
    maxConcurrency: maxConcurrency(),
    /** Key of the GLPI instance under systems.glpi. */
    glpi: v.string(),
    auth: sharedSecretAuthSchema(),
    entityLookup: v.strictObject({
      itemtype: v.optional(v.string(), "Entity"),
      /** Name of the Fields plugin field holding the CNPJ (documentation and start-up checks). */
      fieldName: v.string(),
      /** Search-option id of that field (GET /listSearchOptions/Entity). */
      searchOptionId: positiveInt(),
      cacheTtlSeconds: v.optional(nonNegativeInt(), 300),
    }),
    ticket: v.strictObject({
      /** 1 = Incident, 2 = Request. */
      type: v.optional(v.picklist([1, 2]), 1),
      urgency: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(5)), 3),
      impact: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(5)), 3),
      defaultCategoryId: positiveInt(),
      requesterUserId: positiveInt(),
      recipientUserId: positiveInt(),
      requestSourceId: v.optional(positiveInt()),
      requestTypeId: positiveInt(),
    }),
  }),
);
export type GlpiFormsConfig = v.InferOutput<ReturnType<typeof glpiFormsSchema>>;

/** One iTop instance reached through its REST/JSON API (webservices/rest.php). */
export const itopInstanceSchema = lazy(() =>
  v.pipe(
    v.strictObject({
      /** `https://host/itop/webservices/rest.php`. */
      url: httpUrl(),
      /** REST API version sent with every call (1.3, or 1.4 for paging). */
      version: v.optional(v.picklist(["1.3", "1.4"]), "1.3"),
      /** A user with the "REST Services User" profile, and its password… */
      user: v.optional(v.pipe(v.string(), v.minLength(1))),
      password: v.optional(secretRefSchema()),
      /** …or an application / personal token (iTop 3.1+, `rest-token` login type), sent as `Auth-Token`. */
      token: v.optional(secretRefSchema()),
      timeoutMs: v.optional(positiveInt(), 10_000),
      maxConcurrentCalls: maxConcurrentCalls(),
    }),
    v.check(
      (instance) => Boolean(instance.token) || Boolean(instance.user && instance.password),
      "needs `user` and `password`, or `token`",
    ),
  ),
);
export type ItopInstance = v.InferOutput<ReturnType<typeof itopInstanceSchema>>;

/** Which way an aspect of a shared ticket flows between the two iTops. */
const itopDirection = lazy(() =>
  v.picklist(["external-to-internal", "internal-to-external", "both", "none"]),
);
export type ItopDirection = v.InferOutput<ReturnType<typeof itopDirection>>;

/** The defaults one iTop gives tickets the bridge writes there: agents are never copied. */
const itopSideDefaults = lazy(() =>
  v.strictObject({
    orgId: positiveInt(),
    agentId: positiveInt(),
    teamId: v.optional(positiveInt()),
    /** The caller of tickets the bridge creates on this side (iTop requires one in state `new`). */
    callerId: v.optional(positiveInt()),
  }),
);

/** A value the bridge fills in when a state needs it: a constant, or a field copied from the other side. */
const itopFieldValue = lazy(() => v.union([v.string(), v.number(), v.strictObject({ copy: v.string() })]));

export const itopPairSchema = lazy(() =>
  v.strictObject({
    maxConcurrency: maxConcurrency(),
    /** Keys of the two instances under systems.itop. */
    external: v.string(),
    internal: v.string(),
    auth: sharedSecretAuthSchema(),
    /** The `source` each side's attachment webhook sends (the old bridge: "external" and "elitery"). */
    sources: v.optional(
      v.strictObject({
        external: v.optional(v.string(), "external"),
        internal: v.optional(v.string()),
      }),
      {},
    ),
    /** Ticket classes shared; other classes' events are ignored. */
    classes: v.optional(v.array(v.pipe(v.string(), v.regex(/^[A-Za-z][A-Za-z0-9_]*$/))), [
      "UserRequest",
      "Incident",
    ]),
    /**
     * Fields of the ticket form that follow. Not `priority`: iTop computes a ticket's priority from
     * impact × urgency on every save and ignores a priority written; impact and urgency carry it.
     */
    formFields: v.optional(v.array(v.pipe(v.string(), v.regex(/^[a-z][a-z0-9_]*$/))), [
      "title",
      "description",
      "impact",
      "urgency",
    ]),
    /** An attribute of the internal tickets (a datamodel extension) that records the external ref. */
    externalRefField: v.optional(v.pipe(v.string(), v.regex(/^[a-z][a-z0-9_]*$/))),
    defaults: v.strictObject({ external: itopSideDefaults(), internal: itopSideDefaults() }),
    directions: v.optional(
      v.strictObject({
        form: v.optional(itopDirection(), "external-to-internal"),
        state: v.optional(itopDirection(), "internal-to-external"),
        privateLog: v.optional(itopDirection(), "both"),
        attachments: v.optional(itopDirection(), "both"),
      }),
      {},
    ),
    /** Source status → target status; unlisted = the same status; null = no action. */
    stateMap: v.optional(v.record(v.string(), v.nullable(v.string())), {
      escalated_tto: null,
      escalated_ttr: null,
    }),
    /** Target status → fields the bridge fills when a stimulus needs them (beyond the built-in ones). */
    stateFields: v.optional(v.record(v.string(), v.record(v.string(), itopFieldValue())), {}),
    /** The change-tracking comment of every write (iTop requires one). */
    comment: v.optional(v.string(), "deskbridge synchronisation"),
    /** Attachments and log images larger than this are not copied (the other side's entry says so). */
    maxAttachmentBytes: v.optional(positiveInt(), 10 * 1024 * 1024),
  }),
);
export type ItopPairConfig = v.InferOutput<ReturnType<typeof itopPairSchema>>;

/** One Request Tracker 5 instance, reached through REST2. */
export const rtInstanceSchema = lazy(() =>
  v.strictObject({
    /** The REST2 base: `https://host/REST/2.0` (with RT's WebPath, if any). */
    url: httpUrl(),
    /** An auth token of the bridge's RT user (Settings → Auth Tokens), sent as `Authorization: token …`. */
    token: secretRefSchema(),
    /** That user's name: its own changes come back through the Scrip and are not synced again. */
    user: v.pipe(v.string(), v.minLength(1)),
    /** RT's web address for links on cards (`https://host`; `/Ticket/Display.html?id=N` is appended). */
    webUrl: v.optional(httpUrl()),
    timeoutMs: v.optional(positiveInt(), 8000),
    maxConcurrentCalls: maxConcurrentCalls(),
  }),
);
export type RtInstance = v.InferOutput<ReturnType<typeof rtInstanceSchema>>;

/** One Kanboard instance, reached through its JSON-RPC API. */
export const kanboardInstanceSchema = lazy(() =>
  v.strictObject({
    /** `https://host/jsonrpc.php`. */
    url: httpUrl(),
    /** `jsonrpc` for the application API token (Settings → API), or a user name with a personal token. */
    user: v.optional(v.pipe(v.string(), v.minLength(1)), "jsonrpc"),
    token: secretRefSchema(),
    timeoutMs: v.optional(positiveInt(), 5000),
    maxConcurrentCalls: maxConcurrentCalls(),
  }),
);
export type KanboardInstance = v.InferOutput<ReturnType<typeof kanboardInstanceSchema>>;

const regexSource = lazy(() =>
  v.pipe(
    v.string(),
    v.check((pattern) => {
      try {
        new RegExp(pattern, "i");
        return true;
      } catch {
        return false;
      }
    }, "must be a valid regular expression"),
  ),
);

/** A condition every projected ticket must meet (all rules of the list must hold). */
const rtFilterRule = lazy(() =>
  v.pipe(
    v.strictObject({
      /** `Subject`, `Status`, `Owner`, `Priority`, `Requestor`, or a custom field as `CF.{Name}`. */
      field: v.pipe(
        v.string(),
        v.regex(
          /^(Subject|Status|Owner|Priority|Requestor|CF\.\{[^}]+\})$/,
          "must be Subject, Status, Owner, Priority, Requestor or CF.{Name}",
        ),
      ),
      in: v.optional(v.array(v.string())),
      notIn: v.optional(v.array(v.string())),
      /** A regular expression the value must match (case-insensitive)… */
      matches: v.optional(regexSource()),
      /** …or must not match. */
      notMatches: v.optional(regexSource()),
    }),
    v.check(
      (rule) => Boolean(rule.in || rule.notIn || rule.matches || rule.notMatches),
      "needs `in`, `notIn`, `matches` or `notMatches`",
    ),
  ),
);
export type RtFilterRule = v.InferOutput<ReturnType<typeof rtFilterRule>>;

/** RT's default lifecycle on Kanboard's default columns. */
const DEFAULT_RT_COLUMNS = {
  new: "Backlog",
  open: "Work in progress",
  stalled: "Work in progress",
  resolved: "Done",
  rejected: "Done",
};

export const rtKanbanSchema = lazy(() =>
  v.strictObject({
    maxConcurrency: maxConcurrency(),
    /** Key of the RT instance under systems.rt. */
    rt: v.string(),
    board: v.strictObject({
      /** Key of the Kanboard instance under systems.kanboard. */
      kanboard: v.string(),
      projectId: positiveInt(),
      /** The swimlane cards are created in (by name); the project's first active swimlane when absent. */
      swimlane: v.optional(v.pipe(v.string(), v.minLength(1))),
    }),
    /** The secret the Scrip sends (a header, HTTP Basic's password, or `?token=` with allowQueryToken). */
    auth: sharedSecretAuthSchema(),
    /** RT queues whose tickets become cards. */
    queues: v.pipe(v.array(v.pipe(v.string(), v.minLength(1))), v.minLength(1, "needs at least one queue")),
    /** Queues whose tickets never reach the board: a ticket moved there loses its card (deleted, not archived). */
    sensitiveQueues: v.optional(v.array(v.pipe(v.string(), v.minLength(1))), []),
    /** Further conditions a ticket must meet to be shown (all of them). */
    filters: v.optional(v.array(rtFilterRule()), []),
    /** RT status → column title. Statuses not listed go to `defaultColumn`. */
    columns: v.optional(v.record(v.string(), v.pipe(v.string(), v.minLength(1))), DEFAULT_RT_COLUMNS),
    /** The column of a status `columns` does not list; the board's first column when absent. */
    defaultColumn: v.optional(v.pipe(v.string(), v.minLength(1))),
    /** The RT ticket custom field that holds the card id (the old setup's `FlowIO-id`). */
    cardField: v.optional(v.pipe(v.string(), v.minLength(1)), "FlowIO-id"),
    /** What happens to the card of a ticket that leaves the board: `delete` it, or `close` (archive) it. */
    onRemove: v.optional(v.picklist(["delete", "close"]), "delete"),
    /** RT user name → board user id; others are matched by user name on the board, or left unassigned. */
    owners: v.optional(v.record(v.string(), nonNegativeInt()), {}),
    matchOwnersByUsername: v.optional(v.boolean(), true),
    /** RT priority bands → board priority: the last band whose `from` the RT priority reaches. */
    priorities: v.optional(
      v.pipe(v.array(v.strictObject({ from: nonNegativeInt(), priority: nonNegativeInt() })), v.minLength(1)),
      [
        { from: 0, priority: 0 },
        { from: 25, priority: 1 },
        { from: 50, priority: 2 },
        { from: 75, priority: 3 },
      ],
    ),
    /** The card title; `{id}`, `{subject}` and `{queue}` are replaced. */
    title: v.optional(v.pipe(v.string(), v.minLength(1)), "#{id} {subject}"),
    poller: v.optional(
      v.strictObject({
        overlapSeconds: v.optional(nonNegativeInt(), 120),
        initialLookbackHours: v.optional(nonNegativeInt(), 24),
      }),
      {},
    ),
    reconciler: v.optional(
      v.strictObject({
        /** Inactive tickets changed within this many days are checked too (resolved just now, say). */
        lookbackDays: v.optional(positiveInt(), 7),
      }),
      {},
    ),
  }),
);
export type RtKanbanConfig = v.InferOutput<ReturnType<typeof rtKanbanSchema>>;

/**
 * The time zones Intl lists, and UTC (which every implementation must support): accepted without
 * building a DateTimeFormat, whose first construction loads ICU's locale data (over 10 ms at cold start).
 */
let knownTimeZones: ReadonlySet<string> | undefined;

const timeZone = lazy(() =>
  v.pipe(
    v.string(),
    v.check((zone) => {
      knownTimeZones ??= new Set(["UTC", ...Intl.supportedValuesOf("timeZone")]);
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
    /** OTRS ticket events → Rocket.Chat channels (`POST /otrs/notifications`). */
    notifications: v.optional(
      v.strictObject({
        /** The secret OTRS's requester sends (HTTP Basic's password, a header, or `?token=`). */
        auth: sharedSecretAuthSchema(),
        /** Rocket.Chat Incoming WebHook URLs by name; each URL holds its token, so it is a secret. */
        hooks: v.record(
          v.pipe(v.string(), v.regex(/^[a-z0-9-]+$/, "must be lower-case letters, digits and -")),
          secretRefSchema(),
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
            /** Names under `hooks`. */
            hooks: v.pipe(v.array(v.string()), v.minLength(1)),
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

/** The systems whose instances the config describes, and the integrations it can enable. */
export const SYSTEMS = ["glpi", "otrs", "redmine", "itop", "rt", "kanboard"] as const;
export type SystemName = (typeof SYSTEMS)[number];
export const INTEGRATIONS = ["glpiForms", "otrsRedmine", "itopPair", "rtKanban", "rocketchatOtrs"] as const;
export type IntegrationName = (typeof INTEGRATIONS)[number];

/** The systems whose instances each integration names (and works with). */
export const INTEGRATION_SYSTEMS: Readonly<Record<IntegrationName, readonly SystemName[]>> = {
  glpiForms: ["glpi"],
  otrsRedmine: ["otrs", "redmine"],
  itopPair: ["itop"],
  rtKanban: ["rt", "kanboard"],
  rocketchatOtrs: ["otrs"],
};

/** `systems.<system>`: the instances of one system, by name. */
export const systemSchemas = {
  glpi: lazy(() => v.optional(v.record(instanceName(), glpiInstanceSchema()), {})),
  otrs: lazy(() => v.optional(v.record(instanceName(), otrsInstanceSchema()), {})),
  redmine: lazy(() => v.optional(v.record(instanceName(), redmineInstanceSchema()), {})),
  itop: lazy(() => v.optional(v.record(instanceName(), itopInstanceSchema()), {})),
  rt: lazy(() => v.optional(v.record(instanceName(), rtInstanceSchema()), {})),
  kanboard: lazy(() => v.optional(v.record(instanceName(), kanboardInstanceSchema()), {})),
};

/** `integrations.<integration>`: its settings, when the deployment enables it. */
export const integrationSchemas = {
  glpiForms: lazy(() => v.optional(glpiFormsSchema())),
  otrsRedmine: lazy(() => v.optional(otrsRedmineSchema())),
  itopPair: lazy(() => v.optional(itopPairSchema())),
  rtKanban: lazy(() => v.optional(rtKanbanSchema())),
  rocketchatOtrs: lazy(() => v.optional(rocketchatOtrsSchema())),
};

/** The parts of the config a schema checks: the settings every function uses, and these. */
export interface ConfigScope {
  systems: ReadonlySet<SystemName>;
  integrations: ReadonlySet<IntegrationName>;
}

/** A part outside the scope: passed through as it is (config.ts validates it when it is first read). */
const unchecked = lazy(() => v.optional(v.unknown()));

/**
 * The configuration's schema: the whole of it or, with a scope, the same shape (every known field,
 * every setting all functions use) with only the scope's systems and integrations checked.
 */
export function configSchema(scope?: ConfigScope) {
  const system = <K extends SystemName>(name: K) =>
    (scope && !scope.systems.has(name) ? unchecked() : systemSchemas[name]()) as ReturnType<
      (typeof systemSchemas)[K]
    >;
  const integration = <K extends IntegrationName>(name: K) =>
    (scope && !scope.integrations.has(name) ? unchecked() : integrationSchemas[name]()) as ReturnType<
      (typeof integrationSchemas)[K]
    >;
  return v.strictObject({
    $schema: v.optional(v.string()),
    http: v.optional(
      v.strictObject({
        maxBodyBytes: v.optional(positiveInt(), 256 * 1024),
      }),
      {},
    ),
    jobs: v.optional(
      v.strictObject({
        /** Every attempt counts, the inline one included; past this the job goes to the dead-letter queue. */
        maxAttempts: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(50)), 6),
        /** How long a route may work inline before it queues the job and answers 202. */
        inlineBudgetMs: v.optional(positiveInt(), 3000),
        /**
         * How a webhook is answered: `queue` (the job is queued and the sender answered at once; the
         * worker syncs) or `inline` (the route tries the sync first, within inlineBudgetMs). Routes whose
         * answer is the result (GLPI forms, Rocket.Chat livechat) always work inline.
         */
        webhookAck: v.optional(v.picklist(["queue", "inline"]), "queue"),
        backoffBaseSeconds: v.optional(positiveInt(), 2),
        backoffMaxSeconds: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(43200)), 900),
        /** How long job status records (GET …/jobs/{id}) are kept. */
        recordTtlDays: v.optional(positiveInt(), 14),
      }),
      {},
    ),
    /**
     * The operators' view (GET /status, its replay actions, the link lookup): a shared secret sent as
     * the password of HTTP Basic auth (what a browser prompts for) or in the configured header. Without
     * this section the status routes answer 404.
     */
    operators: v.optional(
      v.strictObject({
        auth: sharedSecretAuthSchema(),
        /** Public base URLs of each instance's web UI, for the links the status page shows. */
        uiUrls: v.optional(v.record(v.string(), v.record(v.string(), httpUrl())), {}),
      }),
    ),
    idempotency: v.optional(
      v.strictObject({
        ttlHours: v.optional(positiveInt(), 24),
        /** How long a repeat waits for the first request with the same key before answering 409. */
        waitMs: v.optional(nonNegativeInt(), 8000),
      }),
      {},
    ),
    systems: v.optional(
      v.strictObject({
        glpi: system("glpi"),
        otrs: system("otrs"),
        redmine: system("redmine"),
        itop: system("itop"),
        rt: system("rt"),
        kanboard: system("kanboard"),
      }),
      {},
    ),
    integrations: v.optional(
      v.strictObject({
        glpiForms: integration("glpiForms"),
        otrsRedmine: integration("otrsRedmine"),
        itopPair: integration("itopPair"),
        rtKanban: integration("rtKanban"),
        rocketchatOtrs: integration("rocketchatOtrs"),
      }),
      {},
    ),
  });
}
export type Config = v.InferOutput<ReturnType<typeof configSchema>>;
