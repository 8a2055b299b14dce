/**
 * `npm run test:soak-seeds`: the soak under many seeds, to show that it passes under seeds it was never
 * tuned with. Each run is the real soak test (its own `npm start` stack, emulators and fakes) with
 * SOAK_SEED set; its figures go to .local/reliability/soak-seeds/seed-<n>.json, and a table of all runs
 * is printed (Markdown, as docs/reliability.md shows it) and written to .local/reliability/soak-seeds.md.
 *
 *   SOAK_SEEDS=101-120 SOAK_PARALLEL=2 npm run test:soak-seeds        (the defaults)
 *   SOAK_SEEDS=7,11,13 SOAK_EVENTS=1000 npm run test:soak-seeds
 *
 * Exits 1 when any run failed.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as v from "valibot";

const OUT = ".local/reliability/soak-seeds";

const FiguresSchema = v.object({
  events: v.number(),
  seed: v.number(),
  faultsInjected: v.number(),
  converged: v.number(),
  deadLettered: v.number(),
  lost: v.number(),
  duplicated: v.number(),
  notificationsReposted: v.number(),
  /** Posts through the bot user of a message id Rocket.Chat already had (absent from older figures). */
  botReposts: v.optional(v.number(), 0),
  notificationExtraPosts: v.number(),
  lostAnswersToRocketChat: v.number(),
  replayed: v.number(),
  exactlyOnceAfterReplay: v.number(),
  notExactlyOnce: v.array(v.object({ kind: v.string(), handle: v.string(), after: v.number() })),
  drainSeconds: v.number(),
});

/** `101-120` or `7,11,13` (or both: `1-3,9`). */
export function parseSeeds(text: string): number[] {
  return text.split(",").flatMap((part) => {
    const [from, to] = part.trim().split("-").map(Number);
    if (from === undefined || !Number.isInteger(from)) throw new Error(`not a seed: ${part}`);
    if (to === undefined) return [from];
    if (!Number.isInteger(to) || to < from) throw new Error(`not a seed range: ${part}`);
    return Array.from({ length: to - from + 1 }, (_, i) => from + i);
  });
}

interface Run {
  seed: number;
  code: number;
  seconds: number;
  figures?: v.InferOutput<typeof FiguresSchema>;
}

function runSoak(seed: number): Promise<Run> {
  const report = `${OUT}/seed-${seed}.json`;
  rmSync(report, { force: true });
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ["node_modules/vitest/vitest.mjs", "run", "--project", "reliability", "test/reliability/soak.test.ts"],
      {
        env: { ...process.env, SOAK_SEED: String(seed), SOAK_REPORT: report },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let log = "";
    child.stdout.on("data", (chunk: Buffer) => {
      log += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      log += chunk.toString();
    });
    child.on("close", (code) => {
      writeFileSync(`${OUT}/seed-${seed}.log`, log);
      const figures = existsSync(report)
        ? v.parse(FiguresSchema, JSON.parse(readFileSync(report, "utf8")))
        : undefined;
      resolve({ seed, code: code ?? 1, seconds: Math.round((Date.now() - started) / 1000), figures });
    });
  });
}

function table(runs: Run[]): string {
  const rows = runs.map(({ seed, code, figures: f }) =>
    f
      ? `| ${seed} | ${code === 0 ? "pass" : "**fail**"} | ${f.faultsInjected} | ${f.converged} | ${f.deadLettered} | ${f.lost} | ${f.duplicated} | ${f.replayed} | ${f.exactlyOnceAfterReplay} | ${f.botReposts} | ${f.notificationsReposted} (${f.notificationExtraPosts} ≤ ${f.lostAnswersToRocketChat}) | ${f.notExactlyOnce.map((e) => `${e.kind} ${e.handle}: ${e.after}`).join("; ") || "none"} | ${f.drainSeconds} |`
      : `| ${seed} | **fail** (no figures: see ${OUT}/seed-${seed}.log) | | | | | | | | | | | |`,
  );
  return [
    "| seed | result | faults injected | converged | dead-lettered | lost | duplicated | replayed | exactly once after replay | bot notifications re-posted | webhook notifications re-posted (extra posts ≤ lost answers) | not exactly once | drain s |",
    "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: |",
    ...rows,
  ].join("\n");
}

async function main(): Promise<void> {
  const seeds = parseSeeds(process.env.SOAK_SEEDS ?? "101-120");
  const parallel = Math.max(1, Number(process.env.SOAK_PARALLEL ?? 2));
  mkdirSync(OUT, { recursive: true });
  const pending = [...seeds];
  const runs: Run[] = [];
  await Promise.all(
    Array.from({ length: Math.min(parallel, seeds.length) }, async () => {
      for (let seed = pending.shift(); seed !== undefined; seed = pending.shift()) {
        const run = await runSoak(seed);
        runs.push(run);
        console.log(`seed ${seed}: ${run.code === 0 ? "pass" : "FAIL"} in ${run.seconds}s`);
      }
    }),
  );
  runs.sort((a, b) => a.seed - b.seed);
  const failed = runs.filter((run) => run.code !== 0).length;
  const summary = `${table(runs)}\n\n${runs.length - failed} of ${runs.length} runs passed (${process.env.SOAK_EVENTS ?? 150} events each).\n`;
  writeFileSync(".local/reliability/soak-seeds.md", summary);
  console.log(`\n${summary}`);
  process.exitCode = failed === 0 ? 0 : 1;
}

await main();
