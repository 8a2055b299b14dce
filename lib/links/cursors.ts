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
}
