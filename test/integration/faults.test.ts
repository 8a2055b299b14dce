import { spawn } from "node:child_process";
import { once } from "node:events";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { mulberry32 } from "../../infra/sandbox/faults.ts";
import { type GlpiFake, startGlpiFake } from "../../infra/sandbox/glpi.ts";
import { type KanboardFake, startKanboardFake } from "../../infra/sandbox/kanboard.ts";
import { type RtFake, startRtFake } from "../../infra/sandbox/rt.ts";

// The shared fault injection of the fakes (infra/sandbox/faults.ts), on GLPI (plain fetch), RT and Kanboard.

const APP_TOKEN = "app-token-for-tests";
const USER_TOKEN = "user-token-for-tests";
const RT_TOKEN = "1-14-9f86d081884c7d659a2feaa0c55ad015";
const KANBOARD_TOKEN = "kanboard-token-for-tests";

let glpi: GlpiFake;
let rt: RtFake;
let boardA: KanboardFake;
let boardB: KanboardFake;

beforeAll(async () => {
  glpi = await startGlpiFake({ appToken: APP_TOKEN, userToken: USER_TOKEN, cnpjSearchOptionId: 76674 });
  rt = await startRtFake({
    users: [{ name: "deskbridge", token: RT_TOKEN, realName: "Deskbridge Bot" }, { name: "jane" }],
    queues: [{ id: 1, name: "General" }],
    customFields: [],
    person: "jane",
  });
  const board = {
    apiToken: KANBOARD_TOKEN,
    projects: [{ id: 1, name: "Helpdesk", columns: ["Backlog", "Done"] }],
  };
  boardA = await startKanboardFake(board);
  boardB = await startKanboardFake(board);
});
afterAll(async () => {
  await Promise.all([glpi.close(), rt.close(), boardA.close(), boardB.close()]);
});
beforeEach(() => {
  for (const fake of [glpi, rt, boardA, boardB]) fake.reset();
});

// ---- clients ----

/** One GLPI request; the body is parsed as JSON. */
async function glpiCall(path: string, options: { method?: string; session?: string; body?: unknown } = {}) {
  const headers: Record<string, string> = { "App-Token": APP_TOKEN };
  if (options.session) headers["Session-Token"] = options.session;
  if (path === "/initSession") headers.Authorization = `user_token ${USER_TOKEN}`;
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(`${glpi.url}${path}`, {
    method: options.method ?? "GET",
    headers,
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

async function login(): Promise<string> {
  const answer = await glpiCall("/initSession");
  expect(answer.status).toBe(200);
  return answer.body.session_token;
}

function createTicket(session: string, name: string) {
  return glpiCall("/Ticket", { method: "POST", session, body: { input: { name, content: name } } });
}

/** One RT request below /REST/2.0 with the bridge's token; JSON bodies. */
async function rtCall(path: string, options: { method?: string; body?: unknown; contentType?: string } = {}) {
  const headers: Record<string, string> = { Authorization: `token ${RT_TOKEN}` };
  if (options.body !== undefined) headers["Content-Type"] = options.contentType ?? "application/json";
  const response = await fetch(`${rt.url}${path}`, {
    method: options.method ?? "GET",
    headers,
    ...(options.body === undefined
      ? {}
      : { body: typeof options.body === "string" ? options.body : JSON.stringify(options.body) }),
  });
  const text = await response.text();
  return { status: response.status, text, body: text ? (JSON.parse(text) as unknown) : undefined };
}

function rtTicket(subject: string): number {
  return rt.personCreates({ queue: "General", subject }).id;
}

function rtPut(id: number, body: unknown) {
  return rtCall(`/ticket/${id}`, { method: "PUT", body });
}

let nextRpcId = 1;
/** One Kanboard procedure call: the HTTP status and the JSON-RPC envelope (if any). */
async function kanboard(fake: KanboardFake, method: string, params?: unknown) {
  const response = await fetch(fake.url, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      Authorization: `Basic ${Buffer.from(`jsonrpc:${KANBOARD_TOKEN}`).toString("base64")}`,
    },
    body: JSON.stringify({ jsonrpc: "2.0", method, id: nextRpcId++, ...(params ? { params } : {}) }),
  });
  const text = await response.text();
  const envelope =
    response.headers.get("content-type") === "application/json" && text ? JSON.parse(text) : {};
  return { status: response.status, envelope: envelope as { result?: unknown; error?: { message: string } } };
}

/** The error code of a request whose connection failed (undici's or the socket's). */
async function connectionFailure(request: Promise<unknown>): Promise<string> {
  try {
    await request;
  } catch (error) {
    const cause = error instanceof Error ? error.cause : undefined;
    const code = typeof cause === "object" && cause !== null && "code" in cause ? cause.code : undefined;
    return String(code);
  }
  throw new Error("the request was answered");
}
const CONNECTION_LOST = ["UND_ERR_SOCKET", "ECONNRESET"];

// ---- the suite ----

describe("after: failing only the Nth matching call", () => {
  it("fails the 3rd GLPI ticket creation only, not counting calls the plan does not match", async () => {
    glpi.failNext(1, { kind: "status", status: 503 }, { method: "POST", path: "/Ticket" }, { after: 2 });
    const session = await login();
    const statuses: number[] = [];
    for (const name of ["one", "two", "three", "four"]) {
      statuses.push((await createTicket(session, name)).status);
      expect((await glpiCall("/Ticket", { session })).status).toBe(200); // GET: not matched, not counted
    }
    expect(statuses).toEqual([201, 201, 503, 201]);
    expect(glpi.tickets.map((t) => t.input.name)).toEqual(["one", "two", "four"]);
  });

  it("resets the connection of the 3rd RT PUT only", async () => {
    const id = rtTicket("before");
    rt.failNext(1, { kind: "reset" }, { method: "PUT" }, { after: 2 });
    expect((await rtPut(id, { Subject: "1" })).status).toBe(200);
    expect((await rtPut(id, { Subject: "2" })).status).toBe(200);
    expect(CONNECTION_LOST).toContain(await connectionFailure(rtPut(id, { Subject: "3" })));
    expect((await rtPut(id, { Subject: "4" })).status).toBe(200);
    expect(rt.ticket(id)?.subject).toBe("4");
    expect(rt.calls.map((c) => c.status)).toEqual([200, 200, 0, 200]);
  });

  it("counts calls another plan faulted toward a plan's after", async () => {
    rt.failNext(1, { kind: "status", status: 500 }, { method: "GET" });
    rt.failNext(2, { kind: "status", status: 502 }, { method: "GET" }, { after: 1 });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i += 1) statuses.push((await rtCall("/queues/all")).status);
    expect(statuses).toEqual([500, 502, 502, 200]);
  });

  it("applies several calls of a plan once its after has passed", async () => {
    boardA.failNext(
      2,
      { kind: "rpc-error", code: -32000, message: "planned" },
      { method: "getVersion" },
      {
        after: 1,
      },
    );
    const errors: (string | undefined)[] = [];
    for (let i = 0; i < 4; i += 1)
      errors.push((await kanboard(boardA, "getVersion")).envelope.error?.message);
    expect(errors).toEqual([undefined, "planned", "planned", undefined]);
  });

  it("refuses an after that is not a non-negative integer", () => {
    expect(() => glpi.failNext(1, { kind: "reset" }, {}, { after: -1 })).toThrow(RangeError);
    expect(() => rt.failNext(1, { kind: "reset" }, {}, { after: 1.5 })).toThrow(RangeError);
  });
});

describe("chaos: seeded random faults", () => {
  const FAULTS = [
    { kind: "status" as const, status: 503 },
    { kind: "status" as const, status: 502 },
  ];

  /** The HTTP statuses of `n` getVersion calls. */
  async function kanboardStatuses(fake: KanboardFake, n: number): Promise<number[]> {
    const statuses: number[] = [];
    for (let i = 0; i < n; i += 1) statuses.push((await kanboard(fake, "getVersion")).status);
    return statuses;
  }

  /** The HTTP statuses of `n` initSession calls. */
  async function glpiStatuses(n: number): Promise<number[]> {
    const statuses: number[] = [];
    for (let i = 0; i < n; i += 1) statuses.push((await glpiCall("/initSession")).status);
    return statuses;
  }

  it("injects the same faults at the same positions on fakes with the same seed", async () => {
    boardA.setChaos({ seed: 42, rate: 0.3, faults: FAULTS });
    boardB.setChaos({ seed: 42, rate: 0.3, faults: FAULTS });
    glpi.setChaos({ seed: 42, rate: 0.3, faults: FAULTS });
    const a = await kanboardStatuses(boardA, 40);
    const b = await kanboardStatuses(boardB, 40);
    const g = await glpiStatuses(40);
    expect(b).toEqual(a);
    expect(g).toEqual(a);
    const faulted = a.filter((s) => s !== 200);
    expect(faulted.length).toBeGreaterThan(0);
    expect(faulted.length).toBeLessThan(40);
    expect(new Set(faulted)).toEqual(new Set([502, 503])); // both faults get picked
    expect(boardA.faultsInjected()).toEqual({ total: faulted.length, byKind: { status: faulted.length } });
  });

  it("starts the same sequence again when the chaos is set again, and another seed differs", async () => {
    boardA.setChaos({ seed: 42, rate: 0.3, faults: FAULTS });
    const first = await kanboardStatuses(boardA, 30);
    boardA.setChaos({ seed: 42, rate: 0.3, faults: FAULTS });
    expect(await kanboardStatuses(boardA, 30)).toEqual(first);
    boardB.setChaos({ seed: 7, rate: 0.3, faults: FAULTS });
    expect(await kanboardStatuses(boardB, 30)).not.toEqual(first);
  });

  it("never injects at rate 0 and always at rate 1", async () => {
    boardA.setChaos({ seed: 1, rate: 0, faults: FAULTS });
    glpi.setChaos({ seed: 1, rate: 0, faults: FAULTS });
    expect(await kanboardStatuses(boardA, 25)).toEqual(Array(25).fill(200));
    expect(await glpiStatuses(25)).toEqual(Array(25).fill(200));
    expect(boardA.faultsInjected().total).toBe(0);
    expect(glpi.faultsInjected().total).toBe(0);

    boardA.setChaos({ seed: 1, rate: 1, faults: [{ kind: "rpc-error", code: -32000, message: "chaos" }] });
    glpi.setChaos({ seed: 1, rate: 1, faults: FAULTS });
    for (let i = 0; i < 25; i += 1) {
      expect((await kanboard(boardA, "getVersion")).envelope.error?.message).toBe("chaos");
    }
    expect((await glpiStatuses(25)).every((s) => s === 502 || s === 503)).toBe(true);
    expect(boardA.faultsInjected()).toEqual({ total: 25, byKind: { "rpc-error": 25 } });
    expect(glpi.faultsInjected().total).toBe(25);
  });

  it("faults only the calls chaos matches", async () => {
    boardA.setChaos({ seed: 3, rate: 1, faults: [FAULTS[0]!], match: { method: "createTask" } });
    expect((await kanboard(boardA, "getVersion")).status).toBe(200);
    expect((await kanboard(boardA, "createTask", { project_id: 1, title: "x" })).status).toBe(503);
    expect(boardA.tasks()).toEqual([]);
    expect(boardA.faultsInjected().total).toBe(1);
  });

  it("lets explicit plans win over chaos, and chaos fault the calls a plan lets through", async () => {
    rt.setChaos({ seed: 9, rate: 1, faults: [{ kind: "status", status: 503 }] });
    rt.failNext(1, { kind: "status", status: 418 }, { method: "GET" }, { after: 1 });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i += 1) statuses.push((await rtCall("/queues/all")).status);
    expect(statuses).toEqual([503, 418, 503]);
    expect(rt.faultsInjected()).toEqual({ total: 3, byKind: { status: 3 } });
  });

  it("turns chaos off with undefined and on reset", async () => {
    glpi.setChaos({ seed: 5, rate: 1, faults: FAULTS });
    glpi.setChaos(undefined);
    expect(await glpiStatuses(3)).toEqual([200, 200, 200]);
    boardA.setChaos({ seed: 5, rate: 1, faults: FAULTS });
    boardA.reset();
    expect(await kanboardStatuses(boardA, 3)).toEqual([200, 200, 200]);
  });

  it("refuses a rate outside [0, 1] and chaos without faults", () => {
    expect(() => glpi.setChaos({ seed: 1, rate: 1.5, faults: FAULTS })).toThrow(RangeError);
    expect(() => boardA.setChaos({ seed: 1, rate: 0.5, faults: [] })).toThrow(RangeError);
  });

  it("draws the same numbers from mulberry32 for the same seed", () => {
    const draw = (seed: number) => {
      const random = mulberry32(seed);
      return Array.from({ length: 5 }, () => random());
    };
    expect(draw(123)).toEqual(draw(123));
    expect(draw(123)).not.toEqual(draw(124));
    expect(draw(123).every((n) => n >= 0 && n < 1)).toBe(true);
  });
});

describe("counters", () => {
  it("counts every fault GLPI applied, by kind, a waiting drop-response only once it fires", async () => {
    const session = await login();
    glpi.failNext(2, { kind: "status", status: 503 }, { method: "GET", path: "/Ticket" });
    glpi.failNext(1, { kind: "delay", ms: 10 }, { method: "GET" });
    expect((await glpiCall("/Ticket", { session })).status).toBe(503);
    expect((await glpiCall("/Ticket", { session })).status).toBe(503);
    expect((await glpiCall("/Ticket", { session })).status).toBe(200); // delayed
    glpi.failNext(1, { kind: "reset" }, { method: "GET" });
    await expect(glpiCall("/Ticket", { session })).rejects.toThrow();
    glpi.failNext(1, { kind: "drop-response" }, { method: "POST", path: "/Ticket" });
    expect((await createTicket("not-a-session", "refused")).status).toBe(401); // refused: the plan waits
    expect(glpi.faultsInjected()).toEqual({ total: 4, byKind: { status: 2, delay: 1, reset: 1 } });
    await expect(createTicket(session, "answer lost")).rejects.toThrow();
    expect(glpi.faultsInjected()).toEqual({
      total: 5,
      byKind: { status: 2, delay: 1, reset: 1, "drop-response": 1 },
    });
    glpi.reset();
    expect(glpi.faultsInjected()).toEqual({ total: 0, byKind: {} });
  });

  it("counts RT's plans and chaos together, and not the calls a plan lets through", async () => {
    const id = rtTicket("counted");
    rt.failNext(1, { kind: "messages", messages: ["Permission Denied"] }, { method: "PUT" }, { after: 1 });
    expect((await rtPut(id, { Subject: "a" })).status).toBe(200);
    expect(rt.faultsInjected().total).toBe(0);
    expect((await rtPut(id, { Subject: "b" })).body).toEqual(["Permission Denied"]);
    rt.setChaos({ seed: 11, rate: 1, faults: [{ kind: "status", status: 500 }], match: { method: "GET" } });
    expect((await rtCall(`/ticket/${id}`)).status).toBe(500);
    expect(rt.faultsInjected()).toEqual({ total: 2, byKind: { messages: 1, status: 1 } });
  });
});

describe("crash: the caller dies right after the work", () => {
  it("creates the GLPI ticket, resets the client and calls onServed once, on the 2nd creation only", async () => {
    const onServed = vi.fn();
    glpi.failNext(1, { kind: "crash", onServed }, { method: "POST", path: "/Ticket" }, { after: 1 });
    const session = await login();
    expect((await createTicket(session, "first")).status).toBe(201);
    expect(onServed).not.toHaveBeenCalled();
    expect(CONNECTION_LOST).toContain(await connectionFailure(createTicket(session, "crashed")));
    expect(glpi.tickets.map((t) => t.input.name)).toEqual(["first", "crashed"]);
    expect(onServed).toHaveBeenCalledTimes(1);
    expect((await createTicket(session, "after")).status).toBe(201);
    expect(onServed).toHaveBeenCalledTimes(1);
    expect(glpi.calls.filter((c) => c.method === "POST").map((c) => c.status)).toEqual([201, 0, 201]);
    expect(glpi.faultsInjected()).toEqual({ total: 1, byKind: { crash: 1 } });
  });

  it("does the RT update before onServed runs, and waits past a refused request", async () => {
    const id = rtTicket("before");
    let subjectWhenServed: string | undefined;
    const onServed = vi.fn(() => {
      subjectWhenServed = rt.ticket(id)?.subject;
    });
    rt.failNext(1, { kind: "crash", onServed }, { method: "PUT" });
    const refused = await rtCall(`/ticket/${id}`, { method: "PUT", body: "x", contentType: "text/plain" });
    expect(refused.status).toBe(415); // refused: the plan waits
    expect(onServed).not.toHaveBeenCalled();
    expect(CONNECTION_LOST).toContain(await connectionFailure(rtPut(id, { Subject: "done, caller gone" })));
    expect(onServed).toHaveBeenCalledTimes(1);
    expect(subjectWhenServed).toBe("done, caller gone");
    expect(rt.ticket(id)?.subject).toBe("done, caller gone");
    expect((await rtPut(id, { Subject: "again" })).status).toBe(200);
    expect(onServed).toHaveBeenCalledTimes(1);
  });

  it("creates the Kanboard task when chaos crashes the call", async () => {
    const onServed = vi.fn();
    boardA.setChaos({
      seed: 2,
      rate: 1,
      faults: [{ kind: "crash", onServed }],
      match: { method: "createTask" },
    });
    await expect(kanboard(boardA, "createTask", { project_id: 1, title: "crashed" })).rejects.toThrow();
    expect(boardA.tasks().map((t) => t.title)).toEqual(["crashed"]);
    expect(onServed).toHaveBeenCalledTimes(1);
    expect(boardA.faultsInjected()).toEqual({ total: 1, byKind: { crash: 1 } });
  });

  it("lets onServed SIGKILL the process that made the call, after the work was done", async () => {
    const session = await login();
    const script = `fetch(${JSON.stringify(`${glpi.url}/Ticket`)}, {
      method: "POST",
      headers: { "App-Token": ${JSON.stringify(APP_TOKEN)}, "Session-Token": ${JSON.stringify(session)},
        "Content-Type": "application/json" },
      body: JSON.stringify({ input: { name: "from the child" } }),
    }).then((r) => console.log("answered", r.status), (e) => console.log("failed", String(e)));`;
    const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString("utf8");
    });
    const onServed = vi.fn(() => child.kill("SIGKILL"));
    glpi.failNext(1, { kind: "crash", onServed }, { method: "POST", path: "/Ticket" });
    const [code, signal] = (await once(child, "exit")) as [number | null, NodeJS.Signals | null];
    expect([code, signal]).toEqual([null, "SIGKILL"]);
    expect(output).toBe(""); // it never saw an answer, nor the reset
    expect(onServed).toHaveBeenCalledTimes(1);
    expect(glpi.tickets.map((t) => t.input.name)).toEqual(["from the child"]);
  });
});

describe("RT messages: 200 with an embedded error", () => {
  it("answers exactly the planned sentences with 200, without doing the work", async () => {
    const id = rtTicket("unchanged");
    const transactions = rt.transactions().length;
    rt.failNext(1, { kind: "messages", messages: ["Permission Denied"] }, { method: "PUT" });
    const denied = await rtPut(id, { Subject: "changed" });
    expect([denied.status, denied.text]).toEqual([200, '["Permission Denied"]']);
    expect(rt.ticket(id)?.subject).toBe("unchanged");
    expect(rt.transactions()).toHaveLength(transactions);
    const applied = await rtPut(id, { Subject: "changed" });
    expect(applied.status).toBe(200);
    expect(applied.body).toEqual([`Ticket ${id}: Subject changed from 'unchanged' to 'changed'`]);
    expect(rt.ticket(id)?.subject).toBe("changed");
  });

  it("answers several sentences, an empty array, and only on matching calls", async () => {
    const id = rtTicket("kept");
    rt.failNext(
      2,
      { kind: "messages", messages: ["Status: Permission Denied", "Owner: Illegal value"] },
      {
        method: "PUT",
        path: `/ticket/${id}`,
      },
    );
    expect((await rtCall(`/ticket/${id}`)).status).toBe(200); // GET: not matched
    expect((await rtPut(id, { Status: "open" })).body).toEqual([
      "Status: Permission Denied",
      "Owner: Illegal value",
    ]);
    expect((await rtPut(id, { Status: "open" })).body).toEqual([
      "Status: Permission Denied",
      "Owner: Illegal value",
    ]);
    rt.failNext(1, { kind: "messages", messages: [] }, { method: "PUT" });
    expect((await rtPut(id, { Status: "open" })).text).toBe("[]");
    expect(rt.ticket(id)?.status).toBe("new");
    expect(rt.faultsInjected()).toEqual({ total: 3, byKind: { messages: 3 } });
  });
});
