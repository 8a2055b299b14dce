import * as v from "valibot";

/** A reference to one object in one system: `glpi:main:Ticket:42`, `otrs:prod:ticket:4711`. */
export const RefSchema = v.object({
  system: v.pipe(v.string(), v.regex(/^[a-z0-9-]+$/)),
  instance: v.pipe(v.string(), v.regex(/^[a-z0-9-]+$/)),
  type: v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]+$/)),
  id: v.pipe(v.string(), v.minLength(1), v.maxLength(512)),
});
export type Ref = v.InferOutput<typeof RefSchema>;

/** The string key of a reference, as stored in the links table. */
export function refKey(ref: Ref): string {
  return `${ref.system}:${ref.instance}:${ref.type}:${ref.id}`;
}
