import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RedmineFake, startRedmineFake } from "../../infra/sandbox/redmine.ts";
import { type RealRedmine, startRealRedmine } from "./servers/redmine.ts";

/**
 * The Redmine fake (infra/sandbox/redmine.ts) against Redmine 5.0.4 (Debian's): the same requests, in the
 * same order, to a fresh Redmine and to a fake set up like it must get the same answers: status,
 * Content-Type, WWW-Authenticate, Location, Cache-Control and body, times and dates aside. What each
 * step pins, and what was only probed by hand, is in docs/fidelity.md (Redmine section).
 */
let redmine: RealRedmine;
let fake: RedmineFake;

beforeAll(async () => {
  redmine = await startRealRedmine();
  const { users, projects, trackers, statuses, customField, keys } = redmine;
  fake = await startRedmineFake({
    apiKey: keys.deskbridge ?? "",
    users: [
      {
        id: users.deskbridge ?? 0,
        login: "deskbridge",
        name: "Deskbridge Bot",
        apiKey: keys.deskbridge ?? "",
      },
      { id: users.jane ?? 0, login: "jane", name: "Jane Dev", apiKey: keys.jane ?? "" },
    ],
    projects: [
      { id: projects.devteam ?? 0, identifier: "devteam", name: "Development team" },
      { id: projects.ops ?? 0, identifier: "ops", name: "Operations" },
    ],
    trackers: Object.entries(trackers).map(([name, id]) => ({ id, name })),
    statuses: Object.entries(statuses).map(([name, id]) => ({
      id,
      name,
      is_closed: name === "Closed" || name === "Rejected",
    })),
    customFields: [{ id: customField, name: "OTRS ticket", filterable: true }],
  });
}, 600_000);

afterAll(async () => {
  await fake?.close();
  await redmine?.stop();
});

type Who = "deskbridge" | "jane" | "nobody" | "unknown";
interface Step {
  method?: string;
  path: string;
  who?: Who; // default deskbridge; "unknown" sends a key Redmine does not know
  body?: unknown; // sent as JSON
  raw?: string; // sent as it is
  type?: string; // the Content-Type of a body (default application/json)
}

/** Times and dates differ between the two; the base URL too; issue ids too when `ids` is false. */
function normalise(value: unknown, base: string, ids: boolean): unknown {
  if (typeof value === "string") {
    const text = value
      .replaceAll(base, "<url>")
      .replace(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, "<time>")
      .replace(/^\d{4}-\d\d-\d\d$/, "<date>");
    return ids ? text : text.replace(/\/issues\/\d+$/, "/issues/<id>");
  }
  if (Array.isArray(value)) return value.map((item) => normalise(item, base, ids));
  if (value && typeof value === "object") {
    const issue = !ids && "subject" in value;
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [
        key,
        issue && key === "id" ? "<id>" : normalise(item, base, ids),
      ]),
    );
  }
  return value;
}

async function ask(base: string, step: Step, ids = true) {
  const headers: Record<string, string> = {};
  const who = step.who ?? "deskbridge";
  if (who === "unknown") headers["X-Redmine-API-Key"] = "0123456789abcdef0123456789abcdef01234567";
  else if (who !== "nobody") headers["X-Redmine-API-Key"] = redmine.keys[who] ?? "";
  const body = step.raw ?? (step.body === undefined ? undefined : JSON.stringify(step.body));
  if (body !== undefined) headers["Content-Type"] = step.type ?? "application/json";
  const response = await fetch(`${base}${step.path}`, {
    method: step.method ?? "GET",
    headers,
    ...(body === undefined ? {} : { body }),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : "";
  } catch {
    // a page: compared as text
  }
  const kept: Record<string, string | null> = {};
  for (const name of ["content-type", "www-authenticate", "location", "cache-control"]) {
    kept[name] = response.headers.get(name);
  }
  return normalise({ status: response.status, headers: kept, body: parsed }, base, ids);
}

const long = (...pairs: [string, string][]) => new URLSearchParams(pairs).toString();
const create = (issue: Record<string, unknown>): Step => ({
  method: "POST",
  path: "/issues.json",
  body: { issue },
});
const update = (id: number, issue: Record<string, unknown>, who?: Who): Step => ({
  method: "PUT",
  path: `/issues/${id}.json`,
  body: { issue },
  ...(who ? { who } : {}),
});

/** `POST /uploads.json[?filename=]` with the bytes of `text` as application/octet-stream. */
const upload = (filename: string | undefined, text: string): Step => ({
  method: "POST",
  path: filename === undefined ? "/uploads.json" : `/uploads.json?filename=${encodeURIComponent(filename)}`,
  raw: text,
  type: "application/octet-stream",
});
/** An upload's token: `<id>.<SHA-256 hex of the contents>`, the same on both sides. */
const token = (id: number, text: string) => `${id}.${createHash("sha256").update(text).digest("hex")}`;

/** Run in order against both; ids are the same because both start empty. */
const STEPS: [string, () => Step][] = [
  ["a list without a key", () => ({ path: "/issues.json", who: "nobody" })],
  ["a list with an unknown key", () => ({ path: "/issues.json", who: "unknown" })],
  ["a missing issue with an unknown key", () => ({ path: "/issues/1.json", who: "unknown" })],
  [
    "a create with every field the bridge sends",
    () =>
      create({
        project_id: "devteam",
        tracker_id: redmine.trackers.Bug,
        status_id: redmine.statuses.New,
        subject: "Erro ao emitir nota",
        description: "NF-e",
        assigned_to_id: redmine.users.jane,
        custom_fields: [{ id: redmine.customField, value: "2026112210000013" }],
      }),
  ],
  [
    "a create without description or custom field",
    () => create({ project_id: redmine.projects.devteam, subject: "  Sem descrição " }),
  ],
  [
    "a create with an empty description and custom field",
    () =>
      create({
        project_id: redmine.projects.devteam,
        subject: "Vazio",
        description: "",
        custom_fields: [{ id: redmine.customField, value: "" }],
      }),
  ],
  [
    "a create with a null custom field",
    () =>
      create({
        project_id: redmine.projects.devteam,
        subject: "N",
        custom_fields: [{ id: redmine.customField, value: null }],
      }),
  ],
  [
    "a create through the project's route",
    () => ({ method: "POST", path: "/projects/devteam/issues.json", body: { issue: { subject: "rota" } } }),
  ],
  [
    "a create through an unknown project's route",
    () => ({ method: "POST", path: "/projects/nope/issues.json", body: { issue: { subject: "rota" } } }),
  ],
  [
    "a create in an unknown project",
    () =>
      create({
        project_id: 99,
        subject: "x",
        tracker_id: redmine.trackers.Bug,
        status_id: redmine.statuses.New,
      }),
  ],
  ["a create in an unknown project, subject blank", () => create({ project_id: 99, subject: "  " })],
  [
    "a create in an unknown project, priority and assignee unknown",
    () => create({ project_id: 99, subject: "x", priority_id: 99, assigned_to_id: 999 }),
  ],
  ["a create without subject", () => create({ project_id: redmine.projects.devteam })],
  [
    "a create with blank subject, unknown priority, assignee and tracker",
    () =>
      create({
        project_id: redmine.projects.devteam,
        subject: " ",
        priority_id: 99,
        assigned_to_id: 999,
        tracker_id: 99,
      }),
  ],
  [
    "a create with a 256-character subject and unknown priority",
    () => create({ project_id: redmine.projects.devteam, subject: "a".repeat(256), priority_id: 99 }),
  ],
  [
    "a create with an unknown tracker and status",
    () => create({ project_id: redmine.projects.devteam, subject: "t", tracker_id: 99, status_id: 99 }),
  ],
  [
    "a create whose body is not declared as JSON",
    () => ({
      method: "POST",
      path: "/issues.json",
      raw: JSON.stringify({ issue: { project_id: redmine.projects.devteam, subject: "p" } }),
      type: "text/plain",
    }),
  ],
  ["a create whose body is not JSON", () => ({ method: "POST", path: "/issues.json", raw: '{"issue": {' })],
  [
    "a create with an unknown key",
    () => ({ ...create({ project_id: redmine.projects.devteam, subject: "a" }), who: "unknown" }),
  ],
  [
    "an update of status, notes and custom field",
    () =>
      update(2, {
        status_id: redmine.statuses["In Progress"],
        notes: "Em análise",
        custom_fields: [{ id: redmine.customField, value: "otrs:9" }],
      }),
  ],
  ["an update with notes only", () => update(2, { notes: "Só um comentário" })],
  ["an update of the status only", () => update(2, { status_id: redmine.statuses.Resolved })],
  ["an update that changes nothing", () => update(2, {})],
  ["an update with a blank subject", () => update(2, { subject: "" })],
  [
    "an update to an unknown tracker, project and status",
    () => update(2, { tracker_id: 99, project_id: 99, status_id: 99 }),
  ],
  ["an update to an unknown priority", () => update(2, { priority_id: 99 })],
  ["an update to an unknown assignee", () => update(2, { assigned_to_id: 999 })],
  [
    "an update of a custom field to null",
    () => update(2, { custom_fields: [{ id: redmine.customField, value: null }] }),
  ],
  [
    "an update of a custom field again",
    () => update(2, { custom_fields: [{ id: redmine.customField, value: "otrs:10" }] }),
  ],
  ["an update of the description", () => update(2, { description: "agora" })],
  [
    "an update by PATCH",
    () => ({ method: "PATCH", path: "/issues/2.json", body: { issue: { notes: "PATCH" } } }),
  ],
  ["a PUT on the issue list", () => ({ method: "PUT", path: "/issues.json", body: { issue: {} } })],
  [
    "an update by another user that closes",
    () => update(3, { status_id: redmine.statuses.Closed, notes: "Fechado" }, "jane"),
  ],
  ["an update whose body is not JSON", () => ({ method: "PUT", path: "/issues/2.json", raw: "{x" })],
  ["an update of a missing issue", () => update(999, { notes: "x" })],
  ["an update without a key", () => update(2, { notes: "x" }, "nobody")],
  // The conversation: uploads, notes with files, private notes, downloads.
  ["an upload", () => upload("log.txt", "hello from OTRS\n")],
  ["an upload without a file name", () => upload(undefined, "sem nome")],
  ["an upload not declared as octet-stream", () => ({ ...upload("a.txt", "x"), type: "text/plain" })],
  ["an upload declared as JSON", () => ({ ...upload("a.json", "{}"), type: "application/json" })],
  ["an upload without a key", () => ({ ...upload("a.txt", "x"), who: "nobody" })],
  [
    "an update with notes and an upload",
    () =>
      update(2, {
        notes: "Segue o log.\n\n[deskbridge: OTRS article 7]",
        uploads: [
          { token: token(1, "hello from OTRS\n"), filename: "otrs-log.txt", content_type: "text/plain" },
        ],
      }),
  ],
  [
    "an update with a token already attached and an unknown one",
    () =>
      update(2, {
        notes: "de novo",
        uploads: [
          { token: token(1, "hello from OTRS\n"), filename: "again.txt" },
          { token: `99.${"0".repeat(64)}`, filename: "nope.txt" },
        ],
      }),
  ],
  [
    "an update with only an upload, named there",
    () => update(2, { uploads: [{ token: token(2, "sem nome"), filename: "sem-nome" }] }),
  ],
  ["a private note", () => update(2, { notes: "Só para a equipe", private_notes: true })],
  ["a private note by another user", () => update(2, { notes: "Nota da Jane", private_notes: true }, "jane")],
  ["an issue's journals and attachments", () => ({ path: "/issues/2.json?include=journals,attachments" })],
  [
    "an issue's journals and attachments, to a developer",
    () => ({ path: "/issues/2.json?include=journals,attachments", who: "jane" }),
  ],
  ["a download", () => ({ path: "/attachments/download/1" })],
  ["a download by name", () => ({ path: "/attachments/download/1/otrs-log.txt" })],
  [
    "an issue with journals and allowed statuses",
    () => ({ path: "/issues/1.json?include=journals,allowed_statuses" }),
  ],
  ["an issue's journals", () => ({ path: "/issues/2.json?include=journals" })],
  ["a closed issue's journals", () => ({ path: "/issues/3.json?include=journals" })],
  ["an issue with an empty custom field", () => ({ path: "/issues/4.json?include=journals" })],
  ["a private issue with an unknown key", () => ({ path: "/issues/2.json", who: "unknown" })],
  ["the current user without a key", () => ({ path: "/users/current.json", who: "nobody" })],
  ["the custom fields, not an administrator", () => ({ path: "/custom_fields.json" })],
  ["the statuses", () => ({ path: "/issue_statuses.json" })],
  ["the trackers", () => ({ path: "/trackers.json" })],
  ["a path no route matches", () => ({ path: "/nothing.json" })],
  ["the default list", () => ({ path: "/issues.json" })],
  ["every status, by id", () => ({ path: "/issues.json?status_id=*&sort=id" })],
  ["closed issues", () => ({ path: "/issues.json?status_id=c" })],
  [
    "a custom field filter, short form",
    () => ({ path: `/issues.json?status_id=*&cf_${redmine.customField}=otrs:10` }),
  ],
  [
    "a custom field filter, long form",
    () => ({
      path: `/issues.json?${long(["f[]", "status_id"], ["op[status_id]", "*"], ["f[]", `cf_${redmine.customField}`], [`op[cf_${redmine.customField}]`, "="], [`v[cf_${redmine.customField}][]`, "2026112210000013"], ["limit", "100"])}`,
    }),
  ],
  [
    "a custom field filter in another case",
    () => ({
      path: `/issues.json?${long(["f[]", "status_id"], ["op[status_id]", "*"], ["f[]", `cf_${redmine.customField}`], [`op[cf_${redmine.customField}]`, "="], [`v[cf_${redmine.customField}][]`, "OTRS:10"])}`,
    }),
  ],
  ["a filter on an unknown custom field", () => ({ path: "/issues.json?status_id=*&cf_99=a&limit=1" })],
  ["a limit over 100", () => ({ path: "/issues.json?status_id=*&limit=1000&offset=100" })],
  ["a limit of 0", () => ({ path: "/issues.json?status_id=*&limit=0&offset=100" })],
  ["a page", () => ({ path: "/issues.json?status_id=*&page=2&limit=2" })],
  [
    "the poller's query",
    () => ({
      path: `/issues.json?${long(["status_id", "*"], ["updated_on", ">=2000-01-01T00:00:00Z"], ["sort", "updated_on:asc,id"], ["offset", "0"], ["limit", "100"])}`,
    }),
  ],
  ["a project's list", () => ({ path: "/issues.json?project_id=devteam&status_id=*&limit=2" })],
  ["an unknown project's list", () => ({ path: "/issues.json?project_id=nope" })],
  [
    "a private project's list with an unknown key",
    () => ({ path: "/issues.json?project_id=devteam", who: "unknown" }),
  ],
  [
    "a datetime with an offset",
    () => ({ path: `/issues.json?updated_on=${encodeURIComponent(">=2024-05-31T10:00:00+01:00")}` }),
  ],
  ["a delete", () => ({ method: "DELETE", path: "/issues/1.json" })],
  ["a delete of a deleted issue", () => ({ method: "DELETE", path: "/issues/1.json" })],
];

describe("the Redmine fake, step by step against Redmine 5.0.4", () => {
  for (const [name, step] of STEPS) {
    it(`answers as Redmine does: ${name}`, async () => {
      const request = step();
      const real = await ask(redmine.url, request);
      expect(await ask(fake.url, request)).toEqual(real);
    });
  }
});

describe("downloads the fake does not have", () => {
  // Redmine renders its whole layout for these 404s: the fake's page is the bare one, same status and type.
  for (const path of ["/attachments/download/1/other.txt", "/attachments/download/999"]) {
    it(`answers 404 with an HTML page: ${path}`, async () => {
      const answers = await Promise.all(
        [redmine.url, fake.url].map(async (base) => {
          const response = await fetch(`${base}${path}`, {
            headers: { "X-Redmine-API-Key": redmine.keys.deskbridge ?? "" },
          });
          await response.text();
          return { status: response.status, type: response.headers.get("content-type") };
        }),
      );
      expect(answers[1]).toEqual(answers[0]);
    });
  }
});

describe("Redmine 5.0.4's datetime filters, as the fake models them", () => {
  const stamp = (shown: string, seconds = 0) =>
    new Date(Date.parse(shown) + seconds * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
  async function made(subject: string) {
    const answer = await redmine.as("deskbridge", "POST", "issues.json", {
      issue: { project_id: "ops", subject },
    });
    const { issue } = answer.body as { issue: { id: number; updated_on: string } };
    return issue;
  }
  async function since(value: string): Promise<number[]> {
    const query = `issues.json?project_id=ops&status_id=*&sort=id&updated_on=${encodeURIComponent(value)}`;
    const answer = await redmine.as("deskbridge", "GET", query);
    return (answer.body as { issues: { id: number }[] }).issues.map((issue) => issue.id);
  }

  it("returns for updated_on>=T what was saved from the second before T on (times are stored below the second)", async () => {
    const a = await made("A");
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const b = await made("B");
    await new Promise((resolve) => setTimeout(resolve, 2100));
    const c = await made("C");
    const all = [a, b, c];
    // Shown to the second, saved with a fraction: `>=T` is `> T - 1s`, `<=T` is `<= T`.
    for (const at of [b.updated_on, c.updated_on, stamp(c.updated_on, 1), stamp(c.updated_on, 2)]) {
      const wanted = all.filter((i) => Date.parse(i.updated_on) >= Date.parse(at) - 1000).map((i) => i.id);
      expect(await since(`>=${at}`), `>=${at}`).toEqual(wanted);
    }
    const before = all.filter((i) => Date.parse(i.updated_on) < Date.parse(b.updated_on)).map((i) => i.id);
    expect(await since(`<=${b.updated_on}`)).toEqual(before);
  });
});

describe("the fake with custom field formats, a public project and authentication required", () => {
  let shaped: RedmineFake;
  let locked: RedmineFake;
  const made = { int: 0, digits: 0, list: 0, pub: 0 };

  beforeAll(async () => {
    // What an administrator could set up differently from the README: the OTRS field as an integer, or
    // with a pattern and a length limit, or a list; a public project.
    const printed = await redmine.rails(`
      t = Tracker.all
      a = IssueCustomField.create!(name: "Ticket int", field_format: "int", is_for_all: true, trackers: t)
      b = IssueCustomField.create!(name: "Ticket digits", field_format: "string", regexp: "^[0-9]+$",
                                   max_length: 5, is_for_all: true, trackers: t)
      c = IssueCustomField.create!(name: "Ticket list", field_format: "list", possible_values: %w[a b],
                                   is_for_all: true, trackers: t)
      p = Project.create!(name: "Public", identifier: "pub", is_public: true, trackers: t,
                          enabled_module_names: %w[issue_tracking])
      puts [a.id, b.id, c.id, p.id].join(",")`);
    [made.int, made.digits, made.list, made.pub] = printed.split(",").map(Number) as [
      number,
      number,
      number,
      number,
    ];
    const { users, projects, trackers, statuses, customField, keys } = redmine;
    const options = {
      apiKey: keys.deskbridge ?? "",
      users: [
        {
          id: users.deskbridge ?? 0,
          login: "deskbridge",
          name: "Deskbridge Bot",
          apiKey: keys.deskbridge ?? "",
        },
        { id: users.jane ?? 0, login: "jane", name: "Jane Dev", apiKey: keys.jane ?? "" },
      ],
      projects: [
        { id: projects.devteam ?? 0, identifier: "devteam", name: "Development team" },
        { id: projects.ops ?? 0, identifier: "ops", name: "Operations" },
        { id: made.pub, identifier: "pub", name: "Public", is_public: true },
      ],
      trackers: Object.entries(trackers).map(([name, id]) => ({ id, name })),
      statuses: Object.entries(statuses).map(([name, id]) => ({
        id,
        name,
        is_closed: name === "Closed" || name === "Rejected",
      })),
      customFields: [
        { id: customField, name: "OTRS ticket", filterable: true },
        { id: made.int, name: "Ticket int", filterable: false, format: "int" as const },
        { id: made.digits, name: "Ticket digits", filterable: false, regexp: "^[0-9]+$", maxLength: 5 },
        {
          id: made.list,
          name: "Ticket list",
          filterable: false,
          format: "list" as const,
          possibleValues: ["a", "b"],
        },
      ],
    };
    shaped = await startRedmineFake(options);
    locked = await startRedmineFake({ ...options, loginRequired: true });
  }, 120_000);

  afterAll(async () => {
    await shaped?.close();
    await locked?.close();
  });

  const same = async (step: Step, fake: () => RedmineFake = () => shaped) =>
    expect(await ask(fake().url, step, false)).toEqual(await ask(redmine.url, step, false));
  /** The same request about each side's newest issue (their ids differ here). */
  async function sameForNewest(step: (id: number) => Step) {
    const newest = async (base: string) => {
      const list = await fetch(`${base}/issues.json?status_id=*&sort=id:desc&limit=1`, {
        headers: { "X-Redmine-API-Key": redmine.keys.deskbridge ?? "" },
      });
      return ((await list.json()) as { issues: { id: number }[] }).issues[0]?.id ?? 0;
    };
    const real = await ask(redmine.url, step(await newest(redmine.url)), false);
    expect(await ask(shaped.url, step(await newest(shaped.url)), false)).toEqual(real);
  }

  it("accepts values that fit, kept as sent", async () => {
    await same(
      create({
        project_id: "devteam",
        subject: "formatos",
        custom_fields: [
          { id: made.int, value: " +12 " },
          { id: made.digits, value: "12345" },
          { id: made.list, value: "b" },
        ],
      }),
    );
    await sameForNewest((id) => ({ path: `/issues/${id}.json?include=journals` }));
  });

  it("lists invalid custom field values first, field by field, then the issue's own errors", async () => {
    await same(
      create({
        project_id: "devteam",
        subject: " ",
        custom_fields: [
          { id: made.int, value: "abc" },
          { id: made.digits, value: "otrs:1" },
          { id: made.list, value: "zzz" },
        ],
      }),
    );
    await sameForNewest((id) => update(id, { subject: "", custom_fields: [{ id: made.int, value: "1.5" }] }));
    await sameForNewest((id) => update(id, { custom_fields: [{ id: made.digits, value: "123456" }] }));
  });

  it("shows the anonymous user a public project's issues and nothing else, and lets it change nothing", async () => {
    await same(create({ project_id: "pub", subject: "público" }));
    for (const who of ["nobody", "unknown"] as const) {
      await same({ path: "/issues.json?status_id=*", who });
      await same({ path: "/projects/pub/issues.json", who });
      await same({ path: "/projects.json", who });
      await same({ ...create({ project_id: "pub", subject: "anônimo" }), who });
    }
  });

  it("answers 401 with a Basic challenge to everything the anonymous user asks when authentication is required", async () => {
    await redmine.rails(`Setting.login_required = "1"; puts Setting.login_required?`);
    // Redmine reloads its settings when their newest updated_on changes, to the second.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    try {
      for (const who of ["nobody", "unknown"] as const) {
        for (const path of [
          "/issues.json",
          "/issue_statuses.json",
          "/issues/2.json",
          "/projects/pub/issues.json",
        ])
          await same({ path, who }, () => locked);
        await same({ ...create({ project_id: "pub", subject: "x" }), who }, () => locked);
      }
      await same({ path: "/nothing.json", who: "nobody" }, () => locked);
    } finally {
      await redmine.rails(`Setting.login_required = "0"; puts Setting.login_required?`);
    }
  });
});
