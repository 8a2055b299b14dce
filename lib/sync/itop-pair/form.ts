import { notSynced, type PairSync } from "./context.ts";
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
 * The ticket form (title, description, impact, urgency, or the configured fields) follows the
 * configured direction; a value iTop did not keep, read back from the write, is noted for operators. The link remembers each side's digest after the last sync, so only a side that changed
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
  const kept = formValues(sync, written.fields);
  current[to] = formDigest(kept);
  await sync.memory.save("form", writePair(current));
  sync.changes.push(`form ${from} → ${to}`);
  for (const name of notKept(values, kept)) {
    // Not an error: iTop answered 0 and kept its own value (e.g. a priority it computes from impact and
    // urgency). Written down once: the pair is remembered as it is now, so it is not tried again.
    notSynced(
      sync,
      "form",
      `${name} not kept by iTop ${sync.deps.instances[to]}: sent ${JSON.stringify(values[name])}, it kept ${JSON.stringify(kept[name])}` +
        (name === "priority"
          ? " (iTop computes a ticket's priority from impact and urgency: sync those)"
          : ""),
    );
  }
}

/**
 * Fields whose value read back differs from the one written. HTML fields are left out: iTop cleans
 * HTML on save, so what it keeps differs in form, not in meaning.
 */
function notKept(sent: Record<string, unknown>, kept: Record<string, unknown>): string[] {
  return Object.keys(sent).filter((name) => {
    const value = String(sent[name] ?? "");
    return !value.includes("<") && value !== String(kept[name] ?? "");
  });
}
