import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * The layers of lib/, lowest first. A file may import its own layer and any lower one, never a higher
 * one nor a peer of the same rank (links and systems know nothing of each other):
 *
 *   core < boards < links, systems < jobs < sync < ops < functions/
 *
 * Inside systems/ and sync/, one system's or one integration's folder does not import another's
 * (the shared files beside them, lib/systems/http.ts and lib/sync/integration.ts, are for all).
 */
const RANKS: Record<string, number> = {
  core: 0,
  boards: 1,
  links: 2,
  systems: 2,
  jobs: 3,
  sync: 4,
  ops: 5,
  functions: 6,
};
/** Layers whose sub-folders are modules of their own: systems/<system>/, sync/<integration>/. */
const MODULAR = new Set(["systems", "sync"]);

/** `import … from "x"`, `export … from "x"`, `import "x"` and `import("x")`: every specifier in a source. */
function importSpecifiers(source: string): string[] {
  const pattern = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)(["'])([^"'\n]+)\1/gm;
  return [...source.matchAll(pattern)].map((match) => match[2] ?? "");
}

/** Where a path inside the repo sits: its layer and, in a modular layer, its module folder. */
function placeOf(path: string): { layer: string; module?: string } | undefined {
  const parts = path.split("/");
  if (parts[0] === "functions") return { layer: "functions" };
  if (parts[0] !== "lib" || parts.length < 3) return undefined;
  const layer = parts[1] ?? "";
  const module = MODULAR.has(layer) && parts.length > 3 ? parts[2] : undefined;
  return module ? { layer, module } : { layer };
}

/** The imports of one file (a repo-relative path) that break the layer order, as "file → import: why". */
function layerViolations(file: string, source: string): string[] {
  const from = placeOf(file);
  if (!from) return [];
  const fromRank = RANKS[from.layer];
  if (fromRank === undefined) return [`${file}: lib/${from.layer} is in no layer (add it to RANKS)`];
  const problems: string[] = [];
  for (const specifier of importSpecifiers(source)) {
    if (!specifier.startsWith(".")) continue;
    const target = normalize(join(dirname(file), specifier)).replaceAll("\\", "/");
    const to = placeOf(target);
    if (!to) continue;
    const toRank = RANKS[to.layer];
    const where = `${file} → ${specifier}`;
    if (toRank === undefined) problems.push(`${where}: lib/${to.layer} is in no layer`);
    else if (to.layer === from.layer) {
      if (from.module && to.module && from.module !== to.module)
        problems.push(`${where}: ${from.layer}/${from.module} imports ${to.layer}/${to.module}`);
    } else if (toRank >= fromRank)
      problems.push(`${where}: ${from.layer} (rank ${fromRank}) imports ${to.layer} (rank ${toRank})`);
  }
  return problems;
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return tsFiles(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

describe("the layers of lib/", () => {
  it("has no import from a lower layer to a higher one, nor between peers or sibling modules", () => {
    const files = tsFiles("lib");
    expect(files.length).toBeGreaterThan(50);
    const problems = files.flatMap((file) => layerViolations(file, readFileSync(file, "utf8")));
    expect(problems).toEqual([]);
  });

  it("names every layer it finds under lib/", () => {
    const layers = readdirSync("lib", { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name);
    expect(layers.filter((layer) => RANKS[layer] === undefined)).toEqual([]);
  });
});

describe("the layer scanner", () => {
  const sample = [
    'import { JobStats } from "../ops/stats.ts";',
    "import type {",
    "  LinkStore,",
    '} from "../links/store.ts";',
    'export { Worker } from "./worker.ts";',
    'import "../sync/side-effect.ts";',
    'const { handler } = await import("../../functions/worker.ts");',
    'import * as v from "valibot";',
  ].join("\n");

  it("finds static, type-only, re-exported, side-effect and dynamic imports", () => {
    expect(importSpecifiers(sample)).toEqual([
      "../ops/stats.ts",
      "../links/store.ts",
      "./worker.ts",
      "../sync/side-effect.ts",
      "../../functions/worker.ts",
      "valibot",
    ]);
  });

  it("names the file and each import that points up, and lets the ones that point down pass", () => {
    expect(layerViolations("lib/jobs/runner.ts", sample)).toEqual([
      "lib/jobs/runner.ts → ../ops/stats.ts: jobs (rank 3) imports ops (rank 5)",
      "lib/jobs/runner.ts → ../sync/side-effect.ts: jobs (rank 3) imports sync (rank 4)",
      "lib/jobs/runner.ts → ../../functions/worker.ts: jobs (rank 3) imports functions (rank 6)",
    ]);
  });

  it("rejects imports between peers and between sibling modules, not shared files", () => {
    expect(layerViolations("lib/systems/rt/client.ts", 'import { x } from "../../links/store.ts";')).toEqual([
      "lib/systems/rt/client.ts → ../../links/store.ts: systems (rank 2) imports links (rank 2)",
    ]);
    expect(
      layerViolations(
        "lib/sync/rt-kanban/deps.ts",
        'import { a } from "../otrs-redmine/deps.ts";\nimport { b } from "../integration.ts";',
      ),
    ).toEqual([
      "lib/sync/rt-kanban/deps.ts → ../otrs-redmine/deps.ts: sync/rt-kanban imports sync/otrs-redmine",
    ]);
  });
});
