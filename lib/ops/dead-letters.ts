import * as v from "valibot";
import type { Config } from "../core/config-schema.ts";
import { NotFoundError } from "../core/errors.ts";
import { JobQueue } from "../jobs/queue.ts";
import { JobRecords } from "../jobs/records.ts";
import { type ReadLetter, replayDeadLetters } from "../jobs/replay.ts";
import { integrationOf } from "../jobs/stats.ts";
import type { Ref } from "../links/refs.ts";
import type { OpsDeps } from "./deps.ts";
import type { DeadLetterView } from "./types.ts";
import { objectView } from "./urls.ts";

/**
 * Sends one dead letter (by job id) back to the jobs queue as a fresh job, its status record reset
 * to pending; NotFound when the dead-letter queue holds no job with this id.
 */
export async function replayDeadLetter(deps: OpsDeps, jobId: string): Promise<{ replayed: number }> {
  const replayed = await replayDeadLetters(deps.sqs, queueOf(deps), deps.deadLetterQueueUrl, {
    id: jobId,
    records: recordsOf(deps),
  });
  if (replayed.length === 0) throw new NotFoundError("no dead letter has this job id");
  return { replayed: replayed.length };
}

/**
 * Sends every readable dead letter back, one by one, reporting progress after each (the CLI's bar);
 * unreadable messages stay where they are.
 */
export async function replayAllDeadLetters(
  deps: OpsDeps,
  onProgress?: (done: number, total: number) => void,
): Promise<{ replayed: number }> {
  const replayed = await replayDeadLetters(deps.sqs, queueOf(deps), deps.deadLetterQueueUrl, {
    records: recordsOf(deps),
    onProgress,
  });
  return { replayed: replayed.length };
}

/** A readable dead letter as the page lists it, with the object its job syncs when the input names one. */
export function toDeadLetterView(
  letter: Extract<ReadLetter, { kind: "letter" }>,
  config: Readonly<Config>,
): DeadLetterView {
  const { job, attempts, lastError, failedAt } = letter.letter;
  const source = sourceRef(job.type, job.id, job.input, config);
  return {
    id: job.id,
    type: job.type,
    integration: integrationOf(job.type),
    attempts,
    error: { code: lastError.code, message: lastError.message },
    failedAt,
    ...(source ? { source: objectView(source, config) } : {}),
  };
}

const Numeric = v.union([v.pipe(v.string(), v.regex(/^\d+$/)), v.pipe(v.number(), v.integer())]);
const TicketInput = v.object({ ticketId: Numeric });
const IssueInput = v.object({ issueId: Numeric });
const ItopInput = v.object({ side: v.picklist(["external", "internal"]), ticketId: Numeric });
const LivechatInput = v.object({ key: v.string() });

/**
 * The source object of a job, read from its input the way each job type names it (the instance from
 * the integration's config). Undefined for an input that does not match (it is shown without one).
 */
function sourceRef(type: string, jobId: string, input: unknown, config: Readonly<Config>): Ref | undefined {
  const { integrations } = config;
  const ref = (system: string, instance: string | undefined, refType: string, id: string | number) =>
    instance ? { system, instance, type: refType, id: String(id) } : undefined;
  switch (type) {
    case "glpi-forms.create-ticket":
      return { system: "forms", instance: "glpi-forms", type: "submission", id: jobId };
    case "otrs-redmine.ticket": {
      const parsed = v.safeParse(TicketInput, input);
      return parsed.success
        ? ref("otrs", integrations.otrsRedmine?.otrs, "ticket", parsed.output.ticketId)
        : undefined;
    }
    case "otrs-redmine.issue": {
      const parsed = v.safeParse(IssueInput, input);
      return parsed.success
        ? ref("redmine", integrations.otrsRedmine?.redmine, "issue", parsed.output.issueId)
        : undefined;
    }
    case "itop-pair.sync": {
      const parsed = v.safeParse(ItopInput, input);
      const pair = integrations.itopPair;
      return parsed.success && pair
        ? ref("itop", pair[parsed.output.side], "ticket", parsed.output.ticketId)
        : undefined;
    }
    case "rt-kanban.ticket": {
      const parsed = v.safeParse(TicketInput, input);
      return parsed.success
        ? ref("rt", integrations.rtKanban?.rt, "ticket", parsed.output.ticketId)
        : undefined;
    }
    case "rocketchat-otrs.notify": {
      const parsed = v.safeParse(TicketInput, input);
      return parsed.success
        ? ref("otrs", integrations.rocketchatOtrs?.otrs, "ticket", parsed.output.ticketId)
        : undefined;
    }
    case "rocketchat-otrs.livechat": {
      const parsed = v.safeParse(LivechatInput, input);
      return parsed.success ? ref("rocketchat", "livechat", "chat", parsed.output.key) : undefined;
    }
    default:
      return undefined;
  }
}

const queueOf = (deps: OpsDeps) => new JobQueue(deps.sqs, deps.jobsQueueUrl, deps.deadLetterQueueUrl);
const recordsOf = (deps: OpsDeps) => new JobRecords(deps.db, deps.table, deps.config.jobs.recordTtlDays);
