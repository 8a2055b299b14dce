import { InProgressError } from "../../core/errors.ts";
import { defineJob, type JobContext } from "../../jobs/model.ts";
import { assertNotBeingCreated, holdsLease, PENDING, releaseLease, takeLease } from "../../links/claims.ts";
import type { Link } from "../../links/store.ts";
import { dynamicFieldValue } from "../../systems/otrs/schemas.ts";
import { customFieldValue, type Issue } from "../../systems/redmine/schemas.ts";
import { conversationBaseline, journalMarker, syncConversation } from "./conversation.ts";
import { type OtrsRedmineDeps, otrsRedmineDeps, otrsRedmineSettings } from "./deps.ts";
import { ISSUE_JOB, issueSpec } from "./index.ts";
import { issueRef, readStatus, statusAspect, ticketRef, waitForOtherJobs } from "./link-state.ts";

export { ISSUE_JOB };

/**
 * Makes OTRS reflect one Redmine issue. An issue whose OTRS field names a ticket and that has no link
 * yet is linked (the ticket gets the issue id in its dynamic field), whether the bridge or a person
 * created it. A linked issue's new status is mapped to an OTRS state: the done status moves the ticket
 * to the configured state with an internal note holding the Redmine notes of that change.
 */
export const issueJob = defineJob({
  ...issueSpec,
  key: ({ issueId }) => String(issueId),
  systems: () => {
    const settings = otrsRedmineSettings();
    return [
      { system: "otrs", instance: settings.otrs },
      { system: "redmine", instance: settings.redmine },
    ];
  },
  async run({ issueId }, context) {
    const deps = await otrsRedmineDeps();
    const { settings, otrs, links } = deps;
    const issue = await deps.redmine.getIssue(issueId, context.signal);
    const ticketNumber = customFieldValue(issue, settings.redmineCustomFieldId).trim();
    if (!ticketNumber) return { action: "none", reason: "the issue names no OTRS ticket" };
    const ticketIds = await otrs.findTicketIdsByNumber(ticketNumber, context.signal);
    const ticketId = ticketIds[0];
    if (!ticketId) {
      context.logger.warn("issue names an OTRS ticket number that does not exist", {
        issue_id: issueId,
        ticket_number: ticketNumber,
      });
      return { action: "skipped", reason: `no OTRS ticket has number ${ticketNumber}` };
    }
    const source = ticketRef(deps.otrsInstance, ticketId);
    const link = await links.get(source);
    if (!link) return linkIssue(issue, ticketId, deps, context);
    // The ticket's job is creating an issue for it: wait for that rather than link this one.
    assertNotBeingCreated(link, context.jobId);
    if (link.target.id !== String(issueId)) {
      if (link.target.id === PENDING) return linkIssue(issue, ticketId, deps, context, link);
      context.logger.warn("ticket is linked to another issue", {
        issue_id: issueId,
        linked_issue: link.target.id,
      });
      return { action: "none", reason: `ticket ${ticketNumber} is linked to issue ${link.target.id}` };
    }
    const state = await syncStatus(issue, ticketId, link, deps, context);
    const after = (await links.get(source)) ?? link;
    const conversation = await syncConversation(after, ticketId, deps, context);
    return { ...state, conversation };
  },
  async release({ issueId }, { jobId }) {
    const deps = await otrsRedmineDeps();
    for (const link of await deps.links.findByTarget(issueRef(deps.redmineInstance, issueId))) {
      // The index is read eventually; the link itself is read again before it is written.
      const current = await deps.links.get(link.source);
      // The pair is written only once both sides hold it, so the failed change is not taken for synced.
      if (current) await releaseLease(deps.links, current, jobId);
    }
  },
});

async function linkIssue(
  issue: Issue,
  ticketId: string,
  deps: OtrsRedmineDeps,
  context: JobContext,
  pending?: Link,
) {
  const { settings, otrs, links } = deps;
  const ticket = await otrs.getTicket(ticketId, { articles: "latest", signal: context.signal });
  if (dynamicFieldValue(ticket, settings.otrsDynamicField) !== String(issue.id)) {
    await otrs.updateTicket(
      ticketId,
      { DynamicField: [{ Name: settings.otrsDynamicField, Value: String(issue.id) }] },
      context.signal,
    );
  }
  const aspects = {
    status: statusAspect({ otrs: ticket.State, redmine: issue.status.id }),
    // The issue's notes so far are about this ticket: they are copied; the ticket's history is not.
    conversation: conversationBaseline(ticket),
  };
  const target = issueRef(deps.redmineInstance, issue.id);
  if (pending) {
    const saved = await links.replaceTarget(pending, target, aspects);
    if (saved.outcome === "stale") throw new InProgressError("the link changed while this attempt ran");
  } else {
    const saved = await links.create(ticketRef(deps.otrsInstance, ticketId), target, aspects);
    if (saved.outcome === "exists" && saved.link.target.id !== String(issue.id)) {
      throw new InProgressError("the ticket was linked meanwhile; re-checking");
    }
  }
  context.logger.info("issue linked to its OTRS ticket", { issue_id: issue.id, ticket_id: ticketId });
  return { action: "linked", ticket_id: ticketId, issue_id: issue.id };
}

async function syncStatus(
  issue: Issue,
  ticketId: string,
  link: Link,
  deps: OtrsRedmineDeps,
  context: JobContext,
) {
  const { settings, otrs, links } = deps;
  waitForOtherJobs(link, context.jobId);
  const memory = readStatus(link);
  // An earlier attempt of this job that still holds the lease may have written OTRS: finish it.
  if (memory && !holdsLease(link, context.jobId) && memory.redmine === issue.status.id) {
    return { action: "none", reason: "no status change since the last sync" };
  }
  const done = issue.status.id === settings.done.redmineStatusId;
  const state = done
    ? settings.done.otrsState
    : (settings.stateMap.redmineToOtrs[String(issue.status.id)] ?? null);
  if (state === null) {
    const pair = { otrs: memory?.otrs ?? "", redmine: issue.status.id };
    await releaseLease(links, link, context.jobId, { status: statusAspect(pair) });
    return { action: "none", reason: `status ${issue.status.id} maps to no OTRS state` };
  }
  // Held while OTRS is written: the echo of that write waits, then finds the pair in sync.
  const leased = await takeLease(links, link, context.jobId);
  const ticket = await otrs.getTicket(ticketId, { articles: done ? "all" : "none", signal: context.signal });
  const update: Parameters<typeof otrs.updateTicket>[1] = {};
  if (ticket.State !== state) update.State = state;
  if (done) {
    // The journal that moved the issue to the done status carries the developers' notes.
    const journal = [...issue.journals]
      .reverse()
      .find((j) =>
        j.details.some(
          (d) => d.property === "attr" && d.name === "status_id" && d.new_value === String(issue.status.id),
        ),
      );
    // The conversation's marker: a note copied from this journal already is this note, and the reverse.
    const marker = journalMarker(issue.id, journal?.id ?? "-");
    // Search before create: a retried attempt may already have added this note.
    if (!ticket.Article.some((article) => (article.Body ?? "").includes(marker))) {
      // A private note never leaves Redmine unless the conversation settings say it may.
      const shown = journal && (!journal.private_notes || settings.conversation.redmineToOtrs.privateNotes);
      const notes = (shown ? journal.notes?.trim() : "") || "(sem notas)";
      update.Article = {
        Subject: settings.done.noteSubject,
        Body: `${notes}\n\n${marker}`,
        IsVisibleForCustomer: 0,
      };
    }
  }
  if (update.State || update.Article) await otrs.updateTicket(ticketId, update, context.signal);
  await releaseLease(links, leased, context.jobId, {
    status: statusAspect({ otrs: state, redmine: issue.status.id }),
  });
  context.logger.info("OTRS state set from the Redmine status", {
    ticket_id: ticketId,
    state,
    status_id: issue.status.id,
  });
  return { action: "state", ticket_id: ticketId, state, ...(update.Article ? { note: true } : {}) };
}
