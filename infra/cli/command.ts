import { type ParseArgsConfig, parseArgs } from "node:util";
import { type Connection, connect, resolveTarget, type Target, type TargetOptions } from "./target.ts";

type Options = NonNullable<ParseArgsConfig["options"]>;

/** What a command gets: its parsed arguments and the target, connected on first use. */
export interface CommandContext {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
  target(): Target;
  connect(): Promise<Connection>;
  /** The usage error of this command (exit code 2). */
  usage(message: string): never;
}

/** One `deskbridge …` command: how it is called, in one line and in full, and what it does. */
export interface Command {
  /** `dlq replay`: the words that select it. */
  name: string;
  /** What follows the name, for the one-line summary: `<system> <id> [--json]`. */
  synopsis: string;
  summary: string;
  /** More lines for `deskbridge <command> --help`. */
  details?: string;
  options?: Options;
  positionals: { min: number; max: number };
  /** Resolves to the exit code (0 when nothing is returned). */
  run(context: CommandContext): Promise<number | undefined>;
}

/** Parses a command's arguments strictly (unknown flags and extra words are usage errors). */
export function parseCommand(
  command: Command,
  args: string[],
  global: TargetOptions,
  fail: (message: string) => never,
): CommandContext {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args, options: command.options ?? {}, allowPositionals: true, strict: true });
  } catch (error) {
    // node:util's messages name the flag: "Unknown option '--bogus'".
    fail((error as Error).message.split(". ")[0] ?? "bad arguments");
  }
  const { positionals } = parsed;
  if (positionals.length < command.positionals.min) fail("missing arguments");
  if (positionals.length > command.positionals.max) fail(`unexpected argument: ${positionals.at(-1)}`);
  let target: Target | undefined;
  let connection: Promise<Connection> | undefined;
  const resolved = () => {
    target ??= resolveTarget(global);
    return target;
  };
  return {
    values: parsed.values as Record<string, string | boolean | undefined>,
    positionals,
    target: resolved,
    connect: () => {
      connection ??= connect(resolved());
      return connection;
    },
    usage: fail,
  };
}

/** `deskbridge <command> --help`. */
export function commandUsage(command: Command): string {
  const lines = [`Usage: deskbridge ${command.name} ${command.synopsis}`.trimEnd(), "", command.summary];
  if (command.details) lines.push("", command.details);
  lines.push("", "Global options: --stage <name>, --region <region> (see deskbridge --help).");
  return `${lines.join("\n")}\n`;
}
