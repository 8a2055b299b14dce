import { readFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { customerEntities, demoEntities, type GlpiFake, startGlpiFake } from "../../infra/sandbox/glpi.ts";
import { isValidCnpj } from "../../lib/sync/glpi-forms/cnpj.ts";

const APP_TOKEN = "app-token-for-tests";
const USER_TOKEN = "user-token-for-tests";
const SID = 76674;

const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../fixtures/glpi/${name}`, import.meta.url), "utf8"));

let fake: GlpiFake;

beforeAll(async () => {
  fake = await startGlpiFake({
    appToken: APP_TOKEN,
    userToken: USER_TOKEN,
    cnpjSearchOptionId: SID,
    entities: demoEntities,
  });
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

interface CallOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  session?: string;
  appToken?: string | null;
  signal?: AbortSignal;
}

/** One request to the fake, with the App-Token unless told otherwise; the body is parsed as JSON. */
async function glpi(path: string, options: CallOptions = {}) {
  const headers: Record<string, string> = { ...options.headers };
  if (options.appToken !== null) headers["App-Token"] = options.appToken ?? APP_TOKEN;
  if (options.session) headers["Session-Token"] = options.session;
  if (options.body !== undefined) headers["Content-Type"] ??= "application/json";
  const response = await fetch(`${fake.url}${path}`, {
    method: options.method ?? "GET",
    headers,
    ...(options.body === undefined ? {} : { body: options.body }),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}

async function login(): Promise<string> {
  const answer = await glpi("/initSession", { headers: { Authorization: `user_token ${USER_TOKEN}` } });
  expect(answer.status).toBe(200);
  return answer.body.session_token;
}

function createTicket(session: string, input: unknown) {
  return glpi("/Ticket", { method: "POST", session, body: JSON.stringify({ input }) });
}

function searchCnpj(session: string, searchtype: string, value: string, range = "0-49") {
  const query = new URLSearchParams({
    "criteria[0][field]": String(SID),
    "criteria[0][searchtype]": searchtype,
    "criteria[0][value]": value,
    "forcedisplay[0]": String(SID),
    "forcedisplay[1]": "2",
    range,
  });
  return glpi(`/search/Entity?${query}`, { session });
}

describe("sessions", () => {
  it("opens a session with the user token and refuses missing or wrong tokens and credentials", async () => {
    const opened = await glpi("/initSession", { headers: { Authorization: `user_token ${USER_TOKEN}` } });
    expect(Object.keys(opened.body)).toEqual(Object.keys(fixture("init-session.json") as object));
    expect(opened.body.session_token).toMatch(/^[0-9a-f]{40}$/);
    expect(opened.headers.get("content-type")).toBe("application/json; charset=UTF-8");

    const wrongUser = await glpi("/initSession", { headers: { Authorization: "user_token nope" } });
    expect(wrongUser).toMatchObject({
      status: 401,
      body: ["ERROR_GLPI_LOGIN_USER_TOKEN", "parameter user_token seems invalid"],
    });
    const basic = await glpi("/initSession", { headers: { Authorization: `Basic ${btoa("glpi:glpi")}` } });
    expect(basic).toMatchObject({
      status: 400,
      body: ["ERROR_LOGIN_WITH_CREDENTIALS_DISABLED", expect.any(String)],
    });
    const anonymous = await glpi("/initSession");
    expect(anonymous).toMatchObject({
      status: 400,
      body: ["ERROR_LOGIN_PARAMETERS_MISSING", expect.any(String)],
    });

    const noApp = await glpi("/initSession", {
      appToken: null,
      headers: { Authorization: `user_token ${USER_TOKEN}` },
    });
    expect(noApp.status).toBe(400);
    expect(noApp.body[0]).toBe("ERROR_APP_TOKEN_PARAMETERS_MISSING");
    expect(noApp.body[1]).toBe(
      `missing parameter app_token; view documentation in your browser at ${fake.url}/#ERROR_APP_TOKEN_PARAMETERS_MISSING`,
    );
    const wrongApp = await glpi("/initSession", {
      appToken: "x",
      headers: { Authorization: `user_token ${USER_TOKEN}` },
    });
    expect(wrongApp).toMatchObject({
      status: 400,
      body: ["ERROR_WRONG_APP_TOKEN_PARAMETER", expect.any(String)],
    });
    expect(fake.sessions()).toBe(1);
  });

  it("requires a session token on every other call and accepts both as query parameters", async () => {
    const missing = await glpi("/Ticket/1");
    expect(missing).toMatchObject({ status: 400, body: ["ERROR_SESSION_TOKEN_MISSING", expect.any(String)] });
    const unknown = await glpi("/Ticket/1", { session: "0123456789abcdef" });
    expect(unknown.status).toBe(401);
    expect(unknown.body).toEqual(fixture("error-session-invalid.json"));

    const session = await login();
    const viaQuery = await glpi(`/search/Entity?app_token=${APP_TOKEN}&session_token=${session}`, {
      appToken: null,
    });
    expect(viaQuery.status).toBe(200);
  });

  it("answers 401 ERROR_SESSION_TOKEN_INVALID after the sessions expire or are killed", async () => {
    const first = await login();
    const second = await login();
    expect(fake.sessions()).toBe(2);
    fake.expireSessions();
    expect(fake.sessions()).toBe(0);
    expect((await glpi("/Ticket", { session: first })).body[0]).toBe("ERROR_SESSION_TOKEN_INVALID");
    expect((await glpi("/Ticket", { session: second })).status).toBe(401);

    const third = await login();
    expect(await glpi("/killSession", { session: third })).toMatchObject({ status: 200, body: true });
    expect((await glpi("/Ticket", { session: third })).status).toBe(401);
  });

  it("records changeActiveEntities and answers true", async () => {
    const session = await login();
    const body = JSON.stringify({ entities_id: "all", is_recursive: true });
    expect(await glpi("/changeActiveEntities", { method: "POST", session, body })).toMatchObject({
      status: 200,
      body: true,
    });
  });
});

describe("request bodies", () => {
  it("refuses a GET that carries a body", async () => {
    const session = await login();
    // fetch() cannot send a GET body, so this one goes through node:http.
    const payload = JSON.stringify({ input: {} });
    const headers = {
      "App-Token": APP_TOKEN,
      "Session-Token": session,
      "Content-Type": "application/json",
      "Content-Length": String(Buffer.byteLength(payload)),
    };
    const answer = await new Promise<{ status: number; body: unknown }>((resolve, reject) => {
      const req = httpRequest(`${fake.url}/Ticket`, { method: "GET", headers }, (res) => {
        let text = "";
        res.on("data", (chunk) => {
          text += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : text }));
      });
      req.on("error", reject);
      req.end(payload);
    });
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual([
      "ERROR_JSON_PAYLOAD_FORBIDDEN",
      `GET Request should not have json payload (http body); view documentation in your browser at ${fake.url}/#ERROR_JSON_PAYLOAD_FORBIDDEN`,
    ]);
  });

  it("refuses a write whose body is not valid JSON, and creates nothing", async () => {
    const session = await login();
    const broken = await glpi("/Ticket", { method: "POST", session, body: '{"input": {' });
    expect(broken).toMatchObject({
      status: 400,
      body: ["ERROR_JSON_PAYLOAD_INVALID", "JSON payload seems not valid"],
    });
    // PHP tests json_decode() for truthiness: an empty array is "invalid" too.
    expect((await glpi("/Ticket", { method: "POST", session, body: "[]" })).body[0]).toBe(
      "ERROR_JSON_PAYLOAD_INVALID",
    );
    expect(fake.tickets).toHaveLength(0);
  });
});

describe("search/Entity", () => {
  it("finds entities by CNPJ with SQL LIKE and answers 206 with Content-Range when the range holds part of them", async () => {
    const session = await login();
    const answer = await searchCnpj(session, "contains", "0001", "0-1");
    expect(answer.status).toBe(206);
    expect(answer.body).toEqual(fixture("search-entity.json"));
    expect(answer.headers.get("content-range")).toBe("0-1/3");
    expect(answer.headers.get("accept-range")).toBe("Entity 1000");

    const whole = await searchCnpj(session, "contains", "11.222.333/0001-81");
    expect(whole.status).toBe(200);
    expect(whole.body.data).toEqual([
      { "1": "Root entity > ACME Comércio Ltda", "2": 1, [SID]: "11.222.333/0001-81" },
    ]);
    expect(whole.headers.get("content-range")).toBe("0-0/1");
  });

  it("leaves the data key out when nothing matches", async () => {
    const session = await login();
    const answer = await searchCnpj(session, "contains", "45723174000110");
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual(fixture("search-entity-empty.json"));
    expect(answer.body).not.toHaveProperty("data");
    expect(answer.headers.get("content-range")).toBeNull();
  });

  it("compares row ids, not text, when a criterion uses equals", async () => {
    const session = await login();
    expect((await searchCnpj(session, "equals", "11.222.333/0001-81")).body.totalcount).toBe(0);
    const byName = await glpi(
      `/search/Entity?criteria[0][field]=1&criteria[0][searchtype]=equals&criteria[0][value]=3`,
      { session },
    );
    expect(byName.body.data).toEqual([{ "1": "Root entity > Oficina Alfa & Filhos", "2": 3 }]);
  });

  it("refuses malformed criteria, unknown fields and ranges past the results", async () => {
    const session = await login();
    const malformed = await glpi(`/search/Entity?criteria[0][field]=${SID}&criteria[0][value]=x`, {
      session,
    });
    expect(malformed).toMatchObject({
      status: 400,
      body: ["ERROR", expect.stringMatching(/^Malformed search criteria/)],
    });
    const badField = await glpi(
      "/search/Entity?criteria[0][field]=999&criteria[0][searchtype]=contains&criteria[0][value]=x",
      { session },
    );
    expect(badField).toMatchObject({
      status: 400,
      body: ["ERROR", expect.stringMatching(/^Bad field ID in search criteria/)],
    });
    const exceeded = await searchCnpj(session, "contains", "0001", "10-20");
    expect(exceeded).toMatchObject({ status: 400, body: ["ERROR_RANGE_EXCEED_TOTAL", expect.any(String)] });
  });

  it("ORs criteria linked with OR, AND binding tighter as in SQL", async () => {
    const session = await login();
    const query = (criteria: [string, string, string][]) =>
      glpi(
        `/search/Entity?${new URLSearchParams([
          ...criteria.flatMap(([link, searchtype, value], i): [string, string][] => [
            [`criteria[${i}][link]`, link],
            [`criteria[${i}][field]`, String(SID)],
            [`criteria[${i}][searchtype]`, searchtype],
            [`criteria[${i}][value]`, value],
          ]),
          ["forcedisplay[0]", "2"] as [string, string],
        ])}`,
        { session },
      );
    const both = await query([
      ["AND", "contains", "11222333000181"],
      ["OR", "contains", "11.222.333/0001-81"],
    ]);
    expect(both.body.data.map((row: Record<string, unknown>) => row["2"])).toEqual([1]);
    const either = await query([
      ["AND", "contains", "13579246000101"],
      ["OR", "contains", "11.222.333/0001-81"],
    ]);
    expect(either.body.totalcount).toBe(2);
    // (0001 AND NOT 1357…) OR 2468…: ACME by the AND group, the Mercado by the OR alone.
    const mixed = await query([
      ["AND", "contains", "0001"],
      ["AND NOT", "contains", "1357"],
      ["OR", "contains", "24681357"],
    ]);
    expect(mixed.body.data.map((row: Record<string, unknown>) => row["2"]).sort()).toEqual([1, 4]);
    const badLink = await query([
      ["AND", "contains", "0001"],
      ["XOR", "contains", "1357"],
    ]);
    expect(badLink.status).toBe(400);
  });

  it("pages every entity with range: 206 and Content-Range for each page short of the whole, 200 for one page holding all", async () => {
    customerEntities(2500).forEach(fake.addEntity);
    const session = await login();
    const page = (range: string) =>
      glpi(`/search/Entity?forcedisplay[0]=${SID}&forcedisplay[1]=2&range=${range}`, { session });
    const first = await page("0-999");
    expect([first.status, first.body.totalcount, first.body.count]).toEqual([206, 2505, 1000]);
    expect(first.headers.get("content-range")).toBe("0-999/2505");
    expect(first.body["content-range"]).toBe("0-999/2505");
    const last = await page("2000-2999");
    // GLPI compares the page's count with the total: the last page of several is partial too.
    expect([last.status, last.body.count]).toEqual([206, 505]);
    expect(last.headers.get("content-range")).toBe("2000-2504/2505");
    const all = await page("0-2999");
    expect([all.status, all.body.count]).toEqual([200, 2505]);
    const ids = new Set<number>();
    for (const range of ["0-999", "1000-1999", "2000-2999"]) {
      for (const row of (await page(range)).body.data) ids.add(row["2"]);
    }
    expect(ids.size).toBe(2505);
    expect((await page("2505-3504")).body).toMatchObject({ totalcount: 2505, count: 0 });
    expect((await page("2506-3505")).status).toBe(400);
  });

  it("seeds customers with distinct valid CNPJs, formatted or not, and edits or removes an entity", async () => {
    const customers = customerEntities(1500);
    expect(new Set(customers.map((c) => c.cnpj.replace(/\D/g, ""))).size).toBe(1500);
    expect(customers.every((c) => isValidCnpj(c.cnpj))).toBe(true);
    expect(customers.filter((c) => c.cnpj.includes("/")).length).toBe(750);
    const session = await login();
    fake.setEntityCnpj(1, "98.765.432/0001-98");
    expect((await searchCnpj(session, "contains", "11.222.333")).body.totalcount).toBe(0);
    expect((await searchCnpj(session, "contains", "98.765.432")).body.data[0]["2"]).toBe(1);
    fake.removeEntity(1);
    expect((await searchCnpj(session, "contains", "98.765.432")).body.totalcount).toBe(0);
    expect(await createTicket(session, { content: "x", entities_id: 1 })).toMatchObject({
      status: 400,
      body: ["ERROR_GLPI_ADD", "You don't have permission to perform this action."],
    });
  });

  it("answers after the configured latency", async () => {
    fake.setLatency(60);
    const started = performance.now();
    await glpi("/initSession", { headers: { Authorization: `user_token ${USER_TOKEN}` } });
    expect(performance.now() - started).toBeGreaterThanOrEqual(55);
  });

  it("lists the CNPJ option of the Fields plugin among the Entity search options", async () => {
    const session = await login();
    const answer = await glpi("/listSearchOptions/Entity", { session });
    expect(answer.body.common).toBe("Characteristics");
    expect(answer.body[SID]).toMatchObject({
      table: "glpi_plugin_fields_entitycnpjs",
      field: "cnpjfield",
      datatype: "string",
      uid: "Entity.PluginFieldsEntitycnpj.cnpjfield",
    });
  });
});

describe("Ticket", () => {
  it("creates a ticket with 201 and a Location header, and a batch with one result per item", async () => {
    const session = await login();
    const created = await createTicket(session, { name: "Impressora", content: "Sem papel", entities_id: 1 });
    expect(created.status).toBe(201);
    const { id } = created.body;
    expect(Object.keys(created.body)).toEqual(Object.keys(fixture("ticket-created.json") as object));
    expect(created.body.message).toBe(`Your ticket has been registered. (Ticket: ${id})`);
    expect(created.headers.get("location")).toBe(`${fake.url}/Ticket/${id}`);
    expect(fake.tickets).toEqual([
      {
        id,
        input: { name: "Impressora", content: "Sem papel", entities_id: 1 },
        dateCreation: expect.any(String),
      },
    ]);

    const batch = await createTicket(session, [{ content: "Um" }, { content: "Dois" }]);
    expect(batch).toMatchObject({
      status: 201,
      body: [
        { id: id + 1, message: "" },
        { id: id + 2, message: "" },
      ],
    });
    expect(fake.tickets).toHaveLength(3);
  });

  it("refuses what GLPI core refuses: no input, an unknown entity, no title nor description", async () => {
    const session = await login();
    const noInput = await glpi("/Ticket", { method: "POST", session, body: JSON.stringify({ name: "x" }) });
    expect(noInput).toMatchObject({ status: 400, body: ["ERROR_BAD_ARRAY", expect.any(String)] });
    const unknownEntity = await createTicket(session, { content: "x", entities_id: 999 });
    expect(unknownEntity).toMatchObject({ status: 400, body: ["ERROR_GLPI_ADD", expect.any(String)] });
    const empty = await createTicket(session, { name: "", content: " " });
    expect(empty.body).toEqual(fixture("error-glpi-add.json"));
    expect(fake.tickets).toHaveLength(0);
  });

  it("returns text HTML-encoded unless the request sends X-GLPI-Sanitized-Content: false", async () => {
    const session = await login();
    const content = "<p>Olá & até logo</p>";
    const { id } = (
      await createTicket(session, { name: "Rede <lenta>", content, externalid: "deskbridge:1" })
    ).body;
    const encoded = await glpi(`/Ticket/${id}`, { session });
    expect(encoded.status).toBe(200);
    expect(encoded.body).toMatchObject({
      id,
      status: 1,
      name: "Rede &#60;lenta&#62;",
      externalid: "deskbridge:1",
    });
    expect(encoded.body.content).toBe("&#60;p&#62;Olá &#38; até logo&#60;/p&#62;");
    const raw = await glpi(`/Ticket/${id}`, { session, headers: { "X-GLPI-Sanitized-Content": "false" } });
    expect(raw.body).toMatchObject({
      name: "Rede <lenta>",
      content,
      date_creation: expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/),
    });
    expect(await glpi("/Ticket/999", { session })).toMatchObject({
      status: 404,
      body: ["ERROR_ITEM_NOT_FOUND", "Item not found"],
    });
  });

  it("lists tickets by searchText with Content-Range, and 206 when the range holds part of them", async () => {
    const session = await login();
    for (const n of [1, 2, 3])
      await createTicket(session, { content: `T${n}`, externalid: `deskbridge:glpi-forms:${n}` });
    await createTicket(session, { content: "other", externalid: "elsewhere" });
    const partial = await glpi("/Ticket?searchText[externalid]=DESKBRIDGE:GLPI-FORMS&range=0-1", { session });
    expect(partial.status).toBe(206);
    expect(partial.body.map((t: { externalid: string }) => t.externalid)).toEqual([
      "deskbridge:glpi-forms:1",
      "deskbridge:glpi-forms:2",
    ]);
    expect(partial.headers.get("content-range")).toBe("0-1/3");
    const exact = await glpi("/Ticket?searchText[externalid]=^deskbridge:glpi-forms:3$", { session });
    expect(exact.status).toBe(200);
    expect(exact.body).toHaveLength(1);
    const none = await glpi("/Ticket?searchText[externalid]=nothing-like-this", { session });
    expect(none).toMatchObject({ status: 200, body: [] });
    expect(none.headers.get("content-range")).toBeNull();
  });

  it("answers GLPI's errors for unknown itemtypes and wrong methods", async () => {
    const session = await login();
    const unknown = await glpi("/NotAnItemtype", { session });
    expect(unknown).toMatchObject({
      status: 400,
      body: ["ERROR_RESOURCE_NOT_FOUND_NOR_COMMONDBTM", expect.any(String)],
    });
    expect((await glpi("/search/Nope", { session })).body[0]).toBe("ERROR_RESOURCE_NOT_FOUND_NOR_COMMONDBTM");
    const wrongMethod = await glpi("/Ticket/1", { method: "DELETE", session });
    expect(wrongMethod).toMatchObject({
      status: 405,
      body: ["ERROR_METHOD_NOT_ALLOWED", expect.any(String)],
    });
  });
});

describe("faults and bookkeeping", () => {
  it("fails the next matching calls as planned, then answers normally", async () => {
    const session = await login();
    fake.failNext(
      2,
      { kind: "status", status: 503, body: ["ERROR", "Service Unavailable"] },
      { method: "POST", path: "/Ticket" },
    );
    expect((await glpi(`/Ticket/1`, { session })).status).toBe(404); // not matched by the plan
    expect((await createTicket(session, { content: "a" })).status).toBe(503);
    expect((await createTicket(session, { content: "a" })).body).toEqual(["ERROR", "Service Unavailable"]);
    expect((await createTicket(session, { content: "a" })).status).toBe(201);
    expect(fake.tickets).toHaveLength(1);
    expect(fake.calls.filter((c) => c.path === "/Ticket").map((c) => c.status)).toEqual([503, 503, 201]);
  });

  it("resets, drops, delays and hangs connections as planned, recording status 0", async () => {
    const session = await login();
    fake.failNext(1, { kind: "reset" });
    await expect(glpi("/Ticket", { session })).rejects.toThrow();

    fake.failNext(1, { kind: "drop-response" }, { path: /^\/Ticket$/ });
    await expect(createTicket(session, { content: "created, answer lost" })).rejects.toThrow();
    expect(fake.tickets).toHaveLength(1);

    fake.failNext(1, { kind: "delay", ms: 150 });
    const started = Date.now();
    expect((await glpi("/Ticket", { session })).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);

    fake.failNext(1, { kind: "hang" });
    await expect(glpi("/Ticket", { session, signal: AbortSignal.timeout(200) })).rejects.toThrow();
    expect(fake.calls.slice(1).map((c) => c.status)).toEqual([0, 0, 200, 0]);
  });

  it("drops the answer of the next matching request that succeeds, and answers refused ones", async () => {
    const stale = await login();
    fake.expireSessions();
    fake.failNext(1, { kind: "drop-response" }, { method: "POST", path: "/Ticket" });
    expect((await createTicket(stale, { content: "x" })).body[0]).toBe("ERROR_SESSION_TOKEN_INVALID");
    const session = await login();
    await expect(createTicket(session, { content: "created, answer lost" })).rejects.toThrow();
    expect(fake.tickets).toHaveLength(1);
    expect((await createTicket(session, { content: "answered" })).status).toBe(201);
  });

  it("destroys every connection while down and answers again once up", async () => {
    fake.setDown(true);
    await expect(login()).rejects.toThrow();
    fake.setDown(false);
    await expect(login()).resolves.toMatch(/^[0-9a-f]+$/);
    expect(fake.count("GET", "/initSession")).toBe(2);
  });

  it("forgets tickets, calls, sessions, plans and added entities on reset", async () => {
    const session = await login();
    fake.addEntity({ id: 99, name: "Late customer", cnpj: "98.765.432/0001-98" });
    expect((await searchCnpj(session, "contains", "98.765.432")).body.totalcount).toBe(1);
    await createTicket(session, { content: "x", entities_id: 99 });
    fake.failNext(5, { kind: "reset" });
    fake.reset();
    expect([fake.tickets.length, fake.calls.length, fake.sessions()]).toEqual([0, 0, 0]);
    const next = await login(); // the reset plan would have destroyed this connection
    expect((await searchCnpj(next, "contains", "98.765.432")).body.totalcount).toBe(0);
  });

  it("counts calls by method and by exact or pattern path", async () => {
    const session = await login();
    await glpi("/Ticket/1", { session });
    await glpi("/Ticket/2", { session });
    await createTicket(session, { content: "x" });
    expect(fake.count("GET", "/Ticket/1")).toBe(1);
    expect(fake.count("GET", /^\/Ticket\/\d+$/)).toBe(2);
    expect(fake.count("POST", "/Ticket")).toBe(1);
    expect(fake.count("POST", "/Ticket/1")).toBe(0);
  });
});
