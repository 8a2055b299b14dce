import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { type Browser, chromium } from "playwright-core";
import * as v from "valibot";

/** Where the Chromium inside @sparticuz/chromium is unpacked, once per version (ignored by git). */
const UNPACK_ROOT = resolve(".local/chromium");
/** Chromium from Debian's (or another distribution's) package, when the machine has one. */
const SYSTEM_CHROMIUMS = ["/usr/bin/chromium", "/usr/bin/chromium-browser"];

export interface ChromiumChoice {
  executablePath: string;
  /** Where it came from, for the test log: `CHROMIUM_PATH`, `system`, `@sparticuz/chromium 143.0.4`. */
  source: string;
}

/**
 * The Chromium the browser tier drives: CHROMIUM_PATH when set, else a system Chromium, else the build
 * that ships inside the @sparticuz/chromium package (brotli-packed in the package itself: nothing is
 * downloaded), unpacked on first use under .local/chromium/<version>/ (about 3 s, then reused).
 */
export async function findChromium(env: NodeJS.ProcessEnv = process.env): Promise<ChromiumChoice> {
  if (env.CHROMIUM_PATH) {
    if (!existsSync(env.CHROMIUM_PATH)) throw new Error(`CHROMIUM_PATH names no file: ${env.CHROMIUM_PATH}`);
    return { executablePath: env.CHROMIUM_PATH, source: "CHROMIUM_PATH" };
  }
  const system = SYSTEM_CHROMIUMS.find((path) => existsSync(path));
  if (system) return { executablePath: system, source: "system" };
  return packagedChromium();
}

/**
 * Unpacks @sparticuz/chromium's binary. The package extracts into `os.tmpdir()/chromium` and reuses
 * whatever is there, whichever version that is; so it is pointed (through TMPDIR) at a fresh staging
 * folder of this process, and the result is renamed into place: two test runs unpacking at once each
 * finish whole, and the first rename wins.
 */
async function packagedChromium(): Promise<ChromiumChoice> {
  const version = packageVersion("@sparticuz/chromium");
  const source = `@sparticuz/chromium ${version}`;
  const folder = join(UNPACK_ROOT, version);
  const executablePath = join(folder, "chromium");
  if (existsSync(executablePath)) return { executablePath, source };

  mkdirSync(UNPACK_ROOT, { recursive: true });
  const staging = mkdtempSync(join(UNPACK_ROOT, `${version}-`));
  const previous = process.env.TMPDIR;
  try {
    process.env.TMPDIR = staging;
    const { default: packaged } = await import("@sparticuz/chromium");
    // No WebGL is needed: skip unpacking SwiftShader.
    packaged.setGraphicsMode = false;
    await packaged.executablePath();
  } finally {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
  }
  try {
    renameSync(staging, folder);
  } catch (error) {
    // Another run put its copy in place first: use that one.
    if (!existsSync(executablePath)) throw error;
    rmSync(staging, { recursive: true, force: true });
  }
  return { executablePath, source };
}

/** The installed version of a package whose `exports` hide its package.json: found from its entry point. */
function packageVersion(name: string): string {
  let folder = dirname(createRequire(import.meta.url).resolve(name));
  for (;;) {
    const file = join(folder, "package.json");
    if (existsSync(file)) {
      const manifest = v.parse(ManifestSchema, JSON.parse(readFileSync(file, "utf8")));
      if (manifest.name === name && manifest.version) return manifest.version;
    }
    const parent = dirname(folder);
    if (parent === folder) throw new Error(`no package.json of ${name} above its entry point`);
    folder = parent;
  }
}

const ManifestSchema = v.object({ name: v.optional(v.string()), version: v.optional(v.string()) });

/** Launches headless Chromium for a test file (as root, so without the setuid sandbox). */
export async function launchChromium(): Promise<{ browser: Browser; choice: ChromiumChoice }> {
  const choice = await findChromium();
  const browser = await chromium.launch({ executablePath: choice.executablePath, args: ["--no-sandbox"] });
  return { browser, choice };
}
