import { readFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { demoTickets, type OtrsFake, startOtrsFake } from "../../infra/sandbox/otrs.ts";

const LOGIN = "deskbridge";
const PASSWORD = "otrs-password-for-tests";
const JSON_TYPE = "application/json; charset=UTF-8";

const fixture = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`../fixtures/otrs/${name}`, import.meta.url), "utf8"));

let fake: OtrsFake;

beforeAll(async () => {
  fake = await startOtrsFake({ login: LOGIN, password: PASSWORD });
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

interface CallOptions {
  method?: string;
  query?: Record<string, string | string[]>;
  headers?: Record<string, string>;
  body?: unknown; // a string is sent verbatim, anything else as JSON
  signal?: AbortSignal;
}

// biome-ignore lint/suspicious/noExplicitAny: answers are inspected freely
type Answer = { status: number; type: string | null; text: string; body: any };

/** One request to the fake; the body is parsed as JSON when the answer is JSON. */
async function otrs(path: string, options: CallOptions = {}): Promise<Answer> {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(options.query ?? {}))
    for (const item of Array.isArray(value) ? value : [value]) query.append(key, item);
  const headers: Record<string, string> = { ...options.headers };
  let body: string | undefined;
  if (options.body !== undefined) {
    body = typeof options.body === "string" ? options.body : JSON.stringify(options.body);
    headers["Content-Type"] ??= "application/json";
  }
  const response = await fetch(`${fake.url}${path}${query.size > 0 ? `?${query}` : ""}`, {
    method: options.method ?? "GET",
    headers,
    ...(body === undefined ? {} : { body }),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const text = await response.text();
  const type = response.headers.get("content-type");
  return {
    status: response.status,
    type,
    text,
    body: type?.startsWith("application/json") ? JSON.parse(text) : text,
  };
}

async function login(): Promise<string> {
  const answer = await otrs("/Session", { method: "POST", body: { UserLogin: LOGIN, Password: PASSWORD } });
  expect(answer.body.SessionID).toEqual(expect.any(String));
  return answer.body.SessionID;
}

const withSession = (SessionID: string, body: Record<string, unknown> = {}) => ({ ...body, SessionID });

describe("SessionCreate", () => {
  it("answers a SessionID for the agent's credentials, as JSON", async () => {
    const answer = await otrs("/Session", { method: "POST", body: { UserLogin: LOGIN, Password: PASSWORD } });
    expect(answer.status).toBe(200);
    expect(answer.type).toBe(JSON_TYPE);
    expect(Object.keys(answer.body)).toEqual(Object.keys(fixture("session-create.json")));
    expect(answer.body.SessionID.length).toBeGreaterThan(16);
    expect(fake.count("SessionCreate")).toBe(1);
  });

  it("refuses a wrong password with HTTP 200 and SessionCreate.AuthFail", async () => {
    const answer = await otrs("/Session", { method: "POST", body: { UserLogin: LOGIN, Password: "wrong" } });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      Error: { ErrorCode: "SessionCreate.AuthFail", ErrorMessage: "SessionCreate: Authorization failing!" },
    });
  });

  it("refuses a request without a password with SessionCreate.MissingParameter", async () => {
    const answer = await otrs("/Session", { method: "POST", body: { UserLogin: LOGIN } });
    expect(answer.status).toBe(200);
    expect(answer.body.Error.ErrorCode).toBe("SessionCreate.MissingParameter");
  });
});

describe("authentication", () => {
  it("answers an unauthenticated call with HTTP 200 and <Op>.AuthFail", async () => {
    const ticket = fake.addTicket(demoTickets[0]!);
    const answer = await otrs(`/Ticket/${ticket.TicketID}`);
    expect(answer.status).toBe(200);
    expect(answer.type).toBe(JSON_TYPE);
    expect(answer.body).toEqual(fixture("error-auth-fail.json"));
    const update = await otrs(`/Ticket/${ticket.TicketID}`, {
      method: "PATCH",
      body: { UserLogin: LOGIN, Password: "wrong", Ticket: { State: "Aberto" } },
    });
    expect(update.body.Error).toEqual({
      ErrorCode: "TicketUpdate.AuthFail",
      ErrorMessage: "TicketUpdate: Authorization failing!",
    });
    expect(fake.tickets[0]?.State).toBe("Em Atendimento");
  });

  it("accepts UserLogin and Password in the query string of a GET", async () => {
    const ticket = fake.addTicket(demoTickets[0]!);
    const answer = await otrs(`/Ticket/${ticket.TicketID}`, {
      query: { UserLogin: LOGIN, Password: PASSWORD },
    });
    expect(answer.body.Ticket[0].TicketID).toBe(ticket.TicketID);
  });

  it("accepts Znuny's X-OTRS-Header credentials and session", async () => {
    const ticket = fake.addTicket(demoTickets[0]!);
    const byLogin = await otrs(`/Ticket/${ticket.TicketID}`, {
      headers: { "X-OTRS-Header-UserLogin": LOGIN, "X-OTRS-Header-Password": PASSWORD },
    });
    expect(byLogin.body.Ticket).toHaveLength(1);
    const session = await login();
    const bySession = await otrs(`/Ticket/${ticket.TicketID}`, {
      headers: { "X-OTRS-Header-SessionID": session },
    });
    expect(bySession.body.Ticket).toHaveLength(1);
    const wrong = await otrs(`/Ticket/${ticket.TicketID}`, {
      headers: { "X-OTRS-Header-SessionID": "nope" },
    });
    expect(wrong.body.Error.ErrorCode).toBe("TicketGet.AuthFail");
  });

  it("answers <Op>.AuthFail for an expired session until a new one is created", async () => {
    const ticket = fake.addTicket(demoTickets[0]!);
    const session = await login();
    fake.expireSessions();
    const expired = await otrs(`/Ticket/${ticket.TicketID}`, { query: { SessionID: session } });
    expect(expired.status).toBe(200);
    expect(expired.body.Error.ErrorCode).toBe("TicketGet.AuthFail");
    const search = await otrs("/Ticket", { query: { SessionID: session, Title: "%" } });
    expect(search.body.Error.ErrorCode).toBe("TicketSearch.AuthFail");
    const again = await otrs(`/Ticket/${ticket.TicketID}`, { query: { SessionID: await login() } });
    expect(again.body.Ticket).toHaveLength(1);
  });

  it("keeps sessions valid across reset()", async () => {
    const session = await login();
    fake.reset();
    const ticket = fake.addTicket(demoTickets[1]!);
    const answer = await otrs(`/Ticket/${ticket.TicketID}`, { query: { SessionID: session } });
    expect(answer.body.Ticket[0].Queue).toBe("Suporte");
  });
});

describe("TicketGet", () => {
  it("answers the ticket with ids as strings, in the documented shape", async () => {
    const ticket = fake.addTicket({ ...demoTickets[0]!, DynamicFields: { RedmineID: "42" } });
    const session = await login();
    const answer = await otrs(`/Ticket/${ticket.TicketID}`, {
      query: { SessionID: session, DynamicFields: "1", AllArticles: "1" },
    });
    expect(answer.type).toBe(JSON_TYPE);
    const got = answer.body.Ticket[0];
    const expected = (fixture("ticket-get.json").Ticket as Record<string, unknown>[])[0]!;
    expect(Object.keys(got).sort()).toEqual(Object.keys(expected).sort());
    expect(Object.keys(got.Article[0]).sort()).toEqual(
      Object.keys((expected.Article as object[])[0]!).sort(),
    );
    expect(got).toMatchObject({
      TicketID: ticket.TicketID,
      TicketNumber: ticket.TicketNumber,
      State: "Em Atendimento",
      StateType: "open",
      Queue: "Desenvolvimento",
      DynamicField: [{ Name: "RedmineID", Value: "42" }],
    });
    expect(got.TicketID).toMatch(/^\d+$/);
    expect(got.TicketNumber).toMatch(/^\d{8}10\d{6}$/);
    expect(got.Article[0]).toMatchObject({ SenderType: "customer", IsVisibleForCustomer: "1" });
    expect(typeof got.Article[0].ArticleID).toBe("string");
    expect(got.Changed).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  });

  it("leaves DynamicField and Article out unless requested and present", async () => {
    const ticket = fake.addTicket({ ...demoTickets[0]!, DynamicFields: { RedmineID: "42" } });
    const bare = fake.addTicket({ Title: "Sem campos", Queue: "Raw", State: "new" });
    const session = await login();
    const plain = await otrs(`/Ticket/${ticket.TicketID}`, { query: { SessionID: session } });
    expect(plain.body.Ticket[0]).not.toHaveProperty("DynamicField");
    expect(plain.body.Ticket[0]).not.toHaveProperty("Article");
    const empty = await otrs(`/Ticket/${bare.TicketID}`, {
      query: { SessionID: session, DynamicFields: "1", AllArticles: "1" },
    });
    expect(empty.body.Ticket[0]).not.toHaveProperty("DynamicField");
    expect(empty.body.Ticket[0]).not.toHaveProperty("Article");
  });

  it("orders and limits articles with ArticleOrder and ArticleLimit", async () => {
    const ticket = fake.addTicket({
      Title: "Vários",
      Queue: "Raw",
      State: "new",
      Articles: [
        { Subject: "um", Body: "1" },
        { Subject: "dois", Body: "2" },
        { Subject: "três", Body: "3" },
      ],
    });
    const session = await login();
    const query = { SessionID: session, AllArticles: "1" };
    const asc = await otrs(`/Ticket/${ticket.TicketID}`, { query });
    expect(asc.body.Ticket[0].Article.map((a: { Subject: string }) => a.Subject)).toEqual([
      "um",
      "dois",
      "três",
    ]);
    const latest = await otrs(`/Ticket/${ticket.TicketID}`, {
      query: { ...query, ArticleOrder: "DESC", ArticleLimit: "1" },
    });
    expect(latest.body.Ticket[0].Article.map((a: { Subject: string }) => a.Subject)).toEqual(["três"]);
  });

  it("derives StateType closed from closed state names", async () => {
    const ticket = fake.addTicket({ Title: "Fim", Queue: "Suporte", State: "Fechado com sucesso" });
    const answer = await otrs(`/Ticket/${ticket.TicketID}`, { query: { SessionID: await login() } });
    expect(answer.body.Ticket[0].StateType).toBe("closed");
  });

  it("answers AccessDenied for an unknown id and WrongStructure for a non-integer one, with HTTP 200", async () => {
    const session = await login();
    const unknown = await otrs("/Ticket/999", { query: { SessionID: session } });
    expect(unknown.status).toBe(200);
    expect(unknown.body).toEqual({
      Error: {
        ErrorCode: "TicketGet.AccessDenied",
        ErrorMessage: "TicketGet: User does not have access to the ticket!",
      },
    });
    const wrong = await otrs("/Ticket/2026112210000013", { query: { SessionID: session } });
    expect(wrong.body.Error.ErrorCode).toBe("TicketGet.AccessDenied");
    const structure = await otrs("/Ticket/abc", { query: { SessionID: session } });
    expect(structure.body.Error.ErrorCode).toBe("TicketGet.WrongStructure");
  });
});

describe("TicketSearch", () => {
  it("finds a ticket by exact TicketNumber and answers the ids as strings", async () => {
    const [first, second] = demoTickets.map((seed) => fake.addTicket(seed));
    const session = await login();
    const answer = await otrs("/Ticket", {
      query: { SessionID: session, TicketNumber: second!.TicketNumber },
    });
    expect(answer.body).toEqual({ TicketID: [second!.TicketID] });
    expect(Object.keys(answer.body)).toEqual(Object.keys(fixture("ticket-search.json")));
    const prefix = await otrs("/Ticket", {
      query: { SessionID: session, TicketNumber: first!.TicketNumber.slice(0, -1) },
    });
    expect(prefix.body).toEqual({});
    const wildcard = await otrs("/Ticket", {
      query: { SessionID: session, TicketNumber: `${first!.TicketNumber.slice(0, 10)}%` },
    });
    expect(wildcard.body.TicketID).toHaveLength(3);
  });

  it("answers {} without the TicketID key when nothing matches", async () => {
    fake.addTicket(demoTickets[0]!);
    const answer = await otrs("/Ticket", { query: { SessionID: await login(), TicketNumber: "1" } });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual(fixture("ticket-search-empty.json"));
  });

  it("filters on repeated Queues and States and on the last change time, and honours Limit", async () => {
    const [first, second, third] = demoTickets.map((seed) => fake.addTicket(seed));
    const session = await login();
    const byQueue = await otrs("/Ticket", { query: { SessionID: session, Queues: ["Suporte", "Raw"] } });
    expect([...byQueue.body.TicketID].sort()).toEqual([second!.TicketID, third!.TicketID].sort());
    const byState = await otrs("/Ticket", { query: { SessionID: session, States: "Em Atendimento" } });
    expect(byState.body).toEqual({ TicketID: [first!.TicketID] });
    const future = await otrs("/Ticket", {
      query: { SessionID: session, TicketLastChangeTimeNewerDate: "2999-01-01 00:00:00" },
    });
    expect(future.body).toEqual({});
    const past = await otrs("/Ticket", {
      query: { SessionID: session, TicketLastChangeTimeNewerDate: "2000-01-01 00:00:00", Limit: "2" },
    });
    expect(past.body.TicketID).toHaveLength(2);
  });

  it("ignores the body of a GET, so criteria must go into the query string", async () => {
    const ids = demoTickets.map((seed) => fake.addTicket(seed).TicketID);
    const session = await login();
    const body = JSON.stringify({ Queues: ["Suporte"], SessionID: "ignored" });
    const answer = await new Promise<{ status: number; body: unknown }>((resolve, reject) => {
      const request = httpRequest(
        `${fake.url}/Ticket?SessionID=${encodeURIComponent(session)}`,
        {
          method: "GET",
          headers: { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) },
        },
        (response) => {
          let text = "";
          response.on("data", (chunk: Buffer) => {
            text += chunk.toString("utf8");
          });
          response.on("end", () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) }));
        },
      );
      request.on("error", reject);
      request.end(body);
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ TicketID: expect.arrayContaining(ids) });
  });

  it("searches dynamic fields with a JSON body on POST /TicketSearch", async () => {
    fake.addTicket({ ...demoTickets[0]!, DynamicFields: { RedmineID: "42" } });
    const wanted = fake.addTicket({ ...demoTickets[1]!, DynamicFields: { RedmineID: "43" } });
    const session = await login();
    const answer = await otrs("/TicketSearch", {
      method: "POST",
      body: withSession(session, { DynamicField_RedmineID: { Equals: "43" } }),
    });
    expect(answer.body).toEqual({ TicketID: [wanted.TicketID] });
    expect(fake.calls.at(-1)?.operation).toBe("TicketSearch");
  });
});

describe("TicketUpdate", () => {
  it("makes an article without IsVisibleForCustomer customer-visible, and keeps 0 internal", async () => {
    const ticket = fake.addTicket(demoTickets[0]!);
    const session = await login();
    const note = { Subject: "Nota", Body: "Interna?", ContentType: "text/plain; charset=utf8" };
    const visible = await otrs(`/Ticket/${ticket.TicketID}`, {
      method: "PATCH",
      body: withSession(session, { Article: { ...note, CommunicationChannel: "Internal" } }),
    });
    expect(visible.body).toEqual({
      TicketID: ticket.TicketID,
      TicketNumber: ticket.TicketNumber,
      ArticleID: expect.any(String),
    });
    expect(Object.keys(visible.body)).toEqual(Object.keys(fixture("ticket-update.json")));
    const hidden = await otrs(`/Ticket/${ticket.TicketID}`, {
      method: "PATCH",
      body: withSession(session, { Article: { ...note, IsVisibleForCustomer: 0 } }),
    });
    expect(hidden.body.ArticleID).not.toBe(visible.body.ArticleID);
    const [, quirk, internal] = fake.tickets[0]!.Articles;
    expect(quirk).toMatchObject({
      CommunicationChannel: "Internal",
      IsVisibleForCustomer: 1,
      SenderType: "agent",
    });
    expect(internal).toMatchObject({
      CommunicationChannel: "Internal",
      IsVisibleForCustomer: 0,
      CreatedBy: LOGIN,
    });
  });

  it("changes state and dynamic fields and records the API user as the changer", async () => {
    const ticket = fake.addTicket(demoTickets[0]!);
    const answer = await otrs(`/Ticket/${ticket.TicketID}`, {
      method: "PATCH",
      body: withSession(await login(), {
        Ticket: { State: "Aguardando deploy" },
        DynamicField: { Name: "RedmineID", Value: 42 },
      }),
    });
    expect(answer.body).toEqual({ TicketID: ticket.TicketID, TicketNumber: ticket.TicketNumber });
    expect(fake.tickets[0]).toMatchObject({
      State: "Aguardando deploy",
      DynamicFields: { RedmineID: "42" },
      ChangedBy: LOGIN,
    });
  });

  it("identifies the ticket by TicketNumber in the body and accepts POST and PUT", async () => {
    const [first, second] = demoTickets.map((seed) => fake.addTicket(seed));
    const session = await login();
    const byNumber = await otrs(`/Ticket/${first!.TicketID}`, {
      method: "POST",
      body: withSession(session, { TicketNumber: second!.TicketNumber, Ticket: { Queue: "Raw" } }),
    });
    expect(byNumber.body.TicketID).toBe(second!.TicketID);
    expect(fake.tickets.map((t) => t.Queue)).toEqual(["Desenvolvimento", "Raw", "Raw"]);
    const put = await otrs(`/Ticket/${first!.TicketID}`, {
      method: "PUT",
      body: withSession(session, { Ticket: { State: "Aberto" } }),
    });
    expect(put.body.TicketID).toBe(first!.TicketID);
    expect(fake.count("TicketUpdate")).toBe(2);
  });

  it("refuses unknown states, unknown dynamic fields and incomplete articles with HTTP 200, changing nothing", async () => {
    const ticket = fake.addTicket(demoTickets[0]!);
    const session = await login();
    const patch = (body: Record<string, unknown>) =>
      otrs(`/Ticket/${ticket.TicketID}`, { method: "PATCH", body: withSession(session, body) });
    const state = await patch({
      Ticket: { State: "Inventado" },
      DynamicField: { Name: "RedmineID", Value: "1" },
    });
    expect(state.status).toBe(200);
    expect(state.body.Error).toEqual({
      ErrorCode: "TicketUpdate.InvalidParameter",
      ErrorMessage: "TicketUpdate: Ticket->State parameter is invalid!",
    });
    const field = await patch({ DynamicField: [{ Name: "Nope", Value: "1" }] });
    expect(field.body.Error).toEqual({
      ErrorCode: "TicketUpdate.InvalidParameter",
      ErrorMessage: "TicketUpdate: DynamicField->Name parameter is invalid!",
    });
    const article = await patch({ Ticket: { State: "Aberto" }, Article: { Subject: "Sem corpo" } });
    expect(article.body.Error.ErrorCode).toBe("TicketUpdate.MissingParameter");
    expect(fake.tickets[0]).toMatchObject({
      State: "Em Atendimento",
      DynamicFields: {},
      ChangedBy: "customer",
    });
    expect(fake.tickets[0]?.Articles).toHaveLength(1);
  });

  it("leaves Changed and ChangedBy alone when nothing differs", async () => {
    const ticket = fake.addTicket(demoTickets[0]!);
    const answer = await otrs(`/Ticket/${ticket.TicketID}`, {
      method: "PATCH",
      body: withSession(await login(), { Ticket: { State: "Em Atendimento" } }),
    });
    expect(answer.body.TicketID).toBe(ticket.TicketID);
    expect(fake.tickets[0]?.ChangedBy).toBe("customer");
  });
});

describe("TicketCreate", () => {
  it("creates a ticket and answers TicketNumber, TicketID and ArticleID as strings", async () => {
    const answer = await otrs("/Ticket", {
      method: "POST",
      body: withSession(await login(), {
        Ticket: {
          Title: "Novo",
          Queue: "Raw",
          State: "new",
          Priority: "3 normal",
          CustomerUser: "cliente@example.com",
        },
        Article: { Subject: "Novo", Body: "Corpo", MimeType: "text/plain", Charset: "utf8" },
        DynamicField: [{ Name: "RedmineID", Value: "7" }],
      }),
    });
    expect(answer.body).toEqual({
      TicketNumber: expect.any(String),
      TicketID: expect.stringMatching(/^\d+$/),
      ArticleID: expect.any(String),
    });
    expect(fake.tickets[0]).toMatchObject({
      Title: "Novo",
      DynamicFields: { RedmineID: "7" },
      ChangedBy: LOGIN,
    });
    expect(fake.tickets[0]?.Articles[0]).toMatchObject({
      ContentType: "text/plain; charset=utf8",
      IsVisibleForCustomer: 1,
    });
  });

  it("refuses a ticket without a customer user with TicketCreate.MissingParameter", async () => {
    const answer = await otrs("/Ticket", {
      method: "POST",
      body: withSession(await login(), {
        Ticket: { Title: "Novo", Queue: "Raw", State: "new", Priority: "3 normal" },
        Article: { Subject: "Novo", Body: "Corpo", ContentType: "text/plain; charset=utf8" },
      }),
    });
    expect(answer.status).toBe(200);
    expect(answer.body.Error).toEqual({
      ErrorCode: "TicketCreate.MissingParameter",
      ErrorMessage: "TicketCreate: Ticket->CustomerUser parameter is missing!",
    });
    expect(fake.tickets).toHaveLength(0);
  });
});

describe("transport", () => {
  it("answers 500 text/plain when no route matches", async () => {
    const unknown = await otrs("/Foo");
    expect(unknown.status).toBe(500);
    expect(unknown.type).toMatch(/^text\/plain/);
    expect(unknown.text).toBe("HTTP::REST Error while determine Operation for request URI '/Foo'.");
    const method = await otrs("/Ticket/1", { method: "DELETE" });
    expect(method.text).toBe("HTTP::REST Error while determine Operation for request URI '/Ticket/1'.");
    expect(fake.calls.at(-1)).toMatchObject({ method: "DELETE", path: "/Ticket/1", status: 500 });
    expect(fake.calls.at(-1)?.operation).toBeUndefined();
  });

  it("answers 500 text/plain for an invalid JSON body", async () => {
    const answer = await otrs("/Session", { method: "POST", body: "{not json" });
    expect(answer.status).toBe(500);
    expect(answer.type).toMatch(/^text\/plain/);
  });
});

describe("agent changes", () => {
  it("returns the Test::TestSimple payload with the ticket as it was before the change", async () => {
    const ticket = fake.addTicket(demoTickets[0]!);
    const event = fake.agentSetState(ticket.TicketID, "Em Desenvolvimento", "agent1");
    const expected = fixture("invoker-ticket-state-update.json");
    expect(Object.keys(event)).toEqual(Object.keys(expected));
    expect(Object.keys(event.OldTicketData).sort()).toEqual(
      Object.keys(expected.OldTicketData as object).sort(),
    );
    expect(event).toMatchObject({
      TicketID: ticket.TicketID,
      OldTicketData: { State: "Em Atendimento", TicketID: ticket.TicketID },
    });
    expect(fake.tickets[0]).toMatchObject({ State: "Em Desenvolvimento", ChangedBy: "agent1" });
    expect(fixture("invoker-invalid.json")).not.toHaveProperty("TicketID");
    expect(fixture("invoker-ticket-generic.json")).toMatchObject({
      Event: { Event: "TicketStateUpdate", OldTicketData: expect.any(Object) },
      Ticket: { TicketID: expect.anything(), DynamicField_RedmineID: expect.any(String) },
    });
  });
});

describe("the requester (REST.pm RequesterPerformRequest)", () => {
  it("fills the controller's :Name from the data and takes that field out of the body", () => {
    expect(
      fake.requesterRequest("/otrs/ticket-events/:TicketID", {
        TicketID: "12",
        OldTicketData: { State: "open" },
      }),
    ).toEqual({ path: "/otrs/ticket-events/12", query: {}, body: '{"OldTicketData":{"State":"open"}}' });
    // Nothing left for the body: none is sent.
    expect(fake.requesterRequest("/otrs/ticket-events/:TicketID", { TicketID: "12" })).toEqual({
      path: "/otrs/ticket-events/12",
      query: {},
      body: undefined,
    });
  });

  it("drops the controller's query string unless one of its placeholders was filled", () => {
    const data = { TicketID: "7" };
    expect(fake.requesterRequest("/otrs/notifications?event=TicketCreate", data)).toEqual({
      path: "/otrs/notifications",
      query: {},
      body: '{"TicketID":"7"}',
    });
    expect(fake.requesterRequest("/otrs/notifications?event=TicketCreate&id=:TicketID", data)).toEqual({
      path: "/otrs/notifications",
      query: { event: "TicketCreate", id: "7" },
      body: undefined,
    });
    // A placeholder the data has no top-level field for stays as it is (Ticket::Generic's TicketID is
    // inside Ticket and Event).
    expect(
      fake.requesterRequest("/otrs/ticket-events/:TicketID", { Event: { TicketID: "7" }, Ticket: {} }).path,
    ).toBe("/otrs/ticket-events/:TicketID");
  });
});

describe("faults", () => {
  it("answers error200 with HTTP 200 and the Error object without doing the work", async () => {
    const ticket = fake.addTicket(demoTickets[0]!);
    const session = await login();
    fake.failNext(1, { kind: "error200", code: "TicketUpdate.AccessDenied", message: "TicketUpdate: nope" });
    const answer = await otrs(`/Ticket/${ticket.TicketID}`, {
      method: "PATCH",
      body: withSession(session, { Ticket: { State: "Aberto" } }),
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      Error: { ErrorCode: "TicketUpdate.AccessDenied", ErrorMessage: "TicketUpdate: nope" },
    });
    expect(fake.tickets[0]?.State).toBe("Em Atendimento");
  });

  it("answers a failed operation as REST.pm does: 500, text/plain, the fault as JSON, without doing the work", async () => {
    const ticket = fake.addTicket(demoTickets[0]!);
    const session = await login();
    fake.failNext(
      1,
      { kind: "fault", message: "Ticket could not be created, please contact the system administrator" },
      { operation: "TicketUpdate" },
    );
    const answer = await otrs(`/Ticket/${ticket.TicketID}`, {
      method: "PATCH",
      body: withSession(session, { Ticket: { State: "Aberto" } }),
    });
    expect(answer.status).toBe(500);
    expect(answer.type).toBe("text/plain; charset=UTF-8");
    expect(JSON.parse(answer.text)).toEqual({
      faultcode: "Server",
      faultstring: "Ticket could not be created, please contact the system administrator",
    });
    expect(fake.tickets[0]?.State).toBe("Em Atendimento");
    // A status fault without a body is the web server's page, not OTRS's fault structure.
    fake.failNext(1, { kind: "status", status: 500 }, { operation: "TicketGet" });
    const outage = await otrs(`/Ticket/${ticket.TicketID}`, { query: { SessionID: session } });
    expect(outage.status).toBe(500);
    expect(outage.text).not.toContain("faultcode");
  });

  it("applies a fault only to the matching operation and only the given number of times", async () => {
    const ticket = fake.addTicket(demoTickets[0]!);
    fake.failNext(2, { kind: "status", status: 503 }, { operation: "TicketGet" });
    const session = await login(); // SessionCreate does not match
    const first = await otrs(`/Ticket/${ticket.TicketID}`, { query: { SessionID: session } });
    const second = await otrs(`/Ticket/${ticket.TicketID}`, { query: { SessionID: session } });
    const third = await otrs(`/Ticket/${ticket.TicketID}`, { query: { SessionID: session } });
    expect([first.status, second.status, third.status]).toEqual([503, 503, 200]);
    expect(fake.count("TicketGet")).toBe(3);
    expect(fake.calls.map((c) => c.status)).toEqual([200, 503, 503, 200]);
  });

  it("resets the connection, or goes down entirely", async () => {
    const session = await login();
    fake.failNext(1, { kind: "reset" });
    await expect(otrs("/Ticket", { query: { SessionID: session, Title: "%" } })).rejects.toThrow();
    fake.setDown(true);
    await expect(login()).rejects.toThrow();
    fake.setDown(false);
    await expect(login()).resolves.toEqual(expect.any(String));
  });

  it("hangs until the client gives up, and delays answers", async () => {
    fake.failNext(1, { kind: "hang" });
    await expect(
      otrs("/Session", {
        method: "POST",
        body: { UserLogin: LOGIN, Password: PASSWORD },
        signal: AbortSignal.timeout(200),
      }),
    ).rejects.toThrow();
    fake.failNext(1, { kind: "delay", ms: 150 });
    const started = Date.now();
    await login();
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it("drops the answer of a request that did its work, and not of a refused one", async () => {
    const ticket = fake.addTicket(demoTickets[0]!);
    const session = await login();
    fake.failNext(1, { kind: "drop-response" }, { operation: "TicketUpdate" });
    const refused = await otrs(`/Ticket/${ticket.TicketID}`, {
      method: "PATCH",
      body: withSession(session, { Ticket: { State: "Inventado" } }),
    });
    expect(refused.body.Error.ErrorCode).toBe("TicketUpdate.InvalidParameter");
    await expect(
      otrs(`/Ticket/${ticket.TicketID}`, {
        method: "PATCH",
        body: withSession(session, { Ticket: { State: "Aberto" } }),
      }),
    ).rejects.toThrow();
    expect(fake.tickets[0]?.State).toBe("Aberto");
    expect(fake.calls.at(-1)?.status).toBe(0);
  });
});

describe("attachments", () => {
  const note = {
    Subject: "Nota",
    Body: "Com anexo",
    ContentType: "text/plain; charset=utf8",
    IsVisibleForCustomer: 0,
  };
  const bytes = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0xff, 0x80]);

  it("puts TicketUpdate's Attachment on the article it creates, and lists it only with Attachments=1", async () => {
    const ticket = fake.addTicket(demoTickets[0]!);
    const session = await login();
    const answer = await otrs(`/Ticket/${ticket.TicketID}`, {
      method: "PATCH",
      body: withSession(session, {
        Article: note,
        Attachment: [{ Content: bytes.toString("base64"), ContentType: "image/png", Filename: "tela.png" }],
      }),
    });
    expect(answer.body.ArticleID).toEqual(expect.any(String));
    const query = { SessionID: session, AllArticles: "1", ArticleOrder: "DESC", ArticleLimit: "1" };
    const plain = await otrs(`/Ticket/${ticket.TicketID}`, { query });
    expect(plain.body.Ticket[0].Article[0]).not.toHaveProperty("Attachment");
    const withFiles = await otrs(`/Ticket/${ticket.TicketID}`, { query: { ...query, Attachments: "1" } });
    expect(withFiles.body.Ticket[0].Article[0].Attachment).toEqual([
      {
        Content: bytes.toString("base64"),
        ContentAlternative: "",
        ContentID: "",
        ContentType: "image/png",
        Disposition: "attachment",
        FileID: "1",
        Filename: "tela.png",
        FilesizeRaw: String(bytes.length),
      },
    ]);
    const names = await otrs(`/Ticket/${ticket.TicketID}`, {
      query: { ...query, Attachments: "1", GetAttachmentContents: "0" },
    });
    expect(names.body.Ticket[0].Article[0].Attachment[0]).toMatchObject({
      Content: "",
      Filename: "tela.png",
    });
    // An article without files has no Attachment key, even with Attachments=1.
    const first = await otrs(`/Ticket/${ticket.TicketID}`, {
      query: { SessionID: session, AllArticles: "1", Attachments: "1" },
    });
    expect(first.body.Ticket[0].Article[0]).not.toHaveProperty("Attachment");
  });

  it("refuses an attachment without Content, ContentType or Filename with HTTP 200, adding nothing", async () => {
    const ticket = fake.addTicket(demoTickets[0]!);
    const session = await login();
    const before = fake.tickets[0]!.Articles.length;
    for (const missing of ["Content", "ContentType", "Filename"]) {
      const file: Record<string, string> = { Content: "eA==", ContentType: "text/plain", Filename: "x.txt" };
      delete file[missing];
      const answer = await otrs(`/Ticket/${ticket.TicketID}`, {
        method: "PATCH",
        body: withSession(session, { Article: note, Attachment: file }),
      });
      expect(answer.status).toBe(200);
      expect(answer.body.Error).toEqual({
        ErrorCode: "TicketUpdate.MissingParameter",
        ErrorMessage: `TicketUpdate: Attachment->${missing} parameter is missing!`,
      });
    }
    expect(fake.tickets[0]!.Articles).toHaveLength(before);
  });

  it("gives a person's article (a customer's e-mail reply) and the ArticleCreate event OTRS sends for it", async () => {
    const ticket = fake.addTicket(demoTickets[0]!);
    const { article, event } = fake.addArticle(ticket.TicketID, {
      Body: "Segue o print.",
      Attachments: [{ Filename: "tela.png", ContentType: "image/png", Content: bytes }],
    });
    expect(event).toEqual({ TicketID: ticket.TicketID, ArticleID: article.ArticleID });
    expect(article).toMatchObject({
      SenderType: "customer",
      CommunicationChannel: "Email",
      IsVisibleForCustomer: 1,
      From: '"Maria Souza" <maria.souza@example.com>',
    });
  });
});
