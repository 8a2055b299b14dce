import type { CaseLogEntry } from "../../systems/itop/schemas.ts";
import { toTicket } from "../../systems/itop/schemas.ts";
import { attach, hasImageAttachment, recordImageAttachment, withinLimit } from "./attachments.ts";
import type { PairSync } from "./context.ts";
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
 * images, or data: URIs) become attachments on the other side, and the text is copied without them.
 */
export async function syncPrivateLog(sync: PairSync): Promise<void> {
  const direction = sync.deps.settings.directions.privateLog;
  if (direction === "none") return;
  const known = new Set(sync.memory.aspect("privateLog")?.ids ?? []);
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
      await sync.memory.save("privateLog", { ids: [...known] });
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
    const contents = await imageOf(sync, from, tag);
    let note = "[image not available]";
    if (contents && !withinLimit(sync, contents)) {
      note = `[image too large to copy: ${escapeHtml(contents.filename || "image")}]`;
    } else if (contents) {
      const extension = contents.mimetype.split("/")[1]?.replace(/[^a-z0-9]/gi, "") || "bin";
      const filename = contents.filename || `log-image-${imageKey}.${extension}`;
      if (!hasImageAttachment(sync, imageKey)) {
        const id = await attach(sync, to, { ...contents, filename });
        await recordImageAttachment(sync, to, id, imageKey);
      }
      note = `[image: ${escapeHtml(filename)}, attached]`;
    }
    body = body.replace(tag, note);
  }
  const header = `<p><em>${escapeHtml(entry.user_login || "?")}, ${escapeHtml(entry.date)} (${escapeHtml(sync.deps.instances[from])})</em></p>`;
  return `${header}${body}`;
}

/** The image an `<img>` shows: an iTop InlineImage (`data-img-id`), or a data: URI. */
async function imageOf(sync: PairSync, side: Side, tag: string) {
  const id = /data-img-id\s*=\s*["']?(\d+)/i.exec(tag)?.[1];
  if (id) return sync.deps.clients[side].inlineImage(id, sync.job.signal);
  const uri = /src\s*=\s*["']data:([\w.+-]+\/[\w.+-]+);base64,([^"']+)["']/i.exec(tag);
  if (uri?.[1] && uri[2]) return { mimetype: uri[1], data: uri[2], filename: "" };
  return undefined;
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}
