import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import type { SQSClient } from "@aws-sdk/client-sqs";
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import * as v from "valibot";
import { NotFoundError, ValidationError } from "../../core/errors.ts";
import { MAX_ID } from "../../core/ids.ts";
import { type IntegrationQueues, JobQueue } from "../../jobs/queue.ts";
import { JobRecords } from "../../jobs/records.ts";
import { TARGET_INDEX } from "../../links/store.ts";
import { CREATE_TICKET_JOB } from "./job-status.ts";

/** A GLPI ticket request whose CNPJ matched no entity: kept so that it can be assigned and replayed. */
export interface ParkedRequest {
  /** The job id the request was given (replaying it keeps the id, so it never opens two tickets). */
  id: string;
  receivedAt: string;
  cnpj: string;
  reason: string;
  /** The validated form submission, as received. */
  submission: Record<string, unknown>;
  /** Set once an operator replayed it into an entity; the request is dropped when its ticket exists. */
  replay?: { entityId: number; requestedAt: string };
}

/**
 * What a replay works with: the links table (parked requests, job records), the jobs queue and the
 * job records' TTL. The operators' deps (lib/ops/deps.ts) are one.
 */
export interface ReplayDeps {
  db: DynamoDBDocumentClient;
  table: string;
  sqs: SQSClient;
  jobsQueueUrl: string;
  deadLetterQueueUrl: string;
  jobQueues?: IntegrationQueues | undefined;
  config: { readonly jobs: { readonly recordTtlDays: number } };
}

/** Long enough for someone to notice and fix a mistyped CNPJ; DynamoDB's TTL drops it after that. */
const TTL_DAYS = 90;
/** What the byTarget index is keyed on for parked items: one Query lists them all. */
const PARKED_TARGET = "parked";
/**
 * A replay still marked pending after this long is presumed lost (its sender died between marking
 * the request and queueing the job): the next replay sends it again.
 */
const REPLAY_LEASE_MS = 15 * 60_000;

const ParkedItemSchema = v.object({
  id: v.string(),
  receivedAt: v.string(),
  cnpj: v.string(),
  reason: v.string(),
  submission: v.record(v.string(), v.unknown()),
  replay: v.optional(v.object({ entityId: v.number(), requestedAt: v.string() })),
});

/**
 * GLPI ticket requests whose CNPJ matched no entity (`parked#<job id>` in the links table, listed
 * through the byTarget index under `targetKey: "parked"`). The caller was answered 404 all the same;
 * the request is kept so that an operator can assign it to an entity and replay it, and no customer's
 * request is lost to a typo in a CNPJ.
 */
export class ParkedRequests {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  /** Keeps a request (again: a repeat of the same job id keeps its first arrival time). */
  async park(request: Omit<ParkedRequest, "receivedAt">, now = new Date()): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: pk(request.id) },
        UpdateExpression:
          "SET kind = :kind, targetKey = :target, id = :id, receivedAt = if_not_exists(receivedAt, :now), cnpj = :cnpj, reason = :reason, submission = :submission, #ttl = :ttl REMOVE replay",
        ExpressionAttributeNames: { "#ttl": "ttl" },
        ExpressionAttributeValues: {
          ":kind": "parked",
          ":target": PARKED_TARGET,
          ":id": request.id,
          ":now": now.toISOString(),
          ":cnpj": request.cnpj,
          ":reason": request.reason,
          ":submission": request.submission,
          ":ttl": Math.floor(now.getTime() / 1000) + TTL_DAYS * 86400,
        },
      }),
    );
  }

  /** Every parked request, newest first (the index is eventually consistent: one just parked may lag). */
  async list(): Promise<ParkedRequest[]> {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          IndexName: TARGET_INDEX,
          KeyConditionExpression: "targetKey = :t",
          ExpressionAttributeValues: { ":t": PARKED_TARGET },
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      items.push(...(out.Items ?? []));
      start = out.LastEvaluatedKey;
    } while (start);
    return items
      .flatMap((item) => {
        const parsed = v.safeParse(ParkedItemSchema, item);
        return parsed.success ? [toRequest(parsed.output)] : [];
      })
      .sort((a, b) => (a.receivedAt < b.receivedAt ? 1 : a.receivedAt > b.receivedAt ? -1 : 0));
  }

  async get(id: string): Promise<ParkedRequest | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.table, Key: { pk: pk(id) }, ConsistentRead: true }),
    );
    const parsed = v.safeParse(ParkedItemSchema, out.Item);
    return parsed.success ? toRequest(parsed.output) : undefined;
  }

  /** Drops a request whose ticket now exists (the replayed job calls this once it is linked). */
  async remove(id: string): Promise<void> {
    await this.db.send(new DeleteCommand({ TableName: this.table, Key: { pk: pk(id) } }));
  }

  /**
   * Marks a request as being replayed into `entityId`, if it is still parked and nobody marked it
   * since `seen` (the replay it carried when read; undefined: none). False when another replay won.
   */
  async markReplaying(
    id: string,
    entityId: number,
    seen: ParkedRequest["replay"],
    now = new Date(),
  ): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: pk(id) },
          UpdateExpression: "SET replay = :replay",
          ConditionExpression: seen
            ? "attribute_exists(pk) AND replay.requestedAt = :seen"
            : "attribute_exists(pk) AND attribute_not_exists(replay)",
          ExpressionAttributeValues: {
            ":replay": { entityId, requestedAt: now.toISOString() },
            ...(seen ? { ":seen": seen.requestedAt } : {}),
          },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }
}

/**
 * Replays a parked request into the entity an operator chose: the create-ticket job is sent again
 * with the SAME job id and `entityId`, marked as possibly run, so it looks for the ticket (its link,
 * then GLPI's `externalid`) before creating one: however often it is replayed, one ticket is opened.
 * The request stays listed, marked `replay`, until the job has linked the ticket and removes it; a
 * replay whose job failed (dead-lettered) can be made again, perhaps with another entity. While a
 * replay is on its way, another one only answers the same job id.
 */
export async function replayParked(
  deps: ReplayDeps,
  id: string,
  entityId: number,
): Promise<{ jobId: string }> {
  const parked = new ParkedRequests(deps.db, deps.table);
  const request = await parked.get(id);
  if (!request) throw new NotFoundError("no parked request has this id");
  if (!Number.isInteger(entityId) || entityId < 1 || entityId > MAX_ID) {
    throw new ValidationError([
      { path: "entity_id", message: "must be a GLPI entity id (a positive integer)" },
    ]);
  }
  const records = new JobRecords(deps.db, deps.table, deps.config.jobs.recordTtlDays);
  if (request.replay && Date.now() - Date.parse(request.replay.requestedAt) < REPLAY_LEASE_MS) {
    const record = await records.get(id);
    if (record?.status === "pending") return { jobId: id };
  }
  if (!(await parked.markReplaying(id, entityId, request.replay))) return { jobId: id };
  // Pending before sending: a concurrent replay that reads it stands back rather than send a twin.
  await records.pending(id, CREATE_TICKET_JOB, 0, { reset: true });
  const queue = new JobQueue(deps.sqs, deps.jobsQueueUrl, deps.deadLetterQueueUrl, deps.jobQueues);
  await queue.send({
    v: 1,
    id,
    type: CREATE_TICKET_JOB,
    input: { submission: request.submission, entityId },
    priorAttempts: 0,
    maybeRan: true,
    enqueuedAt: new Date().toISOString(),
    origin: "replay",
  });
  return { jobId: id };
}

const pk = (id: string) => `parked#${id}`;

function toRequest(item: v.InferOutput<typeof ParkedItemSchema>): ParkedRequest {
  const { id, receivedAt, cnpj, reason, submission, replay } = item;
  return { id, receivedAt, cnpj, reason, submission, ...(replay ? { replay } : {}) };
}
