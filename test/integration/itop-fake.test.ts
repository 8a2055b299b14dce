import { readFileSync } from "node:fs";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type ItopFake, startItopFake } from "../../infra/sandbox/itop.ts";

const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../fixtures/itop/${name}.json`, import.meta.url), "utf8"));

/** The JSON types of a value, objects by sorted key; `Class::id` maps compare by their first object. */
function shape(value: unknown): unknown {
  if (value === null) return "null";
  if (Array.isArray(value)) return value.length > 0 ? [shape(value[0])] : [];
  if (typeof value !== "object") return typeof value;
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > 0 && entries.every(([key]) => /^\w+::\d+$/.test(key)))
    return { "Class::id": shape(entries[0]?.[1]) };
  return Object.fromEntries(entries.sort(([a], [b]) => (a < b ? -1 : 1)).map(([key, v]) => [key, shape(v)]));
}

const BRIDGE = { auth_user: "deskbridge", auth_pwd: "secret" };
const TOKEN = "itop-token-123";

let ext: ItopFake; // "external" preset
let int: ItopFake; // "internal" preset, with an external_ref field

interface Envelope {
  code: number;
  message: string;
  objects: Record<
    string,
    // biome-ignore lint/suspicious/noExplicitAny: answers are read freely in assertions
    { code: number; message: string; class: string; key: string; fields: Record<string, any> }
  > | null;
  [other: string]: unknown;
}

/** POSTs one operation the way the bridge does (form auth unless told otherwise). */
async function rest(
  fake: ItopFake,
  operation: Record<string, unknown>,
  auth: { form?: Record<string, string>; headers?: Record<string, string> } = { form: BRIDGE },
): Promise<Envelope> {
  const body = new URLSearchParams({ json_data: JSON.stringify(operation), ...auth.form });
  const response = await fetch(`${fake.url}?version=1.3`, { method: "POST", body, headers: auth.headers });
  expect(response.status).toBe(200);
  return (await response.json()) as Envelope;
}

const objects = (answer: Envelope) => Object.values(answer.objects ?? {});

async function createTicket(fake: ItopFake, fields: Record<string, unknown> = {}, cls = "UserRequest") {
  const answer = await rest(fake, {
    operation: "core/create",
    class: cls,
    comment: "test",
    fields: { title: "Printer on fire", description: "<p>Help</p>", org_id: 2, caller_id: 1, ...fields },
    output_fields: "id,ref,status",
  });
  expect(answer.code).toBe(0);
  const [object] = objects(answer);
  return Number(object?.key);
}

beforeAll(async () => {
  const users = [
    { login: "deskbridge", password: "secret", friendlyName: "Deskbridge Bridge" },
    { login: "tokenuser", token: TOKEN, friendlyName: "Token User" },
    { login: "portal", password: "portal", friendlyName: "Portal User", rest: false },
    { login: "budi", password: "budi", friendlyName: "Budi Santoso" },
    { login: "agent", password: "agent", friendlyName: "Support Agent", cannotRead: ["InlineImage"] },
  ];
  ext = await startItopFake({
    instance: "customer",
    users,
    tokenLogin: true,
    webhooks: { preset: "external" },
  });
  int = await startItopFake({
    instance: "elitery",
    users,
    extraTicketFields: ["external_ref"],
    webhooks: { preset: "internal", source: "elitery" },
  });
});
afterAll(async () => {
  await ext.close();
  await int.close();
});
beforeEach(() => {
  ext.reset();
  int.reset();
});

describe("envelope", () => {
  it("answers core/get with Class::id objects and every id and number as a string", async () => {
    const id = await createTicket(ext, { team_id: 1, agent_id: 2, private_log: "<p>first</p>" });
    await rest(ext, {
      operation: "core/apply_stimulus",
      class: "UserRequest",
      comment: "test",
      key: id,
      stimulus: "ev_assign",
      fields: {},
    });
    const answer = await rest(ext, { operation: "core/get", class: "UserRequest", key: id });
    expect(answer.code).toBe(0);
    expect(answer.message).toBe("Found: 1");
    expect(shape(answer)).toEqual(shape(fixture("core-get-userrequest")));
    const object = answer.objects?.[`UserRequest::${id}`];
    expect(object).toMatchObject({ code: 0, message: "", class: "UserRequest", key: String(id) });
    expect(object?.fields).toMatchObject({
      id: String(id),
      ref: `R-${String(id).padStart(6, "0")}`,
      org_id: "2",
      org_name: "Demo",
      caller_id: "1",
      caller_name: "Doe",
      caller_id_friendlyname: "John Doe",
      agent_id_friendlyname: "Alice Agent",
      team_id_friendlyname: "Service Desk",
      status: "assigned",
      finalclass: "UserRequest",
    });
    expect(object?.fields.start_date).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  });

  it("answers objects null when nothing is found, and a created object with message ''", async () => {
    const none = await rest(ext, { operation: "core/get", class: "UserRequest", key: 999 });
    expect(none).toEqual(fixture("core-get-empty"));
    const created = await rest(ext, {
      operation: "core/create",
      class: "UserRequest",
      comment: "test",
      fields: { title: "x", org_id: 2, caller_id: 1 },
      output_fields: "id,ref,status",
    });
    expect(shape(created)).toEqual(shape(fixture("core-create-userrequest")));
    expect(created.message).toBe("");
    expect(objects(created)[0]?.message).toBe("created");
  });

  it("lists the operations, and refuses unknown ones with code 11", async () => {
    const list = await rest(ext, { operation: "list_operations" });
    expect(list.code).toBe(0);
    expect((list.operations as { verb: string }[]).map((o) => o.verb)).toContain("core/apply_stimulus");
    const unknown = await rest(ext, { operation: "core/frobnicate", class: "UserRequest" });
    expect(unknown).toMatchObject({ code: 11, objects: null });
  });

  it("checks version and json_data, and leaves other paths to the web server's 404 page", async () => {
    const post = (query: string, form: Record<string, string>) =>
      fetch(`${ext.url}${query}`, { method: "POST", body: new URLSearchParams(form) }).then((r) => r.json());
    expect(await post("", { ...BRIDGE, json_data: "{}" })).toMatchObject({ code: 2 });
    expect(
      await post("", { ...BRIDGE, version: "1.4", json_data: '{"operation":"list_operations"}' }),
    ).toMatchObject({ code: 0 });
    expect(await post("?version=1.3", BRIDGE)).toMatchObject({ code: 3 });
    expect(await post("?version=1.3", { ...BRIDGE, json_data: "{nope" })).toMatchObject({ code: 4 });
    expect(await post("?version=9.9", { ...BRIDGE, json_data: "{}" })).toMatchObject({ code: 10 });
    const other = await fetch(ext.url.replace("rest.php", "other.php"), { method: "POST" });
    expect(other.status).toBe(404);
    expect(other.headers.get("content-type")).toContain("text/html");
  });
});

describe("authentication", () => {
  const list = { operation: "list_operations" };

  it("accepts form fields, Basic and a token (header or field) on every request", async () => {
    expect((await rest(ext, list)).code).toBe(0);
    const basic = `Basic ${Buffer.from("deskbridge:secret").toString("base64")}`;
    expect((await rest(ext, list, { headers: { Authorization: basic } })).code).toBe(0);
    expect((await rest(ext, list, { headers: { "Auth-Token": TOKEN } })).code).toBe(0);
    expect((await rest(ext, list, { form: { auth_token: TOKEN } })).code).toBe(0);
    // The community edition has no authent-token extension: a token is no login at all.
    expect(await rest(int, list, { headers: { "Auth-Token": TOKEN } })).toMatchObject({
      code: 1,
      message: "Error: Invalid login",
    });
  });

  it("answers code 1 for wrong or missing credentials and for a user without the REST profile", async () => {
    expect(await rest(ext, list, { form: { auth_user: "deskbridge", auth_pwd: "wrong" } })).toEqual(
      fixture("error-unauthorized"),
    );
    expect(await rest(ext, list, {})).toEqual(fixture("error-unauthorized"));
    expect((await rest(ext, list, { headers: { "Auth-Token": "nope" } })).code).toBe(1);
    const portal = await rest(ext, list, { form: { auth_user: "portal", auth_pwd: "portal" } });
    expect(portal.code).toBe(1);
    expect(portal.message).toContain("REST Services User");
    expect((await rest(ext, list, { form: { auth_pwd: "secret" } })).code).toBe(5);
    expect((await rest(ext, list, { form: { auth_user: "deskbridge" } })).code).toBe(6);
  });
});

describe("writes", () => {
  it("refuse a write without comment with code 100 and do nothing", async () => {
    const answer = await rest(ext, {
      operation: "core/create",
      class: "UserRequest",
      fields: { title: "x", org_id: 2, caller_id: 1 },
    });
    expect(answer).toEqual(fixture("error-missing-comment"));
    expect(ext.tickets()).toHaveLength(0);
  });

  it("refuse a ticket without org_id or caller_id, an unknown attribute and writing the status", async () => {
    const create = (fields: Record<string, unknown>) =>
      rest(ext, { operation: "core/create", class: "UserRequest", comment: "t", fields });
    const missing = await create({ title: "x", org_id: 2 });
    expect(missing.code).toBe(100);
    expect(missing.message).toMatch(/^Error: Object not created.*caller_id: Null not allowed/);
    const unknown = await create({ title: "x", org_id: 2, caller_id: 1, external_ref: "R-1" });
    expect(unknown.message).toContain("Unknown attribute external_ref from class UserRequest");
    const crash = await fetch(`${ext.url}?version=1.3`, {
      method: "POST",
      body: new URLSearchParams({
        json_data: JSON.stringify({ operation: "core/create", class: "Ticket", comment: "t", fields: {} }),
        ...BRIDGE,
      }),
    });
    expect(crash.status).toBe(500); // PHP cannot instantiate the abstract class: iTop's error page
    expect(await crash.text()).toContain("iTop: An error occurred");
    const id = await createTicket(ext);
    // core/update of the status bypasses the lifecycle: no stimulus, no mandatory attributes, no dates.
    const status = await rest(ext, {
      operation: "core/update",
      class: "UserRequest",
      comment: "t",
      key: id,
      fields: { status: "resolved" },
    });
    expect(status.code).toBe(0);
    expect(ext.ticket(id)).toMatchObject({ status: "resolved", solution: "", resolution_date: "" });
    const unknownStatus = await rest(ext, {
      operation: "core/update",
      class: "UserRequest",
      comment: "t",
      key: id,
      fields: { status: "nope" },
    });
    expect(unknownStatus.code).toBe(100);
    expect(ext.tickets()).toHaveLength(1);
  });

  it("computes the priority from impact × urgency on every save, ignoring a priority written", async () => {
    const id = await createTicket(ext, { priority: "1" });
    expect(ext.ticket(id)).toMatchObject({ impact: "1", urgency: "4", priority: "4" });
    const update = (fields: Record<string, unknown>) =>
      rest(ext, { operation: "core/update", class: "UserRequest", comment: "t", key: id, fields });
    expect((await update({ priority: "1" })).code).toBe(0);
    expect(ext.ticket(id)?.priority).toBe("4");
    await update({ urgency: "2" });
    expect(ext.ticket(id)?.priority).toBe("1"); // a department, high
    await update({ impact: "3" });
    expect(ext.ticket(id)?.priority).toBe("3"); // a person, high
    const incident = await createTicket(ext, { impact: "2", urgency: "3" }, "Incident");
    expect(ext.ticket(incident)?.priority).toBe("3");
  });

  it("writes extra ticket fields where configured and deletes with message Deleted", async () => {
    const id = await createTicket(int, { external_ref: "R-000042" });
    expect(int.ticket(id)?.external_ref).toBe("R-000042");
    const found = await rest(int, {
      operation: "core/get",
      class: "UserRequest",
      key: { external_ref: "R-000042" },
      output_fields: "id, external_ref",
    });
    expect(objects(found)[0]?.fields).toEqual({ id: String(id), external_ref: "R-000042" });
    const deleted = await rest(int, {
      operation: "core/delete",
      class: "UserRequest",
      comment: "t",
      key: id,
    });
    expect(objects(deleted)[0]).toMatchObject({ code: 0, message: "Deleted", key: String(id) });
    expect(int.tickets()).toHaveLength(0);
  });
});

describe("keys", () => {
  it("runs OQL: Ticket spans UserRequest and Incident; LIKE, IN, OR, parentheses and comparisons", async () => {
    const a = await createTicket(ext, { title: "Printer on fire" });
    const b = await createTicket(ext, { title: "Email down", urgency: "1" }, "Incident"); // priority 1
    const c = await createTicket(ext, { title: "printer jam", org_id: 1 });
    const keys = async (cls: string, key: string) =>
      objects(await rest(ext, { operation: "core/get", class: cls, key, output_fields: "id" })).map((o) =>
        Number(o.key),
      );
    expect(await keys("Ticket", "SELECT Ticket")).toEqual([a, b, c]);
    const spanning = await rest(ext, {
      operation: "core/get",
      class: "Ticket",
      key: "SELECT Ticket WHERE id > 0",
    });
    expect(objects(spanning).map((o) => o.class)).toEqual(["UserRequest", "Incident", "UserRequest"]);
    expect(objects(spanning)[1]?.fields.finalclass).toBe("Incident");
    expect(objects(spanning)[1]?.fields.ref).toMatch(/^I-\d{6}$/);
    expect(await keys("UserRequest", "SELECT UserRequest WHERE title LIKE '%printer%'")).toEqual([a, c]);
    expect(await keys("Ticket", `SELECT Ticket WHERE id IN (${a}, ${b})`)).toEqual([a, b]);
    expect(
      await keys("UserRequest", `SELECT UserRequest AS r WHERE r.org_id = 1 OR (title = "Printer on fire")`),
    ).toEqual([a, c]);
    expect(await keys("Incident", "SELECT Incident WHERE priority <= 2 AND title != 'x'")).toEqual([b]);
    expect(
      await keys("UserRequest", "SELECT UserRequest WHERE last_update >= '2000-01-01 00:00:00'"),
    ).toEqual([a, c]);
    const unknown = await rest(ext, {
      operation: "core/get",
      class: "UserRequest",
      key: "SELECT UserRequest WHERE nope = 1",
    });
    expect(unknown.code).toBe(100);
    const syntax = await rest(ext, {
      operation: "core/get",
      class: "UserRequest",
      key: "SELECT UserRequest WHERE (",
    });
    expect(syntax).toMatchObject({ code: 100, objects: null });
    expect(syntax.message).toMatch(/^Error: /);
  });

  it("takes criteria objects and pages with limit and page", async () => {
    const ids = [await createTicket(ext), await createTicket(ext), await createTicket(ext)];
    const ref = ext.ticket(ids[1]!)?.ref;
    const byRef = await rest(ext, { operation: "core/get", class: "UserRequest", key: { ref } });
    expect(objects(byRef).map((o) => Number(o.key))).toEqual([ids[1]]);
    const page = await rest(ext, {
      operation: "core/get",
      class: "UserRequest",
      key: "SELECT UserRequest",
      output_fields: "id",
      limit: 2,
      page: 2,
    });
    expect(page.message).toBe("Found: 1");
    expect(objects(page).map((o) => Number(o.key))).toEqual([ids[2]]);
    const person = await rest(ext, {
      operation: "core/get",
      class: "Person",
      key: { finalclass: "Person", email: "alice@company.example" },
    });
    expect(objects(person)[0]?.fields).toMatchObject({ id: "2", friendlyname: "Alice Agent", org_id: "1" });
  });

  it("needs exactly one object for update and for external keys; 0 clears an external key", async () => {
    const a = await createTicket(ext, { title: "same" });
    await createTicket(ext, { title: "same" });
    const update = (key: unknown, fields: Record<string, unknown>) =>
      rest(ext, { operation: "core/update", class: "UserRequest", comment: "t", key, fields });
    expect((await update("SELECT UserRequest WHERE title = 'same'", { title: "x" })).message).toBe(
      "Error: Several items found (2) with criteria: SELECT UserRequest WHERE title = 'same'",
    );
    expect((await update({ title: "none" }, { title: "x" })).message).toBe(
      "Error: No item found with criteria: title: none",
    );
    expect((await update(999, { title: "x" })).message).toBe("Error: Invalid object UserRequest::999");
    const byEmail = await update(a, { agent_id: { email: "alice@company.example" }, team_id: "SELECT Team" });
    expect(byEmail.code).toBe(0);
    expect(ext.ticket(a)).toMatchObject({ agent_id: 2, team_id: 1 });
    const missing = await update(a, { agent_id: { email: "nobody@example.com" } });
    expect(missing.code).toBe(100);
    expect(missing.message).toContain("agent_id: No item found with criteria: email: nobody@example.com");
    expect((await update(a, { agent_id: 0 })).code).toBe(0);
    expect(ext.ticket(a)?.agent_id).toBe(0);
  });
});

describe("output_fields", () => {
  it("takes *, *+ and lists with spaces; an unknown field is code 100", async () => {
    const id = await createTicket(ext);
    const get = (cls: string, output_fields?: string) =>
      rest(ext, { operation: "core/get", class: cls, key: id, ...(output_fields ? { output_fields } : {}) });
    expect(objects(await get("UserRequest", " id , title,status"))[0]?.fields).toEqual({
      id: String(id),
      title: "Printer on fire",
      status: "new",
    });
    const star = objects(await get("Ticket"))[0]?.fields ?? {};
    expect(star).toHaveProperty("finalclass", "UserRequest");
    expect(star).not.toHaveProperty("status");
    expect(objects(await get("Ticket", "*+"))[0]?.fields).toHaveProperty("status", "new");
    const unknown = await get("UserRequest", "id,colour");
    expect(unknown).toMatchObject({ code: 100, objects: null });
    expect(unknown.message).toContain("colour");
  });
});

describe("case logs", () => {
  const log = (fake: ItopFake, id: number, value: unknown, auth?: { form: Record<string, string> }) =>
    rest(
      fake,
      {
        operation: "core/update",
        class: "UserRequest",
        comment: "t",
        key: id,
        fields: { private_log: value },
      },
      auth,
    );

  it("appends add_item (html or text) and plain strings, authored by the REST user", async () => {
    const id = await createTicket(ext);
    await log(ext, id, { add_item: { message: "<p>Hello <b>there</b></p>", format: "html" } });
    await log(ext, id, { add_item: { message: "a < b\nline 2", format: "text" } });
    await log(ext, id, "<p>plain</p>", { form: { auth_user: "budi", auth_pwd: "budi" } });
    const answer = await rest(ext, {
      operation: "core/get",
      class: "UserRequest",
      key: id,
      output_fields: "private_log",
    });
    const entries = objects(answer)[0]?.fields.private_log.entries;
    expect(entries).toHaveLength(3);
    expect(entries[0]).toMatchObject({
      user_login: "Deskbridge Bridge",
      user_id: "1",
      message: "Hello there",
      message_html: "<p>Hello <b>there</b></p>",
    });
    expect(entries[1]).toMatchObject({ message: "a < b\nline 2", message_html: "a &lt; b<br/>line 2" });
    expect(entries[2]).toMatchObject({ user_login: "Budi Santoso", user_id: "4", message: "plain" });
    expect(entries[0].date).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  });

  it("replaces the whole log with items (the quirk) and refuses any other object", async () => {
    const id = await createTicket(ext);
    await log(ext, id, { add_item: { message: "one" } });
    await log(ext, id, { add_item: { message: "two" } });
    const replaced = await log(ext, id, { items: [{ message: "only this", format: "text" }] });
    expect(replaced.code).toBe(0);
    expect(ext.ticket(id)?.private_log.entries.map((e) => e.message)).toEqual(["only this"]);
    const other = await log(ext, id, { message: "no add_item" });
    expect(other.code).toBe(100);
    expect(other.message).toMatch(/^Error: .*Missing 'items' elements/);
    expect(ext.ticket(id)?.private_log.entries).toHaveLength(1);
  });
});

describe("lifecycle", () => {
  const stimulus = (id: number, name: string, fields: Record<string, unknown> = {}, cls = "UserRequest") =>
    rest(ext, {
      operation: "core/apply_stimulus",
      class: cls,
      comment: "t",
      key: id,
      stimulus: name,
      fields,
      output_fields: "id,status",
    });

  it("checks the target state's mandatory text attributes, with the stimulus's fields set first, and not its external keys", async () => {
    const nobody = await createTicket(ext);
    // iTop does not check external keys on a transition: assigned to no team and no agent ("0").
    const lax = await stimulus(nobody, "ev_assign");
    expect(lax.code).toBe(0);
    expect(ext.ticket(nobody)).toMatchObject({ status: "assigned", team_id: 0, agent_id: 0 });
    const id = await createTicket(ext);
    const assigned = await stimulus(id, "ev_assign", {
      team_id: 1,
      agent_id: { email: "alice@company.example" },
    });
    expect(objects(assigned)[0]?.fields).toEqual({ id: String(id), status: "assigned" });
    expect(ext.ticket(id)?.assignment_date).not.toBe("");
    expect((await stimulus(id, "ev_pending")).message).toContain("pending_reason");
    const refused = await stimulus(id, "ev_resolve", { service_id: 1, resolution_code: "other" });
    expect(refused).toMatchObject({
      code: 100,
      message: "Error: Missing mandatory attribute(s) for applying the stimulus: solution.",
      objects: null,
    });
    expect(ext.ticket(id)?.status).toBe("assigned");
    expect(
      (await stimulus(id, "ev_resolve", { service_id: 1, resolution_code: "other", solution: "ok" })).code,
    ).toBe(0);
    expect((await stimulus(id, "ev_close")).code).toBe(0);
    expect(ext.ticket(id)).toMatchObject({ status: "closed", solution: "<p>ok</p>" }); // AttributeHTML
    expect(ext.ticket(id)?.close_date).toMatch(/^\d{4}-/);
  });

  it("refuses a stimulus the state does not have; Incident has no approval; ev_timeout is accepted", async () => {
    const id = await createTicket(ext);
    const ref = ext.ticket(id)?.ref;
    expect((await stimulus(id, "ev_close")).message).toBe(
      `Error: Invalid stimulus: 'ev_close' on the object ${ref} in state 'new'`,
    );
    expect((await stimulus(id, "ev_wait_for_approval")).code).toBe(0);
    expect((await stimulus(id, "ev_approve")).code).toBe(0);
    expect(ext.ticket(id)?.status).toBe("approved");
    const incident = await createTicket(ext, {}, "Incident");
    expect((await stimulus(incident, "ev_wait_for_approval", {}, "Incident")).code).toBe(100);
    expect((await stimulus(incident, "ev_timeout", {}, "Incident")).code).toBe(0);
    expect(ext.ticket(incident)?.status).toBe("escalated_tto");
    expect(() => ext.agentAppliesStimulus(incident, "ev_close")).toThrow(/Invalid stimulus/);
  });
});

describe("attachments and inline images", () => {
  it("creates and reads attachments through REST in the real shape", async () => {
    const id = await createTicket(ext);
    const data = Buffer.from("hello world").toString("base64");
    const created = await rest(ext, {
      operation: "core/create",
      class: "Attachment",
      comment: "t",
      fields: {
        item_class: "UserRequest",
        item_id: id,
        item_org_id: 2,
        contents: { data, filename: "log.txt", mimetype: "text/plain" },
      },
      output_fields: "id",
    });
    expect(created.code).toBe(0);
    const answer = await rest(ext, {
      operation: "core/get",
      class: "Attachment",
      key: `SELECT Attachment WHERE item_class = 'UserRequest' AND item_id = ${id}`,
    });
    expect(shape(answer)).toEqual(shape(fixture("core-get-attachment")));
    expect(objects(answer)[0]?.fields).toMatchObject({
      item_id: String(id),
      item_org_id: "2",
      contents: { data, filename: "log.txt", mimetype: "text/plain", downloads_count: 0 },
    });
    expect(ext.attachments("UserRequest", id)).toHaveLength(1);
  });

  it("pastes an image as an InlineImage with a secret, readable by core/get and by its URL", async () => {
    const id = await createTicket(int);
    const data = Buffer.from("png bytes").toString("base64");
    const img = int.pasteImage("UserRequest", id, { mimetype: "image/png", data });
    const [image] = int.inlineImages();
    if (!image) throw new Error("no InlineImage");
    const base = int.url.replace("/webservices/rest.php", "");
    expect(img).toBe(
      `<img src="${base}/pages/ajax.document.php?operation=download_inlineimage&amp;id=${image.id}&amp;s=${image.secret}" data-img-id="${image.id}" data-img-secret="${image.secret}">`,
    );
    // The download page needs no login; a wrong secret or id is an error paragraph, still 200 text/html.
    const download = (id: number, secret: string) =>
      fetch(`${base}/pages/ajax.document.php?operation=download_inlineimage&id=${id}&s=${secret}`);
    const good = await download(image.id, image.secret);
    expect(good.status).toBe(200);
    expect(good.headers.get("content-type")).toBe("image/png");
    expect(Buffer.from(await good.arrayBuffer()).toString("base64")).toBe(data);
    const wrong = await download(image.id, "nope");
    expect([wrong.status, wrong.headers.get("content-type")]).toEqual([200, "text/html;charset=UTF-8"]);
    expect(await wrong.text()).toContain("Invalid secret for class 'InlineImage'");
    const answer = await rest(int, {
      operation: "core/get",
      class: "InlineImage",
      key: image.id,
      output_fields: "id,contents,secret",
    });
    expect(objects(answer)[0]?.fields).toMatchObject({
      secret: image.secret,
      contents: { data, mimetype: "image/png" },
    });
    // A profile without read rights on InlineImage: code 1, no "Error: " prefix, objects null.
    const denied = await rest(
      int,
      { operation: "core/get", class: "InlineImage", key: image.id, output_fields: "id,contents" },
      { form: { auth_user: "agent", auth_pwd: "agent" } },
    );
    expect(denied).toEqual({
      code: 1,
      message: "The current user does not have enough permissions for reading data of class InlineImage",
      objects: null,
    });
    // The src, unescaped, is the download page.
    const src = (/src="([^"]+)"/.exec(img)?.[1] ?? "").replaceAll("&amp;", "&");
    const fromSrc = await fetch(src);
    expect(fromSrc.headers.get("content-type")).toBe("image/png");
    expect(Buffer.from(await fromSrc.arrayBuffer()).toString()).toBe("png bytes");
    expect(int.takeWebhooks()).toEqual([]);
  });
});

describe("webhooks", () => {
  it("external: create-ticket with names, update-ticket for any change, update-attachment", async () => {
    const ticket = ext.agentCreatesTicket({
      title: "VPN down",
      description: "<p>VPN</p>",
      org_id: 2,
      caller_id: 1,
      urgency: "3", // priority 2
      team_id: 1,
      agent_id: 2,
      by: "budi",
    });
    expect(ext.takeWebhooks()).toEqual([
      {
        path: "/api/v1/create-ticket",
        payload: {
          event: "ticket.create",
          class: "UserRequest",
          id: String(ticket.id),
          ref: ticket.ref,
          title: "VPN down",
          description: "<p>VPN</p>",
          status: "new",
          caller_id: "Doe",
          org_id: "Demo",
          team_id: "Service Desk",
          operator_id: "Agent",
          priority: "2",
        },
      },
    ]);
    expect(ext.takeWebhooks()).toEqual([]);
    const update = {
      path: "/api/v1/update-ticket",
      payload: { class: "UserRequest", id: String(ticket.id) },
    };
    ext.agentUpdatesTicket(ticket.id, { title: "VPN really down" }, "budi");
    ext.agentUpdatesTicket(ticket.id, { title: "VPN really down" }, "budi"); // no change, no trigger
    ext.agentAddsLog(ticket.id, "public_log", "<p>hi</p>", "budi");
    await rest(ext, {
      operation: "core/update",
      class: "UserRequest",
      comment: "t",
      key: ticket.id,
      fields: { private_log: { add_item: { message: "from REST" } } },
    });
    expect(ext.takeWebhooks()).toEqual([update, update, update]);
    const attachment = ext.agentAttaches("UserRequest", ticket.id, {
      filename: "a.txt",
      mimetype: "text/plain",
      data: "YQ==",
    });
    expect(attachment.item_org_id).toBe(2);
    ext.agentUpdatesAttachment(attachment.id, "Yg==");
    ext.agentDeletesAttachment(attachment.id);
    const payload = {
      event: "attachment.update",
      source: "external",
      attachment_id: String(attachment.id),
      item_class: "UserRequest",
      item_id: String(ticket.id),
    };
    expect(ext.takeWebhooks()).toEqual([1, 2, 3].map(() => ({ path: "/api/v1/update-attachment", payload })));
    expect(ext.calls).toHaveLength(1); // the helpers do not go through HTTP
  });

  it("internal: private log and state entries only, both from one REST write; attachments with its source", async () => {
    const id = await createTicket(int, { team_id: 1, agent_id: 1 });
    expect(int.takeWebhooks()).toEqual([]); // no trigger on creation
    int.agentUpdatesTicket(id, { title: "changed" });
    expect(int.takeWebhooks()).toEqual([]);
    await rest(int, {
      operation: "core/apply_stimulus",
      class: "UserRequest",
      comment: "t",
      key: id,
      stimulus: "ev_assign",
      fields: { private_log: { add_item: { message: "assigning" } } },
    });
    expect(int.takeWebhooks()).toEqual([
      { path: "/api/v1/ticket-update-private-log", payload: { event: "update private log", id: String(id) } },
      { path: "/api/v1/ticket-state-change", payload: { event: "ticket assigned", id: String(id) } },
    ]);
    int.agentAppliesStimulus(id, "ev_timeout", {}, "system");
    int.agentAppliesStimulus(id, "ev_pending", { pending_reason: "vendor" }, "rina");
    expect(int.takeWebhooks().map((w) => w.payload.event)).toEqual([
      "ticket escalated_ttr",
      "ticket pending",
    ]);
    const created = await rest(int, {
      operation: "core/create",
      class: "Attachment",
      comment: "t",
      fields: {
        item_class: "UserRequest",
        item_id: id,
        item_org_id: 2,
        contents: { data: "YQ==", filename: "a", mimetype: "text/plain" },
      },
    });
    const attachmentId = objects(created)[0]?.key;
    await rest(int, {
      operation: "core/delete",
      class: "Attachment",
      comment: "t",
      key: Number(attachmentId),
    });
    const payload = {
      event: "attachment.update",
      source: "elitery",
      attachment_id: attachmentId,
      item_class: "UserRequest",
      item_id: String(id),
    };
    expect(int.takeWebhooks()).toEqual([
      { path: "/api/v1/update-attachment", payload },
      { path: "/api/v1/update-attachment", payload },
    ]);
    expect(int.attachments()).toHaveLength(0);
  });

  it("fires nothing for a refused write", async () => {
    const id = await createTicket(int);
    const refused = await rest(int, {
      operation: "core/apply_stimulus",
      class: "UserRequest",
      comment: "t",
      key: id,
      stimulus: "ev_close", // not allowed in "new"
      fields: { private_log: { add_item: { message: "x" } } },
    });
    expect(refused.code).toBe(100);
    expect(int.takeWebhooks()).toEqual([]);
    expect(int.ticket(id)?.private_log.entries).toHaveLength(0);
  });
});

describe("faults", () => {
  const update = (id: number) =>
    rest(ext, {
      operation: "core/update",
      class: "UserRequest",
      comment: "t",
      key: id,
      fields: { title: "new title" },
    });

  it("answers a planned code without doing the work, matching operation and class", async () => {
    const id = await createTicket(ext);
    ext.failNext(
      1,
      { kind: "code", code: 100, message: "Error: boom" },
      { operation: "core/update", class: "UserRequest" },
    );
    expect((await rest(ext, { operation: "core/get", class: "UserRequest", key: id })).code).toBe(0);
    expect(await update(id)).toEqual({ code: 100, message: "Error: boom", objects: null });
    expect(ext.ticket(id)?.title).toBe("Printer on fire");
    expect((await update(id)).code).toBe(0);
    expect(ext.calls.map((c) => [c.operation, c.class, c.code])).toEqual([
      ["core/create", "UserRequest", 0],
      ["core/get", "UserRequest", 0],
      ["core/update", "UserRequest", 100],
      ["core/update", "UserRequest", 0],
    ]);
    expect(ext.calls[2]).toMatchObject({
      key: id,
      comment: "t",
      fields: { title: "new title" },
      message: "Error: boom",
    });
  });

  it("loses the answer of a request that did its work (drop-response), waiting for one that succeeds", async () => {
    const id = await createTicket(ext);
    ext.takeWebhooks();
    ext.failNext(1, { kind: "drop-response" }, { operation: "core/update" });
    const refused = await rest(ext, {
      operation: "core/update",
      class: "UserRequest",
      comment: "t",
      key: 999,
      fields: {},
    });
    expect(refused.code).toBe(100); // a refusal leaves the plan waiting
    await expect(update(id)).rejects.toThrow();
    expect(ext.ticket(id)?.title).toBe("new title");
    expect(ext.takeWebhooks()).toHaveLength(1);
    expect(ext.calls.at(-1)).toMatchObject({ operation: "core/update", code: -1, status: 0 });
  });

  it("resets connections, answers HTTP errors, and goes down", async () => {
    const id = await createTicket(ext);
    ext.failNext(1, { kind: "reset" });
    await expect(update(id)).rejects.toThrow();
    ext.failNext(1, { kind: "status", status: 503 });
    const response = await fetch(`${ext.url}?version=1.3`, {
      method: "POST",
      body: new URLSearchParams(BRIDGE),
    });
    expect(response.status).toBe(503);
    ext.setDown(true);
    await expect(update(id)).rejects.toThrow();
    ext.setDown(false);
    expect((await update(id)).code).toBe(0);
  });

  it("reset() forgets everything but keeps ids counting", async () => {
    const first = await createTicket(ext);
    ext.agentAttaches("UserRequest", first, { filename: "a", mimetype: "text/plain", data: "YQ==" });
    ext.failNext(5, { kind: "code", code: 100, message: "Error: x" });
    ext.setDown(true);
    ext.reset();
    expect([ext.tickets(), ext.attachments(), ext.calls, ext.takeWebhooks()]).toEqual([[], [], [], []]);
    const second = await createTicket(ext);
    expect(second).toBe(first + 1);
    const attachment = ext.agentAttaches("UserRequest", second, {
      filename: "a",
      mimetype: "text/plain",
      data: "YQ==",
    });
    expect(attachment.id).toBeGreaterThan(1);
  });
});
