import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import {
  BatchGetCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import * as v from "valibot";

/** A CNPJ → entity map and when it was read from GLPI (epoch ms). */
export interface DirectoryMap {
  entries: Map<string, number>;
  readAt: number;
}

/** What a saved map takes in the table. */
export interface StoredSize {
  items: number;
  bytes: number;
}

/**
 * Entries a chunk item holds: 8,000 × (14-character CNPJ, `=`, an id of up to 10 digits, `;`) is at
 * most 208 KB, half of DynamoDB's 400 KB item limit. 20,000 customers take three chunks.
 */
export const CHUNK_ENTRIES = 8000;
/** Chunks of an older map are left to DynamoDB's TTL, long after any reader could still want them. */
const CHUNK_TTL_SECONDS = 7 * 86400;
/** BatchGetItem takes at most 100 keys a call. */
const BATCH_KEYS = 100;

const HeadSchema = v.object({
  generation: v.string(),
  readAt: v.number(),
  chunks: v.pipe(v.number(), v.integer(), v.minValue(0)),
  count: v.number(),
  /** CNPJs found by a search since the map was read, each with its entity. */
  added: v.optional(v.record(v.string(), v.number()), {}),
});
const ChunkSchema = v.object({ data: v.string() });

/**
 * The entity directory shared by every container, in the links table: a head item
 * (`dir#glpi-forms#<glpi instance>`: when the map was read, its generation, how many chunks, the CNPJs
 * found by a search since) and the map itself in chunk items of that generation
 * (`dir#glpi-forms#<instance>#<generation>#<i>`, `cnpj=id;…`). A refresh writes a new generation's
 * chunks, then points the head at them: a reader sees the old map or the new one, never half of each.
 */
export class DirectoryStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
    /** The GLPI instance the map describes. */
    private readonly instance: string,
  ) {}

  /** When the shared map was read from GLPI (epoch ms), without reading the map; undefined: no map. */
  async readAt(): Promise<number | undefined> {
    const out = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: { pk: this.headKey() },
        ProjectionExpression: "readAt",
        ConsistentRead: true,
      }),
    );
    return typeof out.Item?.readAt === "number" ? out.Item.readAt : undefined;
  }

  /** The shared map with the CNPJs added since it was read; undefined when there is none (or it is incomplete). */
  async load(): Promise<(DirectoryMap & StoredSize) | undefined> {
    const headOut = await this.db.send(
      new GetCommand({ TableName: this.table, Key: { pk: this.headKey() }, ConsistentRead: true }),
    );
    if (!headOut.Item) return undefined;
    const head = v.parse(HeadSchema, headOut.Item);
    const keys = Array.from({ length: head.chunks }, (_, i) => ({ pk: this.chunkKey(head.generation, i) }));
    const entries = new Map<string, number>();
    let bytes = JSON.stringify(headOut.Item).length;
    let found = 0;
    for (let i = 0; i < keys.length; i += BATCH_KEYS) {
      let batch: Record<string, unknown>[] = keys.slice(i, i + BATCH_KEYS);
      // BatchGetItem may answer part of the keys (UnprocessedKeys): ask again for the rest.
      for (let tries = 0; batch.length > 0 && tries < 5; tries++) {
        const out = await this.db.send(
          new BatchGetCommand({ RequestItems: { [this.table]: { Keys: batch, ConsistentRead: true } } }),
        );
        for (const item of out.Responses?.[this.table] ?? []) {
          const { data } = v.parse(ChunkSchema, item);
          bytes += data.length;
          found++;
          decodeInto(entries, data);
        }
        batch = out.UnprocessedKeys?.[this.table]?.Keys ?? [];
      }
    }
    if (found < head.chunks) return undefined; // its chunks expired: as good as no map
    for (const [cnpj, entityId] of Object.entries(head.added)) entries.set(cnpj, entityId);
    return { entries, readAt: head.readAt, items: 1 + head.chunks, bytes };
  }

  /** Stores a map read from GLPI at `readAt` as the shared one (its chunks first, then the head). */
  async save(map: DirectoryMap): Promise<StoredSize> {
    const generation = String(map.readAt);
    const chunks = encodeChunks(map.entries);
    const ttl = Math.floor(map.readAt / 1000) + CHUNK_TTL_SECONDS;
    await Promise.all(
      chunks.map((data, i) =>
        this.db.send(
          new PutCommand({
            TableName: this.table,
            Item: { pk: this.chunkKey(generation, i), kind: "entity-directory", data, ttl },
          }),
        ),
      ),
    );
    const head = {
      pk: this.headKey(),
      kind: "entity-directory",
      generation,
      readAt: map.readAt,
      chunks: chunks.length,
      count: map.entries.size,
      added: {},
    };
    // An older map never replaces a newer one (two refreshes racing).
    await this.db
      .send(
        new PutCommand({
          TableName: this.table,
          Item: head,
          ConditionExpression: "attribute_not_exists(pk) OR readAt < :readAt",
          ExpressionAttributeValues: { ":readAt": map.readAt },
        }),
      )
      .catch((error: unknown) => {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      });
    return {
      items: 1 + chunks.length,
      bytes: JSON.stringify(head).length + chunks.reduce((sum, data) => sum + data.length, 0),
    };
  }

  /** Adds CNPJs a search found to the shared map, in one write; nothing when there is no shared map yet. */
  async add(found: ReadonlyMap<string, number>): Promise<void> {
    if (found.size === 0) return;
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const sets = [...found].map(([cnpj, entityId], i) => {
      names[`#c${i}`] = cnpj;
      values[`:e${i}`] = entityId;
      return `added.#c${i} = :e${i}`;
    });
    await this.db
      .send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: this.headKey() },
          UpdateExpression: `SET ${sets.join(", ")}`,
          ConditionExpression: "attribute_exists(added)",
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      )
      .catch((error: unknown) => {
        // No shared map yet: the refresh that makes one reads these entities from GLPI anyway.
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      });
  }

  /**
   * Takes the right to queue the next refresh until `until` (epoch ms): true for one caller across
   * every container, so that a map past its age gets one refresh job, not one a container.
   */
  async claimRefresh(now: number, until: number): Promise<boolean> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: { pk: `${this.headKey()}#refresh`, kind: "entity-directory", queuedUntil: until },
          ConditionExpression: "attribute_not_exists(pk) OR queuedUntil < :now",
          ExpressionAttributeValues: { ":now": now },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  private headKey(): string {
    return `dir#glpi-forms#${this.instance}`;
  }

  private chunkKey(generation: string, index: number): string {
    return `${this.headKey()}#${generation}#${index}`;
  }
}

/** The map as chunk texts (`cnpj=id;…`, sorted by CNPJ), CHUNK_ENTRIES entries each. */
export function encodeChunks(entries: ReadonlyMap<string, number>): string[] {
  const all = [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const chunks: string[] = [];
  for (let i = 0; i < all.length; i += CHUNK_ENTRIES) {
    chunks.push(
      all
        .slice(i, i + CHUNK_ENTRIES)
        .map(([cnpj, id]) => `${cnpj}=${id}`)
        .join(";"),
    );
  }
  return chunks;
}

/** Adds one chunk's entries to a map. */
export function decodeInto(entries: Map<string, number>, data: string): void {
  if (!data) return;
  for (const pair of data.split(";")) {
    const at = pair.indexOf("=");
    const entityId = Number(pair.slice(at + 1));
    if (at > 0 && Number.isInteger(entityId)) entries.set(pair.slice(0, at), entityId);
  }
}
