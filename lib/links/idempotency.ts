import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import * as v from "valibot";

const IdempotencyRecordSchema = v.object({
  status: v.picklist(["in_progress", "completed"]),
  /** Hash of the request body: a key reused with another body is a conflict, not a repeat. */
  fingerprint: v.string(),
  /** The job that carries out the request (the same for every repeat). */
  jobId: v.string(),
  /** Until when the first request holds the key; after that a repeat may take over (the holder died). */
  lockedUntil: v.number(),
  /** The outcome to replay, once known. */
  outcome: v.optional(v.record(v.string(), v.unknown())),
});
export type IdempotencyRecord = v.InferOutput<typeof IdempotencyRecordSchema>;

export type ClaimOutcome =
  | { outcome: "claimed" }
  /** The previous holder's lock expired without an outcome: this request carries on its job. */
  | { outcome: "taken-over"; record: IdempotencyRecord }
  | { outcome: "exists"; record: IdempotencyRecord };

/**
 * Idempotency records for request/response routes (an `Idempotency-Key` header), in the links table
 * with a TTL attribute. The timeline of a race between requests A and B with the same key:
 *   A: put(key, in_progress, lockedUntil) if not exists  -> claimed, runs the job
 *   B: the same put fails its condition                   -> reads the record, waits for A's outcome
 *   A: complete(key, outcome)                             -> B's next read returns A's outcome
 * If A dies before completing, its lock expires and the next request takes the key over, running the
 * same job id; the job searches the target before creating, so nothing is created twice.
 */
export class IdempotencyStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async claim(
    scope: string,
    key: string,
    init: { fingerprint: string; jobId: string; lockMs: number; ttlSeconds: number },
  ): Promise<ClaimOutcome> {
    const now = Date.now();
    const item = {
      pk: pk(scope, key),
      kind: "idempotency",
      status: "in_progress",
      fingerprint: init.fingerprint,
      jobId: init.jobId,
      lockedUntil: now + init.lockMs,
      ttl: Math.floor(now / 1000) + init.ttlSeconds,
    };
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: item,
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      );
      return { outcome: "claimed" };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    const existing = await this.get(scope, key);
    if (!existing) return this.claim(scope, key, init);
    if (
      existing.status === "in_progress" &&
      existing.lockedUntil < now &&
      existing.fingerprint === init.fingerprint
    ) {
      try {
        await this.db.send(
          new UpdateCommand({
            TableName: this.table,
            Key: { pk: pk(scope, key) },
            UpdateExpression: "SET lockedUntil = :until",
            ConditionExpression: "#s = :inProgress AND lockedUntil = :seen",
            ExpressionAttributeNames: { "#s": "status" },
            ExpressionAttributeValues: {
              ":until": now + init.lockMs,
              ":inProgress": "in_progress",
              ":seen": existing.lockedUntil,
            },
          }),
        );
        return { outcome: "taken-over", record: existing };
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        const latest = await this.get(scope, key);
        if (latest) return { outcome: "exists", record: latest };
      }
    }
    return { outcome: "exists", record: existing };
  }

  async get(scope: string, key: string): Promise<IdempotencyRecord | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.table, Key: { pk: pk(scope, key) }, ConsistentRead: true }),
    );
    return out.Item ? v.parse(IdempotencyRecordSchema, out.Item) : undefined;
  }

  /** Stores the outcome that every repeat of this key gets from now on. */
  async complete(scope: string, key: string, outcome: Record<string, unknown>): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: pk(scope, key) },
        UpdateExpression: "SET #s = :completed, outcome = :o",
        ExpressionAttributeNames: { "#s": "status" },
        ExpressionAttributeValues: { ":completed": "completed", ":o": outcome },
      }),
    );
  }

  /** Gives the key up (the request failed for good before anything was created), so a retry may run. */
  async release(scope: string, key: string): Promise<void> {
    await this.db
      .send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: pk(scope, key) },
          UpdateExpression: "SET lockedUntil = :zero",
          ConditionExpression: "#s = :inProgress",
          ExpressionAttributeNames: { "#s": "status" },
          ExpressionAttributeValues: { ":zero": 0, ":inProgress": "in_progress" },
        }),
      )
      .catch((error: unknown) => {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      });
  }
}

const pk = (scope: string, key: string) => `idem#${scope}#${key}`;
