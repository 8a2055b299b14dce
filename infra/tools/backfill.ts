/**
 * `npm run backfill -- <integration> [--since <date>]`: the same as `npx deskbridge backfill …`
 * (infra/cli/commands/backfill.ts), kept for the scripts and docs that use it.
 *   npm run backfill -- rt-kanban                       every open ticket of the exposed queues
 *   npm run backfill -- rt-kanban --since 2026-11-01    only those changed since then
 *   npm run backfill -- otrs-redmine --since 2026-11-01 Redmine issues naming an OTRS ticket
 * Locally it works against the running `npm start` stack; `--stage <name>` targets a deployed stage.
 */
import { main } from "../cli/main.ts";

process.exitCode = await main(["backfill", ...process.argv.slice(2)]);
