/**
 * Validates a stage's configuration file ahead, at packaging, and writes its checked form: the output
 * of the full validation (every integration of the registry, defaults filled in) with the SHA-256 of
 * the file it was made from (lib/core/config.ts, CheckedConfig). Deployed functions read that instead
 * of validating the file at each cold start (DESKBRIDGE_CONFIG_CHECKED), and a configuration with a
 * mistake fails the packaging, naming the JSON path, instead of every function's first start.
 * serverless.yml runs it through infra/integrations.cjs (`checkedConfig`).
 *   npx tsx infra/tools/check-config.ts config/prod.json config/checked/prod.json
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { checkConfigText } from "../../lib/core/config.ts";
import { REGISTRY } from "../../lib/sync/registry.ts";
import { describeError } from "../cli/output.ts";

/** Writes the checked form of the configuration file `source` to `out`. */
export function writeCheckedConfig(source: string, out: string): void {
  const checked = checkConfigText(readFileSync(source, "utf8"), REGISTRY, source);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(checked)}\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [source, out] = process.argv.slice(2);
  if (!source || !out) {
    console.error("usage: check-config.ts <config file> <checked file to write>");
    process.exit(2);
  }
  try {
    writeCheckedConfig(source, out);
  } catch (error) {
    console.error(describeError(error));
    process.exit(1);
  }
}
