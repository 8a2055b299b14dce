import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import {
  BatchGetCommand,
  type DynamoDBDocumentClient,
  UpdateCommand,
  type UpdateCommandInput,
} from "@aws-sdk/lib-dynamodb";

/** A breaker's settings, in real milliseconds (the config's seconds, divided by `jobs.timeScale`). */
export interface BreakerSettings {
  /** Outage failures in a row that open the breaker. */
  failureThreshold: number;
  /** While open, at most one probe per this many ms. */
  probeIntervalMs: number;
  /** How long a system seen healthy is taken as healthy without a read (`current`); 0: never. */
  trustHealthyMs?: number;
}

/** One system instance's breaker as stored (absent: closed, no failure seen). */
export interface BreakerState {
  system: string;
  state: "closed" | "open";
  /** Outage failures since the last success. */
  failures: number;
  /** Epoch ms: when the breaker opened (the system is down since then); only while open. */
  openedAt?: number;
  /** Epoch ms: the last outage failure. */
  lastFailureAt?: number;
  /** Epoch ms: while open, when the next probe may start. */
  nextProbeAt?: number;
  /** Epoch ms: the running probe's lease; another probe may start after it even if it never reports. */
  probeUntil?: number;
  /** Probes started since the breaker last opened. */
  probes?: number;
  /** Epoch ms: when the breaker last closed after being open. */
  closedAt?: number;
  /** Jobs held behind the breaker since it last opened (each counted once; not decremented as they drain). */
  waiting?: number;
}

/** What a job may do at a system: run, run as its probe, or wait until `retryAt` (epoch ms). */
export type BreakerGate =
  | { kind: "pass"; probe: boolean; seen: BreakerState | undefined }
  | { kind: "wait"; retryAt: number; seen: BreakerState };

const breakerKey = (system: string) => `breaker#${system}`;

/** An update of one system's breaker item (its table and key are the breaker's). */
type BreakerUpdate = Omit<UpdateCommandInput, "TableName" | "Key">;

/**
 * A circuit breaker per external system instance (`glpi:main`), shared by every function: one item in
 * the links table beside the system slots (`breaker#glpi:main`), changed by single-item conditional
 * writes only (dynalite has no transactions, and TTL expiry is never relied on).
 *
 * closed ──(failureThreshold outage failures in a row)──► open ──(a probe answers)──► closed
 *
 * While open, every job for the system waits on the queue without using an attempt, except one probe
 * at a time: a conditional update takes the probe lease only when `nextProbeAt` has passed and no live
 * lease is held, and moves `nextProbeAt` one probe interval on, so the system sees at most one probe
 * per interval whatever the number of workers. A probe that answers (any success, or a refusal: the
 * system answered) closes the breaker; one that fails leaves it open until the next interval.
 *
 * Cost: one consistent BatchGetItem per job run for its systems (read with the slots' systems), and a
 * write only when something changes: an outage failure, the first success after failures, a probe, a
 * job that waits.
 */
export class SystemBreakers {
  private readonly now: () => number;
  /** Systems this function saw healthy, and until when (epoch ms) `current` trusts that without a read. */
  private readonly healthyUntil = new Map<string, number>();

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly settings: () => BreakerSettings,
    options: { now?: () => number } = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  /** The breakers of these systems, by system (a system never seen failing is absent). */
  async read(systems: readonly string[]): Promise<Map<string, BreakerState>> {
    const found = new Map<string, BreakerState>();
    const unique = [...new Set(systems)];
    for (let start = 0; start < unique.length; start += 100) {
      let keys = unique.slice(start, start + 100).map((system) => ({ pk: breakerKey(system) }));
      // Keys left unprocessed (throttling) are read again: a breaker must not be mistaken for closed.
      for (let round = 0; keys.length > 0 && round < 5; round += 1) {
        const out = await this.db.send(
          new BatchGetCommand({ RequestItems: { [this.table]: { Keys: keys, ConsistentRead: true } } }),
        );
        for (const item of out.Responses?.[this.table] ?? []) {
          const state = toState(item);
          if (state) found.set(state.system, state);
        }
        keys = (out.UnprocessedKeys?.[this.table]?.Keys ?? []).map((key) => ({ pk: String(key.pk) }));
      }
    }
    return found;
  }

  /**
   * The breakers a job checks before it runs: `read`, except for a system this function saw healthy
   * within `trustHealthyMs` (its breaker read closed with no failure, or a call of its own answered),
   * which is taken as healthy (absent) without a read. A breaker other functions open is so seen at
   * most that late, and a failure seen here ends the trust at once.
   */
  async current(systems: readonly string[]): Promise<Map<string, BreakerState>> {
    const now = this.now();
    const stale = systems.filter((system) => (this.healthyUntil.get(system) ?? 0) <= now);
    if (stale.length === 0) return new Map();
    const found = await this.read(stale);
    for (const system of stale) {
      const state = found.get(system);
      if (!state || (state.state === "closed" && state.failures === 0)) this.trust(system, now);
      else this.healthyUntil.delete(system);
    }
    return found;
  }

  /**
   * Whether a job may call `system` now: `pass` when the breaker is closed, or open and this job took
   * the probe lease (held `leaseMs`, the job's deadline); else `wait` until the next probe is due.
   */
  async gate(
    system: string,
    seen: BreakerState | undefined,
    holder: string,
    leaseMs: number,
  ): Promise<BreakerGate> {
    if (seen?.state !== "open") return { kind: "pass", probe: false, seen };
    const now = this.now();
    const interval = this.settings().probeIntervalMs;
    const due = seen.nextProbeAt ?? 0;
    const leased = (seen.probeUntil ?? 0) > now;
    if (due > now || leased) return { kind: "wait", retryAt: Math.max(due, seen.probeUntil ?? 0, now), seen };
    const probing = await this.updateIf(system, {
      UpdateExpression: "SET probeOwner = :owner, probeUntil = :until, nextProbeAt = :next ADD probes :one",
      // Two workers racing for one due probe both send this update; DynamoDB applies them one after
      // the other, and the second finds nextProbeAt moved on: exactly one probes.
      ConditionExpression:
        "#s = :open AND (attribute_not_exists(nextProbeAt) OR nextProbeAt <= :now) AND (attribute_not_exists(probeUntil) OR probeUntil <= :now)",
      ExpressionAttributeNames: { "#s": "state" },
      ExpressionAttributeValues: {
        ":owner": holder,
        ":until": now + leaseMs,
        ":next": now + interval,
        ":one": 1,
        ":open": "open",
        ":now": now,
      },
    });
    return probing ? { kind: "pass", probe: true, seen } : { kind: "wait", retryAt: now + interval, seen };
  }

  /**
   * Counts an outage failure of `system`; opens its breaker once `failureThreshold` come in a row.
   * A failed probe gives its lease back (the next probe still waits for `nextProbeAt`). Returns the
   * breaker as it now is.
   */
  async failed(system: string): Promise<BreakerState> {
    this.healthyUntil.delete(system);
    const now = this.now();
    const { failureThreshold, probeIntervalMs } = this.settings();
    const after = await this.update(system, {
      UpdateExpression:
        "SET kind = :kind, #sys = :system, lastFailureAt = :now, #s = if_not_exists(#s, :closed) ADD failures :one REMOVE probeUntil, probeOwner",
      ExpressionAttributeNames: { "#s": "state", "#sys": "system" },
      ExpressionAttributeValues: {
        ":kind": "breaker",
        ":system": system,
        ":now": now,
        ":closed": "closed",
        ":one": 1,
      },
      ReturnValues: "ALL_NEW",
    });
    const state = toState(after) ?? { system, state: "closed", failures: 1 };
    if (state.state === "open" || state.failures < failureThreshold) return state;
    const opened = await this.updateIf(system, {
      UpdateExpression:
        "SET #s = :open, openedAt = :now, nextProbeAt = :next, probes = :zero, waiting = :zero",
      ConditionExpression: "#s = :closed",
      ExpressionAttributeNames: { "#s": "state" },
      ExpressionAttributeValues: {
        ":open": "open",
        ":closed": "closed",
        ":now": now,
        ":next": now + probeIntervalMs,
        ":zero": 0,
      },
    });
    // Not opened here: another failure opened it first.
    return opened
      ? { ...state, state: "open", openedAt: now, nextProbeAt: now + probeIntervalMs, probes: 0 }
      : { ...state, state: "open" };
  }

  /**
   * The system answered: clears its failures and closes its breaker. Only written when `seen` shows
   * something to clear, so a healthy system costs no write.
   */
  async answered(system: string, seen: BreakerState | undefined): Promise<void> {
    this.trust(system, this.now());
    if (!seen || (seen.state === "closed" && seen.failures === 0)) return;
    await this.update(system, {
      UpdateExpression:
        "SET #s = :closed, failures = :zero, closedAt = :now REMOVE openedAt, nextProbeAt, probeUntil, probeOwner",
      ExpressionAttributeNames: { "#s": "state" },
      ExpressionAttributeValues: { ":closed": "closed", ":zero": 0, ":now": this.now() },
    });
  }

  /**
   * Counts a job that starts waiting behind the breaker opened at `openedAt` (each job once per
   * opening: the job remembers which opening it counted itself under): the status page's jobs waiting.
   */
  async held(system: string, openedAt: number): Promise<void> {
    // Not counted when the breaker has closed or opened again since.
    await this.updateIf(system, {
      UpdateExpression: "ADD waiting :one",
      ConditionExpression: "#s = :open AND openedAt = :opened",
      ExpressionAttributeNames: { "#s": "state" },
      ExpressionAttributeValues: { ":one": 1, ":open": "open", ":opened": openedAt },
    });
  }

  /** One update of `system`'s breaker item; the item's attributes after it, when asked for. */
  private async update(system: string, input: BreakerUpdate): Promise<Record<string, unknown> | undefined> {
    const out = await this.db.send(
      new UpdateCommand({ TableName: this.table, Key: { pk: breakerKey(system) }, ...input }),
    );
    return out.Attributes;
  }

  /** A conditional update of `system`'s breaker item: false when its condition did not hold. */
  private async updateIf(
    system: string,
    input: BreakerUpdate & { ConditionExpression: string },
  ): Promise<boolean> {
    try {
      await this.update(system, input);
      return true;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      return false;
    }
  }

  private trust(system: string, now: number): void {
    const trustMs = this.settings().trustHealthyMs ?? 0;
    if (trustMs > 0) this.healthyUntil.set(system, now + trustMs);
  }
}

function toState(item: Record<string, unknown> | undefined): BreakerState | undefined {
  if (!item || typeof item.system !== "string") return undefined;
  const number = (value: unknown) => (typeof value === "number" ? value : undefined);
  const state: BreakerState = {
    system: item.system,
    state: item.state === "open" ? "open" : "closed",
    failures: number(item.failures) ?? 0,
  };
  for (const key of [
    "openedAt",
    "lastFailureAt",
    "nextProbeAt",
    "probeUntil",
    "probes",
    "closedAt",
    "waiting",
  ] as const) {
    const value = number(item[key]);
    if (value !== undefined) state[key] = value;
  }
  return state;
}
