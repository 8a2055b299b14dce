import { setTimeout as sleep } from "node:timers/promises";
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import type { Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SqsEventSource } from "../../infra/local/sqs-event-source.ts";
import { type Scenario, scenarios } from "../../infra/sandbox/scenarios.ts";
import { jobRuntime } from "../../lib/jobs/runtime.ts";
import { lambdaContext, type Stack, setupStack } from "../helpers/stack.ts";

/**
 * GLPI is down for the equivalent of 72 hours while forms keep arriving for it and events keep arriving
 * for OTRS→Redmine and RT→Kanban, on a compressed clock (`jobs.timeScale`): every delay of the jobs'
 * clocks (backoff, horizon, breaker) is divided by it. SQS delays are whole seconds, so at the default
 * 10 800× one second of the queue is three hours of the outage: the test asserts counts and order, not
 * how soon after GLPI's return (in scaled minutes) the forms land; it prints that figure.
 *
 * `npm run test:reliability` runs it with more events on a slower clock (OUTAGE_EVENTS, OUTAGE_TIME_SCALE).
 */
const TIME_SCALE = Number(process.env.OUTAGE_TIME_SCALE ?? 10_800);
const FORMS = Number(process.env.OUTAGE_EVENTS ?? 12);
const OTHERS = Math.max(3, Math.round(FORMS / 3));
const OUTAGE_HOURS = 72;
/** The test's probe interval: an hour of the outage (0.33 s real at 10 800×); the default is 60 s. */
const PROBE_INTERVAL_SECONDS = 3600;
const FAILURE_THRESHOLD = 5;

const realMs = (hours: number) => (hours * 3_600_000) / TIME_SCALE;

let stack: Stack;
let all: Record<"glpiForms" | "otrsRedmine" | "rtKanban", Scenario>;
let source: SqsEventSource;

beforeAll(async () => {
  stack = await setupStack({
    jobs: {
      // The production figures (config/prod.json) on the compressed clock.
      maxAttempts: 8,
      backoffBaseSeconds: 5,
      backoffMaxSeconds: 900,
      timeScale: TIME_SCALE,
      breaker: { failureThreshold: FAILURE_THRESHOLD, probeIntervalSeconds: PROBE_INTERVAL_SECONDS },
    },
  });
  all = await scenarios(stack);
  type Worker = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
  const worker = (await import("../../infra/sandbox/every-job-worker.ts")).handler as Worker;
  source = new SqsEventSource({
    sqs: stack.sqs,
    queueUrl: stack.resources.jobsQueueUrl,
    queueArn: "arn:aws:sqs:us-east-1:000000000000:outage",
    invoke: (event) => worker(event, lambdaContext()),
    waitSeconds: 1,
    maximumConcurrency: 2,
  });
}, 60_000);
afterAll(async () => {
  await source?.stop();
  await stack?.close();
});

/** The breaker item of GLPI's instance, as every function reads it. */
async function glpiBreaker(): Promise<Record<string, unknown> | undefined> {
  const out = await jobRuntime().db.send(
    new GetCommand({ TableName: jobRuntime().table, Key: { pk: "breaker#glpi:main" }, ConsistentRead: true }),
  );
  return out.Item;
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(200);
  }
  return check();
}

const convergedAll = async (scenario: Scenario, handles: readonly string[]) =>
  (await Promise.all(handles.map((handle) => scenario.converged(handle)))).every((o) => o.complete);

describe("a helpdesk down for 72 hours", () => {
  it(
    "loses, duplicates and dead-letters nothing, probes it once per interval, and drains when it returns",
    async () => {
      const { glpiForms, otrsRedmine, rtKanban } = all;
      for (const scenario of [glpiForms, otrsRedmine, rtKanban]) scenario.reset();
      stack.glpi.setDown(true);
      source.start();
      const outageStart = Date.now();
      const outageEnd = outageStart + realMs(OUTAGE_HOURS);

      // Events arrive all through the outage: forms for the down GLPI, tickets for the others.
      const forms: string[] = [];
      const others: Array<{ scenario: Scenario; handle: string }> = [];
      const answers: number[] = [];
      const spacing = realMs(OUTAGE_HOURS) / (FORMS + 1);
      for (let index = 0; index < FORMS; index += 1) {
        const form = await glpiForms.prepare();
        forms.push(form.handle);
        answers.push(await form.send());
        if (index % Math.ceil(FORMS / OTHERS) === 0) {
          for (const scenario of [otrsRedmine, rtKanban]) {
            const event = await scenario.prepare();
            others.push({ scenario, handle: event.handle });
            expect(await event.send()).toBeLessThan(300);
          }
        }
        await sleep(Math.max(0, outageStart + spacing * (index + 1) - Date.now()));
      }
      // Every form is answered 202 with its job id while GLPI is down.
      expect(answers).toEqual(forms.map(() => 202));

      // The other systems are unaffected: their events land during the outage.
      const othersLanded = await waitFor(
        async () =>
          (await Promise.all(others.map((o) => o.scenario.converged(o.handle)))).every((o) => o.complete),
        Math.max(1000, outageEnd - Date.now()),
      );
      expect(othersLanded).toBe(true);
      await sleep(Math.max(0, outageEnd - Date.now()));

      // GLPI saw probes, not a retry storm: at most one probe per interval once the breaker opened (each
      // probe is one session request, which the client tries twice on a lost connection), plus the
      // calls that opened it.
      const breaker = await glpiBreaker();
      expect(breaker).toMatchObject({ state: "open" });
      const probes = Number(breaker?.probes ?? 0);
      const downCalls = stack.glpi.calls.length;
      const intervals = Math.ceil(OUTAGE_HOURS / (PROBE_INTERVAL_SECONDS / 3600));
      expect(probes).toBeLessThanOrEqual(intervals + 1);
      expect(downCalls).toBeLessThanOrEqual(2 * (probes + FAILURE_THRESHOLD + 4));
      expect(stack.glpi.tickets).toHaveLength(0);

      // GLPI returns: every form becomes exactly one ticket, none dead-lettered.
      stack.glpi.setDown(false);
      const returned = Date.now();
      const drained = await waitFor(() => convergedAll(glpiForms, forms), 45_000);
      const drainMs = Date.now() - returned;
      expect(drained).toBe(true);
      const outcomes = await Promise.all(forms.map((form) => glpiForms.converged(form)));
      expect(outcomes.map((o) => o.objects)).toEqual(forms.map(() => 1));
      expect(await stack.deadLetters()).toEqual([]);
      expect(await glpiBreaker()).toMatchObject({ state: "closed", failures: 0 });

      // The order the tickets were created in, against the order the forms were sent in.
      const created = stack.glpi.tickets.map((ticket) =>
        forms.findIndex((form) => String(ticket.input.content ?? "").includes(form)),
      );
      let inversions = 0;
      for (let i = 0; i < created.length; i += 1)
        for (let j = i + 1; j < created.length; j += 1)
          if ((created[i] ?? 0) > (created[j] ?? 0)) inversions += 1;
      console.info(
        JSON.stringify({
          timeScale: TIME_SCALE,
          outageHours: OUTAGE_HOURS,
          forms: FORMS,
          otherEvents: others.length,
          probeIntervalSeconds: PROBE_INTERVAL_SECONDS,
          probes,
          glpiCallsWhileDown: downCalls,
          drainRealMs: drainMs,
          drainScaledMinutes: Math.round((drainMs * TIME_SCALE) / 60_000),
          ticketOrderInversions: inversions,
        }),
      );
    },
    realMs(OUTAGE_HOURS) + 90_000,
  );

  it("still dead-letters a refusal, with its reason, within minutes", async () => {
    const { otrsRedmine } = all;
    otrsRedmine.reset();
    otrsRedmine.steps.find((step) => step.name === "create the issue")?.inject("refused");
    const event = await otrsRedmine.prepare();
    expect(await event.send()).toBeLessThan(300);
    let letters: unknown[] = [];
    const kept = await waitFor(async () => {
      letters = await stack.deadLetters();
      return letters.length > 0;
    }, 20_000);
    expect(kept).toBe(true);
    expect(letters[0]).toMatchObject({ attempts: 1, lastError: { code: "upstream_refused" } });
  }, 60_000);
});
