import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "@aws-lambda-powertools/logger";
import type { Context } from "aws-lambda";
import * as v from "valibot";
import { getConfig } from "../core/config.ts";
import { DEFAULT_MAX_CONCURRENT_CALLS } from "../core/config-schema.ts";
import { UpstreamRetryableError } from "../core/errors.ts";
import type { SystemBreakers } from "../links/system-breakers.ts";
import { type SlotHold, type SystemCap, type SystemSlots, slotCount } from "../links/system-slots.ts";
import type { JobHandler, JobMessage, SystemUse } from "./model.ts";
import { jobRuntime } from "./runtime.ts";

/**
 * Time a slot's lease outlives its holder's deadline: a holder's clock may run behind the next
 * taker's. A holder that dies frees its slots this long after its deadline.
 */
export const LEASE_MARGIN_MS = 10_000;

/**
 * How long a worker's job waits in place for a slot that another function holds, at most, before it
 * goes back on the queue: about as long as the queue's wait would have been (1–3 s).
 */
export const SLOT_WAIT_MS = 3000;

/**
 * Caps on the external systems the worker and the routes call (createWorker's and runInline's
 * `systemCaps`). A job holds one slot of each system its handler names (`JobHandler.systems`) for its
 * whole run. In the worker, the jobs of one batch take turns at each system first (`BatchTurns`: no
 * more of them try a system than its cap at once), then wait in place a little for a slot another
 * function holds (`waitForSlots`); only then does a job wait on the queue, which is no failed attempt.
 *
 * Cost: 2 extra DynamoDB writes per capped system per run (a conditional put to take the slot, a
 * delete to give it back): a job that calls RT and Kanboard pays 4. A job that finds a system at its
 * cap pays one failed put and one BatchGetItem of that system's slots per try, and one SQS message when
 * it goes back on the queue.
 */
export interface SystemCapsDeps {
  slots: SystemSlots;
  /** The systems a job calls, with their caps; none: the job runs uncapped. */
  capFor(job: JobMessage): readonly SystemCap[];
  /** The delay before a job that found no free slot runs again (default: 1–3 s, jittered). */
  waitSeconds?: () => number;
  /** How long a worker's job waits in place for a slot other functions hold (default SLOT_WAIT_MS). */
  slotWaitMs?: number;
  /**
   * The breakers of the same systems (lib/jobs/breakers.ts): a job whose system's breaker is open waits
   * on the queue before it takes any slot; left out, jobs never wait for a breaker.
   */
  breakers?: SystemBreakers | undefined;
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

/** A give-back that runs once; later calls get the first call's promise. */
export function once(run: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => {
    done ??= run();
    return done;
  };
}

/** Gives the slots back; a failure is only logged: the leases run out by themselves. */
export async function releaseSlots(
  caps: Pick<SystemCapsDeps, "slots"> | undefined,
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
 * One worker invocation's turns at each capped system: at most a system's cap of the batch's jobs try
 * it at once; the others wait in this process for a turn, which costs nothing (no DynamoDB read, no
 * SQS message, no attempt). Without turns, a batch of 10 against a cap of 4 would race itself for the
 * slots and send 6 jobs back to the queue every time. A job takes its turns at all its systems at once
 * or waits for all of them, so two jobs never each hold a turn the other needs; a turn given back goes
 * to the first waiting jobs that fit. Turns only keep the batch from racing itself: the slots
 * (SystemSlots) still hold the cap across functions and containers.
 */
export class BatchTurns {
  private readonly inUse = new Map<string, number>();
  private readonly waiting: Array<{ caps: readonly SystemCap[]; grant: () => void }> = [];

  /**
   * Takes a turn at each of `caps`, waiting for them until `until` (epoch ms): undefined once taken,
   * or the system that still had no free turn when the wait ended.
   */
  take(caps: readonly SystemCap[], until: number): Promise<string | undefined> {
    if (this.fits(caps)) {
      this.use(caps, 1);
      return Promise.resolve(undefined);
    }
    return new Promise((resolve) => {
      const entry = {
        caps,
        grant: () => {
          clearTimeout(timer);
          resolve(undefined);
        },
      };
      const timer = setTimeout(
        () => {
          this.waiting.splice(this.waiting.indexOf(entry), 1);
          resolve(caps.find((cap) => !this.fits([cap]))?.system ?? caps[0]?.system);
        },
        Math.max(0, until - Date.now()),
      );
      this.waiting.push(entry);
    });
  }

  /** Gives back the turns taken at `caps`, and hands them on to the waiting jobs that now fit. */
  give(caps: readonly SystemCap[]): void {
    this.use(caps, -1);
    for (let index = 0; index < this.waiting.length; ) {
      const entry = this.waiting[index];
      if (entry && this.fits(entry.caps)) {
        this.waiting.splice(index, 1);
        this.use(entry.caps, 1);
        entry.grant();
      } else {
        index += 1;
      }
    }
  }

  private fits(caps: readonly SystemCap[]): boolean {
    return caps.every((cap) => (this.inUse.get(cap.system) ?? 0) < slotCount(cap));
  }

  private use(caps: readonly SystemCap[], step: 1 | -1): void {
    for (const cap of caps) this.inUse.set(cap.system, (this.inUse.get(cap.system) ?? 0) + step);
  }
}

/**
 * A worker job's slots, given back by `release` (once, however often it is called), or the system it
 * found full until it stopped waiting.
 */
export type SlotsTaken = { kind: "held"; release: () => Promise<void> } | { kind: "busy"; system: string };

/**
 * Takes a worker job's slots: its turns in the batch first (BatchTurns), then the slots. While other
 * functions hold every slot of a system, the job tries again in place, 100 ms apart doubling to 1 s,
 * jittered (so waiting jobs of several containers spread out), for up to `slotWaitMs`: a slot held by
 * a job that is about to finish is then taken without the 1–3 s round trip through the queue. The
 * wait never runs past `until` (epoch ms), so the job keeps time to run; past it the job is `busy`
 * and goes back on the queue. Each try's lease is `leaseMs()`, measured when it is taken.
 */
export async function waitForSlots(
  caps: SystemCapsDeps | undefined,
  turns: BatchTurns,
  job: JobMessage,
  options: { leaseMs: () => number; until: number; log: Logger },
): Promise<SlotsTaken> {
  const wanted = caps?.capFor(job) ?? [];
  if (!caps || wanted.length === 0) return { kind: "held", release: async () => {} };
  const full = await turns.take(wanted, options.until);
  if (full !== undefined) return { kind: "busy", system: full };
  try {
    const giveUpAt = Math.min(options.until, Date.now() + (caps.slotWaitMs ?? SLOT_WAIT_MS));
    for (let pause = 100; ; pause = Math.min(1000, pause * 2)) {
      const outcome = await caps.slots.acquire(wanted, job.id, options.leaseMs());
      if (outcome.kind === "held") {
        return {
          kind: "held",
          // The slots first: the next job of the batch must not find them still held by this one.
          release: once(() =>
            releaseSlots(caps, outcome.hold, options.log).finally(() => turns.give(wanted)),
          ),
        };
      }
      const nap = Math.round(pause * (0.5 + Math.random()));
      if (Date.now() + nap > giveUpAt) {
        turns.give(wanted);
        return { kind: "busy", system: outcome.system };
      }
      await sleep(nap);
    }
  } catch (error) {
    turns.give(wanted);
    throw error;
  }
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
        await releaseSlots({ slots }, outcome.hold, log);
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
