import * as v from "valibot";
import type { FieldProblem } from "./errors.ts";

/**
 * The configuration's schemas. Each is built on first use and then kept: a function validates only
 * the parts of the config it uses (`useIntegrations` in config.ts), so at cold start it builds only
 * the schemas of those parts.
 */
export function lazy<T>(build: () => T): () => T {
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
export const positiveInt = lazy(() => v.pipe(v.number(), v.integer(), v.minValue(1)));
export const nonNegativeInt = lazy(() => v.pipe(v.number(), v.integer(), v.minValue(0)));
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
export const maxConcurrency = lazy(() =>
  v.optional(v.pipe(v.number(), v.integer(), v.minValue(2), v.maxValue(1000)), DEFAULT_WORKER_CONCURRENCY),
);
/** An API stage's or route's throttling: requests per second (steady) and the burst above it. */
const throttleSchema = lazy(() =>
  v.strictObject({
    rateLimit: v.pipe(v.number(), v.minValue(1), v.maxValue(10000)),
    burstLimit: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(5000)),
  }),
);
export const DEFAULT_THROTTLE = { rateLimit: 50, burstLimit: 100 } as const;
export const DEFAULT_FORM_THROTTLE = { rateLimit: 5, burstLimit: 20 } as const;

/**
 * `monitoring`: the thresholds the status page warns past and the stack's alarms fire at (serverless.yml
 * reads the same file at packaging: infra/integrations.cjs, `monitoring`), and the tracing switch.
 */
export const DEFAULT_MONITORING = {
  pollerLagSeconds: 900,
  queueAgeSeconds: 900,
  workerErrorRatePercent: 10,
  throttles: 0,
  tracing: false,
} as const;
const monitoringSchema = lazy(() =>
  v.strictObject({
    /** A poller's lag (now − what it has read up to): past this the page warns and the alarm fires. */
    pollerLagSeconds: v.optional(
      v.pipe(v.number(), v.integer(), v.minValue(60), v.maxValue(86400)),
      DEFAULT_MONITORING.pollerLagSeconds,
    ),
    /** The age of the oldest message on an integration's jobs queue: past this the page warns and the alarm fires. */
    queueAgeSeconds: v.optional(
      v.pipe(v.number(), v.integer(), v.minValue(60), v.maxValue(1209600)),
      DEFAULT_MONITORING.queueAgeSeconds,
    ),
    /** A worker's errors per invocation over 5 minutes, in percent, past which its alarm fires. */
    workerErrorRatePercent: v.optional(
      v.pipe(v.number(), v.minValue(0), v.maxValue(100)),
      DEFAULT_MONITORING.workerErrorRatePercent,
    ),
    /** Throttled invocations over 5 minutes (all functions) past which the throttles alarm fires. */
    throttles: v.optional(nonNegativeInt(), DEFAULT_MONITORING.throttles),
    /** X-Ray tracing of the functions (off by default: traces cost per request; HTTP APIs have none of their own). */
    tracing: v.optional(v.boolean(), DEFAULT_MONITORING.tracing),
  }),
);

const httpUrl = lazy(() =>
  v.pipe(
    v.string(),
    v.url("must be an absolute URL"),
    v.regex(/^https?:\/\//, "must start with http:// or https://"),
  ),
);

/** A state, status or queue name as a helpdesk spells it. */
export const stateName = lazy(() => v.pipe(v.string(), v.minLength(1)));

/** A regular expression, checked to compile (matched case-insensitively). */
export const regexSource = lazy(() =>
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

/** The systems whose instances the config describes. */
export const SYSTEMS = ["glpi", "otrs", "redmine", "itop", "rt", "kanboard"] as const;
export type SystemName = (typeof SYSTEMS)[number];

/**
 * Each integration's settings type, by its key under `integrations`. Empty here: each integration adds
 * its own entry from its folder (`declare module` in lib/sync/<id>/settings.ts), so the config's type
 * knows every integration and this layer names none.
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled by each integration's declaration merging
export interface IntegrationSettingsMap {}
/** An integration's key under `integrations` (camelCase: `otrsRedmine`). */
export type IntegrationName = keyof IntegrationSettingsMap;

/** `systems.<system>`: the instances of one system, by name. */
export const systemSchemas = {
  glpi: lazy(() => v.optional(v.record(instanceName(), glpiInstanceSchema()), {})),
  otrs: lazy(() => v.optional(v.record(instanceName(), otrsInstanceSchema()), {})),
  redmine: lazy(() => v.optional(v.record(instanceName(), redmineInstanceSchema()), {})),
  itop: lazy(() => v.optional(v.record(instanceName(), itopInstanceSchema()), {})),
  rt: lazy(() => v.optional(v.record(instanceName(), rtInstanceSchema()), {})),
  kanboard: lazy(() => v.optional(v.record(instanceName(), kanboardInstanceSchema()), {})),
};

/**
 * What the config knows of one integration, from its descriptor (lib/sync/<id>/index.ts): where its
 * settings sit, the systems whose instances they name, their schema (built on first use), and the
 * checks a schema cannot make alone (an instance the settings name exists under `systems`), whose
 * problems' paths are relative to `integrations.<configKey>`.
 */
export interface IntegrationSettings<K extends IntegrationName = IntegrationName> {
  configKey: K;
  systems: readonly string[];
  settings(): v.GenericSchema<unknown, IntegrationSettingsMap[K]>;
  check(settings: IntegrationSettingsMap[K], systems: Config["systems"]): FieldProblem[];
}

/**
 * The problems of settings that name instances: each `[path, system, name]` whose instance is not under
 * `systems.<system>` (what every integration's check starts with).
 */
export function missingInstances(
  systems: Config["systems"],
  named: readonly (readonly [path: string, system: SystemName, name: string])[],
): FieldProblem[] {
  return named
    .filter(([, system, name]) => !systems[system][name])
    .map(([path, system]) => ({ path, message: `names no instance under systems.${system}` }));
}

/**
 * The parts of the config a schema checks: the settings every function uses, these integrations, and
 * the instances of `systems` (all systems when absent; the others pass through unchecked, and config.ts
 * validates them when first read). With `only`, a key under `integrations` that is none of these is
 * another function's integration, left unread; without it these are every integration there is, and
 * any other key is an error.
 */
export interface ConfigScope {
  integrations: readonly IntegrationSettings[];
  systems?: ReadonlySet<SystemName>;
  only: boolean;
}

/** A part outside the scope: passed through as it is (config.ts validates it when it is first read). */
const unchecked = lazy(() => v.optional(v.unknown()));

/** The configuration's schema for a scope: every setting all functions use, and the scope's parts. */
export function configSchema(scope: ConfigScope) {
  const system = <K extends SystemName>(name: K) =>
    (scope.systems && !scope.systems.has(name) ? unchecked() : systemSchemas[name]()) as ReturnType<
      (typeof systemSchemas)[K]
    >;
  const entries = Object.fromEntries(
    scope.integrations.map((integration) => [integration.configKey, v.optional(integration.settings())]),
  );
  const integrations = (scope.only ? v.object(entries) : v.strictObject(entries)) as v.GenericSchema<
    unknown,
    Record<string, unknown>
  >;
  return v.strictObject({
    $schema: v.optional(v.string()),
    http: v.optional(
      v.strictObject({
        maxBodyBytes: v.optional(positiveInt(), 256 * 1024),
        /**
         * The HTTP API stage's default throttling (every route): steady requests per second and burst.
         * serverless.yml reads these at packaging (infra/integrations.cjs, `edge`).
         */
        throttle: v.optional(throttleSchema(), DEFAULT_THROTTLE),
        /** The form submission routes' own limit (POST /glpi/tickets, /criar-chamado): a form sender can burst. */
        formThrottle: v.optional(throttleSchema(), DEFAULT_FORM_THROTTLE),
      }),
      {},
    ),
    monitoring: v.optional(monitoringSchema(), {}),
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
        /**
         * How long a job is retried while its system is out (no answer, 429, 502/503/504), measured
         * from its first outage; those retries use no attempt. 96 h by default (a weekend's 72 h and a
         * day to spare, Stripe's 3 days and more); at most 13 days, within
         * SQS's 14-day retention (each retry is a new message, which restarts it).
         */
        outageHorizonHours: v.optional(v.pipe(v.number(), v.minValue(1), v.maxValue(312)), 96),
        /**
         * The cap of an outage retry's backoff (from backoffBaseSeconds, doubling); at most SQS's 900 s
         * delay. Left out: backoffMaxSeconds, up to 900.
         */
        outageBackoffMaxSeconds: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(900))),
        /** The breaker per external system instance (lib/links/system-breakers.ts). */
        breaker: v.optional(
          v.strictObject({
            /** Outage failures in a row (no success between) that open a system's breaker. */
            failureThreshold: v.optional(
              v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1000)),
              10,
            ),
            /** While open, one probe job tries the system at most this often. */
            probeIntervalSeconds: v.optional(
              v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(3600)),
              60,
            ),
            /** While open, how long a waiting job sleeps on the queue before it looks again (SQS: ≤ 900). */
            waitSeconds: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(900)), 180),
            /**
             * How long a function takes a system it saw healthy (its breaker read closed with no failure,
             * or a call of its own answered) to be still healthy, without reading the breaker again: a
             * breaker other functions open is seen at most this late. 0: read before every job.
             */
            trustHealthySeconds: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(60)), 1),
          }),
          {},
        ),
        /**
         * Tests only: every delay of the jobs' clocks (backoff, outage horizon, breaker) is divided by
         * this, so a test lives through a 72-hour outage in seconds. A deployed stage (one with
         * DESKBRIDGE_SSM_PREFIX) refuses any value but 1 at cold start.
         */
        timeScale: v.optional(v.pipe(v.number(), v.minValue(1), v.maxValue(1_000_000)), 1),
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
    integrations: v.optional(integrations, {}),
  });
}

/** The configuration, each integration's settings typed by its own folder (IntegrationSettingsMap). */
export type Config = Omit<v.InferOutput<ReturnType<typeof configSchema>>, "integrations"> & {
  integrations: { [K in IntegrationName]?: IntegrationSettingsMap[K] };
};
