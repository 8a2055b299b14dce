/**
 * The GLPI forms run of `npm run bench` (BENCH_SKIP=forms skips it): `POST /glpi/tickets` as users send
 * it, each request from a customer drawn at random among N (1,500 and 20,000 entities with a CNPJ in
 * the GLPI fake, which answers every call in BENCH_FORMS_GLPI_MS, 20 ms), with an Idempotency-Key, at
 * concurrency 1 and 10, with a cold entity directory (none shared, none in memory, its refresh job
 * left on the queue) and a warm one (read by its job first). Against the floor: the same number of
 * bare `POST /Ticket` calls to the same fake, at the same concurrency. Each phase runs in a process of
 * its own (a fresh container's memory), with the emulators in another (scale-processes.ts). Knobs: BENCH_FORMS_REQUESTS (200 a
 * phase and concurrency), BENCH_FORMS_CUSTOMERS (1500,20000), BENCH_FORMS_GLPI_MS (20).
 * `npx tsx infra/bench/glpi-forms.ts` alone prints the section.
 */
import "./quiet.ts";
import { fork } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { httpEvent } from "../local/events.ts";
import { customerEntities } from "../sandbox/glpi.ts";
import { buildStack, SECRETS } from "../sandbox/stack.ts";
import { recordAwsCalls } from "./aws-recorder.ts";
import { startAwsProcess } from "./scale-processes.ts";
import { percentile, timed } from "./timing.ts";

const REQUESTS = Number(process.env.BENCH_FORMS_REQUESTS ?? 200);
const CUSTOMERS = (process.env.BENCH_FORMS_CUSTOMERS ?? "1500,20000").split(",").map(Number);
const GLPI_MS = Number(process.env.BENCH_FORMS_GLPI_MS ?? 20);
/**
 * The bench's cap on concurrent GLPI calls: well above concurrency 10, so that no request is queued
 * for it (at a cap of exactly 10, ten takers racing for the slots one of them just gave back can leave
 * one without: it is queued, and its quick 202 would flatter the figures).
 */
const GLPI_CAP = 20;
/** Targets of issue 19, with a warm directory over 1,500 customers at concurrency 1. */
const CALLS_TARGET = 1.05;
const P50_MARGIN_MS = 15;

export interface FormsRow {
  customers: number;
  directory: "cold" | "warm";
  concurrency: number;
  requests: number;
  created: number;
  queued: number;
  callsPerTicket: number;
  p50: number;
  p99: number;
  floorP50: number;
  floorP99: number;
}

export interface DirectoryFigures {
  customers: number;
  entries: number;
  items: number;
  bytes: number;
  pages: number;
  refreshMs: number;
}

interface PhaseResult {
  rows: FormsRow[];
  directory?: DirectoryFigures;
  /** DynamoDB writes and reads per ticket, warm, concurrency 1 (five tickets profiled). */
  dynamo?: { writes: number; reads: number; commands: string };
}

/** A seeded PRNG (mulberry32): the same customers every run. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One phase, in this process: `customers` entities, a cold or warm directory, each concurrency. */
async function runPhase(
  customers: number,
  directory: "cold" | "warm",
  levels: number[],
): Promise<PhaseResult> {
  // DynamoDB and SQS in a process of their own, as they are apart from the functions deployed.
  const emulators = await startAwsProcess();
  const stack = await buildStack(
    { dynamo: emulators.dynamoEndpoint, sqs: emulators.sqsEndpoint },
    {
      jobs: { inlineBudgetMs: 3000, webhookAck: "queue" },
      configure: (config) => {
        const glpi = config.systems.glpi.main;
        if (glpi) Object.assign(glpi, { maxConcurrentCalls: GLPI_CAP });
      },
    },
  );
  try {
    const entities = customerEntities(customers);
    entities.forEach(stack.glpi.addEntity);
    stack.glpi.setLatency(GLPI_MS);
    const { handler } = await import("../../functions/glpi-forms/create-ticket.ts");
    const { glpiFormsDeps } = await import("../../lib/sync/glpi-forms/deps.ts");
    const deps = await glpiFormsDeps();
    const pick = random(customers + (directory === "warm" ? 1 : 2));
    const form = (cnpj: string) => ({
      nome_cliente: "Fulano de Tal",
      telefone_cliente: "5511987654321",
      cnpj_cliente: cnpj,
      anydesk_cliente: "123 456 789",
      descricao_problema: "Impressora não imprime",
    });
    let statuses: number[] = [];
    const send = (cnpj: string) => async () => {
      const result = await handler(
        httpEvent({
          method: "POST",
          path: "/glpi/tickets",
          body: form(cnpj),
          headers: {
            "content-type": "application/json",
            "x-deskbridge-token": SECRETS.FORMS_TOKEN,
            "idempotency-key": crypto.randomUUID(),
          },
        }),
      );
      statuses.push(result.statusCode ?? 0);
    };
    const customer = () => entities[Math.floor(pick() * entities.length)]?.cnpj ?? "";

    const result: PhaseResult = { rows: [] };
    if (directory === "warm") {
      const report = await deps.entities.refresh({ force: true });
      if (!report) throw new Error("the directory was not refreshed");
      result.directory = {
        customers,
        entries: report.entries,
        items: report.items,
        bytes: report.bytes,
        pages: report.pages,
        refreshMs: report.ms,
      };
    }
    // The session, the clients and the function's code warm; a cold directory stays cold: its
    // refresh job is dropped from the queue, never run.
    await send(entities[0]?.cnpj ?? "")();
    if (directory === "cold") {
      const { PurgeQueueCommand } = await import("@aws-sdk/client-sqs");
      await stack.sqs.send(new PurgeQueueCommand({ QueueUrl: stack.resources.jobsQueueUrl }));
    }

    if (directory === "warm") {
      const profiled = await recordAwsCalls(async () => {
        for (let i = 0; i < 5; i++) await send(customer())();
      });
      const dynamo = profiled.calls.filter((call) => call.service === "dynamodb");
      const writes = dynamo.filter((call) => /^(Put|Update|Delete)Item/.test(call.command));
      const counts = new Map<string, number>();
      for (const call of dynamo) counts.set(call.command, (counts.get(call.command) ?? 0) + 1);
      result.dynamo = {
        writes: writes.length / 5,
        reads: (dynamo.length - writes.length) / 5,
        commands: [...counts].map(([command, n]) => `${command.replace(/Command$/, "")} ${n / 5}`).join(", "),
      };
    }

    // The floor: a bare POST /Ticket with the same body GLPI gets, on its own session.
    const login = await fetch(`${stack.glpi.url}/initSession`, {
      headers: {
        "App-Token": SECRETS.GLPI_APP_TOKEN,
        Authorization: `user_token ${SECRETS.GLPI_USER_TOKEN}`,
      },
    });
    const { session_token: session } = (await login.json()) as { session_token: string };
    const input = stack.glpi.tickets.at(-1)?.input ?? {};
    const bare = async () => {
      const answer = await fetch(`${stack.glpi.url}/Ticket`, {
        method: "POST",
        headers: {
          "App-Token": SECRETS.GLPI_APP_TOKEN,
          "Session-Token": session,
          "Content-Type": "application/json",
        },
        body: JSON.stringify({ input }),
      });
      await answer.text();
    };

    for (const concurrency of levels) {
      statuses = [];
      const measured: number[] = [];
      const floored: number[] = [];
      let calls = 0;
      // In four rounds, route and floor alternating, so a slow moment falls on both alike.
      const perRound = Math.ceil(REQUESTS / 4);
      for (let round = 0, done = 0; done < REQUESTS; round++, done += perRound) {
        const count = Math.min(perRound, REQUESTS - done);
        const sends = Array.from({ length: count }, () => send(customer()));
        const floors = Array.from({ length: count }, () => bare);
        const route = async () => {
          const before = stack.glpi.calls.length;
          measured.push(...(await timed(sends, concurrency)));
          calls += stack.glpi.calls.length - before;
        };
        if (round % 2 === 0) {
          await route();
          floored.push(...(await timed(floors, concurrency)));
        } else {
          floored.push(...(await timed(floors, concurrency)));
          await route();
        }
      }
      measured.sort((a, b) => a - b);
      floored.sort((a, b) => a - b);
      result.rows.push({
        customers,
        directory,
        concurrency,
        requests: REQUESTS,
        created: statuses.filter((status) => status === 201).length,
        queued: statuses.filter((status) => status === 202).length,
        callsPerTicket: calls / REQUESTS,
        p50: percentile(measured, 50),
        p99: percentile(measured, 99),
        floorP50: percentile(floored, 50),
        floorP99: percentile(floored, 99),
      });
    }
    return result;
  } finally {
    await stack.close();
    await emulators.stop();
  }
}

/** Runs one phase in a process of its own (a fresh container's memory) and reads its figures. */
async function inChild(
  customers: number,
  directory: "cold" | "warm",
  levels: number[],
): Promise<PhaseResult> {
  const out = join(mkdtempSync(join(tmpdir(), "deskbridge-forms-")), "forms.json");
  const child = fork(fileURLToPath(import.meta.url), [out, String(customers), directory, levels.join(",")], {
    stdio: "inherit",
  });
  const code = await new Promise<number | null>((done) => child.once("exit", done));
  if (code !== 0) throw new Error(`the forms phase ${customers} ${directory} failed (exit ${code})`);
  return JSON.parse(readFileSync(out, "utf8")) as PhaseResult;
}

type Row = Record<string, string | number>;

/** A Markdown table without alignment, for a run of this file alone (run.ts passes its own). */
function plainTable(rows: Row[]): string {
  const heads = Object.keys(rows[0] ?? {});
  const cell = (value: string | number | undefined) =>
    typeof value === "number" && !Number.isInteger(value) ? value.toFixed(2) : String(value ?? "");
  return [heads, heads.map(() => "---"), ...rows.map((row) => heads.map((head) => cell(row[head])))]
    .map((line) => `| ${line.join(" | ")} |`)
    .join("\n");
}

/** Every phase, and the section of docs/performance.md it makes (`table` is run.ts's). */
export async function formsSection(table: (rows: Row[]) => string): Promise<string> {
  const results: PhaseResult[] = [];
  for (const customers of CUSTOMERS) {
    // A cold directory at each concurrency in a fresh process: what one level learns, the next would use.
    results.push(await inChild(customers, "cold", [1]));
    results.push(await inChild(customers, "cold", [10]));
    results.push(await inChild(customers, "warm", [1, 10]));
  }
  const rows: Row[] = results
    .flatMap((result) => result.rows)
    .map((row) => {
      const target = row.customers === 1500 && row.directory === "warm" && row.concurrency === 1;
      const met = row.callsPerTicket <= CALLS_TARGET && row.p50 - row.floorP50 <= P50_MARGIN_MS;
      return {
        customers: row.customers,
        directory: row.directory,
        concurrency: row.concurrency,
        requests: row.requests,
        "answered 201": row.created,
        "answered 202": row.queued,
        "GLPI calls per ticket": row.callsPerTicket,
        "p50 ms": row.p50,
        "p99 ms": row.p99,
        "floor p50": row.floorP50,
        "floor p99": row.floorP99,
        "p50 − floor": row.p50 - row.floorP50,
        [`≤ ${CALLS_TARGET} calls, ≤ +${P50_MARGIN_MS} ms`]: target ? (met ? "yes" : "**no**") : "",
      };
    });
  const directories: Row[] = results.flatMap((result) =>
    result.directory
      ? [
          {
            customers: result.directory.customers,
            "entries (the demo entities too)": result.directory.entries,
            "DynamoDB items": result.directory.items,
            "KB stored": result.directory.bytes / 1024,
            "GLPI pages": result.directory.pages,
            "refresh ms": result.directory.refreshMs,
          },
        ]
      : [],
  );
  const dynamo = results.find((result) => result.dynamo)?.dynamo;
  return [
    "## GLPI forms: customers drawn at random",
    "",
    `\`POST /glpi/tickets\` as users send it: each request from a customer drawn at random (with repeats, seeded) among N entities with a CNPJ (1,500 and 20,000, half stored formatted, half as digits), with an Idempotency-Key, ${REQUESTS} requests a row, the GLPI fake answering every call in ${GLPI_MS} ms. Cold: no entity directory shared nor in memory, and its refresh job never run (the worst case: a deployment's worker reads the map within seconds); a customer searched once is remembered. Warm: the directory read first by its job. Each row in a fresh process (a new container: the route's handler and the GLPI fake), its session warmed by one request, with dynalite and fauxqs in a second process. GLPI's cap (\`maxConcurrentCalls\`) is ${GLPI_CAP} here, so no request is queued for it. The floor: the same number of bare \`POST /Ticket\` calls with the same body to the same fake, at the same concurrency, alternating with the route's. Target (issue 19): warm, 1,500 customers, concurrency 1: ≤ ${CALLS_TARGET} GLPI calls per ticket and p50 within ${P50_MARGIN_MS} ms of the floor; cold, one extra call at most.`,
    "",
    table(rows),
    "",
    "The directory: one paged search (`range` 1,000 rows a page, `forcedisplay` of the CNPJ option and the id), stored in the links table as a head item and chunks of at most 8,000 entries; the refresh's time includes the GLPI calls at the fake's latency and the DynamoDB writes:",
    "",
    table(directories),
    "",
    dynamo
      ? `DynamoDB per ticket (warm, concurrency 1): ${dynamo.writes} writes, ${dynamo.reads} reads (${dynamo.commands}).`
      : "",
  ].join("\n");
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [out, customers, directory, levels] = process.argv.slice(2);
  const main = async () => {
    if (out && customers && (directory === "cold" || directory === "warm") && levels) {
      const result = await runPhase(Number(customers), directory, levels.split(",").map(Number));
      writeFileSync(out, JSON.stringify(result));
    } else {
      console.log(await formsSection(plainTable));
    }
  };
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error instanceof Error ? (error.stack ?? error.message) : error);
      process.exit(1);
    },
  );
}
