import { readFileSync } from "node:fs";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type RedmineFake, startRedmineFake } from "../fakes/redmine.ts";

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
  key?: string | null;
  signal?: AbortSignal;
}

/** One request to the fake with the bridge's key unless told otherwise; a non-empty body is parsed as JSON. */
async function redmine(path: string, options: CallOptions = {}) {
  const headers: Record<string, string> = { ...options.headers };
  if (options.key !== null) headers["X-Redmine-API-Key"] = options.key ?? KEY;
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(`${fake.url}${path}`, {
    method: options.method ?? "GET",
    headers,
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    text,
    body: text ? JSON.parse(text) : undefined,
  };
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
  it("answers 401 with an empty body and a Basic challenge when no key is sent", async () => {
    const answer = await redmine("/issues.json", { key: null });
    expect(answer.status).toBe(401);
    expect(answer.text).toBe("");
    expect(answer.headers.get("www-authenticate")).toBe('Basic realm="Redmine API"');
  });

  it("answers 401 with an empty body and no challenge for a wrong key", async () => {
    const answer = await redmine("/issues.json", { key: "wrong" });
    expect(answer.status).toBe(401);
    expect(answer.text).toBe("");
    expect(answer.headers.get("www-authenticate")).toBeNull();
  });

  it("accepts the key in the query before the header, and as the Basic username", async () => {
    expect((await redmine(`/issues.json?key=${KEY}`, { key: "wrong" })).status).toBe(200);
    expect((await redmine("/issues.json?key=wrong", { key: KEY })).status).toBe(401);
    const basic = `Basic ${Buffer.from(`${KEY}:x`).toString("base64")}`;
    expect((await redmine("/issues.json", { key: null, headers: { Authorization: basic } })).status).toBe(
      200,
    );
  });

  it("makes the key's user the author", async () => {
    expect((await create({}, JANE_KEY)).body.issue.author).toEqual({ id: 7, name: "Jane Dev" });
    expect((await create({})).body.issue.author).toEqual({ id: 5, name: "Deskbridge Bot" });
  });

  it("answers unknown routes and issues 404 with an empty body", async () => {
    for (const path of ["/nothing.json", "/issues/99.json"]) {
      const answer = await redmine(path);
      expect([answer.status, answer.text]).toEqual([404, ""]);
    }
    expect((await redmine("/custom_fields.json")).status).toBe(403);
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
    expect(Object.keys(answer.body.issue)).toEqual(
      Object.keys(fixture("issue-created.json").issue as object),
    );
    expect(answer.body.issue).toMatchObject({
      project: { id: 1, name: "Desenvolvimento" },
      tracker: { id: 2, name: "Bug" },
      status: { id: 1, name: "Quest", is_closed: false },
      assigned_to: { id: 7, name: "Jane Dev" },
      custom_fields: [
        { id: 5, name: "OTRS", value: "2026112210000013" },
        { id: 6, name: "Notas internas", value: "" },
      ],
    });
    expect(answer.body.issue.created_on).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(answer.body.issue.journals).toBeUndefined();
    const shown = await redmine(`/issues/${id}.json`);
    expect(shown.body.issue).toEqual(answer.body.issue);
  });

  it("answers 422 with an errors array for a blank subject or an unknown project", async () => {
    const answer = await create({ project_id: 99, subject: "  " });
    expect(answer.status).toBe(422);
    expect(answer.body).toEqual(fixture("error-422.json"));
    expect((await create({ subject: "" })).body).toEqual({ errors: ["Subject cannot be blank"] });
    expect(fake.issues).toHaveLength(0);
  });

  it("drops a status the workflow does not allow and falls back to the first allowed one", async () => {
    const answer = await create({ status_id: 3 });
    expect(answer.status).toBe(201);
    expect(answer.body.issue.status).toEqual({ id: 1, name: "Quest", is_closed: false });
    expect((await create({ status_id: 2 })).body.issue.status.id).toBe(2);
  });

  it("ignores unknown custom field ids silently and omits an unset assignee", async () => {
    const answer = await create({
      custom_fields: [
        { id: 77, value: "x" },
        { id: 5, value: "otrs:1" },
      ],
    });
    expect(answer.status).toBe(201);
    expect(answer.body.issue.custom_fields.map((f: { id: number }) => f.id)).toEqual([5, 6]);
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
        created_on: shown.updated_on,
        updated_on: shown.updated_on,
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

  it("adds a journal with notes and no details for a PUT with only notes", async () => {
    const { id } = (await create({})).body.issue;
    expect((await update(id, { notes: "Só um comentário" })).status).toBe(204);
    expect(fake.issues[0]?.journals).toMatchObject([{ notes: "Só um comentário", details: [] }]);
  });

  it("keeps the status when the workflow does not allow the new one, still answering 204", async () => {
    const { id, updated_on } = (await create({})).body.issue;
    expect((await update(id, { status_id: 3 })).status).toBe(204);
    const shown = (await redmine(`/issues/${id}.json?include=journals`)).body.issue;
    expect(shown.status.id).toBe(1);
    expect(shown.journals).toEqual([]);
    expect(shown.updated_on).toBe(updated_on);
  });

  it("sets closed_on when the issue moves to a closed status", async () => {
    const { id } = (await create({})).body.issue;
    await update(id, { status_id: 4 });
    const shown = (await redmine(`/issues/${id}.json`)).body.issue;
    expect(shown.status).toEqual({ id: 4, name: "Vitória", is_closed: true });
    expect(shown.closed_on).toBe(shown.updated_on);
  });

  it("answers 422 for a blank subject and 404 for an unknown issue", async () => {
    const { id } = (await create({})).body.issue;
    expect((await update(id, { subject: "" })).body).toEqual({ errors: ["Subject cannot be blank"] });
    expect((await update(999, { notes: "x" })).status).toBe(404);
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
    expect(await ids(long("!odd|value"))).toEqual([second]);
    // In the short form a leading "!" is an operator: "neither odd nor value" matches both issues.
    expect(await ids(`cf_5=${encodeURIComponent("!odd|value")}&status_id=*&sort=id`)).toEqual([
      first,
      second,
    ]);
  });

  it("filters by project, ids and updated_on, and refuses a malformed date with 422", async () => {
    const first = (await create({})).body.issue;
    const second = (await create({ project_id: "suporte" })).body.issue;
    expect(await ids("project_id=suporte")).toEqual([second.id]);
    expect(await ids("project_id=2")).toEqual([second.id]);
    expect((await redmine("/issues.json?project_id=nope")).status).toBe(404);
    expect(await ids(`issue_id=${first.id},${second.id}&sort=id`)).toEqual([first.id, second.id]);
    expect(await ids(`updated_on=${encodeURIComponent(`>=${second.updated_on}`)}`)).toEqual([second.id]);
    const bad = await redmine(`/issues.json?updated_on=${encodeURIComponent(">=2024-05-31T10:00:00+01:00")}`);
    expect(bad.status).toBe(422);
    expect(bad.body).toEqual({ errors: ["Updated is invalid"] });
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
