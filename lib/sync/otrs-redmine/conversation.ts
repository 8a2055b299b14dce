import * as v from "valibot";
import { InProgressError, UpstreamPermanentError } from "../../core/errors.ts";
import type { JobContext } from "../../jobs/model.ts";
import { holdsLease, releaseLease, takeLease } from "../../links/claims.ts";
import type { AspectState, Link } from "../../links/store.ts";
import type { AttachmentInput } from "../../systems/otrs/client.ts";
import type { Article, Ticket } from "../../systems/otrs/schemas.ts";
import type { Issue, Journal } from "../../systems/redmine/schemas.ts";
import type { OtrsRedmineDeps } from "./deps.ts";
import { waitForOtherJobs } from "./link-state.ts";

/**
 * The conversation of a linked pair (link aspect `conversation`): Redmine journals with notes or new
 * attachments become OTRS articles, and new OTRS articles of the configured kinds become journal notes.
 *
 * Exactly once, and no echo:
 * - every copy is recorded in the link as an entry, `r<journal>>o<article>` (a journal copied as an
 *   article) or `o<article>>r<journal>`, written right after the copy; ids on either side of an entry
 *   are never copied again, so what the bridge wrote never comes back;
 * - every copy carries a marker naming its original (`[deskbridge: Redmine #42, journal 100]` in the
 *   article, `[deskbridge: OTRS article 456]` in the note). Before writing, the job searches the target
 *   for the marker: an earlier attempt that wrote and lost the answer (or died before recording) is
 *   found, recorded, and not repeated. Entries carrying the other side's marker are the bridge's own
 *   and are never copied, even before they are recorded. Redmine answers a PUT with 204 and no body,
 *   so the new journal's id is found the same way, by re-reading the issue;
 * - only entries after the link's baseline (`since`: the newest article and journal when the link was
 *   made, or when a link older than this feature first synced) are copied: history stays where it is.
 * Edits and deletions of entries already copied are not synced.
 */
export const CONVERSATION = "conversation";

const StateSchema = v.object({
  since: v.object({ article: v.number(), journal: v.number() }),
});

/** What the link remembers of the conversation. */
export interface ConversationMemory {
  since: { article: number; journal: number };
  entries: string[];
  notes: string[];
}

const MAX_NOTES = 20;

/** The conversation aspect for a baseline and the entries copied so far (counts each way, the last one). */
export function conversationAspect(
  since: ConversationMemory["since"],
  entries: readonly string[] = [],
  notes: readonly string[] = [],
): AspectState {
  const toOtrs = entries.filter((entry) => entry.startsWith("r")).length;
  const last = entries.at(-1);
  const summary: Record<string, string | number> = { toOtrs, toRedmine: entries.length - toOtrs };
  if (last) summary.last = describeEntry(last);
  return {
    state: JSON.stringify({ since, summary }),
    entries: [...entries],
    ...(notes.length > 0 ? { notes: notes.slice(-MAX_NOTES) } : {}),
    syncedAt: new Date().toISOString(),
  };
}

/** `r100>o456` → "Redmine journal 100 → OTRS article 456". */
function describeEntry(entry: string): string {
  const side = (ref: string) =>
    ref.startsWith("r") ? `Redmine journal ${ref.slice(1)}` : `OTRS article ${ref.slice(1)}`;
  const [from = "", to = ""] = entry.split(">");
  return `${side(from)} → ${side(to)}`;
}

/** The conversation memory of a link; undefined for a link made before conversations were synced. */
export function readConversation(link: Link): ConversationMemory | undefined {
  const aspect = link.aspects[CONVERSATION];
  if (!aspect?.state) return undefined;
  let stored: unknown;
  try {
    stored = JSON.parse(aspect.state);
  } catch {
    return undefined;
  }
  const parsed = v.safeParse(StateSchema, stored);
  if (!parsed.success) return undefined;
  return { since: parsed.output.since, entries: aspect.entries ?? [], notes: aspect.notes ?? [] };
}

/** The marker an article copied from a journal carries (the done note of issue-job.ts uses it too). */
export const journalMarker = (issueId: number, journalId: number | string) =>
  `[deskbridge: Redmine #${issueId}, journal ${journalId}]`;
/** The marker a note copied from an article carries. */
export const articleMarker = (articleId: string) => `[deskbridge: OTRS article ${articleId}]`;
const ANY_JOURNAL_MARKER = /\[deskbridge: Redmine #\d+, journal [^\]]*\]/;
const ANY_ARTICLE_MARKER = /\[deskbridge: OTRS article \d+\]/;

/** OTRS 6 / Znuny's communication channels by id (the communication_channel table as installed). */
const CHANNELS: Record<string, string> = { "1": "Email", "2": "Phone", "3": "Internal", "4": "Chat" };

/**
 * Makes both sides hold the whole conversation since the baseline. Reads both lists (it trusts no
 * event), copies what is missing under the link's lease, and records each copy as soon as it is made.
 */
export async function syncConversation(
  link: Link,
  ticketId: string,
  deps: OtrsRedmineDeps,
  context: JobContext,
): Promise<{ toOtrs: number; toRedmine: number }> {
  const { settings, otrs, redmine, links } = deps;
  const config = settings.conversation;
  const none = { toOtrs: 0, toRedmine: 0 };
  if (!config.redmineToOtrs.enabled && !config.otrsToRedmine.enabled) return none;
  waitForOtherJobs(link, context.jobId);
  const issueId = Number(link.target.id);
  const issue = await redmine.getIssue(issueId, context.signal);
  const ticket = await otrs.getTicket(ticketId, { articles: "all", signal: context.signal });
  const memory = readConversation(link);
  if (!memory) {
    // A link made before conversations were synced: its history stays where it is.
    const since = { article: newestArticle(ticket), journal: newestJournal(issue) };
    const saved = await links.updateAspect(link, CONVERSATION, conversationAspect(since));
    if (saved.outcome === "stale") throw new InProgressError("the link changed while this job ran");
    return none;
  }
  const seen = seenIds(memory.entries);
  const journals = config.redmineToOtrs.enabled
    ? issue.journals
        .filter((journal) => journal.id > memory.since.journal && !seen.journals.has(journal.id))
        .filter((journal) => journalToCopy(journal, deps))
        .sort((a, b) => a.id - b.id)
    : [];
  const articles = config.otrsToRedmine.enabled
    ? ticket.Article.filter(
        (article) =>
          Number(article.ArticleID) > memory.since.article && !seen.articles.has(article.ArticleID),
      )
        .filter((article) => articleToCopy(article, deps))
        .sort((a, b) => Number(a.ArticleID) - Number(b.ArticleID))
    : [];
  if (journals.length === 0 && articles.length === 0) return none;

  // Held while either side is written: the echo of a write, or a second event, waits and then finds
  // the entry recorded.
  let held = await takeLease(links, link, context.jobId);
  const entries = [...memory.entries];
  const notes = [...memory.notes];
  const record = async (entry: string) => {
    entries.push(entry);
    const saved = await links.updateAspects(held, {
      [CONVERSATION]: conversationAspect(memory.since, entries, notes),
      // Each entry renews the lease: a long conversation is not taken over half-way.
      lease: { holder: context.jobId, syncedAt: new Date().toISOString() },
    });
    if (saved.outcome === "stale") throw new InProgressError("the link changed while this job ran");
    held = saved.link;
  };

  for (const journal of journals) {
    const marker = journalMarker(issueId, journal.id);
    const existing = ticket.Article.find((article) => (article.Body ?? "").includes(marker));
    const articleId =
      existing?.ArticleID ?? (await copyJournal(issue, journal, ticketId, deps, context, notes));
    await record(`r${journal.id}>o${articleId}`);
  }

  let withFiles: Ticket | undefined;
  let current = issue;
  for (const article of articles) {
    const marker = articleMarker(article.ArticleID);
    let journal = current.journals.find((j) => (j.notes ?? "").includes(marker));
    if (!journal) {
      // Attachments are read only now, and only for the newest articles down to the oldest to copy.
      // (The articles this run wrote, and any added meanwhile, are newer still: a short read is read
      // again in full.)
      if (!withFiles) {
        const oldest = articles[0]?.ArticleID ?? article.ArticleID;
        const limit = ticket.Article.findIndex((a) => a.ArticleID === oldest) + 1 + journals.length;
        withFiles = await otrs.getTicket(ticketId, {
          articles: limit,
          attachments: true,
          signal: context.signal,
        });
      }
      if (!withFiles.Article.some((a) => a.ArticleID === article.ArticleID))
        withFiles = await otrs.getTicket(ticketId, {
          articles: "all",
          attachments: true,
          signal: context.signal,
        });
      const full = withFiles.Article.find((a) => a.ArticleID === article.ArticleID) ?? article;
      await copyArticle(full, ticket, issueId, deps, context, notes);
      current = await redmine.getIssue(issueId, context.signal);
      journal = current.journals.find((j) => (j.notes ?? "").includes(marker));
      if (!journal) {
        throw new UpstreamPermanentError(
          { system: `redmine:${deps.redmineInstance}`, vendorMessage: "the note is not on the issue" },
          `Redmine accepted the note for OTRS article ${article.ArticleID} but issue ${issueId} does not ` +
            "show it (may the bridge user view private notes?)",
        );
      }
    }
    await record(`o${article.ArticleID}>r${journal.id}`);
  }
  if (holdsLease(held, context.jobId)) await releaseLease(links, held, context.jobId);
  context.logger.info("conversation synced", {
    ticket_id: ticketId,
    issue_id: issueId,
    to_otrs: journals.length,
    to_redmine: articles.length,
  });
  return { toOtrs: journals.length, toRedmine: articles.length };
}

/** The baseline of a link made now: the ticket's newest article; no journal of the issue yet. */
export function conversationBaseline(ticket: Ticket): AspectState {
  return conversationAspect({ article: newestArticle(ticket), journal: 0 });
}

function newestArticle(ticket: Ticket): number {
  return Math.max(0, ...ticket.Article.map((article) => Number(article.ArticleID)));
}

function newestJournal(issue: Issue): number {
  return Math.max(0, ...issue.journals.map((journal) => journal.id));
}

function seenIds(entries: readonly string[]): { journals: Set<number>; articles: Set<string> } {
  const journals = new Set<number>();
  const articles = new Set<string>();
  for (const entry of entries) {
    for (const ref of entry.split(">")) {
      if (ref.startsWith("r")) journals.add(Number(ref.slice(1)));
      else if (ref.startsWith("o")) articles.add(ref.slice(1));
    }
  }
  return { journals, articles };
}

const addedAttachments = (journal: Journal) =>
  journal.details.filter((d) => d.property === "attachment" && d.old_value == null && d.new_value != null);

/** A journal with notes or added files, not the bridge's own, and not private unless configured. */
function journalToCopy(journal: Journal, deps: OtrsRedmineDeps): boolean {
  const notes = journal.notes ?? "";
  if (ANY_ARTICLE_MARKER.test(notes)) return false;
  if (journal.private_notes && !deps.settings.conversation.redmineToOtrs.privateNotes) return false;
  return notes.trim() !== "" || addedAttachments(journal).length > 0;
}

/** An article of the configured sender types, channels and visibility, not the bridge's own. */
function articleToCopy(article: Article, deps: OtrsRedmineDeps): boolean {
  const config = deps.settings.conversation.otrsToRedmine;
  if (ANY_JOURNAL_MARKER.test(article.Body ?? "")) return false;
  if (!config.senderTypes.some((type) => type === article.SenderType)) return false;
  const channel = CHANNELS[article.CommunicationChannelID ?? ""];
  if (config.channels && !config.channels.some((c) => c === channel)) return false;
  const visible = article.IsVisibleForCustomer === "1";
  if (config.visibility === "customer" && !visible) return false;
  if (config.visibility === "internal" && visible) return false;
  return true;
}

/** Writes one journal as an article on the ticket; returns the article's id. */
async function copyJournal(
  issue: Issue,
  journal: Journal,
  ticketId: string,
  deps: OtrsRedmineDeps,
  context: JobContext,
  notes: string[],
): Promise<string> {
  const { settings, otrs, redmine } = deps;
  const max = settings.conversation.maxAttachmentBytes;
  const author = journal.user?.name ?? "Redmine";
  const files: AttachmentInput[] = [];
  const lines: string[] = [];
  for (const detail of addedAttachments(journal)) {
    const attachment = issue.attachments.find((a) => String(a.id) === detail.name);
    const filename = detail.new_value ?? attachment?.filename ?? detail.name;
    if (!attachment) {
      lines.push(`(${filename}: no longer in Redmine, not copied)`);
    } else if (attachment.filesize > max) {
      lines.push(`(${filename}, ${size(attachment.filesize)}: not copied, larger than ${size(max)})`);
      notes.push(`Redmine attachment ${attachment.id} (${filename}) not copied: larger than ${size(max)}`);
    } else {
      const bytes = await redmine.downloadAttachment(attachment.id, context.signal);
      files.push({
        Content: Buffer.from(bytes).toString("base64"),
        ContentType: attachment.content_type || "application/octet-stream",
        Filename: attachment.filename,
      });
    }
  }
  const text = (journal.notes ?? "").trim();
  const body = [
    `${author} wrote in Redmine #${issue.id}:`,
    text || `(${files.map((f) => f.Filename).join(", ") || "files"} attached)`,
    ...(lines.length > 0 ? [lines.join("\n")] : []),
    journalMarker(issue.id, journal.id),
  ].join("\n\n");
  const visible =
    !journal.private_notes && settings.conversation.redmineToOtrs.publicVisibleForCustomer ? 1 : 0;
  const written = await otrs.updateTicket(
    ticketId,
    {
      Article: {
        Subject: `Redmine #${issue.id}: ${author}`.slice(0, 250),
        Body: body,
        IsVisibleForCustomer: visible,
        From: `${author} (Redmine)`,
      },
      ...(files.length > 0 ? { Attachment: files } : {}),
    },
    context.signal,
  );
  if (written.articleId) return written.articleId;
  // An answer without the id: the article carries the marker, so it is found by reading the ticket.
  const ticket = await otrs.getTicket(ticketId, { articles: "all", signal: context.signal });
  const found = ticket.Article.find((a) => (a.Body ?? "").includes(journalMarker(issue.id, journal.id)));
  if (!found) throw new InProgressError("the new article is not on the ticket yet");
  return found.ArticleID;
}

/** Writes one article as a note on the issue, its files uploaded first. */
async function copyArticle(
  article: Article,
  ticket: Ticket,
  issueId: number,
  deps: OtrsRedmineDeps,
  context: JobContext,
  notes: string[],
): Promise<void> {
  const { settings, redmine } = deps;
  const config = settings.conversation.otrsToRedmine;
  const max = settings.conversation.maxAttachmentBytes;
  const uploads: { token: string; filename: string; content_type: string }[] = [];
  const lines: string[] = [];
  for (const file of article.Attachment ?? []) {
    const filename = file.Filename || "attachment";
    const bytes = file.FilesizeRaw ?? Buffer.byteLength(file.Content, "base64");
    if (bytes > max) {
      lines.push(`(${filename}, ${size(bytes)}: not copied, larger than ${size(max)})`);
      notes.push(`OTRS article ${article.ArticleID}: ${filename} not copied, larger than ${size(max)}`);
      continue;
    }
    const contentType = file.ContentType.split(";")[0]?.trim() || "application/octet-stream";
    try {
      const contents = Buffer.from(file.Content, "base64");
      const token = await redmine.upload(contents, filename, contentType, context.signal);
      uploads.push({ token, filename, content_type: contentType });
    } catch (error) {
      // Redmine refuses a file for good (over its own attachment_max_size, an extension it does not
      // allow): the note says so rather than holding up the whole conversation.
      if (!(error instanceof UpstreamPermanentError)) throw error;
      const why = error.upstream.vendorMessage ?? error.message;
      lines.push(`(${filename}: not copied, Redmine refused it: ${why})`);
      notes.push(`OTRS article ${article.ArticleID}: ${filename} refused by Redmine: ${why}`);
    }
  }
  const customer = article.SenderType === "customer";
  const text = customer ? trimQuotes(article.Body ?? "", config.trimQuotes) : (article.Body ?? "").trim();
  const kind = customer ? "customer" : article.SenderType === "agent" ? "agent" : "system";
  const body = [
    `${authorOf(article)} (${kind}) wrote in OTRS ticket ${ticket.TicketNumber}:`,
    text || `(${uploads.map((u) => u.filename).join(", ") || "no text"})`,
    ...(lines.length > 0 ? [lines.join("\n")] : []),
    articleMarker(article.ArticleID),
  ].join("\n\n");
  await redmine.updateIssue(
    issueId,
    {
      notes: body,
      ...(config.privateNotes ? { private_notes: true } : {}),
      ...(uploads.length > 0 ? { uploads } : {}),
    },
    context.signal,
  );
}

/** `"Maria Souza" <maria@example.com>` → `Maria Souza`; a bare address stays as it is. */
function authorOf(article: Article): string {
  const from = (article.From ?? "").trim();
  const name = /^"?([^"<]+?)"?\s*<[^>]*>$/.exec(from)?.[1]?.trim();
  return name || from || "OTRS";
}

/**
 * Cuts a customer's e-mail quoting: lines starting with `>` (when configured), and everything from the
 * first line matching a `cutFrom` pattern ("On … wrote:").
 */
export function trimQuotes(
  body: string,
  config: { quotedLines: boolean; cutFrom: readonly string[] },
): string {
  const patterns = config.cutFrom.map((pattern) => new RegExp(pattern, "i"));
  const kept: string[] = [];
  for (const line of body.replace(/\r\n?/g, "\n").split("\n")) {
    if (patterns.some((pattern) => pattern.test(line.trim()))) break;
    if (config.quotedLines && /^\s*>/.test(line)) continue;
    kept.push(line);
  }
  return kept.join("\n").trim();
}

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 102.4) / 10} KB`;
  return `${Math.round(bytes / (1024 * 102.4)) / 10} MB`;
}
