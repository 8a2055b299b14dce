import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { NotFoundError } from "../../lib/core/errors.ts";
import { cnpjWithCheckDigits, formatCnpj, isValidCnpj } from "../../lib/sync/glpi-forms/cnpj.ts";
import {
  CHUNK_ENTRIES,
  type DirectoryMap,
  decodeInto,
  encodeChunks,
} from "../../lib/sync/glpi-forms/directory-store.ts";
import { EntityDirectory } from "../../lib/sync/glpi-forms/entity-directory.ts";
import type { Criterion } from "../../lib/systems/glpi/client.ts";
import type { SearchResult } from "../../lib/systems/glpi/schemas.ts";

const SID = 76674;
const MAX_ITEM_BYTES = 400 * 1024;

/** A valid CNPJ from 8 digits (branch 0001). */
const cnpjOf = (root: number) => cnpjWithCheckDigits(`${String(root).padStart(8, "0")}0001`);
const roots = (max: number) =>
  fc.uniqueArray(fc.integer({ min: 1, max: 99_999_998 }), { minLength: 1, maxLength: max });

/** GLPI's search/Entity over a list of entities: `contains` criteria joined by their links, paged. */
function glpiOf(entities: { id: number; cnpj: string }[]) {
  const calls: { criteria: Criterion[]; range: [number, number] }[] = [];
  return {
    entities,
    calls,
    async search(
      _itemtype: string,
      criteria: Criterion[],
      options: { range?: [number, number] } = {},
    ): Promise<SearchResult> {
      const range = options.range ?? [0, 49];
      calls.push({ criteria, range });
      const rows = entities.filter(
        (entity) =>
          criteria.length === 0 ||
          criteria.some((criterion) => entity.cnpj.includes(String(criterion.value))),
      );
      const page = rows.slice(range[0], range[1] + 1);
      return {
        totalcount: rows.length,
        count: page.length,
        data: page.map((entity) => ({
          "1": `Root entity > ${entity.id}`,
          "2": entity.id,
          [SID]: entity.cnpj,
        })),
      };
    },
  };
}

/** The shared map in memory, as DirectoryStore keeps it in the links table. */
function storeOf() {
  let shared: DirectoryMap | undefined;
  let leaseUntil = 0;
  return {
    writes: 0,
    async claimRefresh(now: number, until: number) {
      if (leaseUntil > now) return false;
      leaseUntil = until;
      return true;
    },
    async readAt() {
      return shared?.readAt;
    },
    async load() {
      return shared && { entries: new Map(shared.entries), readAt: shared.readAt, items: 1, bytes: 0 };
    },
    async save(map: DirectoryMap) {
      this.writes++;
      shared = { entries: new Map(map.entries), readAt: map.readAt };
      return { items: 1, bytes: 0 };
    },
    async add(found: ReadonlyMap<string, number>) {
      if (found.size === 0) return;
      this.writes++;
      for (const [cnpj, id] of found) shared?.entries.set(cnpj, id);
    },
  };
}

function directoryOf(
  glpi: ReturnType<typeof glpiOf>,
  store = storeOf(),
  options: { maxAgeSeconds?: number; refreshAfterSeconds?: number; pageSize?: number } = {},
) {
  const clock = { now: 1_000_000 };
  const queued: number[] = [];
  const directory = new EntityDirectory(
    glpi,
    store,
    {
      itemtype: "Entity",
      fieldName: "cnpjfield",
      searchOptionId: SID,
      directory: {
        maxAgeSeconds: options.maxAgeSeconds ?? 900,
        refreshAfterSeconds: options.refreshAfterSeconds ?? 450,
        pageSize: options.pageSize ?? 1000,
      },
    },
    {
      queueRefresh: async () => {
        queued.push(clock.now);
      },
      now: () => clock.now,
    },
  );
  return { directory, clock, queued, store };
}

describe("the entity directory", () => {
  it("stores any map in chunks well under DynamoDB's item limit and reads back the same map", () => {
    fc.assert(
      fc.property(roots(3 * CHUNK_ENTRIES), fc.nat({ max: 2 ** 31 }), (list, firstId) => {
        const entries = new Map(list.map((root, i) => [cnpjOf(root), firstId + i]));
        const chunks = encodeChunks(entries);
        expect(chunks.length).toBe(Math.ceil(entries.size / CHUNK_ENTRIES));
        for (const chunk of chunks) expect(Buffer.byteLength(chunk)).toBeLessThan(MAX_ITEM_BYTES / 1.5);
        const read = new Map<string, number>();
        for (const chunk of chunks) decodeInto(read, chunk);
        expect(read).toEqual(entries);
      }),
      { numRuns: 20 },
    );
  });

  it("fits 20,000 customers with the largest ids in three chunks", () => {
    const entries = new Map(Array.from({ length: 20_000 }, (_, i) => [cnpjOf(i + 1), 4_294_967_295 - i]));
    const chunks = encodeChunks(entries);
    expect(chunks).toHaveLength(3);
    expect(Math.max(...chunks.map((chunk) => Buffer.byteLength(chunk)))).toBeLessThan(MAX_ITEM_BYTES);
  });

  it("reads every entity in pages, whatever the page size, and then answers any of them without a call", async () => {
    await fc.assert(
      fc.asyncProperty(roots(120), fc.integer({ min: 1, max: 50 }), async (list, pageSize) => {
        // Half stored formatted, half as digits, as GLPI admins store them.
        const entities = list.map((root, i) => ({
          id: i + 1,
          cnpj: i % 2 ? formatCnpj(cnpjOf(root)) : cnpjOf(root),
        }));
        const glpi = glpiOf([{ id: 0, cnpj: "" }, ...entities]);
        const { directory } = directoryOf(glpi, storeOf(), { pageSize });
        const report = await directory.refresh({ force: true });
        expect(report).toMatchObject({
          entries: entities.length,
          pages: Math.ceil((entities.length + 1) / pageSize),
        });
        const reads = glpi.calls.length;
        for (const [i, root] of list.entries()) {
          await expect(directory.entityIdFor(formatCnpj(cnpjOf(root)))).resolves.toEqual({
            entityId: i + 1,
            from: "directory",
          });
        }
        expect(glpi.calls.length).toBe(reads);
      }),
      { numRuns: 25 },
    );
  });

  it("finds a CNPJ the map lacks with one search of both spellings, and remembers it", async () => {
    const glpi = glpiOf([{ id: 7, cnpj: "11.222.333/0001-81" }]);
    const { directory } = directoryOf(glpi);
    await expect(directory.entityIdFor("11222333000181")).resolves.toEqual({ entityId: 7, from: "search" });
    expect(glpi.calls).toHaveLength(1);
    expect(glpi.calls[0]?.criteria).toEqual([
      { field: SID, searchtype: "contains", value: "11222333000181" },
      { link: "OR", field: SID, searchtype: "contains", value: "11.222.333/0001-81" },
    ]);
    await expect(directory.entityIdFor("11.222.333/0001-81")).resolves.toEqual({
      entityId: 7,
      from: "directory",
    });
    expect(glpi.calls).toHaveLength(1);
  });

  it("takes the lowest entity id when two entities hold the same CNPJ, and ignores a CNPJ that only contains it", async () => {
    const glpi = glpiOf([
      { id: 9, cnpj: "11222333000181" },
      { id: 4, cnpj: "11.222.333/0001-81" },
      { id: 2, cnpj: "11222333000181 (matriz antiga)" },
    ]);
    const { directory } = directoryOf(glpi);
    await expect(directory.entityIdFor("11222333000181")).resolves.toMatchObject({ entityId: 4 });
  });

  it("answers NotFoundError after one search when no entity has the CNPJ", async () => {
    const glpi = glpiOf([{ id: 7, cnpj: "11.222.333/0001-81" }]);
    const { directory } = directoryOf(glpi);
    await expect(directory.entityIdFor(cnpjOf(45723174))).rejects.toBeInstanceOf(NotFoundError);
    expect(glpi.calls).toHaveLength(1);
  });

  it("shares what a search found with the other containers, and queues one refresh once the map is old", async () => {
    const glpi = glpiOf([
      { id: 7, cnpj: "11.222.333/0001-81" },
      { id: 8, cnpj: cnpjOf(13579246) },
    ]);
    const store = storeOf();
    const first = directoryOf(glpi, store);
    await first.directory.refresh({ force: true });
    glpi.entities.push({ id: 9, cnpj: cnpjOf(24681357) });
    await first.directory.entityIdFor(cnpjOf(24681357));
    await first.directory.maintain();
    expect(first.queued).toEqual([]);

    const other = directoryOf(glpi, store);
    const calls = glpi.calls.length;
    await expect(other.directory.entityIdFor(cnpjOf(24681357))).resolves.toEqual({
      entityId: 9,
      from: "directory",
    });
    expect(glpi.calls.length).toBe(calls);

    first.clock.now += 451_000; // past refreshAfterSeconds: still trusted, refreshed in the background
    other.clock.now = first.clock.now;
    await expect(first.directory.entityIdFor(cnpjOf(13579246))).resolves.toMatchObject({ from: "directory" });
    await first.directory.maintain();
    await first.directory.maintain();
    await other.directory.maintain(); // another container: the lease says one is queued already
    expect([first.queued, other.queued].map((queued) => queued.length)).toEqual([1, 0]);
  });

  it("does not trust a map past its max age: it searches again, so a changed CNPJ is not used", async () => {
    const glpi = glpiOf([{ id: 7, cnpj: "11.222.333/0001-81" }]);
    const { directory, clock } = directoryOf(glpi, storeOf(), { maxAgeSeconds: 60, refreshAfterSeconds: 30 });
    await directory.refresh({ force: true });
    glpi.entities[0] = { id: 7, cnpj: cnpjOf(13579246) };
    clock.now += 61_000;
    await expect(directory.entityIdFor("11.222.333/0001-81")).rejects.toBeInstanceOf(NotFoundError);
    await expect(directory.entityIdFor(cnpjOf(13579246))).resolves.toEqual({ entityId: 7, from: "search" });
  });

  it("forgets an entity GLPI refused and finds where its CNPJ went", async () => {
    const glpi = glpiOf([{ id: 7, cnpj: "11.222.333/0001-81" }]);
    const { directory } = directoryOf(glpi);
    await directory.refresh({ force: true });
    glpi.entities[0] = { id: 12, cnpj: "11222333000181" };
    expect(await directory.recheck("11222333000181", 7)).toBe(12);
    await expect(directory.entityIdFor("11222333000181")).resolves.toEqual({
      entityId: 12,
      from: "directory",
    });
    expect(await directory.recheck("11222333000181", 12)).toBe(12); // refused for another reason
    glpi.entities.length = 0;
    expect(await directory.recheck("11222333000181", 12)).toBeUndefined();
  });

  it("searches every time when the directory is off (maxAgeSeconds 0)", async () => {
    const glpi = glpiOf([{ id: 7, cnpj: "11.222.333/0001-81" }]);
    const { directory, store } = directoryOf(glpi, storeOf(), { maxAgeSeconds: 0 });
    await directory.entityIdFor("11222333000181");
    await directory.maintain();
    await directory.entityIdFor("11222333000181");
    expect(glpi.calls).toHaveLength(2);
    expect(store.writes).toBe(0);
  });

  it("generates valid, distinct CNPJs for seeded customers", () => {
    fc.assert(
      fc.property(roots(200), (list) => {
        const cnpjs = list.map(cnpjOf);
        expect(cnpjs.every(isValidCnpj)).toBe(true);
        expect(new Set(cnpjs).size).toBe(cnpjs.length);
      }),
    );
  });
});
