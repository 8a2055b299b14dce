import * as v from "valibot";
import { idNumber } from "../../core/ids.ts";

const Named = v.object({ id: v.number(), name: v.optional(v.string()) });

const CustomFieldSchema = v.object({
  id: v.number(),
  name: v.optional(v.string()),
  value: v.optional(v.nullable(v.union([v.string(), v.array(v.string())]))),
});

export const JournalSchema = v.object({
  id: v.number(),
  user: v.optional(Named),
  notes: v.optional(v.nullable(v.string()), ""),
  private_notes: v.optional(v.boolean(), false),
  created_on: v.optional(v.string()),
  details: v.optional(
    v.array(
      v.object({
        property: v.string(),
        name: v.string(),
        old_value: v.optional(v.nullable(v.string())),
        new_value: v.optional(v.nullable(v.string())),
      }),
    ),
    [],
  ),
});
export type Journal = v.InferOutput<typeof JournalSchema>;

/**
 * An attachment as `include=attachments` lists it (AttachmentsHelper#render_api_attachment_attributes):
 * `thumbnail_url` only for images, `author` only while the user exists.
 */
export const AttachmentSchema = v.object({
  id: v.number(),
  filename: v.string(),
  filesize: v.number(),
  content_type: v.optional(v.nullable(v.string())),
  description: v.optional(v.nullable(v.string())),
  content_url: v.optional(v.string()),
  author: v.optional(Named),
  created_on: v.optional(v.string()),
});
export type Attachment = v.InferOutput<typeof AttachmentSchema>;

/** An issue as `GET /issues/:id.json` and `GET /issues.json` return it (Redmine 5/6). */
export const IssueSchema = v.object({
  id: v.number(),
  project: Named,
  tracker: Named,
  status: v.object({ id: v.number(), name: v.optional(v.string()), is_closed: v.optional(v.boolean()) }),
  subject: v.optional(v.string(), ""),
  custom_fields: v.optional(v.array(CustomFieldSchema), []),
  updated_on: v.string(),
  journals: v.optional(v.array(JournalSchema), []),
  attachments: v.optional(v.array(AttachmentSchema), []),
});
export type Issue = v.InferOutput<typeof IssueSchema>;

export const IssueEnvelopeSchema = v.object({ issue: IssueSchema });
export const IssueListSchema = v.object({
  issues: v.array(IssueSchema),
  total_count: v.number(),
  offset: v.optional(v.number()),
  limit: v.optional(v.number()),
});
export const ErrorsSchema = v.object({ errors: v.array(v.string()) });
/** `POST /uploads.json` → 201 `{"upload": {"id", "token"}}` (app/views/attachments/upload.api.rsb). */
export const UploadSchema = v.object({
  upload: v.object({ id: v.optional(v.number()), token: v.pipe(v.string(), v.minLength(1)) }),
});
/** `GET /users/current.json`: the user the API key belongs to. */
export const CurrentUserSchema = v.object({ user: v.object({ id: v.number(), login: v.string() }) });

/** A custom field's value as a string ("" when unset: Redmine 5 sends `null` for a value never set). */
export function customFieldValue(issue: Issue, fieldId: number): string {
  const value = issue.custom_fields.find((f) => f.id === fieldId)?.value;
  return (Array.isArray(value) ? value[0] : value) ?? "";
}

/**
 * What the `suer/redmine_webhook` plugin POSTs (`{"payload": {action, issue, journal?}}`), or a Redmine
 * 7 native webhook (`{"type": "issue.updated", "data": {"issue": …}}`). Only the issue id is used:
 * the job re-reads the issue.
 */
const PluginEventSchema = v.looseObject({
  payload: v.looseObject({
    action: v.optional(v.string()),
    issue: v.looseObject({ id: idNumber("an issue id") }),
  }),
});
const NativeEventSchema = v.looseObject({
  type: v.string(),
  data: v.looseObject({ issue: v.looseObject({ id: idNumber("an issue id") }) }),
});
export const IssueEventSchema = v.union(
  [PluginEventSchema, NativeEventSchema],
  "must be a Redmine webhook payload with an issue id (payload.issue.id or data.issue.id)",
);

/** The issue id of either webhook shape. */
export function issueIdOf(event: v.InferOutput<typeof IssueEventSchema>): number {
  const plugin = v.safeParse(PluginEventSchema, event);
  return plugin.success ? plugin.output.payload.issue.id : v.parse(NativeEventSchema, event).data.issue.id;
}
