import * as v from "valibot";

/** Names an environment variable that holds a secret; the value itself never sits in a config file. */
export const SecretRefSchema = v.strictObject({
  secret: v.pipe(
    v.string(),
    v.regex(/^[A-Z][A-Z0-9_]*$/, "must be an environment variable name in UPPER_SNAKE_CASE"),
  ),
});
export type SecretRef = v.InferOutput<typeof SecretRefSchema>;

const PositiveInt = v.pipe(v.number(), v.integer(), v.minValue(1));
const NonNegativeInt = v.pipe(v.number(), v.integer(), v.minValue(0));
const HttpUrl = v.pipe(
  v.string(),
  v.url("must be an absolute URL"),
  v.regex(/^https?:\/\//, "must start with http:// or https://"),
);

/** How a route checks its caller: a shared secret in a header (or, if allowed, a `token` query parameter). */
export const SharedSecretAuthSchema = v.strictObject({
  header: v.optional(
    v.pipe(v.string(), v.regex(/^[A-Za-z0-9-]+$/, "must be an HTTP header name")),
    "X-Deskbridge-Token",
  ),
  secret: SecretRefSchema.entries.secret,
  allowQueryToken: v.optional(v.boolean(), false),
});
export type SharedSecretAuth = v.InferOutput<typeof SharedSecretAuthSchema>;

/** One GLPI instance reached through the legacy REST API (apirest.php). */
export const GlpiInstanceSchema = v.strictObject({
  url: HttpUrl,
  appToken: SecretRefSchema,
  userToken: SecretRefSchema,
  timeoutMs: v.optional(PositiveInt, 8000),
  /** Ask GLPI for every entity the API user can see (changeActiveEntities all, recursive) after login. */
  activateAllEntities: v.optional(v.boolean(), true),
});
export type GlpiInstance = v.InferOutput<typeof GlpiInstanceSchema>;

export const GlpiFormsSchema = v.strictObject({
  /** Key of the GLPI instance under systems.glpi. */
  glpi: v.string(),
  auth: SharedSecretAuthSchema,
  entityLookup: v.strictObject({
    itemtype: v.optional(v.string(), "Entity"),
    /** Name of the Fields plugin field holding the CNPJ (documentation and start-up checks). */
    fieldName: v.string(),
    /** Search-option id of that field (GET /listSearchOptions/Entity). */
    searchOptionId: PositiveInt,
    cacheTtlSeconds: v.optional(NonNegativeInt, 300),
  }),
  ticket: v.strictObject({
    /** 1 = Incident, 2 = Request. */
    type: v.optional(v.picklist([1, 2]), 1),
    urgency: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(5)), 3),
    impact: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(5)), 3),
    defaultCategoryId: PositiveInt,
    requesterUserId: PositiveInt,
    recipientUserId: PositiveInt,
    requestSourceId: v.optional(PositiveInt),
    requestTypeId: PositiveInt,
  }),
});
export type GlpiFormsConfig = v.InferOutput<typeof GlpiFormsSchema>;

export const ConfigSchema = v.strictObject({
  $schema: v.optional(v.string()),
  http: v.optional(
    v.strictObject({
      maxBodyBytes: v.optional(PositiveInt, 256 * 1024),
    }),
    {},
  ),
  jobs: v.optional(
    v.strictObject({
      /** Every attempt counts, the inline one included; past this the job goes to the dead-letter queue. */
      maxAttempts: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(50)), 6),
      /** How long a route may work inline before it queues the job and answers 202. */
      inlineBudgetMs: v.optional(PositiveInt, 3000),
      backoffBaseSeconds: v.optional(PositiveInt, 2),
      backoffMaxSeconds: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(43200)), 900),
      /** How long job status records (GET …/jobs/{id}) are kept. */
      recordTtlDays: v.optional(PositiveInt, 14),
    }),
    {},
  ),
  idempotency: v.optional(
    v.strictObject({
      ttlHours: v.optional(PositiveInt, 24),
      /** How long a repeat waits for the first request with the same key before answering 409. */
      waitMs: v.optional(NonNegativeInt, 8000),
    }),
    {},
  ),
  systems: v.optional(
    v.strictObject({
      glpi: v.optional(v.record(v.pipe(v.string(), v.regex(/^[a-z0-9-]+$/)), GlpiInstanceSchema), {}),
    }),
    {},
  ),
  integrations: v.optional(
    v.strictObject({
      glpiForms: v.optional(GlpiFormsSchema),
    }),
    {},
  ),
});
export type Config = v.InferOutput<typeof ConfigSchema>;
