import { InProgressError, UpstreamPermanentError } from "../../core/errors.ts";
import { defineJob, type JobContext } from "../../jobs/model.ts";
import {
  claimCreation,
  holdsLease,
  PENDING,
  releaseCreationClaim,
  releaseLease,
  takeLease,
} from "../../links/claims.ts";
import type { Link } from "../../links/store.ts";
import { dynamicFieldValue, type Ticket } from "../../systems/otrs/schemas.ts";
import { customFieldValue } from "../../systems/redmine/schemas.ts";
import { conversationBaseline, syncConversation } from "./conversation.ts";
import { type OtrsRedmineDeps, otrsRedmineDeps, otrsRedmineSettings } from "./deps.ts";
import { TICKET_JOB, ticketSpec } from "./index.ts";
import { issueRef, readStatus, statusAspect, ticketRef, waitForOtherJobs } from "./link-state.ts";

export { TICKET_JOB };

/**
 * Makes Redmine reflect one OTRS ticket. A ticket that has just moved into the trigger state and has
 * no issue gets one (searching Redmine first for an issue carrying its number); a linked ticket's new
 * state is mapped to a Redmine status (reopen → initial status; the state map; or no action).
 */
export const ticketJob = defineJob({
  ...ticketSpec,
  // The previous state is part of the event's meaning (a change *into* the trigger state).
  key: ({ ticketId, previousState }) => `${ticketId}|${previousState ?? ""}`,
  systems: () => {
    const settings = otrsRedmineSettings();
    return [
      { system: "otrs", instance: settings.otrs },
      { system: "redmine", instance: settings.redmine },
    ];
  },
  async run({ ticketId, previousState }, context) {
    const deps = await otrsRedmineDeps();
    const { settings } = deps;
    const ticket = await deps.otrs.getTicket(ticketId, { articles: "latest", signal: context.signal });
    const link = await deps.links.get(ticketRef(deps.otrsInstance, ticket.TicketID));
    if (link && link.target.id !== PENDING) {
      const state = await syncState(ticket, link, deps, context);
      // The same job reconciles the conversation (an ArticleCreate event lands here too).
      const after = (await deps.links.get(link.source)) ?? link;
      const conversation = await syncConversation(after, ticket.TicketID, deps, context);
      return { ...state, conversation };
    }
    const changedIntoTrigger =
      ticket.State === settings.triggerState &&
      previousState !== undefined &&
      previousState !== settings.triggerState;
    if (!changedIntoTrigger) return { action: "none", reason: "not a change into the trigger state" };
    return createIssue(ticket, deps, context);
  },
  async release({ ticketId }, { jobId }) {
    const deps = await otrsRedmineDeps();
    const link = await deps.links.get(ticketRef(deps.otrsInstance, ticketId));
    if (!link) return;
    await releaseCreationClaim(deps.links, link, jobId);
    // The pair is written only once both sides hold it, so the failed change is not taken for synced.
    await releaseLease(deps.links, link, jobId);
  },
});

async function createIssue(ticket: Ticket, deps: OtrsRedmineDeps, context: JobContext) {
  const { settings, redmine, otrs, links } = deps;
  const project = settings.queueProjects[ticket.Queue];
  if (project === undefined) {
    context.logger.info("ticket skipped: its queue has no Redmine project", {
      queue: ticket.Queue,
      ticket_id: ticket.TicketID,
    });
    return { action: "skipped", reason: `queue ${ticket.Queue} has no Redmine project mapping` };
  }
  const source = ticketRef(deps.otrsInstance, ticket.TicketID);
  const claim = await claimCreation(links, source, issueRef(deps.redmineInstance, PENDING), context.jobId);
  if (claim.kind === "linked")
    return { action: "none", reason: "already linked", issue_id: Number(claim.link.target.id) };

  // Search before create: an earlier attempt, or a person, may already have made the issue.
  const cf = settings.redmineCustomFieldId;
  const found = (await redmine.findIssuesByCustomField(cf, ticket.TicketNumber, context.signal)).filter(
    (issue) => customFieldValue(issue, cf) === ticket.TicketNumber,
  );
  let issue = found.sort((a, b) => a.id - b.id)[0];
  const warnings: string[] = [];
  if (!issue) {
    const article = ticket.Article[0];
    const requested = {
      project_id: project,
      tracker_id: settings.issue.trackerId,
      status_id: settings.issue.initialStatusId,
      subject: (article?.Subject || ticket.Title || `OTRS ${ticket.TicketNumber}`).slice(0, 255),
      description: article?.Body ?? "",
      custom_fields: [{ id: cf, value: ticket.TicketNumber }],
      ...(settings.issue.priorityId ? { priority_id: settings.issue.priorityId } : {}),
      ...(settings.issue.assigneeId ? { assigned_to_id: settings.issue.assigneeId } : {}),
    };
    issue = await redmine.createIssue(requested, context.signal);
    // Redmine drops what the workflow or the project does not allow, silently: read back and report.
    if (issue.status.id !== settings.issue.initialStatusId)
      warnings.push(`status ${settings.issue.initialStatusId} was not applied (got ${issue.status.id})`);
    if (issue.tracker.id !== settings.issue.trackerId)
      warnings.push(`tracker ${settings.issue.trackerId} was not applied (got ${issue.tracker.id})`);
    if (customFieldValue(issue, cf) !== ticket.TicketNumber)
      warnings.push(`custom field ${cf} was not set (is it enabled for the project and tracker?)`);
    if (warnings.length > 0)
      context.logger.warn("Redmine ignored part of the new issue", { issue_id: issue.id, warnings });
    context.logger.info("Redmine issue created", { issue_id: issue.id, ticket_id: ticket.TicketID });
  }
  if (dynamicFieldValue(ticket, settings.otrsDynamicField) !== String(issue.id)) {
    await otrs.updateTicket(
      ticket.TicketID,
      { DynamicField: [{ Name: settings.otrsDynamicField, Value: String(issue.id) }] },
      context.signal,
    );
  }
  const saved = await links.replaceTarget(claim.link, issueRef(deps.redmineInstance, issue.id), {
    status: statusAspect({ otrs: ticket.State, redmine: issue.status.id }),
    // The conversation starts after the article the issue was made from.
    conversation: conversationBaseline(ticket),
  });
  if (saved.outcome === "stale") throw new InProgressError("another attempt took over the creation");
  return { action: "created", issue_id: issue.id, ...(warnings.length > 0 ? { warnings } : {}) };
}

async function syncState(ticket: Ticket, link: Link, deps: OtrsRedmineDeps, context: JobContext) {
  const { settings, redmine, links } = deps;
  waitForOtherJobs(link, context.jobId);
  const memory = readStatus(link);
  // An earlier attempt of this job that still holds the lease may have written Redmine: finish it.
  if (memory && !holdsLease(link, context.jobId) && memory.otrs === ticket.State) {
    return { action: "none", reason: "no state change since the last sync" };
  }
  const target =
    ticket.State === settings.reopenState
      ? settings.issue.initialStatusId
      : (settings.stateMap.otrsToRedmine[ticket.State] ?? null);
  if (target === null) {
    const pair = { otrs: ticket.State, redmine: memory?.redmine ?? null };
    await releaseLease(links, link, context.jobId, { status: statusAspect(pair) });
    return { action: "none", reason: `state ${ticket.State} maps to no Redmine status` };
  }
  const issueId = Number(link.target.id);
  // Held while Redmine is written: the echo of that write waits, then finds the pair in sync.
  const leased = await takeLease(links, link, context.jobId);
  const issue = await redmine.getIssue(issueId, context.signal);
  if (issue.status.id !== target) {
    await redmine.updateIssue(issueId, { status_id: target }, context.signal);
    const after = await redmine.getIssue(issueId, context.signal);
    if (after.status.id !== target) {
      throw new UpstreamPermanentError(
        { system: `redmine:${deps.redmineInstance}`, vendorMessage: `status stayed ${after.status.id}` },
        `Redmine's workflow did not let the bridge user set status ${target} on issue ${issueId}`,
      );
    }
  }
  await releaseLease(links, leased, context.jobId, {
    status: statusAspect({ otrs: ticket.State, redmine: target }),
  });
  context.logger.info("Redmine status set from the OTRS state", {
    issue_id: issueId,
    state: ticket.State,
    status_id: target,
  });
  return { action: "status", issue_id: issueId, status_id: target };
}
