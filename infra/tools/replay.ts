/**
 * `npm run replay`: moves dead letters back onto the jobs queue; a shorthand for `npx deskbridge dlq …`
 * (infra/cli/commands/dlq.ts), kept for the scripts and docs that use it.
 *   npm run replay                       replay every dead letter       (deskbridge dlq replay --all)
 *   npm run replay -- --dry-run          list them, change nothing      (deskbridge dlq list)
 *   npm run replay -- --id <job id>      replay one job                 (deskbridge dlq replay <id>)
 * `--stage <name>` targets a deployed stage, as with the CLI.
 */
import { main } from "../cli/main.ts";

function toCli(argv: string[]): string[] {
  const rest: string[] = [];
  let command = ["dlq", "replay", "--all"];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (arg === "--dry-run") command = ["dlq", "list"];
    else if (arg === "--id") command = ["dlq", "replay", argv[++i] ?? ""];
    else if (arg.startsWith("--id=")) command = ["dlq", "replay", arg.slice("--id=".length)];
    else rest.push(arg);
  }
  return [...command, ...rest];
}

process.exitCode = await main(toCli(process.argv.slice(2)));
