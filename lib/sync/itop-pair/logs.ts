import { NotFoundError, UpstreamPermanentError } from "../../core/errors.ts";
import type { Blob, CaseLogEntry } from "../../systems/itop/schemas.ts";
import { toTicket } from "../../systems/itop/schemas.ts";
import { attach, hasImageAttachment, recordImageAttachment, withinLimit } from "./attachments.ts";
import { notSynced, type PairSync } from "./context.ts";
import { flowsFrom, otherSide, SIDES, type Side } from "./deps.ts";
import { digest } from "./memory.ts";

/** iTop keeps no id per case-log entry: one is its side, date, author and text. */
export const entryKey = (side: Side, entry: CaseLogEntry) =>
  digest(side, entry.date, entry.user_login, entry.message_html ?? entry.message);

const IMG = /<img\b[^>]*>/gi;

/**
 * Private log entries follow the configured direction, oldest first, each once: the link remembers
 * every entry already copied and every entry the bridge wrote (read back from the write's answer), so
 * redeliveries and the bridge's own entries coming back copy nothing. Images in an entry (iTop's inline
 * images, or data: URIs) become attachments on the other side, and the text is copied without them. An
 * image iTop refuses to give or take (a profile without rights on InlineImage or Attachment) never
 * stops the entry: the text goes across saying so, and the link keeps a note for operators.
 */
export async function syncPrivateLog(sync: PairSync): Promise<void> {
  const direction = sync.deps.settings.directions.privateLog;
  if (direction === "none") return;
  const known = new Set(sync.memory.aspect("privateLog")?.entries ?? []);
  for (const from of SIDES) {
    if (!flowsFrom(direction, from)) continue;
    const to = otherSide(from);
    for (const entry of sync.tickets[from].privateLog) {
      const key = entryKey(from, entry);
      if (known.has(key)) continue;
      const message = await withoutImages(sync, from, to, entry, key);
      const target = sync.tickets[to];
      const written = await sync.deps.clients[to].update(
        target.class,
        Number(target.id),
        { private_log: { add_item: { message, format: "html" } } },
        "id,private_log",
        sync.job.signal,
      );
      known.add(key);
      // The entry just added is the newest one; earlier unknown entries are people's, copied in turn.
      const entries = toTicket(written).privateLog;
      const added = entries[entries.length - 1];
      if (added) known.add(entryKey(to, added));
      await sync.memory.save("privateLog", { entries: [...known] });
      sync.changes.push(`private log entry ${from} → ${to}`);
    }
  }
}

/** The entry's HTML with a line naming its author and date, and each image replaced by a note. */
async function withoutImages(
  sync: PairSync,
  from: Side,
  to: Side,
  entry: CaseLogEntry,
  key: string,
): Promise<string> {
  const html = entry.message_html ?? escapeHtml(entry.message);
  const images = html.match(IMG) ?? [];
  let body = html;
  for (const [index, tag] of images.entries()) {
    // Keyed by entry and position: a retry after a failed log write reuses the attachment it made.
    const imageKey = digest(key, String(index));
    body = body.replace(tag, await imageNote(sync, from, to, entry, tag, imageKey));
  }
  const header = `<p><em>${escapeHtml(entry.user_login || "?")}, ${escapeHtml(entry.date)} (${escapeHtml(sync.deps.instances[from])})</em></p>`;
  return `${header}${body}`;
}

/**
 * What replaces one image of an entry in its copy: "attached" once the attachment is made; otherwise
 * why not (gone, too large, or refused by iTop: then a note for operators as well).
 */
async function imageNote(
  sync: PairSync,
  from: Side,
  to: Side,
  entry: CaseLogEntry,
  tag: string,
  imageKey: string,
): Promise<string> {
  let contents: Blob | undefined;
  try {
    contents = await imageOf(sync, from, tag);
  } catch (error) {
    if (!(error instanceof UpstreamPermanentError || error instanceof NotFoundError)) throw error;
    return refusedImage(
      sync,
      entry,
      from,
      `iTop ${sync.deps.instances[from]} would not give it: ${error.message}`,
    );
  }
  if (!contents) return "[image not available]";
  if (!withinLimit(sync, contents))
    return `[image too large to copy: ${escapeHtml(contents.filename || "image")}]`;
  const extension = contents.mimetype.split("/")[1]?.replace(/[^a-z0-9]/gi, "") || "bin";
  const filename = contents.filename || `log-image-${imageKey}.${extension}`;
  if (!hasImageAttachment(sync, imageKey)) {
    let id: string;
    try {
      id = await attach(sync, to, { ...contents, filename });
    } catch (error) {
      if (!(error instanceof UpstreamPermanentError)) throw error;
      return refusedImage(
        sync,
        entry,
        from,
        `iTop ${sync.deps.instances[to]} would not take it: ${error.message}`,
      );
    }
    await recordImageAttachment(sync, to, id, imageKey);
  }
  return `[image: ${escapeHtml(filename)}, attached]`;
}

function refusedImage(sync: PairSync, entry: CaseLogEntry, from: Side, reason: string): string {
  const note = `an image in the ${from} private log entry of ${entry.date} by ${entry.user_login || "?"} was not copied: ${reason}`;
  notSynced(sync, "privateLog", note);
  sync.job.logger.warn("private log image not copied", { side: from, entry_date: entry.date, reason });
  return "[image not copied: iTop refused the bridge access to it; see the link's notes]";
}

/**
 * The image an `<img>` shows: an iTop InlineImage, or a data: URI. An InlineImage is downloaded with
 * its secret (no rights needed), else read through REST (Administrator only, in a stock iTop).
 */
async function imageOf(sync: PairSync, side: Side, tag: string): Promise<Blob | undefined> {
  const client = sync.deps.clients[side];
  const src = /\ssrc\s*=\s*["']([^"']*)["']/i.exec(tag)?.[1]?.replace(/&amp;/g, "&") ?? "";
  const id =
    /data-img-id\s*=\s*["']?(\d+)/i.exec(tag)?.[1] ??
    (/download_inlineimage/.test(src) ? /[?&]id=(\d+)/.exec(src)?.[1] : undefined);
  const secret =
    /data-img-secret\s*=\s*["']?([0-9a-z]+)/i.exec(tag)?.[1] ??
    (/download_inlineimage/.test(src) ? /[?&]s=([0-9a-z]+)/i.exec(src)?.[1] : undefined);
  if (id && secret) {
    const downloaded = await client.downloadInlineImage(id, secret, sync.job.signal);
    if (downloaded) return downloaded;
  }
  if (id) return client.inlineImage(id, sync.job.signal);
  const uri = /src\s*=\s*["']data:([\w.+-]+\/[\w.+-]+);base64,([^"']+)["']/i.exec(tag);
  if (uri?.[1] && uri[2]) return { mimetype: uri[1], data: uri[2], filename: "" };
  return undefined;
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}
