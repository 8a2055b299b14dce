import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { LambdaHttpHandler } from "../../lib/core/http.ts";
import { httpEvent, SECRETS, type Stack, setupStack, warmEntityDirectory } from "../helpers/stack.ts";

const VALID = {
  nome_cliente: "Fulano de Tal",
  telefone_cliente: "5511987654321",
  cnpj_cliente: "11.222.333/0001-81",
  anydesk_cliente: "123 456 789",
  descricao_problema: "Problema com lentidão no sistema X",
};
/** Valid check digits, but no demo entity has them. */
const UNKNOWN_CNPJ = "45.723.174/0001-10";
/** Registered in GLPI by one test, after a first request for it failed. */
const LATE_CNPJ = "98.765.432/0001-98";

let stack: Stack;
let createTicket: LambdaHttpHandler;
let criarChamado: LambdaHttpHandler;
let getJob: LambdaHttpHandler;
let ping: LambdaHttpHandler;

beforeAll(async () => {
  stack = await setupStack();
  createTicket = (await import("../../functions/glpi-forms/create-ticket.ts")).handler;
  criarChamado = (await import("../../functions/glpi-forms/criar-chamado.ts")).handler;
  getJob = (await import("../../functions/glpi-forms/get-ticket-job.ts")).handler;
  ping = (await import("../../functions/ping.ts")).handler;
  await warmEntityDirectory();
});
afterAll(() => stack.close());
beforeEach(() => {
  stack.glpi.reset();
});

function post(handler: LambdaHttpHandler, path: string, body: unknown, headers: Record<string, string> = {}) {
  return handler(
    httpEvent({
      method: "POST",
      path,
      body,
      headers: { "content-type": "application/json", "x-deskbridge-token": SECRETS.FORMS_TOKEN, ...headers },
    }),
  );
}
const bodyOf = (result: { body?: string }) => JSON.parse(result.body ?? "null");
async function jobStatus(jobId: string) {
  const result = await getJob(
    httpEvent({
      method: "GET",
      path: `/glpi/tickets/jobs/${jobId}`,
      pathParameters: { id: jobId },
      headers: { "x-deskbridge-token": SECRETS.FORMS_TOKEN },
    }),
  );
  return { status: result.statusCode, body: bodyOf(result) };
}

describe("POST /glpi/tickets", () => {
  it("opens a ticket in the entity whose CNPJ field matches, with every contact line and the configured ids", async () => {
    const result = await post(createTicket, "/glpi/tickets", VALID);
    expect(result.statusCode).toBe(201);
    const { ticket_id } = bodyOf(result);
    expect(stack.glpi.tickets).toHaveLength(1);
    const ticket = stack.glpi.tickets[0]!;
    expect(ticket.id).toBe(ticket_id);
    expect(ticket.input).toMatchObject({
      name: VALID.descricao_problema,
      entities_id: expect.any(Number),
      itilcategories_id: 18,
      _users_id_requester: 36,
      users_id_recipient: 36,
      requesttypes_id: 5,
      requestsources_id: 5,
      urgency: 3,
      impact: 3,
      type: 1,
    });
    const content = String(ticket.input.content);
    for (const line of ["Fulano de Tal", "5511987654321", "11.222.333/0001-81", "123 456 789", "lentidão"]) {
      expect(content).toContain(line);
    }
    expect(String(ticket.input.externalid)).toMatch(/^deskbridge:glpi-forms:/);
  });

  it("creates the ticket in the entity of the CNPJ whether GLPI stores it formatted or as digits", async () => {
    const { demoEntities } = await import("../../infra/sandbox/glpi.ts");
    for (const entity of demoEntities) {
      const digitsOnly = entity.cnpj.replace(/[./-]/g, "");
      const result = await post(createTicket, "/glpi/tickets", { ...VALID, cnpj_cliente: digitsOnly });
      expect(result.statusCode).toBe(201);
      expect(stack.glpi.tickets.at(-1)?.input.entities_id).toBe(entity.id);
    }
  });

  it("makes one GLPI call per ticket once the session and the entity are warm", async () => {
    await post(createTicket, "/glpi/tickets", VALID);
    const before = stack.glpi.calls.length;
    await post(createTicket, "/glpi/tickets", VALID);
    const calls = stack.glpi.calls.slice(before);
    expect(calls.map((c) => `${c.method} ${c.path}`)).toEqual(["POST /Ticket"]);
  });

  it("answers 400 naming every missing or invalid field, and calls nobody", async () => {
    const result = await post(createTicket, "/glpi/tickets", {
      nome_cliente: "",
      cnpj_cliente: "11.222.333/0001-82",
      telefone_cliente: "call me",
      categoria: "abc",
    });
    expect(result.statusCode).toBe(400);
    const paths = bodyOf(result).error.fields.map((f: { path: string }) => f.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        "nome_cliente",
        "cnpj_cliente",
        "telefone_cliente",
        "anydesk_cliente",
        "descricao_problema",
        "categoria",
      ]),
    );
    expect(stack.glpi.calls).toHaveLength(0);
    expect(await stack.queueDepth(stack.resources.jobsQueueUrl)).toBe(0);
  });

  it("answers 415 for a body that is not JSON and 400 for malformed JSON", async () => {
    const form = await createTicket(
      httpEvent({
        method: "POST",
        path: "/glpi/tickets",
        rawBody: "nome_cliente=x",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          "x-deskbridge-token": SECRETS.FORMS_TOKEN,
        },
      }),
    );
    expect(form.statusCode).toBe(415);
    const broken = await createTicket(
      httpEvent({
        method: "POST",
        path: "/glpi/tickets",
        rawBody: "{",
        headers: { "content-type": "application/json", "x-deskbridge-token": SECRETS.FORMS_TOKEN },
      }),
    );
    expect(broken.statusCode).toBe(400);
    expect(bodyOf(broken).error.fields).toEqual([{ path: "(body)", message: "is not valid JSON" }]);
  });

  it("answers 401 without the route's secret, and accepts it as ?token= where the config allows", async () => {
    expect(
      (await post(createTicket, "/glpi/tickets", VALID, { "x-deskbridge-token": "wrong" })).statusCode,
    ).toBe(401);
    const none = await createTicket(
      httpEvent({
        method: "POST",
        path: "/glpi/tickets",
        body: VALID,
        headers: { "content-type": "application/json" },
      }),
    );
    expect(none.statusCode).toBe(401);
    expect(stack.glpi.tickets).toHaveLength(0);
    const withQuery = await createTicket(
      httpEvent({
        method: "POST",
        path: "/glpi/tickets",
        body: VALID,
        query: { token: SECRETS.FORMS_TOKEN },
        headers: { "content-type": "application/json" },
      }),
    );
    expect(withQuery.statusCode).toBe(201);
  });

  it("answers 404 when no entity has the CNPJ, and creates nothing", async () => {
    const result = await post(createTicket, "/glpi/tickets", { ...VALID, cnpj_cliente: UNKNOWN_CNPJ });
    expect(result.statusCode).toBe(404);
    expect(bodyOf(result).error.code).toBe("not_found");
    expect(stack.glpi.tickets).toHaveLength(0);
    expect(await stack.queueDepth(stack.resources.jobsQueueUrl)).toBe(0);
  });

  it("answers 401 when GLPI rejects the bridge's tokens", async () => {
    stack.glpi.expireSessions();
    stack.glpi.failNext(
      1,
      {
        kind: "status",
        status: 401,
        body: ["ERROR_GLPI_LOGIN_USER_TOKEN", "parameter user_token seems invalid"],
      },
      { path: "/initSession" },
    );
    const result = await post(createTicket, "/glpi/tickets", VALID);
    expect(result.statusCode).toBe(401);
    expect(bodyOf(result).error).toMatchObject({
      code: "upstream_auth_failed",
      upstream: { code: "ERROR_GLPI_LOGIN_USER_TOKEN" },
    });
    expect(result.body).not.toContain(SECRETS.GLPI_USER_TOKEN);
    expect(result.body).not.toContain(SECRETS.GLPI_APP_TOKEN);
  });

  it("answers 502 carrying GLPI's error when GLPI refuses the ticket", async () => {
    stack.glpi.failNext(
      1,
      { kind: "status", status: 400, body: ["ERROR_GLPI_ADD", "Mandatory field Category is missing"] },
      { method: "POST", path: "/Ticket" },
    );
    const result = await post(createTicket, "/glpi/tickets", VALID);
    expect(result.statusCode).toBe(502);
    expect(bodyOf(result).error.upstream).toMatchObject({
      code: "ERROR_GLPI_ADD",
      message: "Mandatory field Category is missing",
    });
    expect(await stack.queueDepth(stack.resources.jobsQueueUrl)).toBe(0);
  });

  it("logs in again once when GLPI has expired the session, and still creates one ticket", async () => {
    await post(createTicket, "/glpi/tickets", VALID);
    const logins = stack.glpi.count("GET", "/initSession");
    stack.glpi.expireSessions();
    const result = await post(createTicket, "/glpi/tickets", VALID);
    expect(result.statusCode).toBe(201);
    expect(stack.glpi.count("GET", "/initSession")).toBe(logins + 1);
    expect(stack.glpi.tickets).toHaveLength(2);
  });

  it("queues the ticket when GLPI is down (202), and the worker creates exactly one when GLPI returns", async () => {
    stack.glpi.setDown(true);
    const result = await post(createTicket, "/glpi/tickets", VALID);
    expect(result.statusCode).toBe(202);
    const { job_id } = bodyOf(result);
    expect(result.headers?.location).toBe(`/glpi/tickets/jobs/${job_id}`);
    expect((await jobStatus(job_id)).body).toMatchObject({ status: "pending" });
    stack.glpi.setDown(false);
    await stack.drainJobs();
    expect(stack.glpi.tickets).toHaveLength(1);
    const status = await jobStatus(job_id);
    expect(status.body).toMatchObject({ status: "done", ticket_id: stack.glpi.tickets[0]!.id });
  });

  it("queues the ticket when GLPI answers 503, and the worker does not create a second one", async () => {
    stack.glpi.failNext(
      1,
      { kind: "status", status: 503, body: ["ERROR", "Service Unavailable"] },
      { method: "POST", path: "/Ticket" },
    );
    const result = await post(createTicket, "/glpi/tickets", VALID);
    expect(result.statusCode).toBe(202);
    await stack.drainJobs();
    expect(stack.glpi.tickets).toHaveLength(1);
  });

  it("creates one ticket when GLPI created it but its answer was lost", async () => {
    stack.glpi.failNext(1, { kind: "drop-response" }, { method: "POST", path: "/Ticket" });
    const result = await post(createTicket, "/glpi/tickets", VALID);
    expect(result.statusCode).toBe(202);
    expect(stack.glpi.tickets).toHaveLength(1);
    await stack.drainJobs();
    expect(stack.glpi.tickets).toHaveLength(1);
    expect(stack.glpi.count("GET", "/Ticket")).toBe(1);
    const status = await jobStatus(bodyOf(result).job_id);
    expect(status.body).toMatchObject({ status: "done", ticket_id: stack.glpi.tickets[0]!.id });
  });

  it("queues the ticket when GLPI is slower than the inline budget", async () => {
    stack.glpi.failNext(1, { kind: "hang" }, { method: "POST", path: "/Ticket" });
    const started = Date.now();
    const result = await post(createTicket, "/glpi/tickets", VALID);
    expect(result.statusCode).toBe(202);
    expect(Date.now() - started).toBeLessThan(5000);
    await stack.drainJobs();
    expect(stack.glpi.tickets).toHaveLength(1);
  });
});

describe("Idempotency-Key", () => {
  it("creates one ticket when ten requests with the same key arrive at once, and answers each with its id", async () => {
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        post(createTicket, "/glpi/tickets", VALID, { "idempotency-key": "form-4711" }),
      ),
    );
    expect(results.map((r) => r.statusCode)).toEqual(Array(10).fill(201));
    const ids = new Set(results.map((r) => bodyOf(r).ticket_id));
    expect(ids.size).toBe(1);
    expect(stack.glpi.tickets).toHaveLength(1);
    const again = await post(createTicket, "/glpi/tickets", VALID, { "idempotency-key": "form-4711" });
    expect(bodyOf(again).ticket_id).toBe([...ids][0]);
    expect(stack.glpi.tickets).toHaveLength(1);
  });

  it("answers 409 when a key is reused with a different body", async () => {
    await post(createTicket, "/glpi/tickets", VALID, { "idempotency-key": "form-reuse" });
    const other = await post(
      createTicket,
      "/glpi/tickets",
      { ...VALID, nome_cliente: "Beltrano" },
      { "idempotency-key": "form-reuse" },
    );
    expect(other.statusCode).toBe(409);
    expect(stack.glpi.tickets).toHaveLength(1);
  });

  it("answers a repeat of a queued request with the ticket once the worker has created it", async () => {
    stack.glpi.setDown(true);
    const first = await post(createTicket, "/glpi/tickets", VALID, { "idempotency-key": "form-queued" });
    expect(first.statusCode).toBe(202);
    const repeat = await post(createTicket, "/glpi/tickets", VALID, { "idempotency-key": "form-queued" });
    expect(repeat.statusCode).toBe(202);
    expect(bodyOf(repeat).job_id).toBe(bodyOf(first).job_id);
    stack.glpi.setDown(false);
    await stack.drainJobs();
    const later = await post(createTicket, "/glpi/tickets", VALID, { "idempotency-key": "form-queued" });
    expect(later.statusCode).toBe(201);
    expect(bodyOf(later).ticket_id).toBe(stack.glpi.tickets[0]!.id);
    expect(stack.glpi.tickets).toHaveLength(1);
  });

  it("lets a repeat try again after the first request failed for good", async () => {
    const first = await post(
      createTicket,
      "/glpi/tickets",
      { ...VALID, cnpj_cliente: LATE_CNPJ },
      { "idempotency-key": "form-404" },
    );
    expect(first.statusCode).toBe(404);
    stack.glpi.addEntity({ id: 99, name: "Late customer", cnpj: LATE_CNPJ });
    const second = await post(
      createTicket,
      "/glpi/tickets",
      { ...VALID, cnpj_cliente: LATE_CNPJ },
      { "idempotency-key": "form-404" },
    );
    expect(second.statusCode).toBe(201);
    expect(stack.glpi.tickets[0]!.input.entities_id).toBe(99);
  });
});

describe("GET /glpi/tickets/jobs/{id}", () => {
  it("answers 404 for an unknown job and 401 without the secret", async () => {
    expect((await jobStatus("no-such-job")).status).toBe(404);
    const anonymous = await getJob(
      httpEvent({ method: "GET", path: "/glpi/tickets/jobs/x", pathParameters: { id: "x" } }),
    );
    expect(anonymous.statusCode).toBe(401);
  });
});

describe("legacy routes of the Flask app", () => {
  it("POST /criar-chamado answers 200 {ticket_id}", async () => {
    const result = await post(criarChamado, "/criar-chamado", VALID);
    expect(result.statusCode).toBe(200);
    expect(bodyOf(result)).toEqual({ ticket_id: stack.glpi.tickets[0]!.id });
  });

  it("POST /criar-chamado answers errors as the old app did", async () => {
    const missing = await post(criarChamado, "/criar-chamado", { nome_cliente: "x" });
    expect(missing.statusCode).toBe(400);
    expect(bodyOf(missing)).toMatchObject({
      erro: "Campos obrigatórios ausentes",
      campos_ausentes: expect.arrayContaining(["cnpj_cliente"]),
    });
    const unknown = await post(criarChamado, "/criar-chamado", { ...VALID, cnpj_cliente: UNKNOWN_CNPJ });
    expect(unknown.statusCode).toBe(404);
    expect(bodyOf(unknown)).toEqual({ erro: "Entidade não encontrada para o CNPJ informado" });
    stack.glpi.failNext(
      1,
      { kind: "status", status: 400, body: ["ERROR_GLPI_ADD", "Refused"] },
      { method: "POST", path: "/Ticket" },
    );
    const refused = await post(criarChamado, "/criar-chamado", VALID);
    expect(refused.statusCode).toBe(400);
    expect(bodyOf(refused)).toEqual({ erro: "Erro ao criar chamado", detalhe: "ERROR_GLPI_ADD: Refused" });
  });

  it("POST /criar-chamado still names the missing fields under the seed app's campos_faltando", async () => {
    const missing = await post(criarChamado, "/criar-chamado", { nome_cliente: "x", telefone_cliente: "1" });
    expect(missing.statusCode).toBe(400);
    const body = bodyOf(missing);
    // The seed app answered {"erro": "Campos obrigatórios ausentes", "campos_faltando": [...]}: old form
    // clients read that key; campos_ausentes and campos stay beside it.
    expect(body).toMatchObject({ erro: "Campos obrigatórios ausentes" });
    expect([...body.campos_faltando].sort()).toEqual([
      "anydesk_cliente",
      "cnpj_cliente",
      "descricao_problema",
    ]);
    expect(body.campos_faltando).toEqual(body.campos_ausentes);
    // Only invalid fields, nothing missing: no campos_faltando, as the seed app had none to name.
    const invalid = await post(criarChamado, "/criar-chamado", {
      ...VALID,
      cnpj_cliente: "11.222.333/0001-80",
    });
    expect(bodyOf(invalid)).toMatchObject({ erro: "Campos inválidos" });
    expect(bodyOf(invalid)).not.toHaveProperty("campos_faltando");
  });

  it("GET /ping answers 200 in plain text", async () => {
    const result = await ping(httpEvent({ method: "GET", path: "/ping" }));
    expect(result.statusCode).toBe(200);
    expect(result.headers?.["content-type"]).toMatch(/^text\/plain/);
    expect(result.body).toBe("App Flask está ativo!");
  });
});
