import { type Command, commandUsage, parseCommand } from "./command.ts";
import { backfill } from "./commands/backfill.ts";
import { configValidate } from "./commands/config.ts";
import { dlqList, dlqReplay } from "./commands/dlq.ts";
import { linksGet } from "./commands/links.ts";
import { status } from "./commands/status.ts";
import { describeError, UsageError } from "./output.ts";
import type { TargetOptions } from "./target.ts";

/** Every command, in the order the help lists them. */
export const COMMANDS: readonly Command[] = [configValidate, linksGet, dlqList, dlqReplay, backfill, status];

/** `deskbridge --help`: every command in one line. */
export function mainUsage(): string {
  const heads = COMMANDS.map((command) => `${command.name} ${command.synopsis}`.trimEnd());
  const width = Math.max(...heads.map((head) => head.length)) + 2;
  return [
    "Usage: deskbridge [--stage <name>] [--region <region>] <command> [options]",
    "",
    "Commands:",
    ...COMMANDS.map((command, i) => `  ${(heads[i] ?? "").padEnd(width)}${command.summary}`),
    "",
    "Global options (anywhere on the line):",
    "  --stage <name>     a deployed stage: queues deskbridge-<name>-jobs(-dlq), table deskbridge-<name>-links,",
    "                     config/<name>.json, secrets in SSM under /deskbridge/<name>/, AWS credentials from",
    "                     the usual chain. Without it: the running `npm start` stack, as it describes",
    "                     itself in .local/stack.json (DESKBRIDGE_STACK_FILE); or a stack named whole by",
    "                     JOBS_QUEUE_URL, DEAD_LETTER_QUEUE_URL, LINKS_TABLE, DESKBRIDGE_CONFIG, AWS_ENDPOINT_URL_*",
    "  --region <region>  the AWS region (default: AWS_REGION / the profile's)",
    "  -h, --help         this text; `deskbridge <command> --help` for one command",
    "",
  ].join("\n");
}

/** Takes --stage and --region out of the line, wherever they are (before a `--`). */
export function splitGlobalOptions(argv: readonly string[]): { global: TargetOptions; rest: string[] } {
  const global: TargetOptions = {};
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (arg === "--") {
      rest.push(...argv.slice(i));
      break;
    }
    const match = /^--(stage|region)(?:=(.*))?$/.exec(arg);
    if (!match) {
      rest.push(arg);
      continue;
    }
    const key = match[1] as "stage" | "region";
    let value = match[2];
    if (value === undefined) {
      value = argv[i + 1];
      if (value === undefined || value.startsWith("-")) {
        throw new UsageError(`--${key} needs a value`, mainUsage());
      }
      i++;
    }
    if (value === "") throw new UsageError(`--${key} needs a value`, mainUsage());
    global[key] = value;
  }
  return { global, rest };
}

const isHelp = (arg: string | undefined) => arg === "--help" || arg === "-h";

/** Runs one command line; resolves to the exit code. Output goes to stdout, usage and errors to stderr. */
export async function main(argv: readonly string[]): Promise<number> {
  try {
    const { global, rest } = splitGlobalOptions(argv);
    if (rest.length === 0) throw new UsageError("no command given", mainUsage());
    if (isHelp(rest[0]) || rest[0] === "help") {
      process.stdout.write(mainUsage());
      return 0;
    }
    const command = COMMANDS.find((candidate) => {
      const words = candidate.name.split(" ");
      return words.every((word, i) => rest[i] === word);
    });
    if (!command) {
      // `deskbridge dlq --help`, `deskbridge dlq`: the group's commands.
      const group = COMMANDS.filter((candidate) => candidate.name.split(" ")[0] === rest[0]);
      if (group.length > 0 && (rest.length === 1 || isHelp(rest[1]))) {
        const text = group.map(commandUsage).join("\n");
        if (isHelp(rest[1])) {
          process.stdout.write(text);
          return 0;
        }
        throw new UsageError(`${rest[0]}: which one? ${group.map((c) => c.name).join(", ")}`, text);
      }
      throw new UsageError(
        `unknown command: ${rest.slice(0, group.length > 0 ? 2 : 1).join(" ")}`,
        mainUsage(),
      );
    }
    const args = rest.slice(command.name.split(" ").length);
    if (args.some(isHelp)) {
      process.stdout.write(commandUsage(command));
      return 0;
    }
    const context = parseCommand(command, args, global, (message) => {
      throw new UsageError(message, commandUsage(command));
    });
    return (await command.run(context)) ?? 0;
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`deskbridge: ${error.message}\n\n${error.usage}`);
      return 2;
    }
    process.stderr.write(`deskbridge: ${describeError(error)}\n`);
    return 1;
  }
}
