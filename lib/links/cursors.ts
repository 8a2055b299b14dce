import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import * as v from "valibot";

const CursorSchema = v.object({
  at: v.string(),
  id: v.string(),
  /** The run stopped at its page limit with more to read: the next one starts here, without the overlap. */
  resume: v.optional(v.boolean()),
  version: v.number(),
});
/** A poller's position: the (timestamp, id) of the last item it handed on, so equal timestamps never stall it. */
export type Cursor = v.InferOutput<typeof CursorSchema>;

const PollRunSchema = v.object({
  /** When the last successful run ended. */
  lastSuccessAt: v.string(),
  /**
   * What the poller has read up to: the start of that run (it listed every change made before it), or
   * its cursor when it stopped at its page limit with more to read.
   */
  caughtUpTo: v.string(),
  /** Its cursor's timestamp after that run (the last item it handed on). */
  cursorAt: v.string(),
});
/** A poller's last successful run (`pollrun#<name>`): what its lag is measured from. */
export type PollRun = v.InferOutput<typeof PollRunSchema>;

/** Poller cursors (`cursor#<name>` in the links table). Advancing is conditional: a slower run never moves one back. */
export class CursorStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async get(name: string): Promise<Cursor | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.table, Key: { pk: `cursor#${name}` }, ConsistentRead: true }),
    );
    return out.Item ? v.parse(CursorSchema, out.Item) : undefined;
  }

  /** Moves the cursor from `seen` (undefined: none yet) to `next`; false when another run moved it first. */
  async advance(
    name: string,
    seen: Cursor | undefined,
    next: { at: string; id: string; resume?: boolean },
  ): Promise<boolean> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: { pk: `cursor#${name}`, kind: "cursor", ...next, version: (seen?.version ?? 0) + 1 },
          ConditionExpression: seen ? "version = :seen" : "attribute_not_exists(pk)",
          ...(seen ? { ExpressionAttributeValues: { ":seen": seen.version } } : {}),
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /**
   * Records a successful run. A slower run that ended later but read less never moves `caughtUpTo`
   * back: the condition keeps the newest.
   */
  async recordRun(name: string, run: PollRun): Promise<void> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: { pk: `pollrun#${name}`, kind: "pollrun", ...run },
          ConditionExpression: "attribute_not_exists(pk) OR caughtUpTo <= :caughtUpTo",
          ExpressionAttributeValues: { ":caughtUpTo": run.caughtUpTo },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  /** The poller's last successful run, or undefined before its first. */
  async lastRun(name: string): Promise<PollRun | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.table, Key: { pk: `pollrun#${name}` }, ConsistentRead: true }),
    );
    const parsed = v.safeParse(PollRunSchema, out.Item);
    return parsed.success ? parsed.output : undefined;
  }
}

/** A poller's lag in whole seconds at `now`: how far behind now it has read (0 at most a second after). */
export function pollerLagSeconds(run: PollRun, now: Date): number {
  return Math.max(0, Math.floor((now.getTime() - Date.parse(run.caughtUpTo)) / 1000));
}
