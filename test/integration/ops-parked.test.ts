import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { LambdaHttpHandler } from "../../lib/core/http.ts";
import type { OpsDeps } from "../../lib/ops/deps.ts";
import { httpEvent, SECRETS, type Stack, setupStack } from "../helpers/stack.ts";

const VALID = {
  nome_cliente: "Fulano",
  telefone_cliente: "5511987654321",
  cnpj_cliente: "45.723.174/0001-10",
  anydesk_cliente: "123456789",
  descricao_problema: "CNPJ digitado errado",
};

let stack: Stack;
let deps: OpsDeps;
let createTicket: LambdaHttpHandler;
let criarChamado: LambdaHttpHandler;

beforeAll(async () => {
  stack = await setupStack();
  createTicket = (await import("../../functions/glpi-forms/create-ticket.ts")).handler;
  criarChamado = (await import("../../functions/glpi-forms/criar-chamado.ts")).handler;
  deps = (await import("../../lib/ops/deps.ts")).opsDeps();
});
afterAll(() => stack.close());
beforeEach(() => stack.glpi.reset());

const post = (handler: LambdaHttpHandler, path: string, body: unknown) =>
  handler(
    httpEvent({
      method: "POST",
      path,
      body,
      headers: { "content-type": "application/json", "x-deskbridge-token": SECRETS.FORMS_TOKEN },
    }),
  );

describe("parked requests", () => {
  it("answers 404 for an unknown CNPJ on both routes and parks each request", async () => {
    const { ParkedRequests } = await import("../../lib/sync/glpi-forms/parked.ts");
    const parked = new ParkedRequests(deps.db, deps.table);
    expect((await post(createTicket, "/glpi/tickets", VALID)).statusCode).toBe(404);
    expect(
      (await post(criarChamado, "/criar-chamado", { ...VALID, nome_cliente: "Legado" })).statusCode,
    ).toBe(404);
    const list = await parked.list();
    expect(list.map((p) => p.submission.nome_cliente)).toEqual(["Legado", "Fulano"]);
    expect(list[0]).toMatchObject({ cnpj: "45723174000110", reason: "no GLPI entity has this CNPJ" });
    expect(stack.glpi.tickets).toHaveLength(0);
  });

  it("parks a queued request whose CNPJ the worker finds unknown", async () => {
    const { ParkedRequests } = await import("../../lib/sync/glpi-forms/parked.ts");
    stack.glpi.setDown(true);
    const answer = await post(createTicket, "/glpi/tickets", { ...VALID, nome_cliente: "Fila" });
    expect(answer.statusCode).toBe(202);
    stack.glpi.setDown(false);
    await stack.drainJobs();
    const jobId = JSON.parse(answer.body ?? "{}").job_id;
    expect(await new ParkedRequests(deps.db, deps.table).get(jobId)).toMatchObject({ id: jobId });
  });

  it("replays a parked request into the chosen entity once, however often it is replayed", async () => {
    const { ParkedRequests, replayParked } = await import("../../lib/sync/glpi-forms/parked.ts");
    const parked = new ParkedRequests(deps.db, deps.table);
    const [request] = (await parked.list()).filter((p) => p.submission.nome_cliente === "Fulano");
    if (!request) throw new Error("expected the parked request");
    expect(await replayParked(deps, request.id, 2)).toEqual({ jobId: request.id });
    expect(await parked.get(request.id)).toMatchObject({ replay: { entityId: 2 } });
    expect(await replayParked(deps, request.id, 2)).toEqual({ jobId: request.id });
    await stack.drainJobs();
    expect(stack.glpi.tickets).toHaveLength(1);
    expect(stack.glpi.tickets[0]?.input).toMatchObject({
      entities_id: 2,
      externalid: `deskbridge:glpi-forms:${request.id}`,
    });
    expect(await parked.get(request.id)).toBeUndefined();
    await expect(replayParked(deps, request.id, 2)).rejects.toMatchObject({ status: 404 });
    expect(stack.glpi.tickets).toHaveLength(1);
  });

  it("opens no second ticket when a replay is sent again after its job ran", async () => {
    const { ParkedRequests, replayParked } = await import("../../lib/sync/glpi-forms/parked.ts");
    const parked = new ParkedRequests(deps.db, deps.table);
    const [request] = (await parked.list()).filter((p) => p.submission.nome_cliente === "Legado");
    if (!request) throw new Error("expected the parked request");
    await replayParked(deps, request.id, 3);
    await stack.drainJobs();
    // The same job again (a duplicate delivery): it finds the link and creates nothing.
    const { JobQueue } = await import("../../lib/jobs/queue.ts");
    await new JobQueue(deps.sqs, deps.jobsQueueUrl, deps.deadLetterQueueUrl).send({
      v: 1,
      id: request.id,
      type: "glpi-forms.create-ticket",
      input: { submission: request.submission, entityId: 3 },
      priorAttempts: 0,
      maybeRan: true,
      enqueuedAt: new Date().toISOString(),
      origin: "replay",
    });
    await stack.drainJobs();
    expect(stack.glpi.tickets).toHaveLength(1);
  });

  it("answers NotFound for an unknown id and names entity_id when it is not a positive integer", async () => {
    const { ParkedRequests, replayParked } = await import("../../lib/sync/glpi-forms/parked.ts");
    await expect(replayParked(deps, "no-such-request", 1)).rejects.toMatchObject({ status: 404 });
    const [request] = await new ParkedRequests(deps.db, deps.table).list();
    if (!request) throw new Error("expected a parked request");
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      await expect(replayParked(deps, request.id, bad)).rejects.toMatchObject({
        fields: [{ path: "entity_id" }],
      });
    }
  });
});

describe("status overview", () => {
  it("lists every integration, the dead letters with their source, and the parked requests", async () => {
    const { statusOverview } = await import("../../lib/ops/overview.ts");
    const { replayDeadLetter, replayAllDeadLetters } = await import("../../lib/ops/dead-letters.ts");
    const { JobQueue } = await import("../../lib/jobs/queue.ts");
    const queue = new JobQueue(deps.sqs, deps.jobsQueueUrl, deps.deadLetterQueueUrl);
    const job = (id: string, type: string, input: unknown) => ({
      v: 1 as const,
      id,
      type,
      input,
      priorAttempts: 0,
      maybeRan: false,
      enqueuedAt: new Date().toISOString(),
      origin: "route" as const,
    });
    for (const [id, type, input] of [
      ["dl-otrs", "otrs-redmine.ticket", { ticketId: "4711" }],
      ["dl-rt", "rt-kanban.ticket", { ticketId: 12 }],
    ] as const) {
      await queue.sendDeadLetter({
        deadLetter: 1,
        job: job(id, type, input),
        attempts: 3,
        lastError: { code: "upstream_unavailable", message: "down" },
        failedAt: new Date().toISOString(),
      });
    }
    const overview = await statusOverview(deps);
    expect(overview.integrations.map((i) => i.integration)).toEqual([
      "glpi-forms",
      "itop-pair",
      "otrs-redmine",
      "rocketchat-otrs",
      "rt-kanban",
    ]);
    expect(overview.integrations.every((i) => i.configured)).toBe(true);
    const glpi = overview.integrations.find((i) => i.integration === "glpi-forms");
    expect(glpi?.lastDay.received).toBeGreaterThan(0);
    expect(glpi?.lastFailure).toMatchObject({ code: "not_found" });
    const otrs = overview.deadLetters.find((l) => l.id === "dl-otrs");
    expect(otrs).toMatchObject({
      integration: "otrs-redmine",
      attempts: 3,
      source: {
        key: "otrs:main:ticket:4711",
        url: "https://otrs.example.com/otrs/index.pl?Action=AgentTicketZoom;TicketID=4711",
      },
    });
    expect(overview.deadLetters.find((l) => l.id === "dl-rt")?.source?.url).toMatch(
      /\/Ticket\/Display\.html\?id=12$/,
    );
    expect(overview.parked.length).toBeGreaterThan(0);

    expect(await replayDeadLetter(deps, "dl-otrs")).toEqual({ replayed: 1 });
    await expect(replayDeadLetter(deps, "dl-otrs")).rejects.toMatchObject({ status: 404 });
    // Left: dl-rt and the queued request the worker parked (kept in both places: a replay from the
    // dead-letter queue works once the CNPJ is registered in GLPI, a parked replay names the entity).
    const left = (await statusOverview(deps)).deadLetters.map((l) => l.id);
    expect(left).toContain("dl-rt");
    expect(left).toHaveLength(2);
    const progress: [number, number][] = [];
    expect(await replayAllDeadLetters(deps, (done, total) => progress.push([done, total]))).toEqual({
      replayed: 2,
    });
    expect(progress.at(-1)).toEqual([2, 2]);
    expect((await statusOverview(deps)).deadLetters.filter((l) => l.id.startsWith("dl-"))).toEqual([]);
    await stack.sqs.send(
      new (await import("@aws-sdk/client-sqs")).PurgeQueueCommand({ QueueUrl: deps.jobsQueueUrl }),
    );
  });
});
