/**
 * The scale run of `npm run bench` (BENCH_SKIP=scale skips it): an RT backfill of BENCH_SCALE_TICKETS
 * (5,000) tickets onto the Kanban board while GLPI forms and OTRS events keep arriving at a steady
 * rate, against the same arrivals without the backfill. Each event's sync latency (from the route's
 * call until its sync is done in the target) is measured; so is the most calls each system's fake had
 * in flight, against the system's cap. It runs in a process of its own (run.ts starts it: a stack with
 * a queue and worker per integration, which the other parts do not use, and a runtime of its own), and
 * writes its figures as JSON to the path it is given. Knobs (defaults in scaleOptions):
 *   BENCH_SCALE_TICKETS (5000), BENCH_SCALE_GLPI_RATE and BENCH_SCALE_OTRS_RATE (2 a second each),
 *   BENCH_SCALE_BASELINE_SECONDS (60), BENCH_SCALE_PROCESSES (split | one), BENCH_SCALE_BACKFILL_NICE (10),
 *   BENCH_SCALE_CALL_MS (30: every fake's answer time).
 * `npx tsx infra/bench/scale.ts` alone prints the JSON.
 */
import "./quiet.ts";
import { writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { resolve } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { Logger } from "@aws-lambda-powertools/logger";
import type { Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import * as v from "valibot";
import { sqs } from "../../lib/core/aws.ts";
import { DEFAULT_WORKER_CONCURRENCY } from "../../lib/core/config-schema.ts";
import type { LambdaHttpHandler } from "../../lib/core/http.ts";
import { jobRuntime } from "../../lib/jobs/runtime.ts";
import { capsOf } from "../../lib/jobs/system-caps.ts";
import { startEmulators } from "../local/emulators.ts";
import { httpEvent, lambdaContext } from "../local/events.ts";
import { SqsEventSource } from "../local/sqs-event-source.ts";
import { buildStack, depthOf, SECRETS, type Stack } from "../sandbox/stack.ts";
import {
  answerIn,
  type BackfillDone,
  seedBacklog,
  startAwsProcess,
  startBackfillProcess,
} from "./scale-processes.ts";
import { percentile } from "./timing.ts";

export interface ScaleOptions {
  /** RT tickets the backfill projects onto the board. */
  tickets: number;
  /** Events a second, each flow. */
  glpiPerSecond: number;
  otrsPerSecond: number;
  /** How long the arrivals run without the backfill; with it, they run until the backfill is done. */
  baselineSeconds: number;
  /** The backfill's `--concurrency` (the CLI's default: 4). */
  backfillConcurrency: number;
  /** Messages an invocation, and invocations at once, of each integration's worker (serverless.yml's). */
  batchSize: number;
  workerConcurrency: number;
  /**
   * `split` (the default): the emulators, and the backfill with the RT and Kanboard fakes it calls, each
   * in a process of their own (scale-processes.ts), as DynamoDB, SQS, the operator's machine and the
   * helpdesks are apart from the functions in a deployment; `one`: everything in this process.
   */
  processes: "split" | "one";
  /** The backfill's process's niceness when split (0: the same priority as the functions'). */
  backfillNice: number;
  /** How long every fake takes to answer a call, as a helpdesk does (ms). */
  callMs: number;
}

export interface FlowLatency {
  flow: string;
  integration: string;
  phase: "without backfill" | "with backfill";
  events: number;
  /** Answered 201 inline (a form) or 202 queued (a webhook, or a form past its budget or its cap). */
  inline: number;
  queued: number;
  /** Events whose sync did not end done (failed, or still pending when the run ended). */
  notDone: number;
  p50: number;
  p99: number;
  max: number;
  /**
   * Times the flow's jobs were put back on its queue with a delay (SendMessage with DelaySeconds): a
   * job whose system was at its cap (1–3 s) or that met another job's lease (3–6 s), or a form whose
   * inline attempt found GLPI at its cap.
   */
  waits: number;
}

/** What the phase cost the machine. */
export interface PhaseLoad {
  phase: FlowLatency["phase"];
  seconds: number;
  /** CPU time of this process (the functions, their workers and the GLPI, OTRS and Redmine fakes), in cores. */
  processCores: number;
  /** Busy share of all the machine's cores (every process on it, the bench's others and anyone else's). */
  machineBusy: number;
  /** The event loop's delay, p99 ms: how long a ready callback waited for this process's one thread. */
  loopDelayP99: number;
}

export interface InFlight {
  system: string;
  max: number;
  cap: number;
}

export interface ScaleResult {
  options: ScaleOptions;
  rows: FlowLatency[];
  backfill: { tickets: number; seconds: number; created: number; failed: number; ticketsPerSecond: number };
  /** The most requests each fake had in flight in both phases (the RT and Kanboard fakes: the backfill's). */
  inFlight: InFlight[];
  load: PhaseLoad[];
}

type Worker = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

const AnswerSchema = v.object({ job_id: v.optional(v.string()), ticket_id: v.optional(v.number()) });

interface Sent {
  flow: string;
  integration: string;
  /** Epoch ms (with fractions) when the route was called, and when its sync was seen done. */
  started: number;
  finished?: number;
  jobId?: string;
  status: number;
}

/** The integrations whose events arrive during the run. */
const MIX = ["glpi-forms", "otrs-redmine"] as const;

const epochNow = () => performance.timeOrigin + performance.now();

/** The two routes of the mix, each sending one fresh event as its system would. */
async function senders(stack: Stack) {
  const glpiRoute: LambdaHttpHandler = (await import("../../functions/glpi-forms/create-ticket.ts")).handler;
  const otrsRoute: LambdaHttpHandler = (await import("../../functions/otrs-redmine/ticket-events.ts"))
    .handler;
  const post = async (
    flow: string,
    integration: string,
    handler: LambdaHttpHandler,
    path: string,
    body: unknown,
    headers: Record<string, string>,
  ): Promise<Sent> => {
    const started = epochNow();
    const response = await handler(
      httpEvent({ method: "POST", path, body, headers: { "content-type": "application/json", ...headers } }),
    );
    const status = response.statusCode ?? 0;
    const answer = v.safeParse(AnswerSchema, JSON.parse(response.body ?? "{}"));
    const sent: Sent = { flow, integration, started, status };
    // A form answered 201 is synced: its answer is the GLPI ticket. A 202 is synced when its job is done.
    if (status === 201) sent.finished = epochNow();
    else if (answer.success && answer.output.job_id) sent.jobId = answer.output.job_id;
    return sent;
  };
  let forms = 0;
  let events = 0;
  return {
    glpi: () =>
      post(
        "GLPI forms (POST /glpi/tickets)",
        "glpi-forms",
        glpiRoute,
        "/glpi/tickets",
        {
          nome_cliente: "Scale",
          telefone_cliente: "+55 11 3333-4444",
          cnpj_cliente: "11222333000181",
          anydesk_cliente: "987654321",
          descricao_problema: `Scale form ${++forms}`,
        },
        { "x-deskbridge-token": SECRETS.FORMS_TOKEN },
      ),
    otrs: () => {
      // An agent moves a ticket to the state that asks for a Redmine issue; OTRS's invoker posts it.
      const ticket = stack.otrs.addTicket({
        Title: `Scale event ${++events}`,
        Queue: "Desenvolvimento",
        State: "Em Atendimento",
      });
      const event = stack.otrs.agentSetState(ticket.TicketID, "Em Desenvolvimento", "agent1");
      return post(
        "OTRS events (POST /otrs/ticket-events)",
        "otrs-redmine",
        otrsRoute,
        "/otrs/ticket-events",
        event,
        { "x-deskbridge-token": SECRETS.OTRS_REDMINE_TOKEN },
      );
    },
  };
}

/**
 * Sends both flows at their rates, open loop (an event is sent at its time whether or not the ones
 * before it are answered), until `until` resolves true; returns every event sent.
 */
async function arrivals(
  send: { glpi: () => Promise<Sent>; otrs: () => Promise<Sent> },
  options: ScaleOptions,
  until: () => boolean,
): Promise<Sent[]> {
  const sent: Promise<Sent>[] = [];
  const flows = [
    { send: send.glpi, interval: 1000 / options.glpiPerSecond, next: 0 },
    { send: send.otrs, interval: 1000 / options.otrsPerSecond, next: 500 / options.otrsPerSecond },
  ];
  const start = performance.now();
  while (!until()) {
    const now = performance.now() - start;
    for (const flow of flows) {
      while (flow.next <= now) {
        sent.push(flow.send());
        flow.next += flow.interval;
      }
    }
    const wait = Math.min(...flows.map((flow) => flow.next)) - (performance.now() - start);
    await sleep(Math.max(1, wait));
  }
  return Promise.all(sent);
}

/** Waits for the queues to empty, then reads the done time of every queued event from its job record. */
async function settle(stack: Stack, sent: Sent[]): Promise<void> {
  const queues = Object.values(stack.resources.jobQueues).map((pair) => pair.jobs);
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const depths = await Promise.all(queues.map((url) => depthOf(stack.sqs, url)));
    if (depths.every((depth) => depth === 0)) break;
    await sleep(200);
  }
  const { records } = jobRuntime();
  for (const event of sent) {
    if (event.finished !== undefined || !event.jobId) continue;
    const record = await records.get(event.jobId);
    if (record?.status === "done") event.finished = Date.parse(record.updatedAt);
  }
}

function latencies(sent: Sent[], phase: FlowLatency["phase"], waits: Record<string, number>): FlowLatency[] {
  const flows = [...new Set(sent.map((event) => event.flow))];
  return flows.map((flow) => {
    const events = sent.filter((event) => event.flow === flow);
    const done = events
      .flatMap((event) => (event.finished === undefined ? [] : [event.finished - event.started]))
      .sort((a, b) => a - b);
    const integration = events[0]?.integration ?? "";
    return {
      flow,
      integration,
      phase,
      events: events.length,
      inline: events.filter((event) => event.status === 201).length,
      queued: events.filter((event) => event.status === 202).length,
      notDone: events.length - done.length,
      p50: percentile(done, 50),
      p99: percentile(done, 99),
      max: done.at(-1) ?? 0,
      waits: waits[integration] ?? 0,
    };
  });
}

/** The fakes the bridge calls, with the cap of the instance the test configuration names. */
function fakes(stack: Stack) {
  return [
    { system: "glpi", instance: "main", fake: stack.glpi },
    { system: "otrs", instance: "main", fake: stack.otrs },
    { system: "redmine", instance: "main", fake: stack.redmine },
    { system: "rt", instance: "main", fake: stack.rt },
    { system: "kanboard", instance: "main", fake: stack.kanboard },
    { system: "itop", instance: "customer", fake: stack.itop.external },
    { system: "itop", instance: "elitery", fake: stack.itop.internal },
  ];
}

/**
 * Counts, by integration, the jobs this process's functions put back on their queue with a delay
 * (a middleware on the bridge's shared SQS client): waits for a system's slot and deferrals.
 */
function countDelayedSends(stack: Stack): Record<string, number> {
  const byUrl = new Map(Object.entries(stack.resources.jobQueues).map(([id, pair]) => [pair.jobs, id]));
  const counts: Record<string, number> = {};
  type Step = (args: { input: unknown }) => Promise<unknown>;
  const middleware = (next: Step, context: { commandName?: string }): Step => {
    return async (args) => {
      const input = args.input as { QueueUrl?: string; DelaySeconds?: number };
      const id = byUrl.get(input.QueueUrl ?? "");
      if (context.commandName === "SendMessageCommand" && id && (input.DelaySeconds ?? 0) > 0)
        counts[id] = (counts[id] ?? 0) + 1;
      return next(args);
    };
  };
  sqs().middlewareStack.add(middleware as never, { step: "initialize", name: "scaleDelayedSends" });
  return counts;
}

/** Busy and total CPU time of all the machine's cores, in ms. */
function machineTimes(): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  for (const { times } of cpus()) {
    const all = times.user + times.nice + times.sys + times.irq + times.idle;
    total += all;
    busy += all - times.idle;
  }
  return { busy, total };
}

/** Runs one phase, measuring what it cost; its rows come from the events it returns. */
async function phase<T extends { sent: Sent[] }>(
  name: FlowLatency["phase"],
  waits: Record<string, number>,
  run: () => Promise<T>,
): Promise<T & { rows: FlowLatency[]; load: PhaseLoad }> {
  const loop = monitorEventLoopDelay({ resolution: 10 });
  const waitsBefore = { ...waits };
  const cpuBefore = process.cpuUsage();
  const machineBefore = machineTimes();
  const started = performance.now();
  loop.enable();
  const out = await run();
  loop.disable();
  const ms = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  const machine = machineTimes();
  const waited = Object.fromEntries(
    Object.entries(waits).map(([id, count]) => [id, count - (waitsBefore[id] ?? 0)]),
  );
  return {
    ...out,
    rows: latencies(out.sent, name, waited),
    load: {
      phase: name,
      seconds: ms / 1000,
      processCores: (cpu.user + cpu.system) / 1000 / ms,
      machineBusy: (machine.busy - machineBefore.busy) / (machine.total - machineBefore.total),
      loopDelayP99: loop.percentile(99) / 1e6,
    },
  };
}

/** Runs the scale measure on a stack of its own; call it in a fresh process (see the file's comment). */
export async function measureScale(options: ScaleOptions): Promise<ScaleResult> {
  const split = options.processes === "split";
  const aws = split ? await startAwsProcess() : await startEmulators({ dynamo: 0, sqs: 0 });
  const apart = split
    ? await startBackfillProcess(options.tickets, options.backfillNice, options.callMs)
    : undefined;
  const stack = await buildStack(
    { dynamo: aws.dynamoEndpoint, sqs: aws.sqsEndpoint },
    {
      // A deployment's defaults: webhooks answered from the queue, forms inline; a queue per integration.
      jobs: { inlineBudgetMs: 3000, webhookAck: "queue" },
      integrationQueues: true,
      configure: (config) => {
        if (!apart) return;
        config.systems.rt.main.url = apart.rtUrl;
        config.systems.rt.main.webUrl = apart.rtUrl.replace(/\/REST\/2\.0$/, "");
        config.systems.kanboard.main.url = apart.kanboardUrl;
      },
    },
  );
  const sources: SqsEventSource[] = [];
  try {
    // The mix's integrations' workers, each on its own queue, as its event source mapping runs it (the
    // backfill queues nothing: it runs the jobs in place).
    for (const id of MIX) {
      const pair = stack.resources.jobQueues[id];
      if (!pair) throw new Error(`no queue for ${id}`);
      const { handler } = (await import(`../../functions/${id}/worker.ts`)) as { handler: Worker };
      const source = new SqsEventSource({
        sqs: stack.sqs,
        queueUrl: pair.jobs,
        queueArn: `arn:aws:sqs:us-east-1:000000000000:scale-${id}`,
        invoke: (event) => handler(event, lambdaContext()),
        batchSize: options.batchSize,
        maximumConcurrency: options.workerConcurrency,
        waitSeconds: 1,
      });
      source.start();
      sources.push(source);
    }
    const send = await senders(stack);
    // Warm caches (GLPI's session and entity, Redmine's project) and code paths; not measured.
    for (let i = 0; i < 5; i++) await Promise.all([send.glpi(), send.otrs()]);
    await settle(stack, []);
    if (!apart) seedBacklog(stack.rt, options.tickets);
    answerIn(
      apart
        ? [stack.glpi, stack.otrs, stack.redmine]
        : [stack.glpi, stack.otrs, stack.redmine, stack.rt, stack.kanboard],
      options.callMs,
    );
    for (const { fake } of fakes(stack)) fake.resetInFlight();

    const waits = countDelayedSends(stack);
    const without = await phase("without backfill", waits, async () => {
      const started = performance.now();
      const sent = await arrivals(
        send,
        options,
        () => performance.now() - started >= options.baselineSeconds * 1000,
      );
      await settle(stack, sent);
      return { sent };
    });
    const during = await phase("with backfill", waits, async () => {
      let backfillDone = false;
      const backfill = runBackfill(stack, options, apart).finally(() => {
        backfillDone = true;
      });
      const sent = await arrivals(send, options, () => backfillDone);
      const done = await backfill;
      await settle(stack, sent);
      return { sent, done };
    });
    const { done } = during;

    const inFlight = fakes(stack).map(({ system, instance, fake }) => ({
      system: `${system}:${instance}`,
      max:
        system === "rt" && apart
          ? done.maxInFlight.rt
          : system === "kanboard" && apart
            ? done.maxInFlight.kanboard
            : fake.maxInFlight,
      cap: capsOf([{ system, instance }])[0]?.max ?? 0,
    }));
    return {
      options,
      rows: [...without.rows, ...during.rows],
      backfill: {
        tickets: done.tickets,
        seconds: done.seconds,
        created: done.created,
        failed: done.failed,
        ticketsPerSecond: done.tickets / done.seconds,
      },
      inFlight,
      load: [without.load, during.load],
    };
  } finally {
    await Promise.all(sources.map((source) => source.stop()));
    await stack.close();
    await apart?.stop();
    await aws.stop();
  }
}

/** The backfill (`npx deskbridge backfill rt-kanban`), here or in its own process. */
async function runBackfill(
  stack: Stack,
  options: ScaleOptions,
  apart: Awaited<ReturnType<typeof startBackfillProcess>> | undefined,
): Promise<BackfillDone> {
  if (apart) return apart.run(process.env, options.backfillConcurrency);
  const { backfillBoard } = await import("../../lib/sync/rt-kanban/backfill.ts");
  const started = performance.now();
  const summary = await backfillBoard({
    logger: new Logger({ serviceName: "deskbridge-backfill", logLevel: "SILENT" }),
    concurrency: options.backfillConcurrency,
  });
  return {
    tickets: summary.tickets,
    created: summary.created,
    failed: summary.failed.length,
    seconds: (performance.now() - started) / 1000,
    maxInFlight: { rt: stack.rt.maxInFlight, kanboard: stack.kanboard.maxInFlight },
  };
}

/** The options from the environment (BENCH_SCALE_*), with the defaults the docs state. */
export function scaleOptions(env: NodeJS.ProcessEnv = process.env): ScaleOptions {
  return {
    tickets: Number(env.BENCH_SCALE_TICKETS ?? 5000),
    glpiPerSecond: Number(env.BENCH_SCALE_GLPI_RATE ?? 2),
    otrsPerSecond: Number(env.BENCH_SCALE_OTRS_RATE ?? 2),
    baselineSeconds: Number(env.BENCH_SCALE_BASELINE_SECONDS ?? 60),
    backfillConcurrency: 4,
    batchSize: 10,
    workerConcurrency: DEFAULT_WORKER_CONCURRENCY,
    processes: env.BENCH_SCALE_PROCESSES === "one" ? "one" : "split",
    backfillNice: Number(env.BENCH_SCALE_BACKFILL_NICE ?? 10),
    callMs: Number(env.BENCH_SCALE_CALL_MS ?? 30),
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = process.argv[2];
  measureScale(scaleOptions())
    .then((result) => {
      if (out) writeFileSync(out, JSON.stringify(result, null, 2));
      else console.log(JSON.stringify(result, null, 2));
      process.exit(0);
    })
    .catch((error: unknown) => {
      console.error(error instanceof Error ? (error.stack ?? error.message) : error);
      process.exit(1);
    });
}
