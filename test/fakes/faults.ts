import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

/** What a fake can do instead of answering normally; every fake supports these. */
export type NetworkFault =
  | { kind: "status"; status: number; body?: unknown; headers?: Record<string, string> } // answer this instead
  | { kind: "reset" } // destroy the socket without answering (connection reset)
  | { kind: "hang" } // never answer (until close())
  | { kind: "delay"; ms: number } // answer normally after ms
  | { kind: "drop-response" }; // the next matching request that succeeds does its work, then goes unanswered

/** A fault that changes the answer rather than the connection: what `answer` gets to see. */
export type AnswerFault<F extends { kind: string }> = Exclude<
  F,
  { kind: "reset" } | { kind: "hang" } | { kind: "delay" } | { kind: "drop-response" }
>;

interface Plan<F, M> {
  remaining: number;
  fault: F;
  match: M;
}

/**
 * The fault plans of one fake (`failNext(times, fault, match)`), and the order every fake applies them
 * in: connection faults before the body is read, answer faults instead of the real answer, and a lost
 * answer only after work the system really did (a refused request leaves that plan waiting).
 */
export class FaultPlans<F extends { kind: string }, M, C extends { status: number }> {
  #plans: Plan<F, M>[] = [];

  constructor(private readonly matches: (match: M, call: C) => boolean) {}

  add(times: number, fault: F, match: M): void {
    if (times > 0) this.#plans.push({ remaining: times, fault, match });
  }

  clear(): void {
    this.#plans = [];
  }

  /**
   * Reads the request and returns the reply to send, or undefined when the fault leaves the request
   * unanswered (the socket destroyed, or left hanging). `call.status` is set to what was answered.
   */
  async serve<R extends { status: number }>(
    req: IncomingMessage,
    call: C,
    answer: (raw: string, fault: AnswerFault<F> | undefined) => R,
    succeeded: (reply: R) => boolean = (reply) => reply.status < 300,
  ): Promise<R | undefined> {
    const plan = this.#plans.find((candidate) => this.matches(candidate.match, call));
    const fault = plan && plan.fault.kind !== "drop-response" ? this.#consume(plan) : undefined;
    if (fault?.kind === "reset") return void req.socket.destroy();
    if (fault?.kind === "hang") return undefined; // close() destroys the socket
    const raw = await readBody(req);
    if (fault?.kind === "delay") {
      const { ms } = fault as unknown as { ms: number };
      await new Promise((resolve) => setTimeout(resolve, ms).unref());
    }
    const changesAnswer = fault && fault.kind !== "delay";
    const reply = answer(raw, changesAnswer ? (fault as AnswerFault<F>) : undefined);
    if (plan?.fault.kind === "drop-response" && succeeded(reply)) {
      this.#consume(plan);
      return void req.socket.destroy();
    }
    call.status = reply.status;
    return reply;
  }

  #consume(plan: Plan<F, M>): F {
    plan.remaining -= 1;
    if (plan.remaining <= 0) this.#plans = this.#plans.filter((p) => p !== plan);
    return plan.fault;
  }
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

export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", () => resolve(""));
  });
}

export interface FakeServer {
  port: number;
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
  const server = createServer((req, res) => {
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
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
