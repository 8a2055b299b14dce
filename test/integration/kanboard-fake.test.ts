import { readFileSync } from "node:fs";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  type KanboardFake,
  type KanboardFakeOptions,
  startKanboardFake,
} from "../../infra/sandbox/kanboard.ts";

const TOKEN = "kanboard-token-for-tests";
const NOW = Date.UTC(2026, 10, 22, 21, 43, 2); // the fixtures' clock
const SECONDS = NOW / 1000;

let clock = NOW;
const OPTIONS: KanboardFakeOptions = {
  apiToken: TOKEN,
  now: () => clock,
  users: [
    { id: 1, username: "admin", name: "Administrator", password: "admin-password", role: "app-admin" },
    {
      id: 2,
      username: "alice",
      name: "Alice Agent",
      password: "alice-password",
      apiAccessToken: "alice-pat",
    },
    { id: 3, username: "bob", name: "Bob Builder", password: "bob-password", active: false },
    { id: 4, username: "carol", name: "Carol Outside", password: "carol-password" },
  ],
  projects: [
    {
      id: 1,
      name: "Helpdesk",
      columns: ["Backlog", "Work in progress", "Waiting", "Done"],
      swimlanes: ["Default swimlane", "Urgent"],
      members: [1, 2, 3],
    },
    { id: 2, name: "Facilities", columns: ["Todo", "Done"], members: [1, 4] },
  ],
};
// Column ids 1-4 (Helpdesk) and 5-6 (Facilities); swimlanes 1-2 (Helpdesk) and 3 (Facilities).
const [BACKLOG, WIP, WAITING, DONE, TODO] = [1, 2, 3, 4, 5];

const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../fixtures/kanboard/${name}`, import.meta.url), "utf8"));

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
const APP = basic("jsonrpc", TOKEN);
const ALICE = basic("alice", "alice-password");

type Row = Record<string, unknown>;
interface Envelope {
  jsonrpc: string;
  id: unknown;
  result?: unknown;
  error?: { code: number; message: string; data?: string };
}
interface PostOptions {
  auth?: string | null; // default: the application token; null: no Authorization header
  to?: KanboardFake;
  raw?: boolean; // send the body as it is
  path?: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

let fake: KanboardFake;

beforeAll(async () => {
  fake = await startKanboardFake(OPTIONS);
});
afterAll(() => fake.close());
beforeEach(() => {
  clock = NOW;
  fake.reset();
});

/** One HTTP request to jsonrpc.php; a non-empty body is parsed as JSON. */
async function post(body: unknown, options: PostOptions = {}) {
  const target = options.to ?? fake;
  const headers: Record<string, string> = { "Content-Type": "application/json", ...options.headers };
  if (options.auth !== null) headers.Authorization = options.auth ?? APP;
  const address = options.path ? target.url.replace("/jsonrpc.php", options.path) : target.url;
  const response = await fetch(address, {
    method: "POST",
    headers,
    body: options.raw ? String(body) : JSON.stringify(body),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const text = await response.text();
  const json: unknown =
    text && response.headers.get("content-type") === "application/json" ? JSON.parse(text) : undefined;
  return { status: response.status, headers: response.headers, text, json };
}

let nextId = 1;
/** One procedure call; answers the JSON-RPC envelope. */
async function rpc(method: string, params?: unknown, options: PostOptions = {}): Promise<Envelope> {
  const answer = await post(
    { jsonrpc: "2.0", method, id: nextId++, ...(params === undefined ? {} : { params }) },
    options,
  );
  expect(answer.status).toBe(200);
  return answer.json as Envelope;
}

/** One procedure call that must not fail at the protocol level; answers its `result`. */
async function result<T = unknown>(method: string, params?: unknown, options: PostOptions = {}): Promise<T> {
  const envelope = await rpc(method, params, options);
  expect(envelope.error).toBeUndefined();
  return envelope.result as T;
}

function create(params: Row = {}, options: PostOptions = {}) {
  return result<number | false>(
    "createTask",
    { title: "Printer on fire", project_id: 1, ...params },
    options,
  );
}

async function createId(params: Row = {}, options: PostOptions = {}): Promise<number> {
  const id = await create(params, options);
  expect(id).toEqual(expect.any(Number));
  return id as number;
}

function move(taskId: number, columnId: number, position: number, swimlaneId = 0, projectId = 1) {
  return result("moveTaskPosition", {
    project_id: projectId,
    task_id: taskId,
    column_id: columnId,
    position,
    swimlane_id: swimlaneId,
  });
}

/** [id, column, position] of project 1's tasks. */
const board = () => fake.tasks(1).map((t) => [t.id, t.column_id, t.position]);

describe("fixtures", () => {
  let fresh: KanboardFake;
  beforeAll(async () => {
    fresh = await startKanboardFake(OPTIONS);
  });
  afterAll(() => fresh.close());

  it("answers exactly the recorded createTask, getTask, getColumns, error and batch exchanges", async () => {
    const created = fixture("create-task.json") as { request: unknown; response: unknown };
    expect((await post(created.request, { to: fresh })).json).toEqual(created.response);
    const getTask = { jsonrpc: "2.0", method: "getTask", id: 2, params: { task_id: 1 } };
    expect((await post(getTask, { to: fresh })).json).toEqual(fixture("get-task.json"));
    const missing = { jsonrpc: "2.0", method: "getTask", id: 3, params: { task_id: 404 } };
    expect((await post(missing, { to: fresh })).json).toEqual(fixture("get-task-null.json"));
    const columns = { jsonrpc: "2.0", method: "getColumns", id: 4, params: { project_id: 1 } };
    expect((await post(columns, { to: fresh })).json).toEqual(fixture("get-columns.json"));
    const unauthorized = await post(
      { jsonrpc: "2.0", method: "getColumns", id: 5, params: { project_id: 1 } },
      { to: fresh, auth: basic("jsonrpc", "wrong") },
    );
    expect([unauthorized.status, unauthorized.json]).toEqual([401, fixture("error-unauthorized.json")]);
    const invalid = { jsonrpc: "2.0", method: "getTask", id: 6, params: { id: 1 } };
    expect((await post(invalid, { to: fresh })).json).toEqual(fixture("error-invalid-params.json"));
    const batch = fixture("batch.json") as { request: unknown; response: unknown };
    expect((await post(batch.request, { to: fresh })).json).toEqual(batch.response);
  });

  it("keeps an invalid getTask variant that lacks the id and has a boolean is_active", () => {
    const valid = (fixture("get-task.json") as { result: Row }).result;
    const invalid = (fixture("get-task-invalid.json") as { result: Row }).result;
    expect(valid.id).toBe("1");
    expect(invalid.id).toBeUndefined();
    expect(invalid.is_active).toBe(true);
    expect(Object.keys(invalid)).toEqual(Object.keys(valid).filter((key) => key !== "id"));
  });
});

describe("authentication", () => {
  it("accepts the application token as user jsonrpc, and a user's password or personal token", async () => {
    expect(await result("getVersion")).toBe("1.2.53");
    expect(await result("getVersion", undefined, { auth: ALICE })).toBe("1.2.53");
    expect(await result("getVersion", undefined, { auth: basic("alice", "alice-pat") })).toBe("1.2.53");
    expect(fake.calls.map((c) => c.user)).toEqual(["jsonrpc", "alice", "alice"]);
  });

  it("answers 401 with a Basic challenge and one error object with a null id for wrong credentials", async () => {
    for (const auth of [
      basic("jsonrpc", "wrong"),
      basic("alice", TOKEN),
      basic("bob", "bob-password"),
      null,
    ]) {
      const answer = await post({ jsonrpc: "2.0", method: "getVersion", id: 9 }, { auth });
      expect(answer.status).toBe(401);
      expect(answer.headers.get("www-authenticate")).toBe('Basic realm="JsonRPC"');
      expect(answer.headers.get("content-type")).toBe("application/json");
      expect(answer.json).toEqual({
        jsonrpc: "2.0",
        error: { code: 401, message: "Unauthorized" },
        id: null,
      });
    }
    // A batch is refused as a whole, with the same single object.
    const batch = await post(
      [
        { jsonrpc: "2.0", method: "getVersion", id: 1 },
        { jsonrpc: "2.0", method: "getVersion", id: 2 },
      ],
      { auth: basic("jsonrpc", "wrong") },
    );
    expect([batch.status, batch.json]).toEqual([401, fixture("error-unauthorized.json")]);
  });

  it("checks credentials only once a request is valid JSON-RPC, before looking the procedure up", async () => {
    const wrong = basic("jsonrpc", "wrong");
    const parse = await post("{not json", { raw: true, auth: wrong });
    expect([parse.status, parse.json]).toEqual([
      200,
      { jsonrpc: "2.0", error: { code: -32700, message: "Parse error" }, id: null },
    ]);
    const invalid = await post({ method: "getVersion", id: 1 }, { auth: wrong });
    expect([invalid.status, (invalid.json as Envelope).error?.code]).toEqual([200, -32600]);
    expect((await post({ jsonrpc: "2.0", method: "noSuchProcedure", id: 1 }, { auth: wrong })).status).toBe(
      401,
    );
  });

  it("locks a user out after seven failed logins, even with the right password, until reset", async () => {
    for (let i = 0; i < 7; i++) {
      expect(
        (await post({ jsonrpc: "2.0", method: "getVersion", id: i }, { auth: basic("alice", "x") })).status,
      ).toBe(401);
    }
    expect((await post({ jsonrpc: "2.0", method: "getVersion", id: 8 }, { auth: ALICE })).status).toBe(401);
    const row = await result<Row>("getUserByName", { username: "alice" });
    expect(row).toMatchObject({ nb_failed_login: "7", lock_expiration_date: String(SECONDS + 900) });
    clock += 901_000;
    expect(await result("getVersion", undefined, { auth: ALICE })).toBe("1.2.53");
    expect(await result<Row>("getUserByName", { username: "alice" })).toMatchObject({ nb_failed_login: "0" });
  });

  it("denies a user outside the project, or a non-admin the user procedures, with 403 for the whole request", async () => {
    const id = await createId();
    const carol = basic("carol", "carol-password");
    const forbidden = { jsonrpc: "2.0", error: { code: 403, message: "Forbidden" }, id: null };
    for (const [method, params] of [
      ["getAllTasks", { project_id: 1 }],
      ["getTask", { task_id: id }],
      ["moveTaskPosition", { project_id: 1, task_id: id, column_id: DONE, position: 1, swimlane_id: 0 }],
    ] as const) {
      const answer = await post({ jsonrpc: "2.0", method, id: 1, params }, { auth: carol });
      expect([answer.status, answer.json]).toEqual([403, forbidden]);
    }
    const users = await post(
      { jsonrpc: "2.0", method: "getUserByName", id: 1, params: ["admin"] },
      { auth: ALICE },
    );
    expect([users.status, users.json]).toEqual([403, forbidden]);
    // TaskAuthorization: an unknown task has project 0, so a user is refused where the application gets null.
    const unknown = await post({ jsonrpc: "2.0", method: "getTask", id: 1, params: [999] }, { auth: ALICE });
    expect(unknown.status).toBe(403);
    expect(await result("getTask", [999])).toBeNull();
    expect(fake.task(id)?.column_id).toBe(BACKLOG);
  });

  it("makes a user the creator of the tasks it creates through the user API", async () => {
    const mine = await createId({}, { auth: ALICE });
    const app = await createId();
    expect([fake.task(mine)?.creator_id, fake.task(app)?.creator_id]).toEqual([2, 0]);
  });

  it("reads the credentials from the configured authentication header first", async () => {
    const other = await startKanboardFake({ ...OPTIONS, authenticationHeader: "X-API-Auth" });
    try {
      const header = { "X-API-Auth": Buffer.from(`jsonrpc:${TOKEN}`).toString("base64") };
      const answer = await post(
        { jsonrpc: "2.0", method: "getVersion", id: 1 },
        { to: other, auth: basic("jsonrpc", "wrong"), headers: header },
      );
      expect((answer.json as Envelope).result).toBe("1.2.53");
    } finally {
      await other.close();
    }
  });
});

describe("createTask", () => {
  it("answers the new id as a number and puts the task at the bottom of the first column and swimlane", async () => {
    const first = await createId({ column_id: 0 });
    const second = await createId();
    const urgent = await createId({ swimlane_id: 2 });
    expect(fake.task(first)).toMatchObject({ column_id: BACKLOG, swimlane_id: 1, position: 1, is_active: 1 });
    expect(fake.task(second)).toMatchObject({ column_id: BACKLOG, swimlane_id: 1, position: 2 });
    expect(fake.task(urgent)).toMatchObject({ column_id: BACKLOG, swimlane_id: 2, position: 1 });
    expect(fake.task(first)).toMatchObject({
      color_id: "yellow",
      owner_id: 0,
      creator_id: 0,
      date_creation: SECONDS,
      date_modification: SECONDS,
      date_moved: SECONDS,
      date_completed: null,
    });
    expect(fake.columnTitle(first)).toBe("Backlog");
    expect(second).toBe(first + 1);
  });

  it("refuses an owner or creator who is not assignable in the project with false", async () => {
    expect(await create({ owner_id: 4 })).toBe(false); // carol: not a member
    expect(await create({ owner_id: 3 })).toBe(false); // bob: inactive
    expect(await create({ creator_id: 99 })).toBe(false);
    // TaskProcedure::createTask compares with !== 0: the string "0" is looked up as a user, and refused.
    expect(await create({ owner_id: "0" })).toBe(false);
    expect(await create({ owner_id: 2 })).toEqual(expect.any(Number));
    expect(fake.tasks()).toHaveLength(1);
  });

  it("refuses a blank title, an explicit swimlane 0 and an invalid date with false, and names a '0' title Untitled", async () => {
    expect(await create({ title: "" })).toBe(false);
    expect(await create({ swimlane_id: 0 })).toBe(false); // GreaterThan('swimlane_id', 0)
    expect(await create({ date_due: "2026-02-30" })).toBe(false);
    expect(await create({ date_due: "1796058002" })).toBe(false); // a timestamp is no date format
    expect(await create({ priority: 1.5 })).toBe(false);
    expect(await create({ reference: "x".repeat(192) })).toBe(false);
    expect(fake.tasks()).toHaveLength(0);
    const untitled = await createId({ title: "0" });
    expect(fake.task(untitled)?.title).toBe("Untitled");
  });

  it("answers 0 for a project, column or swimlane that does not exist, but takes another project's column", async () => {
    expect(await create({ project_id: 99 })).toBe(0);
    expect(await create({ column_id: 99 })).toBe(0);
    expect(await create({ swimlane_id: 99 })).toBe(0);
    expect(fake.tasks()).toHaveLength(0);
    const stray = await createId({ column_id: TODO });
    expect(fake.task(stray)).toMatchObject({ project_id: 1, column_id: TODO, position: 1 });
  });

  it("parses due dates in Kanboard's formats, taking the current time for what a format lacks", async () => {
    const day = await createId({ date_due: "2026-11-30" });
    const us = await createId({ date_due: "11/30/2026 17:00" });
    const none = await createId({ date_due: "" });
    expect(fake.task(day)?.date_due).toBe(Date.UTC(2026, 10, 30, 21, 43, 2) / 1000);
    expect(fake.task(us)?.date_due).toBe(Date.UTC(2026, 10, 30, 17, 0, 2) / 1000);
    expect(fake.task(none)?.date_due).toBe(0);
    expect(await create({ date_started: "2026-12-01", date_due: "2026-11-30" })).toBe(false);
  });

  it("saves tags and answers HTTP 500 with an empty body for tags that are not an array", async () => {
    const id = await createId({ tags: ["printer", "", "fire"] });
    expect(fake.task(id)?.tags).toEqual(["printer", "fire"]);
    const answer = await post({
      jsonrpc: "2.0",
      method: "createTask",
      id: 1,
      params: { title: "x", project_id: 1, tags: "printer" },
    });
    expect([answer.status, answer.text]).toEqual([500, ""]);
    expect(fake.tasks()).toHaveLength(1);
  });
});

describe("getTask and getTaskByReference", () => {
  it("answers a row of strings with url and color, and null for an unknown task", async () => {
    const id = await createId({ owner_id: 2, priority: 3, reference: "OTRS#1", color_id: "red" });
    const task = await result<Row>("getTask", { task_id: id });
    const keys = Object.keys((fixture("get-task.json") as { result: Row }).result);
    expect(Object.keys(task)).toEqual(keys);
    for (const [key, value] of Object.entries(task)) {
      if (key === "color") continue;
      expect([key, value === null || typeof value === "string"]).toEqual([key, true]);
    }
    expect(task).toMatchObject({
      id: String(id),
      project_id: "1",
      column_id: String(BACKLOG),
      owner_id: "2",
      priority: "3",
      is_active: "1",
      date_due: "0",
      date_completed: null,
      reference: "OTRS#1",
      url: `http://localhost/?controller=TaskViewController&action=show&task_id=${id}`,
      color: { name: "Red", background: "rgb(255, 187, 187)", border: "rgb(255, 151, 151)" },
    });
    expect(await result("getTask", { task_id: 404 })).toBeNull();
    expect(await result("getTask", { task_id: "abc" })).toBeNull();
  });

  it("answers the lowest id of the tasks sharing a reference, and null when none has it", async () => {
    const first = await createId({ reference: "RT#7" });
    await createId({ reference: "RT#7" });
    const task = await result<Row>("getTaskByReference", { project_id: 1, reference: "RT#7" });
    expect(task.id).toBe(String(first));
    expect(await result("getTaskByReference", { project_id: 1, reference: "rt#7" })).toBeNull();
    expect(await result("getTaskByReference", { project_id: 2, reference: "RT#7" })).toBeNull();
  });

  it("answers integer columns as numbers when it plays PHP 8.1 or later", async () => {
    const native = await startKanboardFake({ ...OPTIONS, valueTypes: "native" });
    try {
      await post(
        { jsonrpc: "2.0", method: "createTask", id: 1, params: { title: "42", project_id: 1 } },
        { to: native },
      );
      const answer = await post({ jsonrpc: "2.0", method: "getTask", id: 2, params: [1] }, { to: native });
      expect((answer.json as Envelope).result).toMatchObject({
        id: 1,
        title: "42",
        project_id: 1,
        is_active: 1,
        date_completed: null,
        reference: "",
        date_creation: SECONDS,
      });
    } finally {
      await native.close();
    }
  });
});

describe("updateTask", () => {
  it("changes only the given fields and answers true, without moving the task", async () => {
    const id = await createId({ description: "first", priority: 1 });
    clock += 60_000;
    expect(
      await result("updateTask", { id, title: "Printer still on fire", owner_id: 2, column_id: DONE }),
    ).toBe(true);
    expect(fake.task(id)).toMatchObject({
      title: "Printer still on fire",
      description: "first",
      owner_id: 2,
      priority: 1,
      column_id: BACKLOG,
      date_modification: SECONDS + 60,
      date_moved: SECONDS,
    });
  });

  it("ignores a named parameter it does not have, but counts it towards Too many arguments", async () => {
    const id = await createId();
    // column_id is not a parameter, but a named extra only counts towards "Too many arguments".
    expect(await result("updateTask", { id, column_id: DONE })).toBe(true);
    const params: Row = { id };
    for (let i = 0; i < 19; i++) params[`extra${i}`] = i;
    expect((await rpc("updateTask", params)).error).toEqual({
      code: -32602,
      message: "Invalid params",
      data: "Too many arguments",
    });
  });

  it("answers true for nothing to change, still stamping date_modification, and accepts a blank title", async () => {
    const id = await createId();
    clock += 5_000;
    expect(await result("updateTask", { id })).toBe(true);
    expect(fake.task(id)?.date_modification).toBe(SECONDS + 5);
    expect(await result("updateTask", { id, title: "" })).toBe(true);
    expect(fake.task(id)?.title).toBe("");
  });

  it("answers false for an unknown task, an owner not assignable and an invalid value", async () => {
    const id = await createId();
    expect(await result("updateTask", { id: 404, title: "x" })).toBe(false);
    expect(await result("updateTask", { id, owner_id: 4 })).toBe(false);
    expect(await result("updateTask", { id, priority: "high" })).toBe(false);
    expect(await result("updateTask", { id, owner_id: 0 })).toBe(true);
    expect(fake.task(id)).toMatchObject({ title: "Printer on fire", owner_id: 0, priority: 0 });
  });
});

describe("moveTaskPosition", () => {
  it("moves a task to another column, renumbering both columns, and stamps date_moved", async () => {
    const [a, b, c] = [await createId(), await createId(), await createId()];
    const w = await createId({ column_id: WIP });
    clock += 30_000;
    expect(await move(b, WIP, 1)).toBe(true);
    expect(board()).toEqual([
      [a, BACKLOG, 1],
      [b, WIP, 1],
      [c, BACKLOG, 2],
      [w, WIP, 2],
    ]);
    expect(fake.task(b)).toMatchObject({ date_moved: SECONDS + 30, date_modification: SECONDS + 30 });
    // A position past the end is normalised to the bottom.
    expect(await move(a, WIP, 99)).toBe(true);
    expect(fake.task(a)).toMatchObject({ column_id: WIP, position: 3 });
    expect(fake.columnTitle(a)).toBe("Work in progress");
  });

  it("answers false when nothing changes, for a position below 1, and for a task of another project", async () => {
    const a = await createId();
    await createId();
    expect(await move(a, BACKLOG, 1)).toBe(false);
    expect(await move(a, WIP, 0)).toBe(false);
    expect(await move(a, WIP, 1, 0, 2)).toBe(false);
    expect(await move(404, WIP, 1)).toBe(false);
    expect(await move(a, WIP, 1, 0, "1" as unknown as number)).toBe(true);
  });

  it("reorders within a column without touching date_moved", async () => {
    const [a, b, c] = [await createId(), await createId(), await createId()];
    clock += 10_000;
    expect(await move(c, BACKLOG, 1)).toBe(true);
    expect(board()).toEqual([
      [a, BACKLOG, 2],
      [b, BACKLOG, 3],
      [c, BACKLOG, 1],
    ]);
    expect(fake.task(c)).toMatchObject({ date_moved: SECONDS, date_modification: SECONDS });
  });

  it("keeps the task's swimlane for swimlane 0 and moves it to another swimlane when given one", async () => {
    const a = await createId();
    expect(await move(a, WIP, 1, 0)).toBe(true);
    expect(fake.task(a)?.swimlane_id).toBe(1);
    expect(await move(a, WIP, 1, 2)).toBe(true);
    expect(fake.task(a)).toMatchObject({ swimlane_id: 2, column_id: WIP, position: 1 });
  });

  it("moves closed tasks, and leaves closed tasks out of the renumbering", async () => {
    const [a, b, c] = [await createId(), await createId(), await createId()];
    expect(await result("closeTask", { task_id: b })).toBe(true);
    expect(await move(a, DONE, 1)).toBe(true);
    expect(board()).toEqual([
      [a, DONE, 1],
      [b, BACKLOG, 2], // closed: keeps its position
      [c, BACKLOG, 1],
    ]);
    expect(await move(b, DONE, 1)).toBe(true);
    expect(board()).toEqual([
      [a, DONE, 2],
      [b, DONE, 1],
      [c, BACKLOG, 1],
    ]);
  });

  it("answers false and changes nothing for a column or swimlane that does not exist", async () => {
    const [a, b] = [await createId(), await createId()];
    expect(await move(a, 99, 1)).toBe(false);
    expect(await move(a, WIP, 1, 99)).toBe(false);
    expect(board()).toEqual([
      [a, BACKLOG, 1],
      [b, BACKLOG, 2],
    ]);
  });

  it("answers -32602 unless all five arguments are given", async () => {
    const a = await createId();
    const four = await rpc("moveTaskPosition", { project_id: 1, task_id: a, column_id: WIP, position: 1 });
    expect(four.error).toEqual({
      code: -32602,
      message: "Invalid params",
      data: "Wrong number of arguments",
    });
    const misspelt = await rpc("moveTaskPosition", {
      project_id: 1,
      task_id: a,
      column_id: WIP,
      position: 1,
      swimlane: 0,
    });
    expect(misspelt.error?.data).toBe("Missing argument: swimlane_id");
    expect(await result("moveTaskPosition", [1, a, WIP, 1, 0])).toBe(true);
  });
});

describe("closeTask, openTask and removeTask", () => {
  it("closes and reopens a task, and answers false for an unknown one", async () => {
    const id = await createId();
    clock += 1_000;
    expect(await result("closeTask", { task_id: id })).toBe(true);
    expect(await result<Row>("getTask", [id])).toMatchObject({
      is_active: "0",
      date_completed: String(SECONDS + 1),
      date_modification: String(SECONDS + 1),
    });
    expect(await result("closeTask", { task_id: id })).toBe(true); // already closed: still true
    expect(await result("openTask", { task_id: id })).toBe(true);
    // TaskStatusModel::open writes date_completed 0, not NULL.
    expect(await result<Row>("getTask", [id])).toMatchObject({ is_active: "1", date_completed: "0" });
    expect(await result("closeTask", { task_id: 404 })).toBe(false);
    expect(await result("openTask", { task_id: 404 })).toBe(false);
  });

  it("removes a task for good, answers false the second time, and leaves the other positions as they are", async () => {
    const [a, b, c] = [await createId(), await createId(), await createId()];
    expect(await result("removeTask", { task_id: b })).toBe(true);
    expect(await result("removeTask", { task_id: b })).toBe(false);
    expect(await result("getTask", { task_id: b })).toBeNull();
    expect(board()).toEqual([
      [a, BACKLOG, 1],
      [c, BACKLOG, 3],
    ]);
  });
});

describe("getAllTasks and searchTasks", () => {
  it("lists the active tasks by default and the closed ones with status_id 0, in id order", async () => {
    const [a, b, c] = [await createId(), await createId(), await createId()];
    await result("closeTask", { task_id: b });
    const ids = (tasks: Row[]) => tasks.map((t) => Number(t.id));
    expect(ids(await result<Row[]>("getAllTasks", { project_id: 1 }))).toEqual([a, c]);
    expect(ids(await result<Row[]>("getAllTasks", { project_id: 1, status_id: 0 }))).toEqual([b]);
    expect(await result("getAllTasks", { project_id: 2 })).toEqual([]);
    expect((await result<Row[]>("getAllTasks", [1]))[0]).toHaveProperty("url");
  });

  it("searches references with LIKE semantics, statuses, titles and whole-day dates", async () => {
    const one = await createId({ reference: "OTRS#1", title: "Printer on fire" });
    const eleven = await createId({ reference: "OTRS#11", title: "Mail slow" });
    const other = await createId({ reference: "RT-1", title: "Printer jam" });
    await result("closeTask", { task_id: eleven });
    const search = async (query: string) =>
      (await result<Row[]>("searchTasks", { project_id: 1, query })).map((t) => Number(t.id));
    expect(await search("ref:otrs#1")).toEqual([one]); // ILIKE: case-insensitive, exact without a '*'
    expect(await search("ref:OTRS*")).toEqual([one, eleven]);
    expect(await search("ref:OTRS_1")).toEqual([one]); // '_' is any one character
    expect(await search("ref:OTRS#_1")).toEqual([eleven]);
    expect(await search("ref:OTRS* status:open")).toEqual([one]);
    expect(await search("status:closed")).toEqual([eleven]);
    expect(await search("printer")).toEqual([one, other]);
    expect(await search("status:open on fire")).toEqual([one]); // the words left over: one title filter
    expect(await search("printer fire")).toEqual([]);
    expect(await search("ref:OTRS#1 ref:RT-1")).toEqual([one, other]);
    expect(await search("modified:>=2026-11-22")).toEqual([one, eleven, other]);
    expect(await search("modified:>2026-11-22")).toEqual([]); // '>' means after that whole day
    expect(await search(`modified:${SECONDS}`)).toEqual([one, eleven, other]); // a timestamp is its day
    const rows = await result<Row[]>("searchTasks", { project_id: 1, query: "ref:RT-1" });
    expect(rows[0]).toMatchObject({ nb_comments: "0", column_name: "Backlog", project_name: "Helpdesk" });
    expect(rows[0]).not.toHaveProperty("url");
  });

  it("answers HTTP 500 naming a search filter it does not model", async () => {
    const answer = await post({
      jsonrpc: "2.0",
      method: "searchTasks",
      id: 1,
      params: { project_id: 1, query: "tag:urgent" },
    });
    expect(answer.status).toBe(500);
    expect(answer.text).toContain("tag:");
  });
});

describe("columns, swimlanes, projects and users", () => {
  it("lists the columns in position order and finds one by id, or null", async () => {
    const columns = await result<Row[]>("getColumns", { project_id: 2 });
    expect(columns.map((c) => [c.id, c.title, c.position])).toEqual([
      ["5", "Todo", "1"],
      ["6", "Done", "2"],
    ]);
    expect(await result("getColumn", { column_id: WAITING })).toEqual({
      id: "3",
      title: "Waiting",
      position: "3",
      project_id: "1",
      task_limit: "0",
      description: "",
      hide_in_dashboard: "0",
    });
    expect(await result("getColumn", { column_id: 99 })).toBeNull();
    expect(await result("getColumns", { project_id: 99 })).toEqual([]);
    expect(fake.columns(1).map((c) => c.title)).toEqual(["Backlog", "Work in progress", "Waiting", "Done"]);
  });

  it("lists the active swimlanes and answers projects with their board URLs", async () => {
    expect(await result("getActiveSwimlanes", { project_id: 1 })).toEqual([
      {
        id: "1",
        name: "Default swimlane",
        position: "1",
        is_active: "1",
        project_id: "1",
        description: "",
        task_limit: "0",
      },
      {
        id: "2",
        name: "Urgent",
        position: "2",
        is_active: "1",
        project_id: "1",
        description: "",
        task_limit: "0",
      },
    ]);
    expect(await result("getProjectById", { project_id: 1 })).toMatchObject({
      id: "1",
      name: "Helpdesk",
      is_active: "1",
      url: {
        board: "http://localhost/?controller=BoardViewController&action=show&project_id=1",
        list: "http://localhost/?controller=TaskListController&action=show&project_id=1",
      },
    });
    expect(await result("getProjectById", { project_id: 99 })).toBeNull();
  });

  it("answers the whole user row by username, or null", async () => {
    const alice = await result<Row>("getUserByName", { username: "alice" });
    expect(alice).toMatchObject({
      id: "2",
      username: "alice",
      name: "Alice Agent",
      role: "app-user",
      is_active: "1",
      api_access_token: "alice-pat",
    });
    expect(alice.password).toMatch(/^\$2y\$10\$/);
    expect(await result("getUserByName", { username: "Alice" })).toBeNull();
    expect(
      await result<Row>("getUserByName", ["admin"], { auth: basic("admin", "admin-password") }),
    ).toMatchObject({
      id: "1",
      role: "app-admin",
    });
  });
});

describe("protocol", () => {
  it("answers a batch with an array in request order, leaving notifications out", async () => {
    const id = await createId();
    const answer = await post([
      { jsonrpc: "2.0", method: "getVersion", id: "a" },
      { jsonrpc: "2.0", method: "closeTask", params: { task_id: id } },
      { jsonrpc: "2.0", method: "getTask", id: "c", params: [id] },
      1,
      { jsonrpc: "2.0", method: "noSuchProcedure", id: "e" },
    ]);
    expect(answer.status).toBe(200);
    const answers = answer.json as Envelope[];
    expect(answers.map((a) => a.id)).toEqual(["a", "c", null, "e"]);
    expect(answers[1]?.result).toMatchObject({ is_active: "0" });
    expect(answers[2]?.error).toEqual({ code: -32700, message: "Parse error" });
    expect(answers[3]?.error).toEqual({ code: -32601, message: "Method not found" });
    expect(fake.calls.map((c) => c.method)).toEqual([
      "createTask",
      "getVersion",
      "closeTask",
      "getTask",
      "(invalid)",
      "noSuchProcedure",
    ]);
    // Only notifications: an empty body.
    const silent = await post([{ jsonrpc: "2.0", method: "getVersion" }]);
    expect([silent.status, silent.text]).toEqual([200, ""]);
  });

  it("binds positional params in signature order and fills the defaults", async () => {
    const id = await result<number>("createTask", ["Positional", 1, "green", WAITING]);
    expect(fake.task(id)).toMatchObject({ title: "Positional", color_id: "green", column_id: WAITING });
    expect(await result("getAllTasks", [1, 1])).toHaveLength(1);
    expect((await rpc("getTask", [])).error?.data).toBe("Wrong number of arguments");
    expect((await rpc("getTask", [id, 2])).error?.data).toBe("Too many arguments");
  });

  it("answers -32601, -32602, -32700 and -32600 like JsonRPC's ResponseBuilder", async () => {
    expect(await rpc("noSuchProcedure")).toMatchObject({
      error: { code: -32601, message: "Method not found" },
    });
    const missing = await rpc("getTask", { id: 1 });
    expect(missing).toEqual({ ...(fixture("error-invalid-params.json") as Row), id: missing.id });
    expect((await rpc("getTask", { task_id: 1, extra: 2 })).error?.data).toBe("Too many arguments");
    for (const body of ["{not json", "", "42", '"getTask"', "null"]) {
      const answer = await post(body, { raw: true });
      expect([answer.status, answer.json]).toEqual([
        200,
        { jsonrpc: "2.0", error: { code: -32700, message: "Parse error" }, id: null },
      ]);
    }
    const invalidRequest = { jsonrpc: "2.0", error: { code: -32600, message: "Invalid Request" }, id: null };
    for (const body of [
      { method: "getVersion", id: 7 },
      { jsonrpc: "1.0", method: "getVersion", id: 7 },
      { jsonrpc: "2.0", method: 5, id: 7 },
      { jsonrpc: "2.0", method: "getVersion", params: "x", id: 7 },
      { jsonrpc: "2.0", id: 7 }, // answered even though an error would normally need an id
      [],
    ]) {
      expect((await post(body)).json).toEqual(invalidRequest);
    }
    expect(fake.calls.at(-1)?.method).toBe("(batch)");
  });

  it("answers nothing for a notification and matches procedure names case-insensitively", async () => {
    const silent = await post({
      jsonrpc: "2.0",
      method: "createTask",
      params: { title: "quiet", project_id: 1 },
    });
    expect([silent.status, silent.text, silent.headers.get("content-type")]).toEqual([
      200,
      "",
      "application/json",
    ]);
    expect(fake.tasks()).toHaveLength(1);
    expect(await result("GETVERSION")).toBe("1.2.53");
    expect((await post({ jsonrpc: "2.0", method: "getTask", id: null, params: [1] })).text).toBe("");
  });

  it("answers HTTP 500 for a Kanboard procedure it does not model, 403 for My… procedures, 404 elsewhere", async () => {
    const comment = await post({ jsonrpc: "2.0", method: "createComment", id: 1, params: {} });
    expect([comment.status, comment.text]).toEqual([500, expect.stringContaining("createComment")]);
    const me = await post({ jsonrpc: "2.0", method: "getMe", id: 1 });
    expect([me.status, me.json]).toEqual([
      403,
      { jsonrpc: "2.0", error: { code: 403, message: "Forbidden" }, id: null },
    ]);
    const elsewhere = await post({ jsonrpc: "2.0", method: "getVersion", id: 1 }, { path: "/api.php" });
    expect(elsewhere.status).toBe(404);
  });
});

describe("fault plans", () => {
  it("answers a planned rpc-error or result instead of doing the work, for matching calls only", async () => {
    fake.failNext(
      1,
      { kind: "rpc-error", code: -32000, message: "Database is locked" },
      { method: "createTask" },
    );
    expect(await result("getVersion")).toBe("1.2.53");
    const failed = await rpc("createTask", { title: "x", project_id: 1 });
    expect(failed.error).toEqual({ code: -32000, message: "Database is locked" });
    expect(fake.tasks()).toHaveLength(0);
    const id = await createId();
    fake.failNext(1, { kind: "result", value: false }, { method: "moveTaskPosition" });
    expect(await move(id, DONE, 1)).toBe(false);
    expect(fake.task(id)?.column_id).toBe(BACKLOG);
    fake.failNext(1, { kind: "result", value: null });
    expect(await result("getTask", [id])).toBeNull();
    expect(await move(id, DONE, 1)).toBe(true);
  });

  it("applies the plans to each procedure call of a batch", async () => {
    fake.failNext(1, { kind: "result", value: false }, { method: "createTask" });
    const answer = await post([
      { jsonrpc: "2.0", method: "createTask", id: 1, params: { title: "a", project_id: 1 } },
      { jsonrpc: "2.0", method: "createTask", id: 2, params: { title: "b", project_id: 1 } },
    ]);
    expect((answer.json as Envelope[]).map((a) => a.result)).toEqual([false, expect.any(Number)]);
    expect(fake.tasks().map((t) => t.title)).toEqual(["b"]);
  });

  it("resets the connection, and loses the answer of work it did once the work succeeds", async () => {
    fake.failNext(1, { kind: "reset" });
    await expect(post({ jsonrpc: "2.0", method: "getVersion", id: 1 })).rejects.toThrow();
    fake.failNext(1, { kind: "drop-response" }, { method: "createTask" });
    expect(await create({ title: "" })).toBe(false); // refused: the plan waits
    await expect(create({ title: "created, answer lost" })).rejects.toThrow();
    expect(fake.tasks().map((t) => t.title)).toEqual(["created, answer lost"]);
    expect(fake.calls.map((c) => [c.method, c.httpStatus])).toEqual([
      ["getVersion", 0],
      ["createTask", 200],
      ["createTask", 0],
    ]);
    expect(fake.count("createTask")).toBe(1);
  });

  it("answers a planned HTTP status, delays, and hangs until the client gives up", async () => {
    fake.failNext(1, { kind: "status", status: 502, body: "<h1>Bad Gateway</h1>" });
    const gateway = await post({ jsonrpc: "2.0", method: "getVersion", id: 1 });
    expect([gateway.status, gateway.text]).toEqual([502, "<h1>Bad Gateway</h1>"]);
    fake.failNext(1, { kind: "delay", ms: 150 });
    const started = Date.now();
    expect(await result("getVersion")).toBe("1.2.53");
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    fake.failNext(1, { kind: "hang" });
    await expect(
      post({ jsonrpc: "2.0", method: "getVersion", id: 1 }, { signal: AbortSignal.timeout(200) }),
    ).rejects.toThrow();
    expect(fake.calls.map((c) => c.httpStatus)).toEqual([502, 200, 0]);
  });

  it("destroys every connection while down, logging the calls with status 0", async () => {
    fake.setDown(true);
    await expect(create()).rejects.toThrow();
    fake.setDown(false);
    expect(fake.tasks()).toHaveLength(0);
    expect(fake.calls.map((c) => [c.method, c.httpStatus])).toEqual([["createTask", 0]]);
    expect(fake.count("createTask")).toBe(0);
  });
});

describe("calls log and reset", () => {
  it("logs one call per procedure with its params, user, result and error", async () => {
    await create({ reference: "RT#1" });
    await rpc("getTask", { id: 1 });
    await post({ jsonrpc: "2.0", method: "getVersion", id: 1 }, { auth: basic("carol", "nope") });
    expect(fake.calls).toEqual([
      {
        method: "createTask",
        params: { title: "Printer on fire", project_id: 1, reference: "RT#1" },
        httpStatus: 200,
        user: "jsonrpc",
        result: expect.any(Number),
      },
      {
        method: "getTask",
        params: { id: 1 },
        httpStatus: 200,
        user: "jsonrpc",
        error: { code: -32602, message: "Invalid params" },
      },
      {
        method: "getVersion",
        params: undefined,
        httpStatus: 401,
        user: "carol",
        error: { code: 401, message: "Unauthorized" },
      },
    ]);
    expect([fake.count("createTask"), fake.count("getTask"), fake.count("closeTask")]).toEqual([1, 1, 0]);
  });

  it("forgets tasks, calls, plans and the down flag on reset, while ids keep counting", async () => {
    const first = await createId();
    fake.failNext(5, { kind: "reset" });
    fake.setDown(true);
    fake.reset();
    expect([fake.tasks().length, fake.calls.length]).toEqual([0, 0]);
    expect(await createId()).toBe(first + 1);
    expect(fake.columns(1)).toHaveLength(4);
  });

  it("moves its clock forward with advanceClock", async () => {
    const other = await startKanboardFake(OPTIONS);
    try {
      other.advanceClock(3600);
      await post({ jsonrpc: "2.0", method: "createTask", id: 1, params: ["Later", 1] }, { to: other });
      expect(other.task(1)?.date_creation).toBe(SECONDS + 3600);
    } finally {
      await other.close();
    }
  });
});

describe("people on the board", () => {
  it("creates, moves, closes and removes tasks without HTTP calls", async () => {
    const created = fake.personCreatesTask({
      projectId: 1,
      title: "Walk-in",
      columnTitle: "Waiting",
      reference: "X-1",
    });
    expect(created).toMatchObject({ column_id: WAITING, creator_id: 1, reference: "X-1", position: 1 });
    const api = await createId({ column_id: DONE });
    clock += 2_000;
    fake.personMovesTask(created.id, "Done");
    expect(fake.task(created.id)).toMatchObject({ column_id: DONE, position: 2, date_moved: SECONDS + 2 });
    expect(fake.columnTitle(created.id)).toBe("Done");
    fake.personClosesTask(api);
    expect(fake.task(api)?.is_active).toBe(0);
    expect(() => fake.personMovesTask(api, "Backlog")).toThrow(/closed/);
    fake.personRemovesTask(created.id);
    expect(fake.task(created.id)).toBeUndefined();
    expect(() => fake.personMovesTask(api, "Nowhere")).toThrow();
    expect(fake.calls.map((c) => c.method)).toEqual(["createTask"]);
    expect(await result("getTask", [created.id])).toBeNull();
  });
});
