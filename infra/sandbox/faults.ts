import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

/** What a fake can do instead of answering normally; every fake supports these. */
export type NetworkFault =
  | { kind: "status"; status: number; body?: unknown; headers?: Record<string, string> } // answer this instead
  | { kind: "reset" } // destroy the socket without answering (connection reset)
  | { kind: "hang" } // never answer (until close())
  | { kind: "delay"; ms: number } // answer normally after ms
  | { kind: "drop-response" } // the next matching request that succeeds does its work, then goes unanswered
  /**
   * Like drop-response (the next matching request that succeeds does its work, then its socket is
   * destroyed), and `onServed()` runs right after the work, before the socket is destroyed: a test
   * uses it to kill the process that made the call, as if the caller crashed once the work was done.
   */
  | { kind: "crash"; onServed: () => void };

/** A fault that changes the answer rather than the connection: what `answer` gets to see. */
export type AnswerFault<F extends { kind: string }> = Exclude<
  F,
  { kind: "reset" } | { kind: "hang" } | { kind: "delay" } | { kind: "drop-response" } | { kind: "crash" }
>;

/** How a plan starts: `after` matching calls go through untouched first (default 0). */
export interface FaultPlanOptions {
  /** Matching calls the plan lets through before applying its fault; "only the Nth call" is `after: N - 1`. */
  after?: number;
}

/**
 * Seeded random faults: every matching call (all calls without `match`) that no plan takes gets, with
 * probability `rate`, one of `faults`; the same seed gives the same decisions, call after call.
 */
export interface FaultChaos<F, M> {
  seed: number;
  rate: number; // 0 never, 1 always
  faults: F[];
  match?: M;
}

/** The faults applied so far, plans and chaos alike, by their `kind`. */
export interface FaultCounts {
  total: number;
  byKind: Record<string, number>;
}

interface Plan<F, M> {
  skip: number; // matching calls still to let through
  remaining: number;
  fault: F;
  match: M;
}

/** A fault chosen for one call: from a plan (consumed when applied) or from chaos. */
interface Chosen<F, M> {
  fault: F;
  plan?: Plan<F, M>;
}

/**
 * The fault plans of one fake (`failNext(times, fault, match, { after })`) and its chaos, and the order
 * every fake applies them in: connection faults before the body is read, answer faults instead of the
 * real answer, and a lost answer (drop-response, crash) only after work the system really did (a
 * refused request leaves that plan waiting).
 *
 * For each call, every matching plan still in its `after` window counts the call and lets it through;
 * the first matching plan past its window takes the call; a call no plan takes goes to chaos.
 */
export class FaultPlans<F extends { kind: string }, M, C extends { status: number }> {
  #plans: Plan<F, M>[] = [];
  #chaos: { random: () => number; rate: number; faults: F[]; match?: M } | undefined;
  #counts = new Map<string, number>();

  constructor(private readonly matches: (match: M, call: C) => boolean) {}

  /** The `times` matching calls after the first `options.after` ones get `fault`. */
  add(times: number, fault: F, match: M, options: FaultPlanOptions = {}): void {
    const after = options.after ?? 0;
    if (!Number.isInteger(after) || after < 0) {
      throw new RangeError(`after must be a non-negative integer, got ${after}`);
    }
    if (times > 0) this.#plans.push({ skip: after, remaining: times, fault, match });
  }

  /** Turns seeded random faults on (a fresh generator from `seed`), or off with undefined. */
  setChaos(chaos: FaultChaos<F, M> | undefined): void {
    if (!chaos) {
      this.#chaos = undefined;
      return;
    }
    if (!(chaos.rate >= 0 && chaos.rate <= 1))
      throw new RangeError(`rate must be in [0, 1], got ${chaos.rate}`);
    if (chaos.rate > 0 && chaos.faults.length === 0) throw new RangeError("chaos needs at least one fault");
    this.#chaos = {
      random: mulberry32(chaos.seed),
      rate: chaos.rate,
      faults: [...chaos.faults],
      ...(chaos.match === undefined ? {} : { match: chaos.match }),
    };
  }

  /** How many faults were applied since the last clear(), by kind. */
  injected(): FaultCounts {
    let total = 0;
    for (const count of this.#counts.values()) total += count;
    return { total, byKind: Object.fromEntries(this.#counts) };
  }

  /** Forgets the plans, the chaos and the counters. */
  clear(): void {
    this.#plans = [];
    this.#chaos = undefined;
    this.#counts.clear();
  }

  /**
   * Reads the request and returns the reply to send, or undefined when the fault leaves the request
   * unanswered (the socket destroyed, or left hanging). `call.status` is set to what was answered.
   */
  async serve<R extends { status: number }>(
    req: IncomingMessage,
    call: C,
    /** `bytes`: the body as received, for a binary upload. */
    answer: (raw: string, fault: AnswerFault<F> | undefined, bytes: Buffer) => R,
    succeeded: (reply: R) => boolean = (reply) => reply.status < 300,
  ): Promise<R | undefined> {
    const chosen = this.#choose(call);
    const afterWork = chosen && losesAnswer(chosen.fault) ? chosen : undefined;
    const fault = chosen && !afterWork ? this.#apply(chosen) : undefined;
    if (fault?.kind === "reset") return void req.socket.destroy();
    if (fault?.kind === "hang") return undefined; // close() destroys the socket
    const bytes = await readBodyBytes(req);
    const raw = bytes.toString("utf8");
    if (fault?.kind === "delay") {
      const { ms } = fault as unknown as { ms: number };
      await new Promise((resolve) => setTimeout(resolve, ms).unref());
    }
    const changesAnswer = fault && fault.kind !== "delay";
    const reply = answer(raw, changesAnswer ? (fault as AnswerFault<F>) : undefined, bytes);
    if (afterWork && succeeded(reply)) {
      const lost = this.#apply(afterWork);
      try {
        if (isCrash(lost)) lost.onServed();
      } finally {
        req.socket.destroy();
      }
      return undefined;
    }
    call.status = reply.status;
    return reply;
  }

  /** The plans count the call; the first one past its `after` window takes it, else chaos may. */
  #choose(call: C): Chosen<F, M> | undefined {
    let taken: Plan<F, M> | undefined;
    for (const plan of this.#plans) {
      if (!this.matches(plan.match, call)) continue;
      if (plan.skip > 0) plan.skip -= 1;
      else taken ??= plan;
    }
    if (taken) return { fault: taken.fault, plan: taken };
    const chaos = this.#chaos;
    if (!chaos || (chaos.match !== undefined && !this.matches(chaos.match, call))) return undefined;
    if (chaos.random() >= chaos.rate) return undefined;
    const fault = chaos.faults[Math.floor(chaos.random() * chaos.faults.length)];
    return fault ? { fault } : undefined;
  }

  /** Consumes one use of the plan (if any) and counts the fault as injected. */
  #apply({ fault, plan }: Chosen<F, M>): F {
    if (plan) {
      plan.remaining -= 1;
      if (plan.remaining <= 0) this.#plans = this.#plans.filter((p) => p !== plan);
    }
    this.#counts.set(fault.kind, (this.#counts.get(fault.kind) ?? 0) + 1);
    return fault;
  }
}

/** Faults that let the work happen and lose its answer. */
function losesAnswer(fault: { kind: string }): boolean {
  return fault.kind === "drop-response" || fault.kind === "crash";
}

function isCrash(fault: { kind: string }): fault is { kind: "crash"; onServed: () => void } {
  return fault.kind === "crash" && typeof (fault as { onServed?: unknown }).onServed === "function";
}

/** mulberry32: a tiny seeded PRNG returning numbers in [0, 1); the same seed, the same sequence. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A path matcher as the fakes' `failNext` takes it: exact string or regular expression. */
export function methodAndPath(
  match: { method?: string; path?: string | RegExp },
  call: { method: string; path: string },
): boolean {
  if (match.method !== undefined && match.method !== call.method) return false;
  const { path } = match;
  return path === undefined || (typeof path === "string" ? path === call.path : path.test(call.path));
}

/** The whole request body as UTF-8 text ("" when the request fails). */
export async function readBody(req: IncomingMessage): Promise<string> {
  return (await readBodyBytes(req)).toString("utf8");
}

/** The whole request body as bytes (empty when the request fails). */
export function readBodyBytes(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", () => resolve(Buffer.alloc(0)));
  });
}

export interface FakeServer {
  port: number;
  /**
   * The most requests in flight at once since start or resetInFlight(): a request counts from its
   * arrival until its answer is ended (before a byte of it leaves) or its socket closes (reset, hang).
   */
  readonly maxInFlight: number;
  /** Starts maxInFlight again from the requests in flight now. */
  resetInFlight(): void;
  /** Destroys open connections (hanging requests included) and stops listening. */
  close(): Promise<void>;
}

/** Serves `handle` on 127.0.0.1; a handler that throws answers what `onError` sends. */
export async function listen(
  port: number | undefined,
  handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
  onError: (res: ServerResponse, error: unknown) => void,
): Promise<FakeServer> {
  const sockets = new Set<Socket>();
  let inFlight = 0;
  let maxInFlight = 0;
  const server = createServer((req, res) => {
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    let counted = true;
    const done = () => {
      if (counted) inFlight -= 1;
      counted = false;
    };
    // Done when the answer is ended, not when it has left: a caller that makes its next call once it
    // has this answer never overlaps with it here.
    const end = res.end as (...args: unknown[]) => ServerResponse;
    res.end = ((...args: unknown[]) => {
      done();
      return end.apply(res, args);
    }) as ServerResponse["end"];
    res.on("close", done);
    handle(req, res).catch((error: unknown) => onError(res, error));
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port ?? 0, "127.0.0.1", () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    get maxInFlight() {
      return maxInFlight;
    },
    resetInFlight: () => {
      maxInFlight = inFlight;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
