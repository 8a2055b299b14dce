import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import * as v from "valibot";
import { type Ref, RefSchema, refKey } from "./refs.ts";

const AspectStateSchema = v.object({
  /** What was last synced of this aspect, as JSON its integration reads back (a state pair, a card's memory). */
  state: v.optional(v.string()),
  /** What the aspect has handled, one string each: log entries copied, attachment pairs, tickets made. */
  entries: v.optional(v.array(v.string())),
  /** The job holding this aspect, for the bookkeeping aspects `claim` and `lease` (see claims.ts). */
  holder: v.optional(v.string()),
  /** What could not be synced and why, newest last (shown to operators by the link lookup). */
  notes: v.optional(v.array(v.string())),
  syncedAt: v.string(),
});
/** What the bridge remembers about one aspect of a linked pair (state, log entries, attachments…). */
export type AspectState = v.InferOutput<typeof AspectStateSchema>;

/**
 * An aspect as stored. Items written before the fields were renamed call `state` `hash` and `entries`
 * `ids`; they are read as the new names, and the next write of the link stores the new names.
 */
const StoredAspectSchema = v.pipe(
  v.object({
    ...AspectStateSchema.entries,
    hash: v.optional(v.string()),
    ids: v.optional(v.array(v.string())),
  }),
  v.transform(({ hash, ids, ...aspect }): AspectState => {
    const state = aspect.state ?? hash;
    const entries = aspect.entries ?? ids;
    return {
      ...aspect,
      ...(state === undefined ? {} : { state }),
      ...(entries === undefined ? {} : { entries }),
    };
  }),
);

/** A link: the source object, the target object the bridge made or found for it, and sync memory. */
const LinkSchema = v.object({
  source: RefSchema,
  target: RefSchema,
  aspects: v.optional(v.record(v.string(), StoredAspectSchema), {}),
  /** Incremented on every write; writes are conditional on the version they read. */
  version: v.number(),
  createdAt: v.string(),
  updatedAt: v.string(),
});
export type Link = v.InferOutput<typeof LinkSchema>;

export type CreateLinkOutcome = { outcome: "created"; link: Link } | { outcome: "exists"; link: Link };
export type UpdateLinkOutcome = { outcome: "updated"; link: Link } | { outcome: "stale" };

/** Name of the global secondary index that answers "which source is linked to this target?". */
export const TARGET_INDEX = "byTarget";

const linkKey = (source: Ref) => `link#${refKey(source)}`;

/**
 * The link store on DynamoDB. One item per linked pair direction keyed by the source reference; the
 * `byTarget` index gives the reverse lookup. Races are decided by single-item conditions (dynalite has
 * no transactions and none are needed): the first writer of a link wins, later writers read it back.
 */
export class LinkStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  /** The link whose source is `source`, if any (strongly consistent). */
  async get(source: Ref): Promise<Link | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.table, Key: { pk: linkKey(source) }, ConsistentRead: true }),
    );
    return out.Item ? toLink(out.Item) : undefined;
  }

  /** The links whose target is `target` (reverse lookup through the index; eventually consistent). */
  async findByTarget(target: Ref): Promise<Link[]> {
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.table,
        IndexName: TARGET_INDEX,
        KeyConditionExpression: "targetKey = :t",
        ExpressionAttributeValues: { ":t": refKey(target) },
      }),
    );
    return (out.Items ?? []).map(toLink);
  }

  /**
   * Saves a new link unless one exists for the source. Two jobs racing to link the same source both
   * call this; exactly one gets `created`, the other gets `exists` with the winner's link, which it
   * must respect (dynalite does not return the old item on a failed condition, so it is read back).
   */
  async create(
    source: Ref,
    target: Ref,
    aspects: Record<string, AspectState> = {},
  ): Promise<CreateLinkOutcome> {
    const now = new Date().toISOString();
    const link: Link = { source, target, aspects, version: 1, createdAt: now, updatedAt: now };
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: { pk: linkKey(source), kind: "link", targetKey: refKey(target), ...link },
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      );
      return { outcome: "created", link };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const existing = await this.get(source);
      if (!existing) throw error;
      return { outcome: "exists", link: existing };
    }
  }

  /**
   * Points a link at another target (a claim placeholder replaced by the object it stood for) with
   * its aspects replaced, if nobody wrote the link since `link.version` was read.
   */
  async replaceTarget(
    link: Link,
    target: Ref,
    aspects: Record<string, AspectState>,
  ): Promise<UpdateLinkOutcome> {
    const now = new Date().toISOString();
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: linkKey(link.source) },
          UpdateExpression: "SET #t = :t, targetKey = :tk, aspects = :a, version = :next, updatedAt = :now",
          ConditionExpression: "version = :seen",
          ExpressionAttributeNames: { "#t": "target" },
          ExpressionAttributeValues: {
            ":t": target,
            ":tk": refKey(target),
            ":a": aspects,
            ":next": link.version + 1,
            ":seen": link.version,
            ":now": now,
          },
        }),
      );
      return {
        outcome: "updated",
        link: { ...link, target, aspects, version: link.version + 1, updatedAt: now },
      };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return { outcome: "stale" };
      throw error;
    }
  }

  /** Records the sync state of one aspect, if nobody wrote the link since `link.version` was read. */
  updateAspect(link: Link, aspect: string, state: AspectState): Promise<UpdateLinkOutcome> {
    return this.updateAspects(link, { [aspect]: state });
  }

  /**
   * Records the sync state of several aspects in one write, if nobody wrote the link since
   * `link.version` was read. The whole aspect map is written (the condition guarantees it is the one
   * read), so aspects stored under the old field names are rewritten under the new ones.
   */
  async updateAspects(link: Link, states: Record<string, AspectState>): Promise<UpdateLinkOutcome> {
    const now = new Date().toISOString();
    const aspects = { ...link.aspects, ...states };
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: linkKey(link.source) },
          UpdateExpression: "SET aspects = :a, version = :next, updatedAt = :now",
          ConditionExpression: "version = :seen",
          ExpressionAttributeValues: {
            ":a": aspects,
            ":next": link.version + 1,
            ":seen": link.version,
            ":now": now,
          },
        }),
      );
      return { outcome: "updated", link: { ...link, aspects, version: link.version + 1, updatedAt: now } };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return { outcome: "stale" };
      throw error;
    }
  }
}

function toLink(item: Record<string, unknown>): Link {
  return v.parse(LinkSchema, item);
}
