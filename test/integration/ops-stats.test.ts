import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LambdaHttpHandler } from "../../lib/core/http.ts";
import { JobStats } from "../../lib/jobs/stats.ts";
import { countingClient } from "../helpers/counting-client.ts";
import { httpEvent, SECRETS, type Stack, setupStack, warmEntityDirectory } from "../helpers/stack.ts";

const VALID = {
  nome_cliente: "Fulano",
  telefone_cliente: "5511987654321",
  cnpj_cliente: "11.222.333/0001-81",
  anydesk_cliente: "123456789",
  descricao_problema: "Lentidão",
};

let stack: Stack;
let db: DynamoDBDocumentClient;
let createTicket: LambdaHttpHandler;

beforeAll(async () => {
  stack = await setupStack();
  db = DynamoDBDocumentClient.from(stack.dynamo);
  createTicket = (await import("../../functions/glpi-forms/create-ticket.ts")).handler;
  await warmEntityDirectory();
});
afterAll(() => stack.close());

/** A document client that counts what it sends. */
const counting = () => countingClient(db);

const at = (iso: string) => () => new Date(iso);

describe("JobStats", () => {
  it("counts each event with one UpdateItem, a success or failure included", async () => {
    const { client, sent } = counting();
    const stats = new JobStats(client, stack.resources.table, { now: at("2030-01-01T10:02:00Z") });
    await stats.record("received", { id: "a", type: "rt-kanban.ticket" });
    await stats.record("succeeded", { id: "a", type: "rt-kanban.ticket" });
    await stats.record(
      "deadLettered",
      { id: "b", type: "rt-kanban.ticket" },
      { code: "x", message: "broke" },
    );
    expect(sent).toEqual(["UpdateCommand", "UpdateCommand", "UpdateCommand"]);
    const windows = (await stats.windows(new Date("2030-01-01T10:30:00Z"), ["rt-kanban"])).get("rt-kanban");
    expect(windows?.lastHour).toEqual({ received: 1, succeeded: 1, retrying: 0, deadLettered: 1 });
    expect(windows?.lastSuccess).toMatchObject({ jobId: "a", type: "rt-kanban.ticket" });
    expect(windows?.lastFailure).toMatchObject({ jobId: "b", code: "x", reason: "broke" });
  });

  it("slides the last hour across the hour boundary and sums 24 hours for the day", async () => {
    const type = "itop-pair.sync";
    const job = { id: "j", type };
    for (const iso of ["2030-02-01T09:30:00Z", "2030-02-01T10:58:00Z", "2030-02-01T11:03:00Z"]) {
      await new JobStats(db, stack.resources.table, { now: at(iso) }).record("received", job);
    }
    await new JobStats(db, stack.resources.table, { now: at("2030-01-31T11:30:00Z") }).record(
      "received",
      job,
    );
    const stats = new JobStats(db, stack.resources.table);
    const read = async (iso: string) => (await stats.windows(new Date(iso), ["itop-pair"])).get("itop-pair");
    expect((await read("2030-02-01T11:10:00Z"))?.lastHour.received).toBe(2);
    expect((await read("2030-02-01T11:59:00Z"))?.lastHour.received).toBe(1);
    expect((await read("2030-02-01T11:10:00Z"))?.lastDay.received).toBe(3);
    expect((await read("2030-02-01T11:10:00Z"))?.lastDay.succeeded).toBe(0);
  });

  it("never fails its caller when the table cannot be written", async () => {
    const stats = new JobStats(db, "no-such-table");
    await expect(
      stats.record("received", { id: "x", type: "glpi-forms.create-ticket" }),
    ).resolves.toBeUndefined();
  });
});

describe("counting in the job runtime", () => {
  it("counts a ticket request as received and succeeded, and a failed inline attempt as retrying", async () => {
    const { jobRuntime } = await import("../../lib/jobs/runtime.ts");
    const before = (await jobRuntime().stats.windows(undefined, ["glpi-forms"])).get("glpi-forms");
    const post = (body: unknown) =>
      createTicket(
        httpEvent({
          method: "POST",
          path: "/glpi/tickets",
          body,
          headers: { "content-type": "application/json", "x-deskbridge-token": SECRETS.FORMS_TOKEN },
        }),
      );
    expect((await post(VALID)).statusCode).toBe(201);
    stack.glpi.setDown(true);
    expect((await post(VALID)).statusCode).toBe(202);
    stack.glpi.setDown(false);
    await stack.drainJobs();
    const after = (await jobRuntime().stats.windows(undefined, ["glpi-forms"])).get("glpi-forms");
    expect(after?.lastHour.received).toBe((before?.lastHour.received ?? 0) + 2);
    expect(after?.lastHour.retrying).toBe((before?.lastHour.retrying ?? 0) + 1);
    // The inline success and the worker's.
    expect(after?.lastHour.succeeded).toBe((before?.lastHour.succeeded ?? 0) + 2);
    expect(after?.lastSuccess?.type).toBe("glpi-forms.create-ticket");
  });

  it("takes back a success counted with the systems' answer when the job's own last write then fails", async () => {
    const { runInline } = await import("../../lib/jobs/runner.ts");
    const { jobRuntime } = await import("../../lib/jobs/runtime.ts");
    const { newJob } = await import("../../lib/jobs/queue.ts");
    const { defineJob } = await import("../../lib/jobs/model.ts");
    const { logger } = await import("../../lib/core/logger.ts");
    const v = await import("valibot");
    const runtime = jobRuntime();
    const { client, sent } = counting();
    const stats = new JobStats(client, stack.resources.table);
    const job = (lastWrite: () => Promise<void>) =>
      defineJob({
        type: "retract-test.job",
        input: v.object({}),
        // The systems answered; the job's own write goes beside the count, as the GLPI form's link does.
        run: async (_input, context) => {
          await Promise.all([lastWrite(), context.systemsDone?.()]);
          return { ok: true };
        },
      });
    const deps = { queue: runtime.queue, records: runtime.records, logger, budgetMs: 1500, stats };
    const ok = await runInline(
      newJob("retract-test.job", {}),
      job(async () => {}),
      deps,
    );
    expect(ok.kind).toBe("done");
    // The success is counted in the same round trip as the job's write: one UpdateItem, no more.
    expect(sent).toEqual(["UpdateCommand"]);
    const failed = await runInline(
      newJob("retract-test.job", {}),
      job(async () => {
        throw new Error("the table is unavailable");
      }),
      deps,
    );
    expect(failed.kind).toBe("queued");
    const windows = (await stats.windows(undefined, ["retract-test"])).get("retract-test");
    // Two events, one success; the failed one counted once as retrying, its early success taken back.
    expect(windows?.lastHour).toMatchObject({ received: 2, succeeded: 1, retrying: 1 });
  });

  it("runs the job when counting fails", async () => {
    const { runInline } = await import("../../lib/jobs/runner.ts");
    const { jobRuntime } = await import("../../lib/jobs/runtime.ts");
    const { newJob } = await import("../../lib/jobs/queue.ts");
    const { createTicketJob } = await import("../../lib/sync/glpi-forms/create-ticket-job.ts");
    const { logger } = await import("../../lib/core/logger.ts");
    const runtime = jobRuntime();
    const outcome = await runInline(
      newJob("glpi-forms.create-ticket", { submission: { ...VALID, cnpj_cliente: "11222333000181" } }),
      createTicketJob,
      {
        queue: runtime.queue,
        records: runtime.records,
        logger,
        budgetMs: 1500,
        stats: new JobStats(db, "no-such-table"),
      },
    );
    expect(outcome.kind).toBe("done");
  });
});
