import { NotFoundError } from "../../core/errors.ts";
import type { GlpiClient } from "../../systems/glpi/client.ts";
import { formatCnpj, normalizeCnpj } from "./cnpj.ts";
import type { DirectoryMap, DirectoryStore, StoredSize } from "./directory-store.ts";
import type { GlpiFormsConfig } from "./settings.ts";

/** GLPI's search option 2 is the item id on every itemtype. */
const ID_OPTION = 2;
/** A container looks at the shared map at most this often when its own is missing or old. */
const STORE_RECHECK_MS = 10_000;
/** Rows a CNPJ search reads: one entity a CNPJ, two spellings, and room for duplicates. */
const SEARCH_RANGE: [number, number] = [0, 49];

/** Where an entity id came from: the map (no GLPI call) or a search made for this request. */
export interface EntityMatch {
  entityId: number;
  from: "directory" | "search";
}

/** A refresh's figures (the bench reports them). */
export interface RefreshReport extends StoredSize {
  entries: number;
  pages: number;
  ms: number;
}

/** What the directory does besides GLPI and the store: queue its refresh, tell the time, log. */
export interface DirectoryHooks {
  /** Queues the refresh job (refresh-directory-job.ts); the worker runs it. */
  queueRefresh(): Promise<void>;
  now?: () => number;
  warn?: (message: string, details: Record<string, unknown>) => void;
}

type DirectoryOptions = GlpiFormsConfig["entityLookup"];

/**
 * The CNPJ → GLPI entity map (entities with the Fields plugin's CNPJ field), so that a form ticket
 * costs GLPI one call, the ticket's creation:
 *   - the whole map is read from GLPI with one paged search (`refresh`, run by a job on the
 *     integration's queue) and shared by every container through the links table (DirectoryStore);
 *     a container reads it once, and again only once it is older than `refreshAfterSeconds`;
 *   - a CNPJ the map lacks (a customer registered a minute ago) costs one search, both spellings
 *     OR-ed, and joins the map (here at once, and the shared map beside the ticket's creation);
 *   - the map is trusted for `maxAgeSeconds` after it was read; past that (a container idle for long,
 *     no refresh yet) each CNPJ is searched again, which keeps an entity whose CNPJ changed from being
 *     used longer than that;
 *   - a ticket GLPI refused in an entity the map gave (the entity deleted or out of the bridge's
 *     reach) makes the job forget the entry and search once more (`recheck`).
 * A refresh never delays a request: `maintain` runs beside the ticket's creation and only queues it
 * (one container a refresh, by a lease in the table).
 * Nothing runs after the answer: a Lambda's process is frozen then.
 */
export class EntityDirectory {
  /** The map read from GLPI (by this container's refresh or loaded from the shared one). */
  private map: DirectoryMap | undefined;
  /** CNPJs a search found, each trusted for the max age from when it was found. */
  private readonly found = new Map<string, { entityId: number; at: number }>();
  /** Found CNPJs the shared map does not have yet. */
  private readonly unshared = new Map<string, number>();
  private loading: Promise<void> | undefined;
  /** When a lookup last loaded the shared map, and when the upkeep last looked at its age. */
  private storeCheckedAt = Number.NEGATIVE_INFINITY;
  private upkeepCheckedAt = Number.NEGATIVE_INFINITY;
  private refreshQueuedAt = Number.NEGATIVE_INFINITY;
  private readonly now: () => number;

  constructor(
    private readonly glpi: Pick<GlpiClient, "search">,
    private readonly store: Pick<DirectoryStore, "readAt" | "load" | "save" | "add" | "claimRefresh">,
    private readonly options: DirectoryOptions,
    private readonly hooks: DirectoryHooks,
  ) {
    this.now = hooks.now ?? Date.now;
  }

  /** The entity whose CNPJ field holds this CNPJ (formatted or not); a NotFoundError when none does. */
  async entityIdFor(cnpj: string, signal?: AbortSignal): Promise<EntityMatch> {
    const wanted = normalizeCnpj(cnpj);
    const known = await this.known(wanted);
    if (known !== undefined) return { entityId: known, from: "directory" };
    const entityId = await this.search(wanted, signal);
    if (entityId === undefined) throw new NotFoundError("no GLPI entity has this CNPJ");
    return { entityId, from: "search" };
  }

  /**
   * After GLPI refused a ticket in `refusedId`, the entity the map gave for this CNPJ: forgets the
   * entry and searches GLPI once; the entity that has the CNPJ now (the same one, if GLPI refused for
   * another reason), or undefined when none has.
   */
  async recheck(cnpj: string, refusedId: number, signal?: AbortSignal): Promise<number | undefined> {
    const wanted = normalizeCnpj(cnpj);
    this.forget(wanted, refusedId);
    return this.search(wanted, signal);
  }

  /**
   * The map's upkeep, run beside the ticket's creation: shares the CNPJs searches found, takes a
   * fresher shared map, or queues a refresh when the shared one is old too. Never throws.
   */
  async maintain(): Promise<void> {
    if (this.options.directory.maxAgeSeconds === 0) return;
    const found = new Map(this.unshared);
    this.unshared.clear();
    await this.store.add(found).catch((error: unknown) => this.warn("could not share found entities", error));
    if (this.age() < this.refreshAfterMs()) return;
    const now = this.now();
    if (now - this.upkeepCheckedAt < STORE_RECHECK_MS) return;
    this.upkeepCheckedAt = now;
    try {
      const shared = await this.store.readAt();
      if (shared !== undefined && shared > (this.map?.readAt ?? Number.NEGATIVE_INFINITY)) {
        await this.load();
        if (this.age() < this.refreshAfterMs()) return;
      }
      // One container queues the refresh (a lease of half the refresh age); the job also skips when
      // it finds the shared map refreshed since.
      const lease = Math.max(STORE_RECHECK_MS, this.refreshAfterMs() / 2);
      if (now - this.refreshQueuedAt < lease) return;
      this.refreshQueuedAt = now;
      if (await this.store.claimRefresh(now, now + lease)) await this.hooks.queueRefresh();
    } catch (error) {
      this.warn("could not check the entity directory", error);
    }
  }

  /**
   * Reads every entity's CNPJ from GLPI, page after page (one GLPI call at a time, as its cap wants),
   * and stores the map as the shared one; skipped (undefined) when the shared map is younger than half
   * the refresh age, unless `force`.
   */
  async refresh(options: { signal?: AbortSignal; force?: boolean } = {}): Promise<RefreshReport | undefined> {
    const started = this.now();
    if (!options.force) {
      const shared = await this.store.readAt();
      if (shared !== undefined && started - shared < this.refreshAfterMs() / 2) return undefined;
    }
    const field = this.options.searchOptionId;
    const size = this.options.directory.pageSize;
    const entries = new Map<string, number>();
    let total = Number.POSITIVE_INFINITY;
    let pages = 0;
    // GLPI answers 206 for every page short of the whole result, the last one included: page on
    // `totalcount`, not on the status.
    for (let start = 0; start < total; start += size) {
      const page = await this.glpi.search(this.options.itemtype, [], {
        forcedisplay: [field, ID_OPTION],
        range: [start, start + size - 1],
        ...(options.signal ? { signal: options.signal } : {}),
      });
      pages++;
      total = page.totalcount;
      for (const row of page.data) addRow(entries, row[String(field)], row[String(ID_OPTION)]);
      if (page.count === 0) break;
    }
    const map = { entries, readAt: started };
    const stored = await this.store.save(map);
    this.adopt(map);
    return { ...stored, entries: entries.size, pages, ms: this.now() - started };
  }

  /** The entity the map or an earlier search gives, when still trusted; loads the shared map first. */
  private async known(wanted: string): Promise<number | undefined> {
    const maxAge = this.options.directory.maxAgeSeconds * 1000;
    if (maxAge === 0) return undefined;
    const now = this.now();
    if (this.age() > maxAge && now - this.storeCheckedAt >= STORE_RECHECK_MS) {
      // No map in this container, or an old one: the shared map (a DynamoDB read, no GLPI call).
      this.storeCheckedAt = now;
      await this.load().catch((error: unknown) => this.warn("could not load the entity directory", error));
    }
    const hit = this.found.get(wanted);
    if (hit && now - hit.at <= maxAge) return hit.entityId;
    return this.age() <= maxAge ? this.map?.entries.get(wanted) : undefined;
  }

  private load(): Promise<void> {
    this.loading ??= this.store
      .load()
      .then((shared) => {
        if (shared && shared.readAt > (this.map?.readAt ?? Number.NEGATIVE_INFINITY)) this.adopt(shared);
      })
      .finally(() => {
        this.loading = undefined;
      });
    return this.loading;
  }

  private adopt(map: DirectoryMap): void {
    this.map = map;
    // What a search found before the map was read is in it, or was removed since.
    for (const [cnpj, hit] of this.found) if (hit.at <= map.readAt) this.found.delete(cnpj);
  }

  /**
   * One search for both spellings of the CNPJ (GLPI compares the stored text with LIKE, and admins
   * store it formatted or as digits), OR-ed in one request; the lowest entity id whose normalized CNPJ
   * is the one wanted. A found entity joins the map.
   */
  private async search(wanted: string, signal?: AbortSignal): Promise<number | undefined> {
    const field = this.options.searchOptionId;
    const result = await this.glpi.search(
      this.options.itemtype,
      [
        { field, searchtype: "contains", value: wanted },
        { link: "OR", field, searchtype: "contains", value: formatCnpj(wanted) },
      ],
      { forcedisplay: [field, ID_OPTION], range: SEARCH_RANGE, ...(signal ? { signal } : {}) },
    );
    const rows = new Map<string, number>();
    for (const row of result.data) addRow(rows, row[String(field)], row[String(ID_OPTION)]);
    const entityId = rows.get(wanted);
    if (entityId === undefined) {
      this.forget(wanted);
      return undefined;
    }
    // An entity holds one CNPJ: another CNPJ the map gives it was changed since.
    this.forgetEntity(entityId, wanted);
    this.found.set(wanted, { entityId, at: this.now() });
    this.unshared.set(wanted, entityId);
    return entityId;
  }

  private forget(cnpj: string, onlyIf?: number): void {
    for (const entries of [this.map?.entries, this.unshared]) {
      if (entries && (onlyIf === undefined || entries.get(cnpj) === onlyIf)) entries.delete(cnpj);
    }
    const hit = this.found.get(cnpj);
    if (hit && (onlyIf === undefined || hit.entityId === onlyIf)) this.found.delete(cnpj);
  }

  private forgetEntity(entityId: number, keep: string): void {
    for (const [cnpj, id] of this.map?.entries ?? []) {
      if (id === entityId && cnpj !== keep) this.map?.entries.delete(cnpj);
    }
    for (const [cnpj, hit] of this.found)
      if (hit.entityId === entityId && cnpj !== keep) this.found.delete(cnpj);
  }

  /** How old this container's map is (infinite without one). */
  private age(): number {
    return this.map ? this.now() - this.map.readAt : Number.POSITIVE_INFINITY;
  }

  private refreshAfterMs(): number {
    return this.options.directory.refreshAfterSeconds * 1000;
  }

  private warn(message: string, error: unknown): void {
    this.hooks.warn?.(message, { reason: error instanceof Error ? error.message : String(error) });
  }
}

/** Adds one search row (the CNPJ cell, the id cell) to a map, keeping the lowest id of a CNPJ. */
function addRow(entries: Map<string, number>, cnpjCell: unknown, idCell: unknown): void {
  const entityId = Number(idCell);
  if (typeof cnpjCell !== "string" || !Number.isInteger(entityId) || entityId < 0) return;
  const cnpj = normalizeCnpj(cnpjCell);
  if (!/^[0-9A-Z]{12}[0-9]{2}$/.test(cnpj)) return;
  const seen = entries.get(cnpj);
  if (seen === undefined || entityId < seen) entries.set(cnpj, entityId);
}
