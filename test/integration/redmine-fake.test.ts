import { readFileSync } from "node:fs";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type RedmineFake, startRedmineFake } from "../../infra/sandbox/redmine.ts";

const KEY = "redmine-key-for-tests";
const JANE_KEY = "jane-key-for-tests";

const fixture = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`../fixtures/redmine/${name}`, import.meta.url), "utf8"));

let fake: RedmineFake;

beforeAll(async () => {
  fake = await startRedmineFake({
    apiKey: KEY,
    users: [
      { id: 5, login: "deskbridge", name: "Deskbridge Bot", apiKey: KEY },
      { id: 7, login: "jane", name: "Jane Dev", apiKey: JANE_KEY },
    ],
    customFields: [
      { id: 5, name: "OTRS", filterable: true },
      { id: 6, name: "Notas internas", filterable: false },
      { id: 8, name: "Lote", filterable: false, format: "int" },
      { id: 9, name: "Sigla", filterable: false, regexp: "^[A-Z]+$", maxLength: 3 },
    ],
    allowedStatusIds: [1, 2, 4],
  });
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

interface CallOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: unknown;
  /** Sent as it is, as application/json unless `headers` says otherwise. */
  raw?: string;
  key?: string | null;
  signal?: AbortSignal;
  /** Another fake than the suite's. */
  on?: RedmineFake;
}

/**
 * One request to the fake with the bridge's key unless told otherwise; a JSON answer's body is parsed
 * (`body`), and every answer's text kept (`text`).
 */
async function redmine(path: string, options: CallOptions = {}) {
  const headers: Record<string, string> = {};
  if (options.key !== null) headers["X-Redmine-API-Key"] = options.key ?? KEY;
  const payload = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  if (payload !== undefined) headers["Content-Type"] = "application/json";
  Object.assign(headers, options.headers);
  const response = await fetch(`${(options.on ?? fake).url}${path}`, {
    method: options.method ?? "GET",
    headers,
    ...(payload === undefined ? {} : { body: payload }),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const text = await response.text();
  const json = (response.headers.get("content-type") ?? "").startsWith("application/json");
  return {
    status: response.status,
    headers: response.headers,
    text,
    body: text && json ? JSON.parse(text) : undefined,
  };
}

/** What Rails' `head` sends on a `.json` route (checked against Redmine 5.0.4): no body, a JSON type. */
function expectHead(answer: Awaited<ReturnType<typeof redmine>>, status: number) {
  expect([answer.status, answer.text, answer.headers.get("content-type")]).toEqual([
    status,
    "",
    "application/json",
  ]);
}

/** require_login's answer to the anonymous user, for no key and for a key Redmine does not know alike. */
function expectLogIn(answer: Awaited<ReturnType<typeof redmine>>) {
  expectHead(answer, 401);
  expect(answer.headers.get("www-authenticate")).toBe('Basic realm="Redmine API"');
}

function create(issue: Record<string, unknown>, key?: string) {
  return redmine("/issues.json", {
    method: "POST",
    body: { issue: { project_id: 1, subject: "Erro ao emitir nota", ...issue } },
    ...(key ? { key } : {}),
  });
}

function update(id: number, issue: Record<string, unknown>) {
  return redmine(`/issues/${id}.json`, { method: "PUT", body: { issue } });
}

async function ids(query: string): Promise<number[]> {
  const answer = await redmine(`/issues.json?${query}`);
  expect(answer.status).toBe(200);
  return answer.body.issues.map((issue: { id: number }) => issue.id);
}

describe("authentication", () => {
  it("takes no key or an unknown one for the anonymous user: lists answer 200 without private issues, the rest 401 with a Basic challenge", async () => {
    const { id } = (await create({})).body.issue;
    for (const key of [null, "wrong"]) {
      const list = await redmine("/issues.json?status_id=*", { key });
      expect([list.status, list.body]).toEqual([200, { issues: [], total_count: 0, offset: 0, limit: 25 }]);
      const refused: [string, string, unknown?][] = [
        ["GET", `/issues/${id}.json`],
        ["PUT", `/issues/${id}.json`, { issue: { notes: "anônimo" } }],
        ["DELETE", `/issues/${id}.json`],
        ["POST", "/issues.json", { issue: { project_id: 1, subject: "anônimo" } }],
        ["POST", "/projects/devteam/issues.json", { issue: { subject: "anônimo" } }],
        ["GET", "/issues.json?project_id=devteam"],
        ["GET", "/users/current.json"],
        ["GET", "/custom_fields.json"],
      ];
      for (const [method, path, body] of refused) expectLogIn(await redmine(path, { method, key, body }));
      expectHead(await redmine("/issues/999.json", { key }), 404);
      expectHead(await redmine("/issues/999.json", { method: "PUT", key, body: { issue: {} } }), 404);
      expectHead(await redmine("/issues.json?project_id=nope", { key }), 404);
      expect((await redmine("/issue_statuses.json", { key })).status).toBe(200);
      expect((await redmine("/projects.json", { key })).body.projects).toEqual([]);
    }
    expect(fake.issues).toMatchObject([{ id, journals: [] }]);
  });

  it("accepts the key in the query before the header, and as the Basic username", async () => {
    const { id } = (await create({})).body.issue;
    expect((await redmine(`/issues.json?key=${KEY}`, { key: "wrong" })).body.total_count).toBe(1);
    // A wrong key in the query wins over a right one in the header: the request is anonymous.
    expect((await redmine("/issues.json?key=wrong", { key: KEY })).body.total_count).toBe(0);
    expectLogIn(await redmine(`/issues/${id}.json?key=wrong`, { key: KEY }));
    const basic = `Basic ${Buffer.from(`${KEY}:x`).toString("base64")}`;
    const answer = await redmine("/issues.json", { key: null, headers: { Authorization: basic } });
    expect(answer.body.total_count).toBe(1);
  });

  it("takes a revoked key for the anonymous user until reset", async () => {
    const { id } = (await create({})).body.issue;
    fake.revokeApiKey(KEY);
    expect((await redmine("/issues.json")).body.issues).toEqual([]);
    expectLogIn(await redmine(`/issues/${id}.json`));
    expect((await redmine("/users/current.json", { key: JANE_KEY })).body.user.login).toBe("jane");
    fake.reset();
    expect((await redmine("/users/current.json")).body.user.login).toBe("deskbridge");
  });

  it("makes the key's user the author", async () => {
    expect((await create({}, JANE_KEY)).body.issue.author).toEqual({ id: 7, name: "Jane Dev" });
    expect((await create({})).body.issue.author).toEqual({ id: 5, name: "Deskbridge Bot" });
  });

  it("answers a path no route matches with Redmine's 404 page, and unknown issues and forbidden lists with empty JSON heads", async () => {
    for (const [method, path] of [
      ["GET", "/nothing.json"],
      ["PUT", "/issues.json"],
    ] as const) {
      const answer = await redmine(path, { method });
      expect([answer.status, answer.headers.get("content-type")]).toEqual([404, "text/html; charset=utf-8"]);
      expect(answer.text).toContain("<title>Redmine 404 error</title>");
    }
    expectHead(await redmine("/issues/99.json"), 404);
    expectHead(await redmine("/issues/99.json", { method: "DELETE" }), 404);
    expectHead(await redmine("/projects/nope/issues.json", { method: "POST", body: { issue: {} } }), 404);
    expectHead(await redmine("/custom_fields.json"), 403); // administrators only
  });

  it("answers a body that is not JSON with an empty text/html 400, and reads one not declared as JSON as no params", async () => {
    for (const [method, path] of [
      ["POST", "/issues.json"],
      ["PUT", "/issues/1.json"],
    ] as const) {
      const answer = await redmine(path, { method, raw: '{"issue": {"subject": ' });
      expect([answer.status, answer.text, answer.headers.get("content-type")]).toEqual([
        400,
        "",
        "text/html; charset=utf-8",
      ]);
    }
    const plain = await redmine("/issues.json", {
      method: "POST",
      raw: JSON.stringify({ issue: { project_id: 1, subject: "texto" } }),
      headers: { "Content-Type": "text/plain" },
    });
    expect([plain.status, plain.body]).toEqual([422, fixture("error-422.json")]);
    expect(fake.issues).toHaveLength(0);
  });
});

describe("with a public project, and with authentication required", () => {
  let open: RedmineFake;
  let closed: RedmineFake;
  beforeAll(async () => {
    open = await startRedmineFake({
      apiKey: KEY,
      projects: [
        { id: 1, identifier: "devteam", name: "Desenvolvimento" },
        { id: 3, identifier: "publico", name: "Público", is_public: true },
      ],
    });
    closed = await startRedmineFake({ apiKey: KEY, loginRequired: true });
  });
  afterAll(async () => {
    await open.close();
    await closed.close();
  });

  it("shows the anonymous user a public project's issues, and lets it change nothing", async () => {
    const ids: number[] = [];
    for (const project_id of [1, 3]) {
      const answer = await redmine("/issues.json", {
        on: open,
        method: "POST",
        body: { issue: { project_id, subject: "x" } },
      });
      ids.push(answer.body.issue.id);
    }
    const [secret, shared] = ids;
    const list = await redmine("/issues.json", { on: open, key: null });
    expect(list.body.issues.map((i: { id: number }) => i.id)).toEqual([shared]);
    expect((await redmine("/issues.json?project_id=publico", { on: open, key: null })).status).toBe(200);
    expect((await redmine(`/issues/${shared}.json`, { on: open, key: "wrong" })).status).toBe(200);
    expectLogIn(await redmine(`/issues/${secret}.json`, { on: open, key: "wrong" }));
    const edit = { on: open, key: null, method: "PUT", body: { issue: { notes: "x" } } };
    expectLogIn(await redmine(`/issues/${shared}.json`, edit));
    const add = { on: open, key: null, method: "POST", body: { issue: { project_id: 3, subject: "x" } } };
    expectLogIn(await redmine("/issues.json", add));
    const projects = (await redmine("/projects.json", { on: open, key: null })).body.projects;
    expect(projects).toMatchObject([{ identifier: "publico", is_public: true, description: null }]);
  });

  it("answers every route 401 with a Basic challenge to the anonymous user when authentication is required", async () => {
    for (const path of ["/issues.json", "/issues/1.json", "/issue_statuses.json", "/users/current.json"]) {
      for (const key of [null, "wrong"]) expectLogIn(await redmine(path, { on: closed, key }));
    }
    expect((await redmine("/issues.json", { on: closed })).status).toBe(200);
    expect((await redmine("/nothing.json", { on: closed, key: null })).status).toBe(404);
  });
});

describe("create", () => {
  it("answers 201 with a Location and the issue in the GET shape", async () => {
    const answer = await create({
      project_id: "devteam",
      tracker_id: 2,
      assigned_to_id: 7,
      description: "NF-e",
      custom_fields: [{ id: 5, value: "2026112210000013" }],
    });
    expect(answer.status).toBe(201);
    const { id } = answer.body.issue;
    expect(answer.headers.get("location")).toBe(`${fake.url}/issues/${id}`);
    expect(answer.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(Object.keys(answer.body.issue)).toEqual(
      Object.keys(fixture("issue-created.json").issue as object),
    );
    expect(answer.body.issue).toMatchObject({
      project: { id: 1, name: "Desenvolvimento" },
      tracker: { id: 2, name: "Bug" },
      status: { id: 1, name: "Quest", is_closed: false },
      assigned_to: { id: 7, name: "Jane Dev" },
      description: "NF-e",
      custom_fields: [
        { id: 5, name: "OTRS", value: "2026112210000013" },
        { id: 6, name: "Notas internas", value: null },
        { id: 8, name: "Lote", value: null },
        { id: 9, name: "Sigla", value: null },
      ],
    });
    expect(answer.body.issue.created_on).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(answer.body.issue.journals).toBeUndefined();
    const shown = await redmine(`/issues/${id}.json`);
    expect(shown.body.issue).toEqual(answer.body.issue);
  });

  it('shows a description and custom fields never given as null, and one given as "" or null as ""', async () => {
    const bare = (await create({})).body.issue;
    expect(bare.description).toBeNull();
    expect(bare.custom_fields.map((f: { value: unknown }) => f.value)).toEqual([null, null, null, null]);
    const given = await create({
      description: "",
      custom_fields: [
        { id: 5, value: "" },
        { id: 6, value: null },
      ],
    });
    expect(given.body.issue.description).toBe("");
    expect(given.body.issue.custom_fields.map((f: { value: unknown }) => f.value)).toEqual([
      "",
      "",
      null,
      null,
    ]);
  });

  it("keeps the subject and custom field values as sent, untrimmed", async () => {
    const answer = await create({ subject: "  espaços  ", custom_fields: [{ id: 5, value: " 123 " }] });
    expect(answer.body.issue.subject).toBe("  espaços  ");
    expect(answer.body.issue.custom_fields[0].value).toBe(" 123 ");
  });

  it("answers 422 with Redmine's errors for an unknown project: the tracker and status it would give are blank too", async () => {
    const answer = await create({ project_id: 99, subject: "  " });
    expect([answer.status, answer.headers.get("content-type")]).toEqual([
      422,
      "application/json; charset=utf-8",
    ]);
    expect(answer.body).toEqual(fixture("error-422.json"));
    const unknown = ["Project cannot be blank", "Tracker cannot be blank", "Status cannot be blank"];
    for (const project_id of [99, "nope", undefined]) {
      expect((await create({ project_id, tracker_id: 1, status_id: 1 })).body).toEqual({ errors: unknown });
    }
    expect((await create({ project_id: 99, priority_id: 99, assigned_to_id: 999 })).body).toEqual({
      errors: [
        "Project cannot be blank",
        "Tracker cannot be blank",
        "Priority cannot be blank",
        "Status cannot be blank",
      ],
    });
    expect((await create({ subject: "" })).body).toEqual({ errors: ["Subject cannot be blank"] });
    expect(fake.issues).toHaveLength(0);
  });

  it("lists custom field errors first, then subject, priority, subject length and assignee", async () => {
    const answer = await create({
      subject: " ",
      priority_id: 99,
      assigned_to_id: 999,
      tracker_id: 99,
      custom_fields: [
        { id: 8, value: "abc" },
        { id: 9, value: "abcd" },
      ],
    });
    expect(answer.body).toEqual({
      errors: [
        "Lote is not a number",
        "Sigla is invalid",
        "Sigla is too long (maximum is 3 characters)",
        "Subject cannot be blank",
        "Priority cannot be blank",
        "Assignee is invalid",
      ],
    });
    expect((await create({ subject: "a".repeat(256), priority_id: 99 })).body).toEqual({
      errors: ["Priority cannot be blank", "Subject is too long (maximum is 255 characters)"],
    });
    expect(
      (
        await create({
          custom_fields: [
            { id: 8, value: " +12 " },
            { id: 9, value: "" },
          ],
        })
      ).status,
    ).toBe(201);
    // Characters, not UTF-16 units: 255 of them is fine whatever they are.
    expect((await create({ subject: "🐛".repeat(255) })).status).toBe(201);
  });

  it("drops a status the workflow does not allow and falls back to the first allowed one", async () => {
    const answer = await create({ status_id: 3 });
    expect(answer.status).toBe(201);
    expect(answer.body.issue.status).toEqual({ id: 1, name: "Quest", is_closed: false });
    expect((await create({ status_id: 2 })).body.issue.status.id).toBe(2);
    // An unknown tracker or status falls back to the defaults as silently.
    expect((await create({ tracker_id: 99, status_id: 99 })).body.issue).toMatchObject({
      tracker: { id: 1 },
      status: { id: 1 },
    });
  });

  it("ignores unknown custom field ids silently and omits an unset assignee", async () => {
    const answer = await create({
      custom_fields: [
        { id: 77, value: "x" },
        { id: 5, value: "otrs:1" },
      ],
    });
    expect(answer.status).toBe(201);
    expect(answer.body.issue.custom_fields.map((f: { id: number }) => f.id)).toEqual([5, 6, 8, 9]);
    expect(fake.issues[0]?.custom_fields).toEqual({ 5: "otrs:1" });
    expect("assigned_to" in answer.body.issue).toBe(false);
  });

  it("records X-Skip-Webhooks in the calls log", async () => {
    await redmine("/issues.json", {
      method: "POST",
      headers: { "X-Skip-Webhooks": "1" },
      body: { issue: { project_id: 1, subject: "a" } },
    });
    expect(fake.calls[0]?.headers["x-skip-webhooks"]).toBe("1");
    expect(fake.calls[0]?.status).toBe(201);
  });
});

describe("update", () => {
  it("answers 204 with an empty body and journals each changed attribute and custom field", async () => {
    const { id, updated_on: before } = (await create({})).body.issue;
    const answer = await update(id, {
      status_id: 2,
      notes: "Em análise",
      custom_fields: [{ id: 5, value: "otrs:9" }],
    });
    expect(answer.status).toBe(204);
    expect(answer.text).toBe("");
    const shown = (await redmine(`/issues/${id}.json?include=journals`)).body.issue;
    expect(shown.updated_on > before).toBe(true);
    expect(shown.journals).toEqual([
      {
        id: expect.any(Number),
        user: { id: 5, name: "Deskbridge Bot" },
        notes: "Em análise",
        created_on: shown.updated_on, // and no updated_on: Redmine 5.0 journals have none
        private_notes: false,
        details: [
          { property: "attr", name: "status_id", old_value: "1", new_value: "2" },
          { property: "cf", name: "5", old_value: null, new_value: "otrs:9" },
        ],
      },
    ]);
    const shape = Object.keys(fixture("issue.json").issue as object).filter((key) => key !== "assigned_to");
    expect(Object.keys(shown)).toEqual(shape);
  });

  it("adds a journal with notes and no details for a PUT with only notes, and takes PATCH as PUT", async () => {
    const { id } = (await create({})).body.issue;
    expect((await update(id, { notes: "Só um comentário" })).status).toBe(204);
    const patch = { method: "PATCH", body: { issue: { notes: "Outro" } } };
    expect((await redmine(`/issues/${id}.json`, patch)).status).toBe(204);
    expect(fake.issues[0]?.journals).toMatchObject([
      { notes: "Só um comentário", details: [] },
      { notes: "Outro", details: [] },
    ]);
  });

  it("keeps the status when the workflow does not allow the new one, still answering 204 and moving updated_on", async () => {
    const { id, updated_on } = (await create({})).body.issue;
    expect((await update(id, { status_id: 3 })).status).toBe(204);
    const shown = (await redmine(`/issues/${id}.json?include=journals`)).body.issue;
    expect(shown.status.id).toBe(1);
    expect(shown.journals).toEqual([]);
    expect(shown.updated_on > updated_on).toBe(true);
  });

  it("moves updated_on on every accepted PUT, even one that changes nothing, journaling only changes and notes", async () => {
    const { id } = (await create({ custom_fields: [{ id: 5, value: "123" }] })).body.issue;
    const edits = [
      {},
      { tracker_id: 99 },
      { project_id: 99 },
      { status_id: 1 },
      { notes: "  " },
      { custom_fields: [{ id: 5, value: "123" }] },
    ];
    let previous = fake.issues[0]?.updated_on ?? "";
    for (const edit of edits) {
      const answer = await update(id, edit);
      expect([answer.status, answer.text, answer.headers.get("content-type")]).toEqual([204, "", null]);
      const now = fake.issues[0]?.updated_on ?? "";
      expect(now > previous).toBe(true);
      previous = now;
    }
    expect(fake.issues[0]?.journals).toEqual([]);
  });

  it('stores a custom field set to null or "" as "", journaling each change', async () => {
    const { id } = (await create({})).body.issue;
    await update(id, { custom_fields: [{ id: 5, value: "123" }] });
    await update(id, { custom_fields: [{ id: 5, value: "" }] });
    await update(id, { custom_fields: [{ id: 5, value: "456" }] });
    await update(id, { custom_fields: [{ id: 5, value: null }] });
    const shown = (await redmine(`/issues/${id}.json?include=journals`)).body.issue;
    expect(shown.custom_fields[0].value).toBe("");
    expect(shown.journals.map((j: { details: unknown[] }) => j.details)).toEqual([
      [{ property: "cf", name: "5", old_value: null, new_value: "123" }],
      [{ property: "cf", name: "5", old_value: "123", new_value: "" }],
      [{ property: "cf", name: "5", old_value: "", new_value: "456" }],
      [{ property: "cf", name: "5", old_value: "456", new_value: "" }],
    ]);
  });

  it("sets closed_on when the issue moves to a closed status", async () => {
    const { id } = (await create({})).body.issue;
    await update(id, { status_id: 4 });
    const shown = (await redmine(`/issues/${id}.json`)).body.issue;
    expect(shown.status).toEqual({ id: 4, name: "Vitória", is_closed: true });
    expect(shown.closed_on).toBe(shown.updated_on);
  });

  it("answers 422 in Redmine's order for invalid values and an empty 404 for an unknown issue", async () => {
    const { id, updated_on } = (await create({})).body.issue;
    expect((await update(id, { subject: "" })).body).toEqual({ errors: ["Subject cannot be blank"] });
    expect((await update(id, { subject: "", custom_fields: [{ id: 8, value: "abc" }] })).body).toEqual({
      errors: ["Lote is not a number", "Subject cannot be blank"],
    });
    expect((await update(id, { priority_id: 99 })).body).toEqual({ errors: ["Priority cannot be blank"] });
    expect((await update(id, { assigned_to_id: 999 })).body).toEqual({ errors: ["Assignee is invalid"] });
    expect((await update(id, { subject: "b".repeat(256) })).body).toEqual({
      errors: ["Subject is too long (maximum is 255 characters)"],
    });
    expect(fake.issues[0]).toMatchObject({ updated_on, journals: [] });
    expectHead(await update(999, { notes: "x" }), 404);
  });
});

describe("listing", () => {
  it("lists open issues only by default, and all, closed or given statuses on request", async () => {
    const open = (await create({})).body.issue.id;
    const closed = (await create({})).body.issue.id;
    await update(closed, { status_id: 4 });
    expect(await ids("")).toEqual([open]);
    expect(await ids("status_id=o")).toEqual([open]);
    expect(await ids("status_id=c")).toEqual([closed]);
    expect(await ids("status_id=*&sort=id")).toEqual([open, closed]);
    expect(await ids("status_id=4|2")).toEqual([closed]);
    const answer = await redmine("/issues.json");
    expect(Object.keys(answer.body)).toEqual(Object.keys(fixture("issues-list.json")));
    expect(answer.body.issues[0].journals).toBeUndefined();
  });

  it("ignores an unknown filter and a cf filter on a field not used as a filter, returning everything", async () => {
    await create({ custom_fields: [{ id: 6, value: "a" }] });
    await create({ custom_fields: [{ id: 6, value: "b" }] });
    expect(await ids("nonsense=1")).toHaveLength(2);
    expect(await ids("cf_6=a")).toHaveLength(2);
    expect(await ids("cf_99=a")).toHaveLength(2);
  });

  it("filters on a custom field in the short and the long form", async () => {
    const first = (await create({ custom_fields: [{ id: 5, value: "otrs:1" }] })).body.issue.id;
    const second = (await create({ custom_fields: [{ id: 5, value: "!odd|value" }] })).body.issue.id;
    await update(first, { status_id: 4 });
    expect(await ids("cf_5=otrs:1")).toEqual([]); // open only
    expect(await ids("cf_5=otrs:1&status_id=*")).toEqual([first]);
    const long = (value: string) =>
      new URLSearchParams([
        ["f[]", "cf_5"],
        ["op[cf_5]", "="],
        ["v[cf_5][]", value],
        ["f[]", "status_id"],
        ["op[status_id]", "*"],
      ]).toString();
    expect(await ids(long("otrs:1"))).toEqual([first]);
    expect(await ids(long("OTRS:1"))).toEqual([]); // SQL IN: case-sensitive (SQLite, PostgreSQL)
    expect(await ids(long("!odd|value"))).toEqual([second]);
    // In the short form a leading "!" is an operator: "neither odd nor value" matches both issues.
    expect(await ids(`cf_5=${encodeURIComponent("!odd|value")}&status_id=*&sort=id`)).toEqual([
      first,
      second,
    ]);
  });

  it("filters by project and ids, and refuses a malformed date with 422", async () => {
    const first = (await create({})).body.issue;
    const second = (await create({ project_id: "suporte" })).body.issue;
    expect(await ids("project_id=suporte")).toEqual([second.id]);
    expect(await ids("project_id=2")).toEqual([second.id]);
    expectHead(await redmine("/issues.json?project_id=nope"), 404);
    expect(await ids(`issue_id=${first.id},${second.id}&sort=id`)).toEqual([first.id, second.id]);
    for (const value of [">=2024-05-31T10:00:00+01:00", ">=2024-05-31T10:00:00+0100", ">=yesterday"]) {
      const bad = await redmine(`/issues.json?updated_on=${encodeURIComponent(value)}`);
      expect([bad.status, bad.body]).toEqual([422, { errors: ["Updated is invalid"] }]);
    }
  });

  it("widens a datetime filter by one second, as Redmine does on times it stores below the second", async () => {
    const a = (await create({ subject: "A" })).body.issue;
    fake.advanceClock(5);
    const b = (await create({ subject: "B" })).body.issue;
    const c = (await create({ subject: "C" })).body.issue;
    expect(Date.parse(c.updated_on) - Date.parse(b.updated_on)).toBe(1000);
    const at = (issue: { updated_on: string }, seconds: number) =>
      new Date(Date.parse(issue.updated_on) + seconds * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
    const since = async (op: string, value: string) =>
      ids(`sort=id&updated_on=${encodeURIComponent(`${op}${value}`)}`);
    expect(await since(">=", b.updated_on)).toEqual([b.id, c.id]);
    expect(await since(">=", c.updated_on)).toEqual([b.id, c.id]); // B was saved in the second before C
    expect(await since(">=", at(c, 1))).toEqual([c.id]);
    expect(await since(">=", at(c, 2))).toEqual([]);
    expect(await since("<=", b.updated_on)).toEqual([a.id]); // B's stored time is after B's second
    expect(await since("><", `${a.updated_on}|${b.updated_on}`)).toEqual([a.id]);
    expect(await since(">=", a.updated_on.slice(0, 10))).toEqual([a.id, b.id, c.id]); // a date: its whole day
  });

  it("sorts by updated_on and id, and moves the clock forward for pollers", async () => {
    const a = (await create({})).body.issue;
    const b = (await create({})).body.issue;
    fake.advanceClock(3600);
    await update(a.id, { notes: "later" });
    expect(await ids("sort=updated_on:asc,id")).toEqual([b.id, a.id]);
    expect(await ids("sort=updated_on:desc")).toEqual([a.id, b.id]);
    expect(await ids("")).toEqual([b.id, a.id]); // default id:desc
    const updated = fake.issues.find((i) => i.id === a.id)!.updated_on;
    expect(Date.parse(updated) - Date.parse(b.updated_on)).toBeGreaterThanOrEqual(3600_000);
  });

  it("pages with offset and limit, clamping limit to 100 and defaulting it to 25", async () => {
    for (let i = 0; i < 3; i += 1) await create({});
    const page = await redmine("/issues.json?offset=1&limit=1&sort=id");
    expect(page.body).toMatchObject({ total_count: 3, offset: 1, limit: 1 });
    expect(page.body.issues.map((i: { id: number }) => i.id)).toEqual([fake.issues[1]?.id]);
    expect((await redmine("/issues.json?limit=1000")).body.limit).toBe(100);
    expect((await redmine("/issues.json")).body).toMatchObject({ offset: 0, limit: 25 });
    expect((await redmine("/issues.json?offset=5")).body.issues).toEqual([]);
  });
});

describe("people in the UI", () => {
  it("returns the webhook plugin's opened and updated payloads with a journal of the changes", () => {
    const { issue, payload } = fake.personCreates({
      project_id: 1,
      subject: "Lentidão",
      custom_fields: { 5: "2026112210000021" },
      userId: 7,
    });
    expect(issue.author_id).toBe(7);
    const opened = fixture("webhook-opened.json").payload as Record<string, unknown>;
    expect(Object.keys((payload as { payload: object }).payload)).toEqual(Object.keys(opened));
    expect(payload).toMatchObject({ payload: { action: "opened", url: `${fake.url}/issues/${issue.id}` } });

    const updated = fake.personUpdates(issue.id, { status_id: 3, notes: "Pronto", userId: 7 });
    expect(updated).toMatchObject({
      payload: {
        action: "updated",
        issue: { id: issue.id, status: { id: 3, name: "Resultado" } },
        journal: {
          notes: "Pronto",
          author: { id: 7, login: "jane" },
          details: [{ property: "attr", prop_key: "status_id", old_value: "1", value: "3" }],
        },
      },
    });
    expect(issue.journals).toMatchObject([{ user: { id: 7, name: "Jane Dev" }, notes: "Pronto" }]);
  });

  it("keeps the fixtures' webhook shapes, the invalid one lacking the issue id", () => {
    const updated = fixture("webhook-updated.json").payload as { issue: Record<string, unknown> };
    const invalid = fixture("webhook-invalid.json").payload as { issue: Record<string, unknown> };
    expect(updated.issue.id).toEqual(expect.any(Number));
    expect(invalid.issue.id).toBeUndefined();
  });
});

describe("faults", () => {
  it("answers the planned status for matching requests only, then recovers", async () => {
    fake.failNext(2, { kind: "status", status: 503 }, { method: "POST", path: "/issues.json" });
    expect((await redmine("/issues.json")).status).toBe(200); // not matched by the plan
    expect((await create({})).status).toBe(503);
    expect((await create({})).text).toBe("");
    expect((await create({})).status).toBe(201);
    expect(fake.issues).toHaveLength(1);
    expect(fake.count("POST", "/issues.json")).toBe(3);
    expect(fake.calls.filter((c) => c.method === "POST").map((c) => c.status)).toEqual([503, 503, 201]);
  });

  it("resets, delays, hangs, and drops the answer of work it did", async () => {
    fake.failNext(1, { kind: "reset" });
    await expect(redmine("/issues.json")).rejects.toThrow();

    fake.failNext(1, { kind: "drop-response" }, { path: /^\/issues/ });
    expect((await create({ subject: "" })).status).toBe(422); // refused: the plan waits
    await expect(create({ subject: "created, answer lost" })).rejects.toThrow();
    expect(fake.issues).toHaveLength(1);

    fake.failNext(1, { kind: "delay", ms: 150 });
    const started = Date.now();
    expect((await redmine("/issues.json")).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);

    fake.failNext(1, { kind: "hang" });
    await expect(redmine("/issues.json", { signal: AbortSignal.timeout(200) })).rejects.toThrow();
    expect(fake.calls.map((c) => c.status)).toEqual([0, 422, 0, 200, 0]);
  });

  it("destroys every connection while down, and forgets everything but ids on reset", async () => {
    fake.setDown(true);
    await expect(redmine("/issues.json")).rejects.toThrow();
    fake.setDown(false);
    const first = (await create({})).body.issue.id;
    fake.failNext(5, { kind: "reset" });
    fake.reset();
    expect([fake.issues.length, fake.calls.length]).toEqual([0, 0]);
    expect((await create({})).body.issue.id).toBe(first + 1);
  });
});

describe("uploads, notes with files, private notes", () => {
  const bytes = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0xff, 0xfe, 0x80]);
  const upload = (body: Buffer, type = "application/octet-stream", key = KEY) =>
    fetch(`${fake.url}/uploads.json?filename=tela.png`, {
      method: "POST",
      headers: { "X-Redmine-API-Key": key, "Content-Type": type },
      body,
    });

  it("takes raw bytes as application/octet-stream only, and attaches them by token, once", async () => {
    const { issue } = fake.personCreates({ project_id: 1, subject: "anexos" });
    expect((await upload(bytes, "text/plain")).status).toBe(406);
    const answer = await upload(bytes);
    expect(answer.status).toBe(201);
    const token = ((await answer.json()) as { upload: { token: string } }).upload.token;
    expect(token).toMatch(/^\d+\.[0-9a-f]{64}$/);
    const put = await redmine(`/issues/${issue.id}.json`, {
      method: "PUT",
      body: {
        issue: { notes: "Segue", uploads: [{ token, filename: "tela.png", content_type: "image/png" }] },
      },
    });
    expect(put.status).toBe(204);
    const again = await redmine(`/issues/${issue.id}.json`, {
      method: "PUT",
      body: { issue: { notes: "De novo", uploads: [{ token }] } },
    });
    expect(again.status).toBe(422);
    expect(again.body).toEqual({ errors: ["1 file(s) could not be saved."] });
    const shown = await redmine(`/issues/${issue.id}.json?include=journals,attachments`);
    const [attachment] = shown.body.issue.attachments;
    expect(attachment).toMatchObject({
      filename: "tela.png",
      filesize: bytes.length,
      content_type: "image/png",
    });
    expect(shown.body.issue.journals.map((j: { notes: string }) => j.notes)).toEqual(["Segue"]);
    expect(shown.body.issue.journals[0].details).toEqual([
      { property: "attachment", name: String(attachment.id), old_value: null, new_value: "tela.png" },
    ]);
    const download = await fetch(`${fake.url}/attachments/download/${attachment.id}`, {
      headers: { "X-Redmine-API-Key": KEY },
    });
    expect(Buffer.from(await download.arrayBuffer()).equals(bytes)).toBe(true);
  });

  it("refuses an upload over the attachment size limit with 422", async () => {
    const answer = await upload(Buffer.alloc(5120 * 1024 + 1));
    expect(answer.status).toBe(422);
    expect(await answer.json()).toEqual({
      errors: ["This file cannot be uploaded because it exceeds the maximum allowed file size (5 MB)"],
    });
  });

  it("shows a private note only to users who may view private notes, and to its author", async () => {
    const hidden = await startRedmineFake({
      apiKey: KEY,
      users: [
        { id: 5, login: "deskbridge", name: "Deskbridge Bot", apiKey: KEY, viewPrivateNotes: false },
        { id: 7, login: "jane", name: "Jane Dev", apiKey: JANE_KEY },
      ],
    });
    try {
      const { issue } = hidden.personCreates({ project_id: 1, subject: "privado" });
      hidden.personUpdates(issue.id, { notes: "só a equipe", private_notes: true, userId: 7 });
      const notesFor = async (key: string) =>
        (
          await redmine(`/issues/${issue.id}.json?include=journals`, { key, on: hidden })
        ).body.issue.journals.map((j: { notes: string }) => j.notes);
      expect(await notesFor(KEY)).toEqual([]);
      expect(await notesFor(JANE_KEY)).toEqual(["só a equipe"]);
    } finally {
      await hidden.close();
    }
  });
});
