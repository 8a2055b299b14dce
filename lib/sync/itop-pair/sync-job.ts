import { type BridgeError, ConfigError, UpstreamPermanentError } from "../../core/errors.ts";
import { defineJob, type JobContext } from "../../jobs/model.ts";
import { claimCreation, PENDING, releaseLease, takeLease } from "../../links/claims.ts";
import type { Link } from "../../links/store.ts";
import { oqlString } from "../../systems/itop/client.ts";
import { type ItopTicket, toTicket } from "../../systems/itop/schemas.ts";
import { syncAttachments } from "./attachments.ts";
import type { PairSync } from "./context.ts";
import { type ItopPairDeps, itopPairDeps, itopPairSettings, type Side, ticketRef } from "./deps.ts";
import { formValues, syncForm } from "./form.ts";
import { ITOP_SYNC_JOB, syncSpec } from "./index.ts";
import { syncPrivateLog } from "./logs.ts";
import { digest, LinkMemory, writePair } from "./memory.ts";
import { syncState } from "./state.ts";

export { ITOP_SYNC_JOB };

/**
 * Brings one shared ticket in step between the two iTops, whichever side's webhook asked: a new
 * external ticket gets its internal twin; then the form, private log, attachments and state are
 * reconciled, each in its configured direction, from what both sides hold now (level-triggered: the
 * webhook body is only a hint). One job per link at a time (a lease); what was already copied is
 * remembered in the link, so redeliveries and echoes write nothing.
 */
export const itopSyncJob = defineJob({
  ...syncSpec,
  key: ({ side, ticketId }) => `${side}:${ticketId}`,
  systems: () => {
    const settings = itopPairSettings();
    return [
      { system: "itop", instance: settings.external },
      { system: "itop", instance: settings.internal },
    ];
  },
  async run({ side, ticketId, ticketClass }, context) {
    const deps = await itopPairDeps();
    const found = await findLink(deps, side, ticketId, ticketClass, context);
    if ("skip" in found) return { action: "none", reason: found.skip };
    const leased = await takeLease(deps.links, found.link, context.jobId);
    const memory = new LinkMemory(deps.links, leased);
    try {
      // A twin just made: both tickets are as this job read and created them, no need to read again.
      const sync: PairSync = found.created?.tickets
        ? {
            deps,
            memory,
            tickets: found.created.tickets,
            job: context,
            changes: [],
            ...(found.created.made ? { created: "internal" as const } : {}),
          }
        : await readBoth(deps, memory, context);
      const refused = await syncAspects(sync);
      await keepProblems(sync);
      if (sync.changes.length > 0)
        context.logger.info("iTop tickets synchronised", {
          external_ticket: sync.tickets.external.ref,
          internal_ticket: sync.tickets.internal.ref,
          changes: sync.changes,
        });
      // The other aspects are synced; the refused one goes to the dead-letter queue with its reason.
      if (refused) throw refused;
      return {
        action: sync.changes.length > 0 ? "synced" : "none",
        external: { id: sync.tickets.external.id, ref: sync.tickets.external.ref },
        internal: { id: sync.tickets.internal.id, ref: sync.tickets.internal.ref },
        changes: sync.changes,
        ...(sync.problems?.length ? { notSynced: sync.problems } : {}),
        ...(found.created ? { created: true } : {}),
      };
    } finally {
      await releaseLease(deps.links, memory.link, context.jobId).catch(() => undefined);
    }
  },
});

const ASPECTS: [string, (sync: PairSync) => Promise<void>][] = [
  ["form", syncForm],
  ["privateLog", syncPrivateLog],
  ["attachments", syncAttachments],
  ["state", syncState],
];

/**
 * Each aspect in turn. One that iTop refuses for good (a permission, a value it will not take) does
 * not stop the others: they are synced, and the first refusal is returned, named by its aspect, for
 * the job to fail with. Anything else (iTop down, the lease lost) stops at once: the retry starts over.
 */
async function syncAspects(sync: PairSync): Promise<BridgeError | undefined> {
  let refused: BridgeError | undefined;
  for (const [name, syncAspect] of ASPECTS) {
    try {
      await syncAspect(sync);
    } catch (error) {
      if (!(error instanceof UpstreamPermanentError || error instanceof ConfigError)) throw error;
      sync.job.logger.warn("one aspect of the pair could not be synced; the others go on", {
        aspect: name,
        error: error.message,
      });
      refused ??=
        error instanceof UpstreamPermanentError
          ? new UpstreamPermanentError(error.upstream, `${name}: ${error.message}`, { cause: error })
          : error;
    }
  }
  return refused;
}

/** Keeps what could not be synced on the link, for the link lookup, stamped with the time. */
async function keepProblems(sync: PairSync): Promise<void> {
  if (!sync.problems?.length) return;
  const at = new Date().toISOString();
  const byAspect = new Map<string, string[]>();
  for (const { aspect, note } of sync.problems)
    byAspect.set(aspect, [...(byAspect.get(aspect) ?? []), `${at} ${note}`]);
  for (const [aspect, notes] of byAspect) await sync.memory.addNotes(aspect, notes);
  sync.job.logger.warn("parts of the pair were not synced", {
    external_ticket: sync.tickets.external.ref,
    internal_ticket: sync.tickets.internal.ref,
    not_synced: sync.problems,
  });
}

/** The link of the shared ticket, made first for a new external ticket; a reason to skip otherwise. */
async function findLink(
  deps: ItopPairDeps,
  side: Side,
  ticketId: string,
  ticketClass: string | undefined,
  context: JobContext,
): Promise<
  | { link: Link; created?: { tickets: Record<Side, ItopTicket> | undefined; made: boolean } }
  | { skip: string }
> {
  if (side === "internal") {
    const [hit] = await deps.links.findByTarget(ticketRef(deps.instances.internal, ticketId));
    // The index is eventually consistent: read the link itself for its current version.
    const link = hit && (await deps.links.get(hit.source));
    if (!link) return { skip: "the internal ticket was not shared by the external iTop" };
    return { link };
  }
  const source = ticketRef(deps.instances.external, ticketId);
  const link = await deps.links.get(source);
  if (link && link.target.id !== PENDING) return { link };
  const cls = ticketClass ?? (await deps.clients.external.ticketClass(ticketId, context.signal));
  if (!deps.settings.classes.includes(cls)) return { skip: `class ${cls} is not shared` };
  const made = await createInternal(deps, cls, ticketId, context);
  return { link: made.link, created: { tickets: made.tickets, made: made.made ?? false } };
}

/**
 * The internal twin of a new external ticket: the same class and form, the internal side's own
 * defaults (organisation, agent, team, caller), and the external ref. Found first, when the internal
 * tickets record the external ref, so an attempt whose answer was lost does not create a second one.
 */
async function createInternal(deps: ItopPairDeps, cls: string, externalId: string, context: JobContext) {
  const { settings, clients, instances } = deps;
  const external = await clients.external.getTicket(
    cls,
    externalId,
    outputFields(deps, "external"),
    context.signal,
  );
  const source = ticketRef(instances.external, externalId);
  const claim = await claimCreation(
    deps.links,
    source,
    ticketRef(instances.internal, PENDING),
    context.jobId,
  );
  if (claim.kind === "linked") return { link: claim.link, tickets: undefined };

  const refField = settings.externalRefField;
  let internal: ItopTicket | undefined;
  let made = false;
  if (refField) {
    const oql = `SELECT ${cls} WHERE ${refField} = ${oqlString(external.ref)}`;
    const [found] = await clients.internal.get(cls, oql, outputFields(deps, "internal"), context.signal);
    if (found) internal = toTicket(found);
  }
  if (!internal) {
    const defaults = settings.defaults.internal;
    const fields: Record<string, unknown> = {
      ...formValues({ deps }, external.fields),
      org_id: defaults.orgId,
      agent_id: defaults.agentId,
      ...(defaults.teamId ? { team_id: defaults.teamId } : {}),
      ...(defaults.callerId ? { caller_id: defaults.callerId } : {}),
      ...(refField ? { [refField]: external.ref } : {}),
    };
    internal = toTicket(
      await clients.internal.create(cls, fields, outputFields(deps, "internal"), context.signal),
    );
    made = true;
    context.logger.info("internal iTop ticket created", {
      external_ticket: external.ref,
      internal_ticket: internal.ref,
    });
  }
  const formDigest = (fields: Record<string, unknown>) =>
    digest(JSON.stringify(formValues({ deps }, fields)));
  const saved = await deps.links.replaceTarget(claim.link, ticketRef(instances.internal, internal.id), {
    meta: { entries: [cls, internal.class, external.ref, internal.ref], syncedAt: new Date().toISOString() },
    form: {
      ...writePair({ external: formDigest(external.fields), internal: formDigest(internal.fields) }),
      syncedAt: new Date().toISOString(),
    },
    state: {
      ...writePair({ external: external.status, internal: internal.status }),
      syncedAt: new Date().toISOString(),
    },
  });
  if (saved.outcome === "stale") {
    const current = await deps.links.get(source);
    if (current) return { link: current, tickets: undefined };
  }
  return saved.outcome === "updated"
    ? { link: saved.link, tickets: { external, internal }, made }
    : { link: claim.link, tickets: undefined };
}

/** Both tickets as they are now. */
async function readBoth(deps: ItopPairDeps, memory: LinkMemory, context: JobContext): Promise<PairSync> {
  const { link } = memory;
  const [externalClass, internalClass] = link.aspects.meta?.entries ?? [];
  const read = (side: Side, id: string, cls: string | undefined) =>
    cls
      ? deps.clients[side].getTicket(cls, id, outputFields(deps, side), context.signal)
      : deps.clients[side]
          .ticketClass(id, context.signal)
          .then((found) => deps.clients[side].getTicket(found, id, outputFields(deps, side), context.signal));
  const [external, internal] = await Promise.all([
    read("external", link.source.id, externalClass),
    read("internal", link.target.id, internalClass),
  ]);
  return { deps, memory, tickets: { external, internal }, job: context, changes: [] };
}

/**
 * What the bridge reads of a ticket: never `*` (every attribute, heavy). The external-ref attribute is
 * a datamodel extension of the internal iTop only: asking the external one for it is refused
 * ("invalid attribute code").
 */
function outputFields(deps: ItopPairDeps, side: Side): string {
  const names = new Set([
    "id",
    "ref",
    "finalclass",
    "status",
    "org_id",
    "team_id",
    "agent_id",
    "caller_id",
    "service_id",
    "pending_reason",
    "solution",
    "resolution_code",
    "private_log",
    ...deps.settings.formFields,
    ...(side === "internal" && deps.settings.externalRefField ? [deps.settings.externalRefField] : []),
  ]);
  return [...names].join(",");
}
