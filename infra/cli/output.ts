import cliProgress from "cli-progress";
import { BridgeError, ConfigError, ValidationError } from "../../lib/core/errors.ts";
import { NoStackError } from "./target.ts";

/** A command line the CLI cannot parse: its usage goes to stderr and the exit code is 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
  constructor(
    message: string,
    /** The usage text of the command that was misused. */
    readonly usage: string,
  ) {
    super(message);
  }
}

/** A failure the operator reads as one line (exit code 1): no stack trace, no secret. */
export function describeError(error: unknown): string {
  if (error instanceof ConfigError) {
    return `invalid configuration in ${error.source}: ${error.problems.map((p) => `${p.path}: ${p.message}`).join("; ")}`;
  }
  if (error instanceof ValidationError) return error.fields.map((f) => `${f.path}: ${f.message}`).join("; ");
  if (error instanceof BridgeError || error instanceof NoStackError) return firstLine(error.message);
  if (error instanceof Error) {
    // The AWS SDK's errors: the name says most (CredentialsProviderError, QueueDoesNotExist).
    const name = error.name && error.name !== "Error" ? `${error.name}: ` : "";
    const hint = /ECONNREFUSED 127\.0\.0\.1/.test(error.message)
      ? " (is the local stack running? npm start)"
      : "";
    return `${name}${firstLine(error.message)}${hint}`;
  }
  return String(error);
}

function firstLine(text: string): string {
  return text.split("\n")[0]?.trim() || "failed";
}

/** A progress bar on stderr when it is a terminal; nothing when it is a file or a pipe. */
export interface Progress {
  update(done: number, total: number): void;
  stop(): void;
}

export function progressBar(label: string): Progress {
  if (!process.stderr.isTTY) return { update() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `${label} [{bar}] {value}/{total}`,
      hideCursor: true,
      clearOnComplete: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(done, total) {
      if (!started) {
        bar.start(total, done);
        started = true;
      } else {
        bar.setTotal(total);
        bar.update(done);
      }
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

/** Left-aligned columns, as `ls -l` prints them. */
export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) {
    for (const [i, cell] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, cell.length);
  }
  return rows
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
