import { Logger } from "@aws-lambda-powertools/logger";
import { PurgeQueueCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { failDynamoWrite } from "../../infra/sandbox/dynamo-faults.ts";
import { type Scenario, type ScenarioKey, scenarios } from "../../infra/sandbox/scenarios.ts";
import { JobQueue } from "../../lib/jobs/queue.ts";
import { readDeadLetters, replayDeadLetters } from "../../lib/jobs/replay.ts";
import { httpEvent, SECRETS, type Stack, setupStack } from "../helpers/stack.ts";

/**
 * Senders repeat themselves (webhooks are retried, pollers overlap webhooks, operators replay), and
 * events arrive out of order. None of it may make a second object, a second article or log entry, or a
 * loop between two-way routes.
 */
let stack: Stack;
let all: Record<ScenarioKey, Scenario>;
const KEYS: ScenarioKey[] = [
  "glpiForms",
  "otrsRedmine",
  "otrsRedmineConversation",
  "itopPair",
  "rtKanban",
  "livechat",
  "notifications",
  "notificationsHooks",
];

beforeAll(async () => {
  stack = await setupStack({ jobs: { maxAttempts: 5 } });
  all = await scenarios(stack);
});
afterAll(() => stack.close());

describe("the same event, again and again", () => {
  for (const key of KEYS) {
    it(`${key}: ten concurrent deliveries make one object`, async () => {
      const scenario = all[key];
      scenario.reset();
      failDynamoWrite(undefined);
      const { handle, send } = await scenario.prepare();
      // A form is different: ten submissions are ten tickets unless they carry one Idempotency-Key.
      if (key === "glpiForms") return expect(await send()).toBe(201);
      const statuses = await Promise.all(Array.from({ length: 10 }, send));
      for (const status of statuses) expect(status).toBeLessThan(300);
      await stack.drainJobs({ timeoutMs: 60_000 });
      const outcome = await scenario.converged(handle);
      expect(outcome.objects, outcome.detail).toBe(1);
      expect(outcome.complete, outcome.detail).toBe(true);
    }, 90_000);

    it(`${key}: replaying a dead letter again after it converged changes nothing`, async () => {
      const scenario = all[key];
      scenario.reset();
      failDynamoWrite(undefined);
      await stack.sqs.send(new PurgeQueueCommand({ QueueUrl: stack.resources.deadLetterQueueUrl }));
      // Dead-letter the job first: refused for good (a form's inline refusal is answered instead, so
      // its GLPI is unavailable for the inline attempt, queueing the job, and refuses the worker's;
      // an outage alone would be retried for the horizon, not dead-lettered).
      const step =
        key === "glpiForms" ? scenario.steps.find((s) => s.name === "create the ticket") : scenario.steps[0];
      if (!step?.raw) throw new Error("no step to fail");
      if (key === "glpiForms") {
        step.raw({ kind: "status", status: 503, body: "busy" });
        step.raw({ kind: "status", status: 400, body: ["ERROR_GLPI_ADD", "refused by a rule"] });
      } else step.inject("refused");
      const { handle, send } = await scenario.prepare();
      await send();
      await stack.drainJobs({ timeoutMs: 60_000 });
      const letters = await readDeadLetters(stack.sqs, stack.resources.deadLetterQueueUrl, {
        type: scenario.jobType,
      });
      const jobs = letters.flatMap((letter) => (letter.kind === "letter" ? [letter.letter.job] : []));
      expect(jobs.length).toBeGreaterThan(0);
      const queue = new JobQueue(stack.sqs, stack.resources.jobsQueueUrl, stack.resources.deadLetterQueueUrl);
      await replayDeadLetters(stack.sqs, queue, stack.resources.deadLetterQueueUrl, {
        type: scenario.jobType,
      });
      await stack.drainJobs({ timeoutMs: 60_000 });
      const converged = await scenario.converged(handle);
      expect(converged.objects, converged.detail).toBe(1);
      // An operator replays the same dead letter once more.
      for (const job of jobs)
        await queue.send({ ...job, priorAttempts: 0, maybeRan: true, origin: "replay" });
      await stack.drainJobs({ timeoutMs: 60_000 });
      expect(await scenario.converged(handle)).toEqual(converged);
    }, 90_000);
  }

  it("ten form submissions with one Idempotency-Key make one GLPI ticket", async () => {
    stack.glpi.reset();
    const { handler } = await import("../../functions/glpi-forms/create-ticket.ts");
    const body = {
      nome_cliente: "Ciclana",
      telefone_cliente: "+55 11 3333-4444",
      cnpj_cliente: "11222333000181",
      anydesk_cliente: "987654321",
      descricao_problema: "dez vezes",
    };
    const answers = await Promise.all(
      Array.from({ length: 10 }, () =>
        handler(
          httpEvent({
            method: "POST",
            path: "/glpi/tickets",
            body,
            headers: {
              "content-type": "application/json",
              "x-deskbridge-token": SECRETS.FORMS_TOKEN,
              "idempotency-key": "form-123",
            },
          }),
        ),
      ),
    );
    const ids = new Set(answers.map((answer) => JSON.parse(answer.body ?? "{}").ticket_id));
    expect(ids.size).toBe(1);
    expect(stack.glpi.tickets).toHaveLength(1);
  }, 60_000);
});

describe("events out of order, and a poller racing a webhook", () => {
  it("RT: the resolve arrives before the create: one card, in Done", async () => {
    const { rt, kanboard } = stack;
    rt.reset();
    kanboard.reset();
    const ticket = rt.personCreates({ queue: "General", subject: "Order" });
    rt.personUpdates(ticket.id, { status: "resolved" });
    const [create, resolve] = rt.takeScripCalls().filter((call) => call.creator !== "deskbridge");
    const route = (await import("../../functions/rt-kanban/ticket-events.ts")).handler;
    const send = (payload: unknown) =>
      route(
        httpEvent({
          method: "POST",
          path: "/rt/ticket-events",
          body: payload,
          headers: { "content-type": "application/json", "x-deskbridge-token": SECRETS.RT_WEBHOOK_TOKEN },
        }),
      );
    await send(resolve);
    await send(create);
    const cards = kanboard.tasks().filter((task) => task.reference === `RT#${ticket.id}`);
    expect(cards).toHaveLength(1);
    expect(kanboard.columnTitle(cards[0]?.id ?? 0)).toBe("Done");
  });

  it("RT: the poller and the Scrip report the same change at once: one card", async () => {
    const { rt, kanboard } = stack;
    rt.reset();
    kanboard.reset();
    const ticket = rt.personCreates({ queue: "General", subject: "Race" });
    const [scrip] = rt.takeScripCalls();
    const route = (await import("../../functions/rt-kanban/ticket-events.ts")).handler;
    const { pollRt } = await import("../../lib/sync/rt-kanban/poller.ts");
    await Promise.all([
      route(
        httpEvent({
          method: "POST",
          path: "/rt/ticket-events",
          body: scrip,
          headers: { "content-type": "application/json", "x-deskbridge-token": SECRETS.RT_WEBHOOK_TOKEN },
        }),
      ),
      pollRt(new Logger({ logLevel: "SILENT" })),
    ]);
    await stack.drainJobs({ timeoutMs: 30_000 });
    expect(kanboard.tasks().filter((task) => task.reference === `RT#${ticket.id}`)).toHaveLength(1);
  }, 60_000);

  it("iTop: an update webhook before the create webhook makes one twin, and the two iTops fall silent", async () => {
    const external = stack.itop.external;
    const internal = stack.itop.internal;
    external.reset();
    internal.reset();
    const ticket = external.agentCreatesTicket({
      title: "Order",
      description: "<p>x</p>",
      org_id: 1,
      caller_id: 1,
    });
    external.agentAddsLog(ticket.id, "private_log", "<p>first entry</p>", "budi");
    const calls = external.takeWebhooks().reverse();
    const { itopBridge } = await import("../helpers/itop.ts");
    const bridge = await itopBridge(external, internal);
    for (const call of calls) await bridge.send(call.path, call.payload);
    // Every webhook the bridge's own writes fire, on both sides, until silence: no loop.
    await bridge.deliverWebhooks();
    const twins = internal.tickets().filter((t) => t.external_ref === ticket.ref);
    expect(twins).toHaveLength(1);
    expect(internal.ticket(twins[0]?.id ?? 0)?.private_log.entries).toHaveLength(1);
  });

  it("OTRS ↔ Redmine: the bridge's own writes coming back from both sides copy nothing", async () => {
    const scenario = all.otrsRedmine;
    scenario.reset();
    const { handle, send } = await scenario.prepare();
    await send();
    const issue = stack.redmine.issues[0];
    if (!issue) throw new Error("no issue was created");
    const writes = () =>
      stack.otrs.count("TicketUpdate") + stack.redmine.calls.filter((c) => c.method !== "GET").length;
    const before = writes();
    const issueRoute = (await import("../../functions/otrs-redmine/issue-events.ts")).handler;
    // What Redmine's webhook plugin would send for the issue the bridge created, twice.
    for (let i = 0; i < 2; i++)
      await issueRoute(
        httpEvent({
          method: "POST",
          path: "/redmine/issue-events",
          body: { payload: { action: "opened", issue: { id: issue.id } } },
          headers: { "content-type": "application/json", "x-deskbridge-token": SECRETS.OTRS_REDMINE_TOKEN },
        }),
      );
    expect(writes()).toBe(before);
    expect((await scenario.converged(handle)).objects).toBe(1);
  });
});
