import type { PairSync } from "./context.ts";
import { flowsFrom, otherSide, SIDES, type Side } from "./deps.ts";
import { digest, readPair, writePair } from "./memory.ts";

/** The form fields' values of one side, as iTop returns them. */
export function formValues(
  sync: Pick<PairSync, "deps">,
  fields: Record<string, unknown>,
): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const name of sync.deps.settings.formFields) values[name] = fields[name] ?? "";
  return values;
}

const formDigest = (values: Record<string, unknown>) => digest(JSON.stringify(values));

/**
 * The ticket form (title, description, priority and configured fields) follows the configured
 * direction. The link remembers each side's digest after the last sync, so only a side that changed
 * since then is copied, and the bridge's own write, read back, is not mistaken for a change.
 */
export async function syncForm(sync: PairSync): Promise<void> {
  const direction = sync.deps.settings.directions.form;
  if (direction === "none") return;
  const current = {
    external: formDigest(formValues(sync, sync.tickets.external.fields)),
    internal: formDigest(formValues(sync, sync.tickets.internal.fields)),
  };
  const last = readPair(sync.memory.aspect("form"));
  const from = SIDES.find((side) => flowsFrom(direction, side) && current[side] !== last?.[side]);
  if (!from) {
    if (!last || last.external !== current.external || last.internal !== current.internal)
      await sync.memory.save("form", writePair(current));
    return;
  }
  const to: Side = otherSide(from);
  const values = formValues(sync, sync.tickets[from].fields);
  const target = sync.tickets[to];
  const fields = sync.deps.settings.formFields.join(",");
  const written = await sync.deps.clients[to].update(
    target.class,
    Number(target.id),
    values,
    fields,
    sync.job.signal,
  );
  Object.assign(target.fields, written.fields);
  current[to] = formDigest(formValues(sync, written.fields));
  await sync.memory.save("form", writePair(current));
  sync.changes.push(`form ${from} → ${to}`);
}
