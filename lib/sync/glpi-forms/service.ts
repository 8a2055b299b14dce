import { createHash } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { ConflictError, ValidationError } from "../../core/errors.ts";
import { logger } from "../../core/logger.ts";
import { newJob } from "../../jobs/queue.ts";
import { admitInline, type InlineOutcome, releaseAdmission, runInline } from "../../jobs/runner.ts";
import { jobRuntime } from "../../jobs/runtime.ts";
import { capsFromHandlers } from "../../jobs/system-caps.ts";
import type { IdempotencyRecord } from "../../links/idempotency.ts";
import { CREATE_TICKET_JOB, createTicketJob, submissionRef } from "./create-ticket-job.ts";
import type { FormSubmission } from "./submission.ts";

/** What a ticket request came to: a ticket now, or a job that will create it. */
export type TicketRequestOutcome = { kind: "created"; ticketId: number } | { kind: "queued"; jobId: string };

const SCOPE = "glpi-forms";
const POLL_MS = 100;

/**
 * Opens a GLPI ticket for a form submission: inline when GLPI answers within the budget, otherwise
 * through the jobs queue. With an Idempotency-Key, every repeat of the request gets the first one's
 * outcome (waiting for it while it is still running), and never a second ticket.
 *
 * DynamoDB writes of a ticket made inline: the key's claim (with a key: it makes repeats wait for the
 * first request, and lets one take over if the first died), the GLPI slot's take and give-back (the
 * cap on concurrent GLPI calls; lib/jobs/system-caps.ts), the link (the submission → ticket record
 * that a retry, a replay or a repeat reads, so no ticket is made twice) and the hour's counter
 * (lib/jobs/stats.ts). The link doubles as the key's outcome. They go in three round trips: the claim
 * with the slot's take (and the read of GLPI's breaker), then GLPI's create, the link with the slot's
 * give-back, then the counter.
 */
export async function requestTicket(
  submission: FormSubmission,
  idempotencyKey?: string,
): Promise<TicketRequestOutcome> {
  const runtime = jobRuntime();
  const deps = {
    queue: runtime.queue,
    records: runtime.records,
    logger,
    budgetMs: runtime.config.jobs.inlineBudgetMs,
    stats: runtime.stats,
    systemCaps: {
      slots: runtime.slots,
      breakers: runtime.breakers,
      capFor: capsFromHandlers([createTicketJob]),
    },
  };
  if (idempotencyKey === undefined) {
    return toOutcome(await runInline(newJob(CREATE_TICKET_JOB, { submission }), createTicketJob, deps));
  }
  if (!/^[\x21-\x7e]{1,255}$/.test(idempotencyKey)) {
    throw new ValidationError([
      { path: "Idempotency-Key", message: "must be 1 to 255 visible ASCII characters" },
    ]);
  }
  const fingerprint = sha256(JSON.stringify(submission));
  const jobId = deterministicId(`${SCOPE}:${idempotencyKey}`);
  const { idempotency, config } = runtime;
  const job = newJob(CREATE_TICKET_JOB, { submission }, { id: jobId });
  // The key's claim, GLPI's breaker and GLPI's slot are three items: read and written at once, one
  // round trip. A repeat that does not run gives the slot straight back.
  const [claimed, admission] = await Promise.allSettled([
    idempotency.claim(SCOPE, idempotencyKey, {
      fingerprint,
      jobId,
      lockMs: config.jobs.inlineBudgetMs + 10_000,
      ttlSeconds: config.idempotency.ttlHours * 3600,
    }),
    admitInline(job, deps),
  ]);
  // An admission that failed here is tried again by runInline (which queues the job if the table is
  // still unavailable); a claim that failed fails the request, with the slot given back.
  const admitted = admission.status === "fulfilled" ? admission.value : undefined;
  if (claimed.status === "rejected") {
    if (admitted) await releaseAdmission(admitted, deps);
    throw claimed.reason;
  }
  const claim = claimed.value;
  const skip = async () => {
    if (admitted) await releaseAdmission(admitted, deps);
  };
  if (claim.outcome === "exists") {
    await skip();
    if (claim.record.fingerprint !== fingerprint) {
      throw new ConflictError("this Idempotency-Key was already used with a different body");
    }
    return awaitOutcome(idempotencyKey, claim.record, config.idempotency.waitMs);
  }
  if (claim.outcome === "taken-over") {
    // The key's first request may have made the ticket and answered: its link says so.
    const link = await runtime.links.get(submissionRef(jobId));
    if (link) {
      await skip();
      return { kind: "created", ticketId: Number(link.target.id) };
    }
  }
  try {
    const outcome = toOutcome(
      await runInline(job, createTicketJob, deps, {
        maybeRan: claim.outcome === "taken-over",
        ...(admitted ? { admitted } : {}),
      }),
    );
    // A created ticket's link (written by the job, under the job id this key names) is its outcome:
    // repeats read it, so the key's record takes no second write. A queued job's outcome is written.
    if (outcome.kind === "queued") await idempotency.complete(SCOPE, idempotencyKey, outcome);
    return outcome;
  } catch (error) {
    // Nothing was created: let a later repeat with this key try again (after fixing the CNPJ, say).
    await idempotency.release(SCOPE, idempotencyKey);
    throw error;
  }
}

/** Waits for the first request with this key to finish, then answers what it answered. */
async function awaitOutcome(
  key: string,
  first: IdempotencyRecord,
  waitMs: number,
): Promise<TicketRequestOutcome> {
  const { idempotency, records, links } = jobRuntime();
  const deadline = Date.now() + waitMs;
  let record: IdempotencyRecord | undefined = first;
  while (record && record.status === "in_progress") {
    const link = await links.get(submissionRef(record.jobId));
    if (link) return { kind: "created", ticketId: Number(link.target.id) };
    if (Date.now() >= deadline) break;
    await sleep(POLL_MS);
    record = await idempotency.get(SCOPE, key);
  }
  if (record?.status !== "completed" || !record.outcome) {
    throw new ConflictError("a request with this Idempotency-Key is still being processed; retry shortly");
  }
  const outcome = record.outcome;
  if (outcome.kind === "created") return { kind: "created", ticketId: Number(outcome.ticketId) };
  // The first request was queued: if the worker has finished since, answer with the ticket.
  const job = await records.get(record.jobId);
  const ticketId = job?.status === "done" ? Number(job.result?.ticket_id) : Number.NaN;
  return Number.isInteger(ticketId) ? { kind: "created", ticketId } : { kind: "queued", jobId: record.jobId };
}

function toOutcome(outcome: InlineOutcome<{ ticket_id: number }>): TicketRequestOutcome {
  return outcome.kind === "done"
    ? { kind: "created", ticketId: outcome.result.ticket_id }
    : { kind: "queued", jobId: outcome.jobId };
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** A UUID-shaped id derived from a string, so that every repeat of a request names the same job. */
function deterministicId(text: string): string {
  const hex = sha256(text);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
