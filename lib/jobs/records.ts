import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import * as v from "valibot";

const JobRecordSchema = v.object({
  jobId: v.string(),
  type: v.string(),
  status: v.picklist(["pending", "done", "failed"]),
  attempts: v.number(),
  result: v.optional(v.record(v.string(), v.unknown())),
  lastError: v.optional(v.object({ code: v.string(), message: v.string() })),
  createdAt: v.string(),
  updatedAt: v.string(),
});
/** The status of a queued job, as `GET …/jobs/{id}` reports it. */
export type JobRecord = v.InferOutput<typeof JobRecordSchema>;

/**
 * Job status records (`job#<id>` in the links table, expiring through the TTL attribute). Written only
 * when a job is queued: a job that succeeds inline answers its caller directly and leaves no record.
 */
export class JobRecords {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly ttlDays: number,
  ) {}

  async get(jobId: string): Promise<JobRecord | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.table, Key: { pk: pk(jobId) }, ConsistentRead: true }),
    );
    return out.Item ? v.parse(JobRecordSchema, out.Item) : undefined;
  }

  /**
   * Records a job as pending unless the worker already recorded an outcome (it can be that fast);
   * with `reset` (a replay) whatever outcome was recorded is replaced.
   */
  async pending(
    jobId: string,
    type: string,
    attempts: number,
    options: { reset?: boolean } = {},
  ): Promise<void> {
    if (options.reset) {
      await this.update(jobId, type, "pending", attempts, {});
      return;
    }
    const now = new Date().toISOString();
    await this.db
      .send(
        new PutCommand({
          TableName: this.table,
          Item: {
            pk: pk(jobId),
            kind: "job",
            jobId,
            type,
            status: "pending",
            attempts,
            createdAt: now,
            updatedAt: now,
            ttl: this.ttl(),
          },
          ConditionExpression: "attribute_not_exists(pk) OR #s = :pending",
          ExpressionAttributeNames: { "#s": "status" },
          ExpressionAttributeValues: { ":pending": "pending" },
        }),
      )
      .catch(ignoreConditionFailure);
  }

  /** Records an attempt that failed and will be retried. */
  async retrying(
    jobId: string,
    type: string,
    attempts: number,
    error: { code: string; message: string },
  ): Promise<void> {
    await this.update(jobId, type, "pending", attempts, { lastError: error });
  }

  async done(jobId: string, type: string, attempts: number, result: Record<string, unknown>): Promise<void> {
    await this.update(jobId, type, "done", attempts, { result });
  }

  async failed(
    jobId: string,
    type: string,
    attempts: number,
    error: { code: string; message: string },
  ): Promise<void> {
    await this.update(jobId, type, "failed", attempts, { lastError: error });
  }

  private async update(
    jobId: string,
    type: string,
    status: JobRecord["status"],
    attempts: number,
    fields: { result?: Record<string, unknown>; lastError?: { code: string; message: string } },
  ): Promise<void> {
    const now = new Date().toISOString();
    const names: Record<string, string> = { "#s": "status" };
    const values: Record<string, unknown> = {
      ":s": status,
      ":a": attempts,
      ":now": now,
      ":type": type,
      ":id": jobId,
      ":kind": "job",
      ":ttl": this.ttl(),
    };
    let expression =
      "SET #s = :s, attempts = :a, updatedAt = :now, createdAt = if_not_exists(createdAt, :now), #t = :type, jobId = :id, kind = :kind, #ttl = :ttl";
    names["#t"] = "type";
    names["#ttl"] = "ttl";
    if (fields.result) {
      expression += ", #r = :r";
      names["#r"] = "result";
      values[":r"] = fields.result;
    }
    if (fields.lastError) {
      expression += ", lastError = :e";
      values[":e"] = fields.lastError;
    }
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: pk(jobId) },
        UpdateExpression: expression,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }),
    );
  }

  private ttl(): number {
    return Math.floor(Date.now() / 1000) + this.ttlDays * 86400;
  }
}

const pk = (jobId: string) => `job#${jobId}`;

function ignoreConditionFailure(error: unknown): void {
  if (!(error instanceof ConditionalCheckFailedException)) throw error;
}
