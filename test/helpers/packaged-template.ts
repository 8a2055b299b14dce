import { execFile } from "node:child_process";
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { isMap, isSeq, parseDocument } from "yaml";
import { integrationStack } from "../../infra/integrations.cjs";

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "../..");
/** Never linked into the copy: the configuration is rewritten there, and outputs stay out of the repo. */
const NOT_LINKED = new Set(["serverless.yml", ".serverless", ".esbuild", ".git"]);

/**
 * The CloudFormation template `serverless package --stage <stage>` writes, compiled without bundling
 * the code. Bundling every function (esbuild, minified, with source maps) is nearly all of a real
 * package's time and CPU (over a minute on a busy 2-core machine, against ~5 s without), and nothing
 * in the template depends on it but the code's S3 key and the hash in each `AWS::Lambda::Version`'s
 * logical id and `CodeSha256`. So osls packages a copy of the service whose serverless.yml is this
 * repo's with every function given a ready-made artifact (`package.artifact`, and `skipEsbuild` so
 * serverless-esbuild leaves it alone); every other entry of the repo is a symlink, and the plugins run
 * as they do for a deploy. Needs no AWS credentials and no network. The copy lives in a temporary
 * folder, so parallel runs never share a `.serverless`.
 */
export async function packagedTemplate(stage: string): Promise<unknown> {
  const work = mkdtempSync(join(tmpdir(), "deskbridge-template-"));
  try {
    const service = join(work, "service");
    mkdirSync(service);
    for (const entry of readdirSync(ROOT)) {
      if (!NOT_LINKED.has(entry)) symlinkSync(join(ROOT, entry), join(service, entry));
    }
    // Any file will do as the code: osls only hashes it (into the version's logical id). It sits where
    // serverless-esbuild keeps its zips, because the plugin's last step moves that folder to
    // `.serverless` and points every function's artifact there, skipped functions too.
    const artifacts = join(service, ".esbuild/.serverless");
    mkdirSync(artifacts, { recursive: true });
    const artifact = join(artifacts, "code.zip");
    writeFileSync(artifact, "not bundled: see test/helpers/packaged-template.ts");
    // Edited as a YAML document, so tags (`!Ref`, `!GetAtt`) and anchors stay as written. `functions` is
    // a list of maps that osls merges: the artifacts go in one more map, naming the functions
    // infra/integrations.cjs generates too.
    const config = parseDocument(readFileSync(join(ROOT, "serverless.yml"), "utf8"));
    const functions = config.get("functions");
    if (!isSeq(functions)) throw new Error("serverless.yml has no list of functions");
    const names = [
      ...functions.items.flatMap((item) => (isMap(item) ? item.items.map(({ key }) => String(key)) : [])),
      ...Object.keys(integrationStack().functions),
    ];
    functions.add(
      Object.fromEntries(names.map((name) => [name, { package: { artifact }, skipEsbuild: true }])),
    );
    writeFileSync(join(service, "serverless.yml"), config.toString());
    const output = join(work, "package");
    await run(
      process.execPath,
      [join(ROOT, "node_modules/osls/bin/serverless.js"), "package", "--stage", stage, "--package", output],
      { cwd: service },
    );
    return JSON.parse(readFileSync(join(output, "cloudformation-template-update-stack.json"), "utf8"));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
