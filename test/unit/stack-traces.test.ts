import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { build } from "esbuild";
import { afterAll, beforeEach, describe, expect, it } from "vitest";

/**
 * Stack traces of a bundled function (lib/core/stack-traces.ts): mapped to the source through the
 * bundle's map, read when a trace is first written, not at import. Each case runs a bundle built as
 * serverless.yml builds the functions (minified, an external map without the sources' text) in a
 * fresh Node, as Lambda runs it, without --enable-source-maps.
 */
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "deskbridge-stacks-"));
const source = join(dir, "function.ts");
const bundle = join(dir, "function.mjs");

// The lines of function.ts the trace must name (1-based).
const THROW_LINE = 5;
const CALL_LINE = 8;
const FUNCTION_SOURCE = `import { rmSync } from "node:fs";
import { mapStackTracesLazily } from ${JSON.stringify(join(ROOT, "lib/core/stack-traces.ts"))};
mapStackTracesLazily();
function failDeepInside(reason: string): never {
  throw new Error(\`sync failed: \${reason}\`);
}
export function runJob(reason: string): void {
  failDeepInside(reason);
}
// The map gone after import: a map read at import would still name the source; one read lazily cannot.
if (process.argv.includes("--drop-map")) rmSync(\`\${process.argv[1]}.map\`);
try {
  runJob("upstream 503");
} catch (error) {
  console.log(JSON.stringify({ stack: (error as Error).stack, hooked: Error.prepareStackTrace?.name }));
}
`;

// Built afresh for each case: one of them removes the map.
beforeEach(async () => {
  writeFileSync(source, FUNCTION_SOURCE);
  await build({
    entryPoints: [source],
    outfile: bundle,
    bundle: true,
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    format: "esm",
    platform: "node",
    target: "node22",
    logLevel: "error",
  });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function runBundle(
  nodeOptions: string[] = [],
  args: string[] = [],
): Promise<{ stack: string; hooked: string }> {
  const { stdout } = await promisify(execFile)(process.execPath, [...nodeOptions, bundle, ...args], {
    env: { PATH: process.env.PATH },
  });
  return JSON.parse(stdout) as { stack: string; hooked: string };
}

describe("stack traces of a bundled function", () => {
  it("name the source file, line and function, not the minified bundle", async () => {
    const { stack, hooked } = await runBundle();
    expect(hooked).not.toBe("ErrorPrepareStackTrace");
    const lines = stack.split("\n");
    expect(lines[0]).toBe("Error: sync failed: upstream 503");
    expect(lines[1]).toMatch(
      new RegExp(`^ {4}at failDeepInside \\(${escapeRegExp(resolve(source))}:${THROW_LINE}:\\d+\\)$`),
    );
    expect(lines[2]).toMatch(
      new RegExp(`^ {4}at runJob \\(${escapeRegExp(resolve(source))}:${CALL_LINE}:\\d+\\)$`),
    );
    expect(stack).not.toContain("function.mjs:");
  });

  it("read the map when a trace is written, not at import", async () => {
    const { stack } = await runBundle([], ["--drop-map"]);
    // The map was removed after import: the trace is V8's own, in the bundle, and still complete.
    expect(stack.split("\n")[0]).toBe("Error: sync failed: upstream 503");
    expect(stack).toMatch(/at \S+ \(file:\/\/\S+function\.mjs:\d+:\d+\)/);
    expect(stack).not.toContain("function.ts:");
  });

  it("leave Node's own source maps alone when they are on", async () => {
    const { stack, hooked } = await runBundle(["--enable-source-maps"]);
    expect(hooked).toBe("ErrorPrepareStackTrace");
    expect(stack).toContain(`function.ts:${THROW_LINE}:`);
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
