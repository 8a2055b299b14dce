import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type KanboardFake, startKanboardFake } from "../../infra/sandbox/kanboard.ts";
import { type RealKanboard, startRealKanboard } from "./servers/kanboard.ts";

/**
 * The Kanboard fake against the real Kanboard, side by side: every procedure the board adapter calls
 * (lib/systems/kanboard/board.ts), with the arguments it sends, found and not found, must answer with
 * the same HTTP status and the same shape (keys and value types; the fake in its "native" mode, as
 * Kanboard on PHP ≥ 8.1 answers).
 */
let real: RealKanboard;
let fake: KanboardFake;

beforeAll(async () => {
  real = await startRealKanboard();
  fake = await startKanboardFake({
    apiToken: "fake-token",
    valueTypes: "native",
    users: [
      { id: 1, username: "admin", name: "Administrator", password: "admin", role: "app-admin" },
      { id: 2, username: "alice", name: "Alice Agent" },
    ],
    projects: [{ id: 1, name: "Helpdesk", columns: ["Backlog", "Work in progress", "Waiting", "Done"] }],
  });
}, 300_000);
afterAll(async () => {
  await real?.stop();
  await fake?.close();
});

async function call(url: string, auth: string, method: string, params?: unknown) {
  const response = await fetch(url, {
    method: "POST",
    headers: { authorization: `Basic ${Buffer.from(auth).toString("base64")}` },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, ...(params === undefined ? {} : { params }) }),
  });
  return { status: response.status, shape: shape(await response.json()) };
}

/** Keys and value types, an array as the shape of its first element. */
function shape(value: unknown): unknown {
  if (Array.isArray(value)) return value.slice(0, 1).map(shape);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([key, inner]) => [key, shape(inner)]),
    );
  }
  return value === null ? "null" : typeof value;
}

const SEQUENCE: [string, unknown][] = [
  ["getColumns", { project_id: 1 }],
  ["getActiveSwimlanes", { project_id: 1 }],
  ["getUserByName", { username: "alice" }],
  ["getUserByName", { username: "nobody" }],
  [
    "createTask",
    { project_id: 1, title: "#1 Printer", reference: "RT#1", owner_id: 2, priority: 2, column_id: 1 },
  ],
  ["getTaskByReference", { project_id: 1, reference: "RT#1" }],
  ["getTaskByReference", { project_id: 1, reference: "RT#404" }],
  ["getTask", { task_id: 1 }],
  ["getTask", { task_id: 999 }],
  ["getAllTasks", { project_id: 1, status_id: 1 }],
  ["updateTask", { id: 1, title: "#1 Printer on fire" }],
  ["updateTask", { id: 999, title: "nothing" }],
  ["moveTaskPosition", { project_id: 1, task_id: 1, column_id: 4, position: 1, swimlane_id: 1 }],
  ["closeTask", { task_id: 1 }],
  ["openTask", { task_id: 1 }],
  ["removeTask", { task_id: 1 }],
  ["removeTask", { task_id: 1 }],
];

describe("the Kanboard fake beside the real Kanboard", () => {
  it("answers every procedure the adapter calls with the same status and shape, in order", async () => {
    for (const [method, params] of SEQUENCE) {
      const fromReal = await call(real.url, `jsonrpc:${real.apiToken}`, method, params);
      const fromFake = await call(fake.url, "jsonrpc:fake-token", method, params);
      expect(fromFake, `${method} ${JSON.stringify(params)}`).toEqual(fromReal);
    }
  });

  it("refuses a wrong API token the same way", async () => {
    expect(await call(fake.url, "jsonrpc:wrong", "getVersion")).toEqual(
      await call(real.url, "jsonrpc:wrong", "getVersion"),
    );
  });
});
