import { readdirSync, readFileSync } from "node:fs";
import { posix } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * The layers of the code import downwards only: lib/ is the bridge (it imports none of functions/,
 * infra/, test/); functions/ are the Lambdas over lib/ (they import neither infra/ nor test/, so no fake
 * or local tool ends up in a bundle); infra/ may use both but never test/ (`npm start`, the bench and the
 * tools run without the tests). The sandbox fakes live in infra/sandbox/ for that reason.
 *
 * A scan, not a parser: it reads each file's static imports and re-exports (`import … from "…"`,
 * `export … from "…"`, `import "…"`), its dynamic `import("…")` (of a template literal, the part before
 * the first `${`), `require("…")`, and files it names with `new URL("…", import.meta.url)`, and
 * resolves the relative ones. A dynamic import of a computed value is not seen.
 */

const FORBIDDEN: Record<string, readonly string[]> = {
  lib: ["infra", "test", "functions"],
  functions: ["infra", "test"],
  infra: ["test"],
};
const SCANNED = /\.(ts|mts|mjs|js)$/;

interface Violation {
  file: string;
  specifier: string;
  resolved: string;
}

/** Comments that open a line (`//` or a block), so that an example in a doc comment is no import. */
function withoutComments(source: string): string {
  return source.replace(/^\s*\/\*[\s\S]*?\*\//gm, "").replace(/^\s*\/\/.*$/gm, "");
}

/** Every module (or file) a source names, as written. */
function specifiersOf(source: string): string[] {
  const code = withoutComments(source);
  const patterns = [
    // import x from "…", import type { a, b as c } from "…", import * as x from "…", export { a } from "…"
    /^\s*(?:import|export)\s+(?:type\s+)?[\w$*{}\s,]*?\bfrom\s*["']([^"'\n]+)["']/gm,
    // import "…" (side effects only)
    /^\s*import\s*["']([^"'\n]+)["']/gm,
    // import("…"), import(`…${x}…`), require("…")
    /\b(?:import|require)\s*\(\s*["'`]([^"'`$\n]+)/g,
    // new URL("…", import.meta.url)
    /\bnew\s+URL\(\s*["'`]([^"'`$\n]+)["'`]\s*,\s*import\.meta\.url/g,
  ];
  return patterns.flatMap((pattern) => [...code.matchAll(pattern)].map((match) => match[1] ?? ""));
}

/** The imports of `file` (a path from the repository's root) that cross a layer boundary the wrong way. */
function violationsOf(file: string, source: string): Violation[] {
  const layer = file.split("/")[0] ?? "";
  const forbidden = FORBIDDEN[layer] ?? [];
  return specifiersOf(source)
    .filter((specifier) => specifier.startsWith("."))
    .map((specifier) => ({
      file,
      specifier,
      resolved: posix.normalize(posix.join(posix.dirname(file), specifier)),
    }))
    .filter(({ resolved }) => forbidden.some((top) => resolved === top || resolved.startsWith(`${top}/`)));
}

function filesUnder(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true, recursive: true })
    .filter(
      (entry) => entry.isFile() && SCANNED.test(entry.name) && !entry.parentPath.includes("node_modules"),
    )
    .map((entry) => posix.join(entry.parentPath, entry.name));
}

describe("the import scanner", () => {
  const sample = [
    'import { a } from "../../infra/local/x.ts";',
    "import type {",
    "  B,",
    "  C as D,",
    '} from "../../test/helpers/stack.ts";',
    'import * as e from "../jobs/runtime.ts";',
    'export { f } from "../../functions/worker.ts";',
    'export * from "./sibling.ts";',
    'import "../../test/setup.ts";',
    'import { join } from "node:path";',
    'const g = await import("../../infra/sandbox/glpi.ts");',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the source of a template literal, as the scan reads it
    "const h = await import(`../../functions/itop/${name}.ts`);",
    'const i = require("../../test/fixtures/glpi/form.json");',
    'const j = new URL("../../test/fixtures/otrs/ticket.json", import.meta.url);',
    '// import { k } from "../../test/commented-out.ts";',
    "/**",
    ' * await import("../../test/in-a-doc-comment.ts")',
    " */",
    'const text = "these are taken from the config";',
  ].join("\n");

  it("names each import that crosses a boundary the wrong way, with the path it resolves to", () => {
    expect(violationsOf("lib/core/sample.ts", sample)).toEqual([
      {
        file: "lib/core/sample.ts",
        specifier: "../../infra/local/x.ts",
        resolved: "infra/local/x.ts",
      },
      {
        file: "lib/core/sample.ts",
        specifier: "../../test/helpers/stack.ts",
        resolved: "test/helpers/stack.ts",
      },
      {
        file: "lib/core/sample.ts",
        specifier: "../../functions/worker.ts",
        resolved: "functions/worker.ts",
      },
      { file: "lib/core/sample.ts", specifier: "../../test/setup.ts", resolved: "test/setup.ts" },
      {
        file: "lib/core/sample.ts",
        specifier: "../../infra/sandbox/glpi.ts",
        resolved: "infra/sandbox/glpi.ts",
      },
      {
        file: "lib/core/sample.ts",
        specifier: "../../functions/itop/",
        resolved: "functions/itop/",
      },
      {
        file: "lib/core/sample.ts",
        specifier: "../../test/fixtures/glpi/form.json",
        resolved: "test/fixtures/glpi/form.json",
      },
      {
        file: "lib/core/sample.ts",
        specifier: "../../test/fixtures/otrs/ticket.json",
        resolved: "test/fixtures/otrs/ticket.json",
      },
    ]);
  });

  it("applies each layer's own rule: infra/ may import functions/ and lib/, but not test/", () => {
    expect(violationsOf("infra/bench/sample.ts", sample).map((v) => v.resolved)).toEqual([
      "test/helpers/stack.ts",
      "test/setup.ts",
      "test/fixtures/glpi/form.json",
      "test/fixtures/otrs/ticket.json",
    ]);
    expect(violationsOf("functions/glpi/sample.ts", sample).map((v) => v.resolved)).toEqual([
      "infra/local/x.ts",
      "test/helpers/stack.ts",
      "test/setup.ts",
      "infra/sandbox/glpi.ts",
      "test/fixtures/glpi/form.json",
      "test/fixtures/otrs/ticket.json",
    ]);
    expect(violationsOf("test/unit/sample.ts", sample)).toEqual([]);
  });

  it("resolves a path by where it lands, not by how it is spelled", () => {
    // lib/ reaching infra/ through a detour, and a folder named like a layer deeper down (not a layer).
    const source = [
      'import { a } from "../../lib/../infra/x.ts";',
      'import { b } from "./test/y.ts";',
      'import { c } from "../infra-like/z.ts";',
    ].join("\n");
    expect(violationsOf("lib/core/sample.ts", source).map((v) => v.resolved)).toEqual(["infra/x.ts"]);
  });
});

describe("the layers of the code", () => {
  const files = ["lib", "functions", "infra"].flatMap(filesUnder);

  it("scans the code of every layer, and reads its imports", () => {
    for (const expected of [
      "lib/core/http.ts",
      "functions/worker.ts",
      "infra/local/start.ts",
      "infra/cli/bin.mjs",
    ])
      expect(files).toContain(expected);
    expect(specifiersOf(readFileSync("infra/local/sandbox.ts", "utf8"))).toContain("../sandbox/glpi.ts");
    expect(specifiersOf(readFileSync("infra/cli/bin.mjs", "utf8"))).toContain("./main.ts");
  });

  it("has lib/ import no infra/, test/ or functions/; functions/ no infra/ or test/; infra/ no test/", () => {
    const violations = files.flatMap((file) => violationsOf(file, readFileSync(file, "utf8")));
    expect(violations.map((v) => `${v.file} imports "${v.specifier}" (${v.resolved})`)).toEqual([]);
  });
});
