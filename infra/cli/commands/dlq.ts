import { NotFoundError } from "../../../lib/core/errors.ts";
import { readDeadLetters } from "../../../lib/jobs/replay.ts";
import {
  allDeadLetterUrls,
  replayAllDeadLetters,
  replayDeadLetter,
  toDeadLetterView,
} from "../../../lib/ops/dead-letters.ts";
import type { Command } from "../command.ts";
import { printJson, progressBar, table } from "../output.ts";

/** `deskbridge dlq list`: what waits in the dead-letter queue (reading it changes nothing). */
export const dlqList: Command = {
  name: "dlq list",
  synopsis: "[--json]",
  summary: "the dead letters: id, type, attempts, failed at, error",
  details: "Messages that are not even JSON are counted as unreadable and left in place.",
  options: { json: { type: "boolean", default: false } },
  positionals: { min: 0, max: 0 },
  async run({ values, connect }) {
    const deps = await connect();
    const read = await readDeadLetters(deps.sqs, allDeadLetterUrls(deps));
    const letters = read.flatMap((entry) =>
      entry.kind === "letter" ? [toDeadLetterView(entry, deps.config)] : [],
    );
    const unreadable = read.length - letters.length;
    if (values.json) {
      printJson({ deadLetters: letters, unreadable });
      return 0;
    }
    if (letters.length === 0) console.log("The dead-letter queue is empty.");
    else
      console.log(
        table([
          ["ID", "TYPE", "ATTEMPTS", "FAILED AT", "SOURCE", "ERROR"],
          ...letters.map((l) => [
            l.id,
            l.type,
            String(l.attempts),
            l.failedAt,
            l.source?.key ?? "-",
            `${l.error.code}: ${l.error.message}`,
          ]),
        ]),
      );
    console.log(`\n${letters.length} dead letter(s), ${unreadable} unreadable.`);
    return 0;
  },
};

/** `deskbridge dlq replay <id> | --all`: dead letters back onto the jobs queue, as fresh jobs. */
export const dlqReplay: Command = {
  name: "dlq replay",
  synopsis: "<job id> | --all",
  summary: "put one dead letter, or all, back on the jobs queue",
  details:
    "A replayed job starts its attempts again and searches before it creates (an earlier attempt\n" +
    "may have done part of it). Unreadable messages stay where they are.",
  options: { all: { type: "boolean", default: false } },
  positionals: { min: 0, max: 1 },
  async run({ values, positionals: [id], connect, usage }) {
    if (values.all && id) usage("give a job id or --all, not both");
    if (!values.all && !id) usage("give a job id or --all");
    const deps = await connect();
    if (id) {
      const { replayed } = await replayDeadLetter(deps, id).catch((error: unknown) => {
        // The data layer's message leaves the id out (it is also a web answer); the operator typed it.
        throw error instanceof NotFoundError ? new NotFoundError(`no dead letter has job id ${id}`) : error;
      });
      console.log(`replayed ${id}: ${replayed} job(s) moved back to the jobs queue.`);
      return 0;
    }
    const bar = progressBar("replaying");
    try {
      const { replayed } = await replayAllDeadLetters(deps, (done, total) => bar.update(done, total));
      bar.stop();
      console.log(`${replayed} job(s) moved back to the jobs queue.`);
    } finally {
      bar.stop();
    }
    return 0;
  },
};
