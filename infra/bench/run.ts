/**
 * `npm run bench`: every performance figure of deskbridge against its floor, measured in this run on
 * this machine, printed as tables and written to docs/performance.md.
 *   BENCH_REQUESTS (100)   events a route and concurrency level, for ack latency
 *   BENCH_JOBS (300)       jobs a batch size, for worker throughput
 *   BENCH_COLD_RUNS (15)   fresh processes a function, for cold start
 *   BENCH_SCALE_TICKETS (5000)  RT tickets the scale run's backfill projects (scale.ts: its other knobs)
 *   BENCH_FORMS_REQUESTS (200)  GLPI form requests a row of the forms run (glpi-forms.ts: its other knobs)
 *   BENCH_SKIP=cold        skip a part (cold, latency, throughput, scale, forms; comma-separated): the page
 *                          keeps that part's sections from its last run
 * It starts its own emulators and system fakes on 127.0.0.1; nothing reaches further.
 */
import "./quiet.ts";
import { fork } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, platform, release, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startEmulators } from "../local/emulators.ts";
import { buildStack } from "../sandbox/stack.ts";
import { type CostRow, costPerMillion, PRICES } from "./cost.ts";
import { UPSTREAM_FLOORS } from "./floors.ts";
import { type EventProfile, type LatencyRow, measureLatency } from "./latency.ts";
import { benchRoutes } from "./routes.ts";
import type { ScaleResult } from "./scale.ts";
import { type HotSpot, measureThroughput, type ThroughputRow } from "./throughput.ts";

const skip = new Set((process.env.BENCH_SKIP ?? "").split(",").filter(Boolean));
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 100);
const JOBS = Number(process.env.BENCH_JOBS ?? 300);
const COLD_TARGET = 1.15;
const LATENCY_TARGET = 1.3;
const SCALE_TARGET = 1.2;

type Row = Record<string, string | number>;

/** A Markdown table (also what is printed). */
function table(rows: Row[]): string {
  const [first] = rows;
  if (!first) return "(no rows)\n";
  const heads = Object.keys(first);
  const cell = (value: string | number | undefined) =>
    typeof value === "number"
      ? Number.isInteger(value)
        ? String(value)
        : value.toFixed(2)
      : String(value ?? "");
  const numeric = heads.map((head) => rows.every((row) => typeof row[head] === "number"));
  return [
    `| ${heads.join(" | ")} |`,
    `| ${heads.map((_, i) => (numeric[i] ? "---:" : "---")).join(" | ")} |`,
    ...rows.map((row) => `| ${heads.map((head) => cell(row[head])).join(" | ")} |`),
  ].join("\n");
}

const verdict = (ratio: number, target: number) => (ratio <= target ? "yes" : "**no**");

/** The headings of the sections each part writes. */
const PART_SECTIONS: Record<string, string[]> = {
  cold: ["Cold start"],
  latency: ["Ack latency", "Upstream calls per synced event", "Cost per million events"],
  throughput: ["Worker throughput"],
  scale: ["Scale: a backfill beside live traffic"],
  forms: ["GLPI forms: customers drawn at random"],
};

/** A skipped part's sections as the page has them now (so a partial run refreshes only its parts). */
function keptSections(part: string): string[] {
  let page = "";
  try {
    page = readFileSync("docs/performance.md", "utf8");
  } catch {
    return [];
  }
  const sections = page.split(/^(?=## )/m).map((section) => section.trim());
  return (PART_SECTIONS[part] ?? []).flatMap((heading) =>
    sections.filter((section) => section.startsWith(`## ${heading}\n`)),
  );
}

async function main(): Promise<void> {
  const started = new Date();
  const sections: string[] = [];

  if (skip.has("cold")) sections.push(...keptSections("cold"));
  else {
    const { measureColdStart } = await import("./cold-start.ts");
    const rows = await measureColdStart({ runs: Number(process.env.BENCH_COLD_RUNS ?? 15) });
    const shown: Row[] = rows.map((row) => ({
      function: row.name,
      "bundle KB": row.bundleBytes / 1024,
      "floor KB": row.floorBytes / 1024,
      "import ms": row.importMs,
      "floor ms": row.floorImportMs,
      "cold request ms": row.coldRequestMs,
      "floor cold ms": row.floorColdRequestMs,
      ratio: row.coldRequestRatio,
      [`≤ ${COLD_TARGET}`]: verdict(row.coldRequestRatio, COLD_TARGET),
      adapters: row.adapters.join(", ") || "none",
      unexpected: row.unexpected.join(", ") || "none",
    }));
    sections.push(
      `## Cold start\n\nPer function: the bundle as serverless-esbuild builds it, and a fresh Node process importing it and answering one request that needs no network (an HTTP route's answer without credentials, once its config and secrets are read: it builds its AWS clients only on its first authenticated request, so a route's ratio is the lenient one; a worker's answer to a batch of no records, after a cold start that built its config, DynamoDB client and stores), against its floor: a bundle that only creates the AWS SDK clients its IAM role allows, and answers at once. No function runs with Node's \`--enable-source-maps\`: a trace is mapped when it is first written (lib/core/stack-traces.ts). Medians of ${process.env.BENCH_COLD_RUNS ?? 15} runs each; each run times the function between two runs of its floor, and its ratio is to their mean (a machine that speeds up or slows down over the three cancels out). Target: the cold-request ratio ≤ ${COLD_TARGET}; no adapter or SDK client a function does not use.\n\n${table(shown)}`,
    );
    console.log(`\nCold start\n${table(shown)}`);
  }

  const emulators = await startEmulators({ dynamo: 0, sqs: 0 });
  const stack = await buildStack(
    { dynamo: emulators.dynamoEndpoint, sqs: emulators.sqsEndpoint },
    // The defaults of a deployment: webhooks answered from the queue, forms and livechat inline.
    { jobs: { inlineBudgetMs: 3000, webhookAck: "queue" } },
  );
  try {
    let profiles: EventProfile[] = [];
    if (skip.has("latency")) sections.push(...keptSections("latency"));
    else {
      const routes = await benchRoutes(stack);
      const measured = await measureLatency(stack, routes, {
        concurrency: [1, 10, 50],
        requests: REQUESTS,
        warmup: 5,
      });
      profiles = measured.profiles;
      const latency: Row[] = measured.rows.map((row: LatencyRow) => ({
        route: row.route,
        concurrency: row.concurrency,
        "p50 ms": row.p50,
        "p99 ms": row.p99,
        "floor p50": row.floorP50,
        "floor p99": row.floorP99,
        "p99 ratio": row.ratio,
        ...(row.concurrency === 10
          ? { [`≤ ${LATENCY_TARGET}`]: verdict(row.ratio, LATENCY_TARGET) }
          : { [`≤ ${LATENCY_TARGET}`]: "" }),
      }));
      sections.push(
        `## Ack latency\n\nEach webhook route's handler (what API Gateway waits for), ${REQUESTS} fresh events a concurrency level, with the defaults of a deployment (\`jobs.webhookAck: "queue"\`: a webhook's job is queued and the sender answered; the forms and livechat routes, whose answer is the sync's result, work inline), against the local emulators and the fakes (which answer at once, in this process). Its floor: the same DynamoDB and SQS calls the route makes, one after another, and nothing else; for an inline route also the same HTTP requests to the helpdesk, sent again bare with fetch. GLPI forms here come from one customer, always the same (a sandbox entity, CNPJ 11.222.333/0001-81): after a container's first request its entity is in the directory; the customer mix users send is measured apart (GLPI forms, below). Target: p99 ≤ ${LATENCY_TARGET}× the floor at concurrency 10.\n\n${table(latency)}`,
      );
      console.log(`\nAck latency\n${table(latency)}`);

      const calls: Row[] = profiles.map((profile) => {
        const measuredCalls = Object.values(profile.upstream).reduce((a, b) => a + b, 0);
        const floor = UPSTREAM_FLOORS[profile.route];
        return {
          route: profile.route,
          "calls by system":
            Object.entries(profile.upstream)
              .map(([system, n]) => `${system} ${n}`)
              .join(", ") || "none",
          calls: measuredCalls,
          floor: floor?.calls ?? 0,
          ratio: floor ? measuredCalls / floor.calls : 0,
          "the floor is": floor?.why ?? "",
        };
      });
      sections.push(
        `## Upstream calls per synced event\n\nCalls each event makes to the external systems (the route's, and the worker's for a queued job), counted by the fakes, with warm caches (sessions, board columns; the GLPI form's customer in the entity directory, one customer for every request), against the fewest the sync needs.\n\n${table(calls)}`,
      );
      console.log(`\nUpstream calls per synced event\n${table(calls)}`);

      const costs: CostRow[] = profiles.map(costPerMillion);
      const costRows: Row[] = costs.map((cost) => ({
        route: cost.route,
        "Lambda $": cost.lambda,
        "API Gateway $": cost.apiGateway,
        "DynamoDB $": cost.dynamo,
        "SQS $": cost.sqs,
        "total $ per 1M events": cost.total,
        "one event": cost.basis,
      }));
      sections.push(
        `## Cost per million events\n\nAt AWS list prices (us-east-1, on-demand, no free tier): Lambda arm64 $${(PRICES.lambdaRequest * 1e6).toFixed(2)} per million requests and $${PRICES.lambdaGbSecondArm} per GB-s at 256 MB; API Gateway HTTP API $${(PRICES.httpApiRequest * 1e6).toFixed(2)} per million; DynamoDB on-demand $${(PRICES.dynamoWriteUnit * 1e6).toFixed(3)} per million write units and $${(PRICES.dynamoReadUnit * 1e6).toFixed(3)} per million read units; SQS $${(PRICES.sqsRequest * 1e6).toFixed(2)} per million requests. One event = one HTTP API request and one invocation billed at its measured duration, with its DynamoDB and SQS calls; a queued event adds the worker's share (one invocation at the job's duration, as a batch of one, its DynamoDB calls, and the event source's receive and delete). Durations are against local fakes: a real helpdesk's latency adds Lambda time to whichever function calls it.\n\n${table(costRows)}`,
      );
      console.log(`\nCost per million events\n${table(costRows)}`);
    }

    if (skip.has("throughput")) sections.push(...keptSections("throughput"));
    else {
      const { rows, hotSpots, areas } = await measureThroughput(stack, {
        jobs: JOBS,
        batchSizes: [1, 5, 10],
      });
      const areaRows: Row[] = areas.map((area) => ({
        area: area.area,
        "self ms": area.selfMs,
        share: `${(area.share * 100).toFixed(1)}%`,
      }));
      const shown: Row[] = rows.map((row: ThroughputRow) => ({
        "batch size": row.batchSize,
        jobs: row.jobs,
        seconds: row.seconds,
        "jobs/s": row.jobsPerSecond,
      }));
      const spots: Row[] = hotSpots.map((spot: HotSpot) => ({
        function: spot.fn,
        where: spot.where,
        "self ms": spot.selfMs,
        share: `${(spot.share * 100).toFixed(1)}%`,
      }));
      sections.push(
        `## Worker throughput\n\n${JOBS} RT ticket jobs (read the ticket, search the board, create the card, write its id back) drained from the jobs queue by the worker in this process, the fakes answering at once, by batch size (messages a Lambda invocation).\n\n${table(shown)}\n\nWhere the time goes (CPU profile of the last drain; the fakes and the emulators run in this process too), by area:\n\n${table(areaRows)}\n\nand the top functions by self time:\n\n${table(spots)}`,
      );
      console.log(
        `\nWorker throughput\n${table(shown)}\n\nBy area\n${table(areaRows)}\n\nHot spots\n${table(spots)}`,
      );
    }
  } finally {
    await stack.close();
    await emulators.stop();
  }

  if (skip.has("scale")) sections.push(...keptSections("scale"));
  else {
    const section = scaleSection(await runScale());
    sections.push(section);
    console.log(`\n${section}`);
  }

  if (skip.has("forms")) sections.push(...keptSections("forms"));
  else {
    const { formsSection } = await import("./glpi-forms.ts");
    const section = await formsSection(table);
    sections.push(section);
    console.log(`\n${section}`);
  }

  const cpu = cpus()[0]?.model ?? "unknown CPU";
  const machine = `${cpus().length} × ${cpu}, ${Math.round(totalmem() / 2 ** 30)} GiB, ${platform()} ${release()}, Node ${process.version}`;
  const changes = readFileSync(new URL("./changes.md", import.meta.url), "utf8");
  const skipped = Object.keys(PART_SECTIONS).filter((part) => skip.has(part));
  const kept = skipped.length
    ? ` The parts skipped in that run (${skipped.join(", ")}) are as an earlier run wrote them.`
    : "";
  const doc = `# Performance\n\nWritten by \`npm run bench\` (infra/bench/run.ts) on ${started.toISOString().slice(0, 10)}, on ${machine}. Every figure is measured in the same run as its floor, so the ratios hold across machines even where the milliseconds do not. Rerun it to refresh this page.${kept}\n\n${sections.join("\n\n")}\n\n${changes.trim()}\n`;
  writeFileSync("docs/performance.md", doc);
  console.log("\nWrote docs/performance.md");
}

/** The scale run, in a process of its own (scale.ts says why); its figures come back as JSON. */
async function runScale(): Promise<ScaleResult> {
  const out = join(mkdtempSync(join(tmpdir(), "deskbridge-scale-")), "scale.json");
  const child = fork(fileURLToPath(new URL("./scale.ts", import.meta.url)), [out], { stdio: "inherit" });
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  if (code !== 0) throw new Error(`the scale run failed (exit ${code})`);
  return JSON.parse(readFileSync(out, "utf8")) as ScaleResult;
}

function scaleSection(result: ScaleResult): string {
  const { options: o, backfill } = result;
  const rows: Row[] = result.rows.map((row) => ({
    flow: row.flow,
    phase: row.phase,
    events: row.events,
    "answered 201": row.inline,
    "answered 202": row.queued,
    "waits for a slot": row.waits,
    "not done": row.notDone,
    "p50 ms": row.p50,
    "p99 ms": row.p99,
    "max ms": row.max,
  }));
  const flows = [...new Set(result.rows.map((row) => row.flow))];
  const ratios: Row[] = flows.map((flow) => {
    const without = result.rows.find((row) => row.flow === flow && row.phase === "without backfill");
    const during = result.rows.find((row) => row.flow === flow && row.phase === "with backfill");
    const ratio = without && during && without.p99 > 0 ? during.p99 / without.p99 : Number.NaN;
    return {
      flow,
      "p99 without ms": without?.p99 ?? 0,
      "p99 with ms": during?.p99 ?? 0,
      ratio,
      [`≤ ${SCALE_TARGET}`]:
        (during?.notDone ?? 1) > 0 || (without?.notDone ?? 1) > 0
          ? "**no** (events not synced)"
          : verdict(ratio, SCALE_TARGET),
    };
  });
  const load: Row[] = result.load.map((phase) => ({
    phase: phase.phase,
    seconds: phase.seconds,
    "functions' process, cores": phase.processCores,
    "machine busy": `${(phase.machineBusy * 100).toFixed(0)}%`,
    "event loop delay p99 ms": phase.loopDelayP99,
  }));
  const caps: Row[] = result.inFlight.map((fake) => ({
    system: fake.system,
    "most calls in flight": fake.max,
    cap: fake.cap,
    "≤ cap": fake.max <= fake.cap ? "yes" : "**NO: over the cap**",
  }));
  const over = result.inFlight.filter((fake) => fake.max > fake.cap);
  const where =
    o.processes === "split"
      ? `three processes: this one runs the functions (the routes' handlers and the two integrations' workers, over their own queues through the local SQS event source) and the GLPI, OTRS and Redmine fakes; dynalite and fauxqs run in a second (DynamoDB and SQS); the backfill runs in a third with the RT and Kanboard fakes it calls, at nice ${o.backfillNice}: it stands for machines apart from the functions' (the operator's and the helpdesks'), so on a machine short of cores it gets the CPU the functions leave rather than taking a Lambda's, as it never could deployed`
      : "one process: the functions, their workers, the backfill, the emulators and every fake share its one thread, so the figures measure that thread's queueing as much as the bridge";
  return [
    "## Scale: a backfill beside live traffic",
    "",
    `The RT backfill (\`npx deskbridge backfill rt-kanban\`, \`backfillBoard\`: it runs each ticket's job in place, holding RT's and Kanboard's slots, ${o.backfillConcurrency} at a time, the CLI's default) projects ${o.tickets.toLocaleString("en")} open RT tickets onto an empty board, while GLPI forms (\`POST /glpi/tickets\`, inline: the answer is the ticket; one customer, always the same) arrive at ${o.glpiPerSecond} a second and OTRS events (\`POST /otrs/ticket-events\`, answered 202 once queued, synced by the otrs-redmine worker) at ${o.otrsPerSecond} a second, open loop (each sent at its time, answered or not), interleaved. The same arrivals run first for ${o.baselineSeconds} s without the backfill, then for as long as the backfill runs, on the same stack: a deployment's defaults (\`jobs.webhookAck: "queue"\`, \`inlineBudgetMs\` 3000), a queue per integration, each integration's worker taking batches of ${o.batchSize} with at most ${o.workerConcurrency} batches at once (\`maximumConcurrency\`), and every system capped at its \`maxConcurrentCalls\` (4); every fake takes ${o.callMs} ms to answer each call, as a helpdesk takes some time (it is what makes calls overlap, so that the caps bind). An event's sync latency runs from the route's call to its sync done in the target: a form's 201 answer (the GLPI ticket is created), or the \`updatedAt\` of its job's record when the worker recorded it done (the Redmine issue created, its id written back to OTRS, the link saved). "Waits for a slot" counts the jobs the flow's functions put back on its queue with a delay: a system at its cap (1–3 s), or another job's lease (3–6 s). Target: p99 with the backfill ≤ ${SCALE_TARGET}× p99 without, for each flow; and no fake ever sees more calls in flight than its system's cap. The run uses ${where}.`,
    "",
    table(rows),
    "",
    table(ratios),
    "",
    `The backfill: ${backfill.tickets} tickets, ${backfill.created} cards created, ${backfill.failed} failed, in ${backfill.seconds.toFixed(1)} s (${backfill.ticketsPerSecond.toFixed(1)} tickets/s). What each phase cost the machine (${cpus().length} cores, shared with whatever else runs on it):`,
    "",
    table(load),
    "",
    over.length > 0
      ? `**Cap missed**: ${over.map((fake) => `${fake.system} had ${fake.max} calls in flight (cap ${fake.cap})`).join("; ")}.`
      : "Most calls each fake had in flight at once, over both phases (the RT and Kanboard fakes: the backfill's):",
    "",
    table(caps),
  ].join("\n");
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
