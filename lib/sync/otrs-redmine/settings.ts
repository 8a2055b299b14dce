import * as v from "valibot";
import {
  type Config,
  lazy,
  maxConcurrency,
  missingInstances,
  nonNegativeInt,
  positiveInt,
  regexSource,
  secretRefSchema,
  sharedSecretAuthSchema,
  stateName,
} from "../../core/config-schema.ts";
import type { FieldProblem } from "../../core/errors.ts";

const redmineId = lazy(() => v.pipe(v.number(), v.integer(), v.minValue(1)));

/** `integrations.otrsRedmine`: this integration's settings, when the deployment enables it. */
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
    /** The conversation between the two: Redmine journals ↔ OTRS articles, with their attachments. */
    conversation: v.optional(
      v.strictObject({
        redmineToOtrs: v.optional(
          v.strictObject({
            /** Copy journals with notes (and attachments) to the ticket. */
            enabled: v.optional(v.boolean(), true),
            /** Public journals become customer-visible articles; otherwise (the default) internal notes. */
            publicVisibleForCustomer: v.optional(v.boolean(), false),
            /** Copy private notes too (always as internal notes); by default they never leave Redmine. */
            privateNotes: v.optional(v.boolean(), false),
          }),
          {},
        ),
        otrsToRedmine: v.optional(
          v.strictObject({
            /** Copy new articles (and their attachments) to the issue as notes. */
            enabled: v.optional(v.boolean(), true),
            /** Article sender types copied: customer replies and agent notes, never system notifications. */
            senderTypes: v.optional(v.array(v.picklist(["agent", "customer", "system"])), [
              "customer",
              "agent",
            ]),
            /** Communication channels copied (all when absent). */
            channels: v.optional(v.array(v.picklist(["Email", "Phone", "Internal", "Chat"]))),
            /** `any`, only customer-visible articles, or only internal ones. */
            visibility: v.optional(v.picklist(["any", "customer", "internal"]), "any"),
            /** Add the notes as private notes (needs Redmine's "set notes private" permission). */
            privateNotes: v.optional(v.boolean(), false),
            /** How a customer's e-mail quoting is cut off the copied text. */
            trimQuotes: v.optional(
              v.strictObject({
                /** Drop lines starting with `>`. */
                quotedLines: v.optional(v.boolean(), true),
                /** Everything from the first line matching one of these (case-insensitive) is dropped. */
                cutFrom: v.optional(v.array(regexSource()), [
                  "^On .+ wrote:\\s*$",
                  "^Em .+ escreveu:\\s*$",
                  "^-{2,}\\s*Original Message\\s*-{2,}",
                  "^-{2,}\\s*Mensagem original\\s*-{2,}",
                ]),
              }),
              {},
            ),
          }),
          {},
        ),
        /** Attachments larger than this are not copied (the copied entry says so). */
        maxAttachmentBytes: v.optional(positiveInt(), 10 * 1024 * 1024),
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

declare module "../../core/config-schema.ts" {
  interface IntegrationSettingsMap {
    otrsRedmine: OtrsRedmineConfig;
  }
}

type Systems = Config["systems"];

/** What its settings name must exist under `systems` (paths relative to `integrations.otrsRedmine`). */
export function checkOtrsRedmine(settings: OtrsRedmineConfig, systems: Systems): FieldProblem[] {
  return missingInstances(systems, [
    ["otrs", "otrs", settings.otrs],
    ["redmine", "redmine", settings.redmine],
  ]);
}
