import type { Logger } from "@aws-lambda-powertools/logger";
import type { Config } from "../core/config-schema.ts";
import { type BridgeError, UpstreamError } from "../core/errors.ts";
import { emitMetric, METRIC } from "../core/metrics.ts";
import type { BreakerSettings, BreakerState, SystemBreakers } from "../links/system-breakers.ts";
import type { JobMessage } from "./model.ts";
import { isOutage, scaledDelaySeconds, scaledMs } from "./outage.ts";
import type { SystemCapsDeps } from "./system-caps.ts";

/** The breaker's settings from the config's `jobs`, in real milliseconds (divided by `timeScale`). */
export function breakerSettings(jobs: Pick<Config["jobs"], "breaker" | "timeScale">): BreakerSettings {
  return {
    failureThreshold: jobs.breaker.failureThreshold,
    probeIntervalMs: scaledMs(jobs.breaker.probeIntervalSeconds * 1000, jobs.timeScale),
    trustHealthyMs: scaledMs(jobs.breaker.trustHealthySeconds * 1000, jobs.timeScale),
  };
}

/**
 * How long a job held by an open breaker sleeps on the queue: `waitSeconds` of the jobs' clock,
 * jittered (±20 %) so that the held jobs wake spread out and a probe finds one of them due, and
 * shorter the longer the job has waited (`waitedShare`: its outage so far as a share of the horizon,
 * down to half): once the system is back, the older jobs tend to wake, and so to run, first. SQS
 * promises no order; this is a bias, not a guarantee.
 */
export function breakerWaitSeconds(
  jobs: Pick<Config["jobs"], "breaker" | "timeScale">,
  waitedShare = 0,
  random: () => number = Math.random,
): number {
  const age = 1 - 0.5 * Math.min(1, Math.max(0, waitedShare));
  return scaledDelaySeconds(jobs.breaker.waitSeconds * age * (0.8 + random() * 0.4), jobs.timeScale);
}

/** A job may run: tell the breakers how its run went with `report` (undefined: it succeeded). */
export interface BreakersPassed {
  kind: "pass";
  /** The systems this run probes (their breakers were open). */
  probes: readonly string[];
  report(error: BridgeError | undefined): Promise<void>;
}

/** A job must wait: `system`'s breaker is open (since `openedAt`, epoch ms) and this job is not its probe. */
export interface BreakerHeld {
  kind: "wait";
  system: string;
  openedAt: number;
}

/**
 * The `SystemDown` metric (dimension `system`, lib/core/metrics.ts) with its log line: 1 each time the
 * system's breaker opens or holds a job, 0 when it closes. An alarm on its maximum over 5 minutes says
 * a system is down while jobs wait for it.
 */
export function logSystemDown(log: Logger, system: string, down: 0 | 1, message: string, extra = {}): void {
  log[down ? "warn" : "info"](message, { ...extra, system });
  emitMetric({ name: METRIC.systemDown, unit: "Count", value: down, dimensions: { system } });
}

const passAll: BreakersPassed = { kind: "pass", probes: [], report: async () => {} };

/**
 * Checks the breakers of the systems a job calls (`JobHandler.systems`, as the caps name them) before
 * it runs: it waits when one of them is open and no probe is due, else it runs, as the probe of each
 * open one whose probe lease it took (held `leaseMs`). Then `report` counts an outage against the
 * system it names, and closes the breakers of the systems that answered (a success, or a refusal: the
 * system answered). Reports that fail to be written are logged: a breaker is advice, the job's outcome
 * is what matters.
 */
export async function checkBreakers(
  caps: SystemCapsDeps | undefined,
  job: JobMessage,
  leaseMs: number,
  log: Logger,
): Promise<BreakersPassed | BreakerHeld> {
  const breakers = caps?.breakers;
  const systems = breakers ? (caps?.capFor(job) ?? []).map((cap) => cap.system) : [];
  if (!breakers || systems.length === 0) return passAll;
  const seen = await breakers.current(systems);
  // Open and not yet due: wait, before taking any probe lease (a lease taken for nothing blocks probes).
  const now = Date.now();
  for (const state of seen.values()) {
    if (state.state === "open" && ((state.nextProbeAt ?? 0) > now || (state.probeUntil ?? 0) > now)) {
      return { kind: "wait", system: state.system, openedAt: state.openedAt ?? now };
    }
  }
  const probes: string[] = [];
  for (const system of systems) {
    const gate = await breakers.gate(system, seen.get(system), job.id, leaseMs);
    if (gate.kind === "wait") return { kind: "wait", system, openedAt: gate.seen.openedAt ?? now };
    if (gate.probe) probes.push(system);
  }
  if (probes.length > 0) log.info("job probes systems whose breaker is open", { systems: probes });
  return {
    kind: "pass",
    probes,
    report: (error) => reportRun(breakers, systems, seen, error, log),
  };
}

async function reportRun(
  breakers: SystemBreakers,
  systems: readonly string[],
  seen: ReadonlyMap<string, BreakerState>,
  error: BridgeError | undefined,
  log: Logger,
): Promise<void> {
  try {
    if (!error) {
      await Promise.all(systems.map((system) => breakers.answered(system, seen.get(system))));
      for (const system of systems.filter((s) => seen.get(s)?.state === "open")) {
        logSystemDown(log, system, 0, "breaker closed: the system answers again");
      }
      return;
    }
    if (!(error instanceof UpstreamError) || !systems.includes(error.upstream.system)) return;
    const system = error.upstream.system;
    if (isOutage(error)) {
      const state = await breakers.failed(system);
      if (state.state === "open" && seen.get(system)?.state !== "open") {
        logSystemDown(log, system, 1, "breaker opened: the system keeps failing", {
          failures: state.failures,
        });
      }
    } else {
      await breakers.answered(system, seen.get(system));
    }
  } catch (thrown) {
    log.warn("could not update a system's breaker", { reason: (thrown as Error).message });
  }
}

/** One external system instance as the status page and the CLI show it. */
export interface SystemStatus {
  /** `glpi:main`. */
  system: string;
  /** up: no outage seen since its last success; failing: outages in a row, breaker still closed; down: breaker open. */
  state: "up" | "failing" | "down";
  /** Outage failures since its last success. */
  failures: number;
  /** While down: when its breaker opened. */
  downSince?: string;
  /** While down: the jobs held on the queue for it since its breaker opened (each counted once). */
  jobsWaiting?: number;
  /** While down: probes made since it went down, and when the next one may start. */
  probes?: number;
  nextProbeAt?: string;
  /** When its breaker last closed after an outage. */
  upSince?: string;
}

/** Every configured system instance (`systems.<system>.<instance>`), as `system:instance`. */
export function configuredSystems(config: Pick<Config, "systems">): string[] {
  return Object.entries(config.systems).flatMap(([system, instances]) =>
    Object.keys(instances ?? {}).map((instance) => `${system}:${instance}`),
  );
}

/** The state of each configured system's breaker: one consistent BatchGetItem. */
export async function systemStatuses(
  breakers: Pick<SystemBreakers, "read">,
  systems: readonly string[],
): Promise<SystemStatus[]> {
  const seen = await breakers.read(systems);
  const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
  return systems.map((system) => {
    const state = seen.get(system);
    if (!state) return { system, state: "up", failures: 0 };
    const view: SystemStatus = {
      system,
      state: state.state === "open" ? "down" : state.failures > 0 ? "failing" : "up",
      failures: state.failures,
    };
    if (state.state === "open") {
      view.downSince = iso(state.openedAt);
      view.jobsWaiting = state.waiting ?? 0;
      view.probes = state.probes ?? 0;
      view.nextProbeAt = iso(state.nextProbeAt);
    } else if (state.closedAt !== undefined) {
      view.upSince = iso(state.closedAt);
    }
    return view;
  });
}
