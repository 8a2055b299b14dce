import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { customerEntities, demoEntities, type GlpiEntitySeed } from "../../infra/sandbox/glpi.ts";
import type { LambdaHttpHandler } from "../../lib/core/http.ts";
import { formatCnpj, normalizeCnpj } from "../../lib/sync/glpi-forms/cnpj.ts";
import type { GlpiFormsDeps } from "../../lib/sync/glpi-forms/deps.ts";
import { CHUNK_ENTRIES, DirectoryStore } from "../../lib/sync/glpi-forms/directory-store.ts";
import { httpEvent, SECRETS, type Stack, setupStack } from "../helpers/stack.ts";

const FORM = {
  nome_cliente: "Fulano de Tal",
  telefone_cliente: "5511987654321",
  anydesk_cliente: "123 456 789",
  descricao_problema: "Impressora não imprime",
};
const CUSTOMERS = customerEntities(1500);
/** A customer registered in GLPI after the directory was read. */
const LATE: GlpiEntitySeed = { id: 90_001, name: "Cliente novo", cnpj: "98.765.432/0001-98" };

let stack: Stack;
let createTicket: LambdaHttpHandler;
let deps: GlpiFormsDeps;

beforeAll(async () => {
  stack = await setupStack();
  createTicket = (await import("../../functions/glpi-forms/create-ticket.ts")).handler;
  deps = await (await import("../../lib/sync/glpi-forms/deps.ts")).glpiFormsDeps();
});
afterAll(() => stack.close());
beforeEach(async () => {
  stack.glpi.reset();
  CUSTOMERS.forEach(stack.glpi.addEntity);
  await deps.entities.refresh({ force: true });
  stack.glpi.calls.length = 0;
});

async function post(cnpj: string, headers: Record<string, string> = {}) {
  const result = await createTicket(
    httpEvent({
      method: "POST",
      path: "/glpi/tickets",
      body: { ...FORM, cnpj_cliente: cnpj },
      headers: {
        "content-type": "application/json",
        "x-deskbridge-token": SECRETS.FORMS_TOKEN,
        ...headers,
      },
    }),
  );
  return { status: result.statusCode, body: JSON.parse(result.body ?? "null") };
}

/** The GLPI calls since the last look, as `METHOD /path`, the session's own aside. */
function glpiCalls(): string[] {
  const calls = stack.glpi.calls
    .filter((call) => !["/initSession", "/changeActiveEntities"].includes(call.path))
    .map((call) => `${call.method} ${call.path}`);
  stack.glpi.calls.length = 0;
  return calls;
}

describe("the entity directory behind POST /glpi/tickets", () => {
  it("makes one GLPI call per ticket for any of 1,500 customers once the directory is read", async () => {
    const picked = [0, 1, 2, 499, 500, 998, 999, 1000, 1001, 1499].map((i) => CUSTOMERS[i]!);
    for (const customer of picked) {
      // Either spelling, whichever way GLPI stores it.
      const asSent =
        customer.id % 3 === 0 ? formatCnpj(normalizeCnpj(customer.cnpj)) : normalizeCnpj(customer.cnpj);
      expect((await post(asSent)).status).toBe(201);
      expect(stack.glpi.tickets.at(-1)?.input.entities_id).toBe(customer.id);
    }
    expect(glpiCalls()).toEqual(picked.map(() => "POST /Ticket"));
  });

  it("reads the directory in pages of 1,000 with GLPI's partial answers, and a cold one costs one search a ticket until its job ran", async () => {
    const { entities } = deps;
    const pages = stack.glpi.calls.length;
    await entities.refresh({ force: true });
    const reads = stack.glpi.calls.slice(pages).filter((call) => call.path === "/search/Entity");
    expect(reads.map((call) => call.query.get("range"))).toEqual(["0-999", "1000-1999"]);
    expect(reads.map((call) => call.status)).toEqual([206, 206]); // GLPI: 206 until one page holds all

    // A container that never saw the map and finds none shared: one OR-ed search, and the refresh queued.
    const { DirectoryStore: Store } = await import("../../lib/sync/glpi-forms/directory-store.ts");
    const { EntityDirectory } = await import("../../lib/sync/glpi-forms/entity-directory.ts");
    const db = DynamoDBDocumentClient.from(stack.dynamo);
    let queued = 0;
    const cold = new EntityDirectory(
      deps.glpi,
      new Store(db, stack.resources.table, "cold-glpi"),
      deps.settings.entityLookup,
      {
        queueRefresh: async () => {
          queued++;
        },
      },
    );
    glpiCalls();
    await expect(cold.entityIdFor(CUSTOMERS[7]!.cnpj)).resolves.toEqual({
      entityId: CUSTOMERS[7]!.id,
      from: "search",
    });
    await cold.maintain();
    expect(glpiCalls()).toEqual(["GET /search/Entity"]);
    expect(queued).toBe(1);
  });

  it("refreshes the shared directory in the worker when a container queues its job", async () => {
    const { DeleteCommand } = await import("@aws-sdk/lib-dynamodb");
    const { newJob } = await import("../../lib/jobs/queue.ts");
    const { jobRuntime } = await import("../../lib/jobs/runtime.ts");
    const { REFRESH_DIRECTORY_JOB } = await import("../../lib/sync/glpi-forms/index.ts");
    // No shared map (a new deployment), and a customer the container's map does not have.
    await DynamoDBDocumentClient.from(stack.dynamo).send(
      new DeleteCommand({
        TableName: stack.resources.table,
        Key: { pk: `dir#glpi-forms#${deps.settings.glpi}` },
      }),
    );
    stack.glpi.addEntity(LATE);
    await jobRuntime().queue.send(newJob(REFRESH_DIRECTORY_JOB, {}));
    await stack.drainJobs({ idleMs: 100 });
    expect(
      stack.glpi.calls
        .filter((call) => call.path === "/search/Entity")
        .map((call) => call.query.get("range")),
    ).toEqual(["0-999", "1000-1999"]);
    glpiCalls();
    expect((await post(LATE.cnpj)).status).toBe(201);
    expect(glpiCalls()).toEqual(["POST /Ticket"]);
    const shared = await new DirectoryStore(
      DynamoDBDocumentClient.from(stack.dynamo),
      stack.resources.table,
      deps.settings.glpi,
    ).load();
    expect(shared?.entries.get(normalizeCnpj(LATE.cnpj))).toBe(LATE.id);
  });

  it("opens the ticket of a customer registered a minute ago on its first request, with one search", async () => {
    stack.glpi.addEntity(LATE);
    expect((await post("98765432000198")).status).toBe(201);
    expect(stack.glpi.tickets.at(-1)?.input.entities_id).toBe(LATE.id);
    const search = stack.glpi.calls.find((call) => call.path === "/search/Entity");
    expect(search?.query.get("criteria[1][link]")).toBe("OR");
    expect(glpiCalls()).toEqual(["GET /search/Entity", "POST /Ticket"]);
    expect((await post("98.765.432/0001-98")).status).toBe(201);
    expect(glpiCalls()).toEqual(["POST /Ticket"]);
  });

  it("does not open a ticket in an entity removed since the directory was read: 404, and the request parked", async () => {
    const gone = CUSTOMERS[42]!;
    stack.glpi.removeEntity(gone.id);
    const result = await post(gone.cnpj);
    expect(result.status).toBe(404);
    expect(stack.glpi.tickets).toHaveLength(0);
    // GLPI refuses the entity; one search says the CNPJ is nowhere now.
    expect(glpiCalls()).toEqual(["POST /Ticket", "GET /search/Entity"]);
    const { ParkedRequests } = await import("../../lib/sync/glpi-forms/parked.ts");
    const parked = await new ParkedRequests(
      DynamoDBDocumentClient.from(stack.dynamo),
      stack.resources.table,
    ).list();
    expect(parked.map((request) => request.cnpj)).toContain(normalizeCnpj(gone.cnpj));
  });

  it("opens the ticket in the entity a CNPJ moved to, once GLPI refused the old one", async () => {
    const moved = CUSTOMERS[43]!;
    stack.glpi.removeEntity(moved.id);
    stack.glpi.addEntity({ ...LATE, cnpj: moved.cnpj });
    expect((await post(moved.cnpj)).status).toBe(201);
    expect(stack.glpi.tickets.map((ticket) => ticket.input.entities_id)).toEqual([LATE.id]);
    expect(glpiCalls()).toEqual(["POST /Ticket", "GET /search/Entity", "POST /Ticket"]);
    expect((await post(moved.cnpj)).status).toBe(201);
    expect(glpiCalls()).toEqual(["POST /Ticket"]);
  });

  it("answers GLPI's refusal when its profile may not open tickets in the entity, which still has the CNPJ", async () => {
    stack.glpi.failNext(
      1,
      {
        kind: "status",
        status: 400,
        body: ["ERROR_GLPI_ADD", "You don't have permission to perform this action."],
      },
      { method: "POST", path: "/Ticket" },
    );
    const result = await post(CUSTOMERS[45]!.cnpj);
    expect(result.status).toBe(502);
    expect(stack.glpi.tickets).toHaveLength(0);
    expect(glpiCalls()).toEqual(["POST /Ticket", "GET /search/Entity"]);
  });

  it("answers every repeat of an Idempotency-Key with the one ticket, from its link", async () => {
    const customer = CUSTOMERS[44]!;
    const first = await post(customer.cnpj, { "idempotency-key": "dir-repeat-1" });
    expect(first.status).toBe(201);
    const again = await Promise.all(
      [1, 2, 3].map(() => post(customer.cnpj, { "idempotency-key": "dir-repeat-1" })),
    );
    expect(again.map((answer) => answer.body)).toEqual([first.body, first.body, first.body]);
    expect(stack.glpi.tickets).toHaveLength(1);
  });

  it("keeps 20,000 customers in the links table within DynamoDB's item limit, and reads them back", async () => {
    stack.glpi.reset();
    const many = customerEntities(20_000, { seed: 7 });
    many.forEach(stack.glpi.addEntity);
    const report = await deps.entities.refresh({ force: true });
    // The demo entities are there too.
    expect(report).toMatchObject({
      entries: 20_000 + demoEntities.length,
      pages: 21,
      items: 1 + Math.ceil(20_000 / CHUNK_ENTRIES),
    });
    expect(report!.bytes / (report!.items - 1)).toBeLessThan(400 * 1024);
    const read = await new DirectoryStore(
      DynamoDBDocumentClient.from(stack.dynamo),
      stack.resources.table,
      deps.settings.glpi,
    ).load();
    expect(read?.entries.size).toBe(20_000 + demoEntities.length);
    expect(read?.entries.get(normalizeCnpj(many[12_345]!.cnpj))).toBe(many[12_345]!.id);
  }, 60_000);
});
