import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "@aws-lambda-powertools/logger";
import type { Context } from "aws-lambda";
import * as v from "valibot";
import { getConfig } from "../core/config.ts";
import { DEFAULT_MAX_CONCURRENT_CALLS } from "../core/config-schema.ts";
import { UpstreamRetryableError } from "../core/errors.ts";
import type { SlotHold, SystemCap, SystemSlots } from "../links/system-slots.ts";
import type { JobHandler, JobMessage, SystemUse } from "./model.ts";
import { jobRuntime } from "./runtime.ts";

/**
 * Time a slot's lease outlives its holder's deadline: a holder's clock may run behind the next
 * taker's. A holder that dies frees its slots this long after its deadline.
 */
export const LEASE_MARGIN_MS = 10_000;

/**
 * Caps on the external systems the worker and the routes call (createWorker's and runInline's
 * `systemCaps`). A job holds one slot of each system its handler names (`JobHandler.systems`) for its
 * whole run; when one has no free slot, the job waits on the queue, which is no failed attempt.
 *
 * Cost: 2 extra DynamoDB writes per capped system per run (a conditional put to take the slot, a
 * delete to give it back): a job that calls RT and Kanboard pays 4. A job that finds a system at its
 * cap pays one failed put, one BatchGetItem of that system's slots and one SQS message per wait.
 */
export interface SystemCapsDeps {
  slots: SystemSlots;
  /** The systems a job calls, with their caps; none: the job runs uncapped. */
  capFor(job: JobMessage): readonly SystemCap[];
  /** The delay before a job that found no free slot runs again (default: 1–3 s, jittered). */
  waitSeconds?: () => number;
}

/** The wait of a job that found its system at its cap: short and jittered, so waiting jobs spread out. */
export function capWaitSeconds(random: () => number = Math.random): number {
  return 1 + Math.round(random() * 2);
}

type SystemsConfig = Record<string, Record<string, { maxConcurrentCalls?: number } | undefined> | undefined>;

/**
 * `capFor` from the handlers' `systems` and `systems.<system>.<instance>.maxConcurrentCalls` (a system
 * without an instance in the config, Rocket.Chat's incoming webhooks, gets the default). Two names of
 * one instance in a job (an iTop pair on one iTop) count once: its calls to it are still one at a time.
 */
export function capsFromHandlers(
  handlers: readonly JobHandler[],
  systems: () => unknown = () => getConfig().systems,
): (job: JobMessage) => readonly SystemCap[] {
  const byType = new Map(handlers.map((handler) => [handler.type, handler]));
  return (job) => {
    const handler = byType.get(job.type);
    if (!handler?.systems) return [];
    return capsOf(handler.systems(v.parse(handler.input, job.input)), systems);
  };
}

/** The caps of these system instances (`maxConcurrentCalls`, or the default); each instance once. */
export function capsOf(
  uses: readonly SystemUse[],
  systems: () => unknown = () => getConfig().systems,
): SystemCap[] {
  const config = systems() as SystemsConfig;
  const caps = new Map<string, number>();
  for (const { system, instance } of uses) {
    const max = config[system]?.[instance]?.maxConcurrentCalls ?? DEFAULT_MAX_CONCURRENT_CALLS;
    caps.set(`${system}:${instance}`, max);
  }
  return [...caps].map(([system, max]) => ({ system, max }));
}

/**
 * Takes the job's slots for `leaseMs`: the hold (undefined when the job is uncapped), or `busy` naming
 * the system with no free slot.
 */
export async function holdSlots(
  caps: SystemCapsDeps | undefined,
  job: JobMessage,
  leaseMs: number,
): Promise<{ hold?: SlotHold; busy?: string }> {
  const wanted = caps?.capFor(job) ?? [];
  if (!caps || wanted.length === 0) return {};
  const outcome = await caps.slots.acquire(wanted, job.id, leaseMs);
  return outcome.kind === "held" ? { hold: outcome.hold } : { busy: outcome.system };
}

/** Gives the slots back; a failure is only logged: the leases run out by themselves. */
export async function releaseSlots(
  caps: SystemCapsDeps | undefined,
  hold: SlotHold | undefined,
  log: Logger,
): Promise<void> {
  if (!caps || !hold) return;
  await caps.slots.release(hold).catch((error: unknown) => {
    log.warn("could not give back the system slots; their leases will run out", {
      reason: (error as Error).message,
    });
  });
}

/**
 * Runs `run` holding a slot of each of `wanted`, for a caller outside the queue that can wait in place
 * (the backfill tool, a scheduled poller): while a system is at its cap it tries again every second or
 * so; past `giveUpAt` (epoch ms) it gives up with an UpstreamRetryableError naming the system.
 */
export async function runHoldingSlots<T>(
  slots: SystemSlots,
  wanted: readonly SystemCap[],
  holder: string,
  leaseMs: number,
  run: () => Promise<T>,
  log: Logger,
  giveUpAt = Number.POSITIVE_INFINITY,
): Promise<T> {
  if (wanted.length === 0) return run();
  for (;;) {
    const outcome = await slots.acquire(wanted, holder, leaseMs);
    if (outcome.kind === "held") {
      try {
        return await run();
      } finally {
        await slots.release(outcome.hold).catch((error: unknown) => {
          log.warn("could not give back the system slots; their leases will run out", {
            reason: (error as Error).message,
          });
        });
      }
    }
    if (Date.now() >= giveUpAt) {
      throw new UpstreamRetryableError(
        { system: outcome.system },
        "the system is at its concurrent-call cap",
      );
    }
    await sleep(500 + Math.round(Math.random() * 1000));
  }
}

/**
 * Runs a scheduled function's work (a poller, the reconciler) holding a slot of each system instance
 * it calls, like a job; it waits for a slot up to half its remaining time, then fails this run (the
 * next scheduled one catches up from the cursor).
 */
export function runScheduled<T>(
  uses: readonly SystemUse[],
  name: string,
  context: Pick<Context, "getRemainingTimeInMillis"> | undefined,
  run: () => Promise<T>,
  log: Logger,
): Promise<T> {
  const remaining =
    typeof context?.getRemainingTimeInMillis === "function" ? context.getRemainingTimeInMillis() : 60_000;
  return runHoldingSlots(
    jobRuntime().slots,
    capsOf(uses),
    name,
    remaining + LEASE_MARGIN_MS,
    run,
    log,
    Date.now() + remaining / 2,
  );
}
