import * as v from "valibot";
import { ValidationError } from "../core/errors.ts";
import type { Ref } from "../links/refs.ts";
import { type Link, LinkStore } from "../links/store.ts";
import { REGISTRY } from "../sync/registry.ts";
import type { OpsDeps } from "./deps.ts";
import type { LinkLookup, LinkView } from "./types.ts";
import { objectView } from "./urls.ts";

/**
 * The systems an operator can look up, and the ref types the integrations store for each (each
 * descriptor's `links`: OTRS `ticket`s, Redmine `issue`s, iTop `ticket`s of any class, RT `ticket`s,
 * Kanboard `card`s, GLPI `Ticket`s), and `forms`, a GLPI form submission by its job id.
 */
const LOOKUP_TYPES: ReadonlyMap<string, readonly string[]> = (() => {
  const types = new Map<string, Set<string>>();
  for (const integration of REGISTRY)
    for (const [system, refTypes] of Object.entries(integration.links))
      for (const type of refTypes) types.set(system, (types.get(system) ?? new Set()).add(type));
  return new Map([...types].map(([system, set]) => [system, [...set]]));
})();

const ID_PATTERN = /^[A-Za-z0-9._:#-]{1,128}$/;
/** An OTRS TicketNumber (what agents see, `2024010110000012`) rather than the TicketID the refs hold. */
const OTRS_NUMBER = /^\d{6,}$/;
/** An iTop ticket's `ref` (`R-000123`, `I-000045`) rather than its numeric id. */
const ITOP_REF = /^[A-Z]{1,3}-\d{1,12}$/;

/**
 * Every link the object is part of, as the source or the target, on every configured instance of its
 * system, with both ends and where to open them. An OTRS ticket number or an iTop ref that finds
 * nothing directly is resolved through that system (the only case in which an adapter is loaded).
 */
export async function lookupLinks(deps: OpsDeps, system: string, id: string): Promise<LinkLookup> {
  const problems = [];
  if (!LOOKUP_TYPES.has(system))
    problems.push({ path: "system", message: `must be one of ${[...LOOKUP_TYPES.keys()].join(", ")}` });
  const wanted = id.trim().replace(/^#/, "");
  if (!ID_PATTERN.test(wanted))
    problems.push({ path: "id", message: "must be an object id (1 to 128 letters, digits, . _ : # -)" });
  if (problems.length > 0) throw new ValidationError(problems);
  const name = system;
  const store = new LinkStore(deps.db, deps.table);
  const instances = instancesOf(deps, name);
  let links = await linksOf(store, refsFor(name, instances, [wanted]));
  if (
    links.length === 0 &&
    ((name === "otrs" && OTRS_NUMBER.test(wanted)) || (name === "itop" && ITOP_REF.test(wanted)))
  ) {
    const { resolveIds } = await import("./resolve-ids.ts");
    const resolved = await Promise.all(
      instances.map(async (instance) => {
        const ids = await resolveIds(deps.config, name, instance, wanted);
        return refsFor(name, [instance], ids);
      }),
    );
    links = await linksOf(store, resolved.flat());
  }
  return { query: { system, id }, links: links.map((link) => toView(link, deps)) };
}

function instancesOf(deps: OpsDeps, system: string): string[] {
  if (system === "forms") return deps.config.integrations.glpiForms ? ["glpi-forms"] : [];
  return Object.hasOwn(deps.config.systems, system)
    ? Object.keys(deps.config.systems[system as keyof OpsDeps["config"]["systems"]])
    : [];
}

function refsFor(system: string, instances: readonly string[], ids: readonly string[]): Ref[] {
  return instances.flatMap((instance) =>
    (LOOKUP_TYPES.get(system) ?? []).flatMap((type) => ids.map((id) => ({ system, instance, type, id }))),
  );
}

/** The links with each ref as source (one GetItem) or target (one index Query), without repeats. */
async function linksOf(store: LinkStore, refs: readonly Ref[]): Promise<Link[]> {
  const found = await Promise.all(
    refs.map(async (ref) => {
      const [asSource, asTarget] = await Promise.all([store.get(ref), store.findByTarget(ref)]);
      return [...(asSource ? [asSource] : []), ...asTarget];
    }),
  );
  const unique = new Map<string, Link>();
  for (const link of found.flat()) {
    const { source } = link;
    unique.set(`${source.system}:${source.instance}:${source.type}:${source.id}`, link);
  }
  return [...unique.values()];
}

/**
 * Bookkeeping the link keeps for the bridge itself, not a synced aspect: who is creating the target
 * (`claim`) and which job holds the pair (`lease`). An operator asks what synced when.
 */
const BOOKKEEPING = new Set(["claim", "lease"]);

const SummarySchema = v.object({
  summary: v.record(v.string(), v.union([v.string(), v.number()])),
});

/** An aspect's own figures, when its state (JSON) keeps a `summary` of them. */
function summaryOf(state: string | undefined): { summary?: Record<string, string | number> } {
  if (!state) return {};
  try {
    const parsed = v.safeParse(SummarySchema, JSON.parse(state));
    return parsed.success ? { summary: parsed.output.summary } : {};
  } catch {
    return {};
  }
}

function toView(link: Link, deps: OpsDeps): LinkView {
  return {
    source: objectView(link.source, deps.config),
    target: objectView(link.target, deps.config),
    aspects: Object.entries(link.aspects)
      .filter(([name]) => !BOOKKEEPING.has(name))
      .map(([name, state]) => ({
        name,
        syncedAt: state.syncedAt,
        ...(state.notes?.length ? { notes: state.notes } : {}),
        ...summaryOf(state.state),
      }))
      .sort((a, b) => a.name.localeCompare(b.name)),
    createdAt: link.createdAt,
    updatedAt: link.updatedAt,
  };
}
