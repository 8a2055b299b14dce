import { randomUUID } from "node:crypto";
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import {
  BatchGetCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  PutCommand,
} from "@aws-sdk/lib-dynamodb";

/** A cap on one external system instance (`rt:main`): at most `max` calls to it at once, across functions. */
export interface SystemCap {
  system: string;
  max: number;
}

/** The slots one holder took, one per capped system; give them back with `SystemSlots.release`. */
export interface SlotHold {
  owner: string;
  slots: ReadonlyArray<{ system: string; index: number }>;
}

/** Slots a holder took, or the first system that had none free. */
export type SlotOutcome = { kind: "held"; hold: SlotHold } | { kind: "busy"; system: string };

/** The most slots one system may have: one BatchGetItem reads them all. */
export const MAX_SLOTS = 100;

const slotKey = (system: string, index: number) => `cap#${system}#${index}`;

/** How many slots a cap has: its `max`, a whole number from 1 to MAX_SLOTS. */
export function slotCount(cap: SystemCap): number {
  return Math.max(1, Math.min(MAX_SLOTS, Math.floor(cap.max)));
}

/**
 * A counting semaphore per external system in the links table: `max` slot items (`cap#rt:main#0` …
 * `cap#rt:main#<max-1>`), each taken by a conditional put (the slot is absent, or its lease ran out)
 * that names its owner and lease expiry, and given back by a delete conditional on the owner. A holder
 * that dies never gives its slot back: the lease runs out and the next taker overwrites it; leases are
 * sized to the holder's deadline (a Lambda cannot outlive it), so no renewal is needed. Single-item
 * conditions only: dynalite has no transactions, and TTL expiry is never relied on (the `ttl`
 * attribute only lets DynamoDB sweep a dead holder's item long after its lease).
 *
 * Cost: a holder with a free slot pays one conditional put to take it and one delete to give it back,
 * 2 writes per capped system per job run. When the first slot tried is taken, one consistent
 * BatchGetItem reads all of them and only the free-looking ones are tried, so a system at its cap costs
 * a waiting job one failed put and one read, not `max` failed puts.
 */
export class SystemSlots {
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
    options: { now?: () => number; random?: () => number } = {},
  ) {
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
  }

  /**
   * Takes one slot of each capped system for `leaseMs`, or none: when a system has no free slot, the
   * slots already taken are given back and the outcome names that system. `holder` (a job id) is kept
   * on the items for operators; the owner is unique per call, so two deliveries of one job hold two slots.
   */
  async acquire(caps: readonly SystemCap[], holder: string, leaseMs: number): Promise<SlotOutcome> {
    const owner = `${holder}#${randomUUID()}`;
    const slots: Array<{ system: string; index: number }> = [];
    // One order for everyone, so that two jobs needing the same systems do not each hold half.
    const ordered = [...caps].sort((a, b) => a.system.localeCompare(b.system));
    for (const cap of ordered) {
      const index = await this.takeOne(cap, owner, holder, leaseMs);
      if (index === undefined) {
        await this.release({ owner, slots });
        return { kind: "busy", system: cap.system };
      }
      slots.push({ system: cap.system, index });
    }
    return { kind: "held", hold: { owner, slots } };
  }

  /** Gives the slots back; a slot taken over meanwhile (its lease ran out) stays with its new owner. */
  async release(hold: SlotHold): Promise<void> {
    await Promise.all(
      hold.slots.map(async ({ system, index }) => {
        try {
          await this.db.send(
            new DeleteCommand({
              TableName: this.table,
              Key: { pk: slotKey(system, index) },
              ConditionExpression: "#o = :owner",
              ExpressionAttributeNames: { "#o": "owner" },
              ExpressionAttributeValues: { ":owner": hold.owner },
            }),
          );
        } catch (error) {
          if (!(error instanceof ConditionalCheckFailedException)) throw error;
        }
      }),
    );
  }

  /** The slot index taken, or undefined when all `cap.max` slots are held by live leases. */
  private async takeOne(
    cap: SystemCap,
    owner: string,
    holder: string,
    leaseMs: number,
  ): Promise<number | undefined> {
    const max = slotCount(cap);
    // A random first slot, so that jobs starting together do not all race for slot 0.
    const first = Math.floor(this.random() * max) % max;
    if (await this.put(cap.system, first, owner, holder, leaseMs)) return first;
    const out = await this.db.send(
      new BatchGetCommand({
        RequestItems: {
          [this.table]: {
            Keys: Array.from({ length: max }, (_, index) => ({ pk: slotKey(cap.system, index) })),
            ConsistentRead: true,
            ProjectionExpression: "pk, expiresAt",
          },
        },
      }),
    );
    const seen = new Map((out.Responses?.[this.table] ?? []).map((item) => [item.pk, item.expiresAt]));
    // Keys left unprocessed (throttling) count as taken: the job waits rather than guesses.
    const unprocessed = new Set((out.UnprocessedKeys?.[this.table]?.Keys ?? []).map((key) => String(key.pk)));
    const now = this.now();
    for (let step = 1; step <= max; step += 1) {
      const index = (first + step) % max;
      const key = slotKey(cap.system, index);
      if (unprocessed.has(key)) continue;
      const expiresAt = seen.get(key);
      if (seen.has(key) && !(typeof expiresAt === "number" && expiresAt <= now)) continue;
      if (await this.put(cap.system, index, owner, holder, leaseMs)) return index;
    }
    return undefined;
  }

  /**
   * Takes slot `index` if it is free or its lease ran out. Two takers racing for one free slot both
   * send this put; DynamoDB applies them one after the other, so the second sees the first's live
   * lease and fails its condition: exactly one holds the slot.
   */
  private async put(
    system: string,
    index: number,
    owner: string,
    holder: string,
    leaseMs: number,
  ): Promise<boolean> {
    const now = this.now();
    const expiresAt = now + leaseMs;
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            pk: slotKey(system, index),
            kind: "slot",
            owner,
            holder,
            expiresAt,
            ttl: Math.ceil(expiresAt / 1000) + 3600,
          },
          ConditionExpression: "attribute_not_exists(pk) OR expiresAt <= :now",
          ExpressionAttributeValues: { ":now": now },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }
}
