import type { Logger } from "@aws-lambda-powertools/logger";
import { BatchGetCommand, type DynamoDBDocumentClient, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import * as v from "valibot";
import { emitMetric, METRIC, type MetricName } from "../core/metrics.ts";

/**
 * An integration, named as its job types are prefixed (`otrs-redmine.ticket`). The counters take any
 * id: the registry (lib/sync/registry.ts, a layer above) says which integrations exist, and the reader
 * passes their ids to `windows`.
 */
export type IntegrationId = string;

/** Counted per integration, per time bucket. */
export const COUNTERS = ["received", "succeeded", "retrying", "deadLettered"] as const;
export type Counter = (typeof COUNTERS)[number];
export type WindowCounts = Record<Counter, number>;
/** Each counter's CloudWatch metric (lib/core/metrics.ts). */
const COUNTER_METRICS = {
  received: METRIC.received,
  succeeded: METRIC.synced,
  retrying: METRIC.retried,
  deadLettered: METRIC.deadLettered,
} as const satisfies Record<Counter, MetricName>;

/** What the counters say of one integration, read from its hour items. */
export interface IntegrationWindows {
  lastHour: WindowCounts;
  lastDay: WindowCounts;
  lastSuccess?: { at: string; jobId: string; type: string };
  lastFailure?: { at: string; jobId: string; type: string; code: string; reason: string };
}

/** Hour items live long enough for "last day" and a margin; DynamoDB's TTL then drops them. */
const TTL_SECONDS = 3 * 86400;
const SLOT_MINUTES = 5;
const HOUR_MS = 3600_000;
/** A failure's reason is what the job's error said, cut to keep the item small. */
const REASON_LIMIT = 500;
/** BatchGetItem takes at most 100 keys per call. */
const BATCH_KEYS = 100;

/** The integration a job type belongs to (`otrs-redmine.ticket` → `otrs-redmine`). */
export function integrationOf(jobType: string): IntegrationId {
  return jobType.split(".")[0] || "unknown";
}

/** The job an event is about: enough to name it on the status page. */
export interface CountedJob {
  id: string;
  type: string;
}

/** Why an attempt failed, as the job's BridgeError said it. */
export interface FailureReason {
  code: string;
  message: string;
}

const SuccessSchema = v.object({ at: v.string(), jobId: v.string(), type: v.string() });
const FailureSchema = v.object({
  at: v.string(),
  jobId: v.string(),
  type: v.string(),
  code: v.string(),
  reason: v.string(),
});
const HourItemSchema = v.object({
  integration: v.string(),
  hour: v.string(),
  lastSuccess: v.optional(SuccessSchema),
  lastFailure: v.optional(FailureSchema),
});

/**
 * Per-integration job counters in the links table, one item per integration and hour
 * (`stats#<integration>#<YYYY-MM-DDTHH>`), each holding the hour's totals and one attribute per
 * 5-minute slot (`received_05` …), so that "the last hour" is a sliding window read from two items
 * and "the last day" the totals of 24. Every counted event is one UpdateItem (ADD the total and the
 * slot; a success or failure also SETs `lastSuccess`/`lastFailure` on the same item), so counting
 * never reads first and concurrent writers never lose an increment.
 *
 * Counting is an aside: a write that fails is logged as a warning and forgotten, never a reason to
 * fail or retry the job it counts.
 */
export class JobStats {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly options: { logger?: Logger; now?: () => Date } = {},
  ) {}

  /**
   * Counts one event of a job, under one counter or several (`["received", "succeeded"]`: an event and
   * its outcome, still one write). `failure` (a retry, a dead letter, a refusal) is kept as the
   * integration's last failure, and `succeeded` keeps the job as its last success. Never throws.
   */
  async record(
    counters: Counter | readonly Counter[],
    job: CountedJob,
    failure?: FailureReason,
  ): Promise<void> {
    const integration = integrationOf(job.type);
    if (integration === "unknown") return;
    const list: readonly Counter[] = typeof counters === "string" ? [counters] : counters;
    if (list.length === 0) return;
    const at = this.now();
    const { adds, names } = counted(list, integration, at, ":one");
    names["#ttl"] = "ttl";
    const values: Record<string, unknown> = {
      ":one": 1,
      ":kind": "stats",
      ":i": integration,
      ":h": hourOf(at),
      ":ttl": Math.floor(at.getTime() / 1000) + TTL_SECONDS,
    };
    let set = "kind = :kind, integration = :i, #hour = :h, #ttl = :ttl";
    names["#hour"] = "hour";
    if (list.includes("succeeded")) {
      set += ", lastSuccess = :last";
      values[":last"] = { at: at.toISOString(), jobId: job.id, type: job.type };
    } else if (failure) {
      set += ", lastFailure = :last";
      values[":last"] = failureOf(job, failure, at);
    }
    await this.update(integration, at, `ADD ${adds} SET ${set}`, names, values);
  }

  /**
   * Takes back one event counted under `counters` (ADD −1, the same slot as now): a success counted
   * while the job's last write was still in flight (`runInline`), when that write then failed. The
   * last success it named stays. Never throws.
   */
  async retract(counters: readonly Counter[], job: CountedJob): Promise<void> {
    const integration = integrationOf(job.type);
    if (integration === "unknown" || counters.length === 0) return;
    const at = this.now();
    const { adds, names } = counted(counters, integration, at, ":minus");
    await this.update(integration, at, `ADD ${adds}`, names, { ":minus": -1 });
  }

  /**
   * The counts of the last hour (the 5-minute slots starting less than an hour before `now`'s slot
   * ends, from this hour's and the previous hour's items) and of the last 24 hours (the totals of the
   * current hour and the 23 before it), with the newest success and failure found in those items.
   */
  async windows(
    now: Date = this.now(),
    integrations: readonly IntegrationId[],
  ): Promise<Map<IntegrationId, IntegrationWindows>> {
    const hours = Array.from({ length: 24 }, (_, i) => hourOf(new Date(now.getTime() - i * HOUR_MS)));
    const keys = integrations.flatMap((integration) => hours.map((hour) => ({ pk: pk(integration, hour) })));
    const items = await this.batchGet(keys);
    const hourStart = hourOf(now);
    const previousHour = hours[1] ?? hourStart;
    // The slot now falls in, and the 11 before it: 12 × 5 minutes.
    const currentSlot = Math.floor(now.getUTCMinutes() / SLOT_MINUTES);
    const result = new Map<IntegrationId, IntegrationWindows>();
    for (const integration of integrations) {
      result.set(integration, { lastHour: zeroCounts(), lastDay: zeroCounts() });
    }
    for (const raw of items) {
      const parsed = v.safeParse(HourItemSchema, raw);
      if (!parsed.success) continue;
      const item = parsed.output;
      const windows = result.get(item.integration);
      if (!windows) continue;
      for (const counter of COUNTERS) {
        windows.lastDay[counter] += numberOf(raw[counter]);
        for (let slot = 0; slot < 60 / SLOT_MINUTES; slot++) {
          const inWindow =
            (item.hour === hourStart && slot <= currentSlot) ||
            (item.hour === previousHour && slot > currentSlot);
          if (inWindow) windows.lastHour[counter] += numberOf(raw[slotName(counter, slot)]);
        }
      }
      if (item.lastSuccess && (!windows.lastSuccess || item.lastSuccess.at > windows.lastSuccess.at))
        windows.lastSuccess = item.lastSuccess;
      if (item.lastFailure && (!windows.lastFailure || item.lastFailure.at > windows.lastFailure.at))
        windows.lastFailure = item.lastFailure;
    }
    return result;
  }

  private now(): Date {
    return this.options.now?.() ?? new Date();
  }

  private async update(
    integration: IntegrationId,
    at: Date,
    expression: string,
    names: Record<string, string>,
    values: Record<string, unknown>,
  ): Promise<void> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: pk(integration, hourOf(at)) },
          UpdateExpression: expression,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
    } catch (error) {
      this.options.logger?.warn("could not count a job event", {
        integration,
        reason: (error as Error).message,
      });
    }
  }

  private async batchGet(keys: { pk: string }[]): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    for (let i = 0; i < keys.length; i += BATCH_KEYS) {
      let pending: { pk: string }[] = keys.slice(i, i + BATCH_KEYS);
      // DynamoDB may hand back part of a batch unprocessed under load; ask again for what is left.
      for (let round = 0; pending.length > 0 && round < 5; round++) {
        const out = await this.db.send(
          new BatchGetCommand({ RequestItems: { [this.table]: { Keys: pending } } }),
        );
        items.push(...(out.Responses?.[this.table] ?? []));
        pending = (out.UnprocessedKeys?.[this.table]?.Keys ?? []) as { pk: string }[];
      }
    }
    return items;
  }
}

const pk = (integration: IntegrationId, hour: string) => `stats#${integration}#${hour}`;

/**
 * Counts `counters` by the value named `value` (`:one`, or `:minus` to take back): the same as
 * CloudWatch metrics (embedded in the log, no API call: the alarms and the dashboard), and the ADD
 * clause of the hour item's update, each counter's total and its 5-minute slot.
 */
function counted(
  counters: readonly Counter[],
  integration: IntegrationId,
  at: Date,
  value: ":one" | ":minus",
): { adds: string; names: Record<string, string> } {
  const names: Record<string, string> = {};
  const adds: string[] = [];
  counters.forEach((counter, i) => {
    emitMetric({
      name: COUNTER_METRICS[counter],
      unit: "Count",
      value: value === ":one" ? 1 : -1,
      dimensions: { integration },
    });
    names[`#c${i}`] = counter;
    names[`#s${i}`] = slotAttribute(counter, at);
    adds.push(`#c${i} ${value}`, `#s${i} ${value}`);
  });
  return { adds: adds.join(", "), names };
}

/** `2026-01-02T13`: the UTC hour an instant falls in. */
function hourOf(at: Date): string {
  return at.toISOString().slice(0, 13);
}

function slotName(counter: Counter, slot: number): string {
  return `${counter}_${String(slot * SLOT_MINUTES).padStart(2, "0")}`;
}

function slotAttribute(counter: Counter, at: Date): string {
  return slotName(counter, Math.floor(at.getUTCMinutes() / SLOT_MINUTES));
}

function failureOf(job: CountedJob, failure: FailureReason, at: Date) {
  return {
    at: at.toISOString(),
    jobId: job.id,
    type: job.type,
    code: failure.code,
    reason: failure.message.slice(0, REASON_LIMIT),
  };
}

function zeroCounts(): Record<Counter, number> {
  return { received: 0, succeeded: 0, retrying: 0, deadLettered: 0 };
}

function numberOf(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) ? value : 0;
}
