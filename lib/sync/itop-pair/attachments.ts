import type { ItopAttachment } from "../../systems/itop/schemas.ts";
import type { PairSync } from "./context.ts";
import { flowsFrom, otherSide, SIDES, type Side } from "./deps.ts";
import { digest } from "./memory.ts";

/** A pair of attachments kept equal; `IMAGE` on one side: made from an image in a private log entry. */
interface AttachmentPair {
  external: string;
  internal: string;
  hash: string;
}
export const IMAGE = "img";
/** On one side of a pair: the attachment was too large to copy (maxAttachmentBytes); it stays uncopied. */
export const SKIPPED = "skipped";

/** The decoded size of base64 data, without decoding it. */
export function base64Bytes(data: string): number {
  const padding = data.endsWith("==") ? 2 : data.endsWith("=") ? 1 : 0;
  return Math.floor((data.length * 3) / 4) - padding;
}

/** Whether contents may be copied: within integrations.itopPair.maxAttachmentBytes. */
export function withinLimit(sync: PairSync, contents: Pick<ItopAttachment["contents"], "data">): boolean {
  return base64Bytes(contents.data) <= sync.deps.settings.maxAttachmentBytes;
}

const encode = (pair: AttachmentPair) => `${pair.external}|${pair.internal}|${pair.hash}`;
function decode(id: string): AttachmentPair | undefined {
  const [external, internal, hash] = id.split("|");
  return external && internal && hash ? { external, internal, hash } : undefined;
}

export const contentDigest = (attachment: Pick<ItopAttachment, "contents">) =>
  digest(attachment.contents.filename, attachment.contents.mimetype, attachment.contents.data);

function readPairs(sync: PairSync): AttachmentPair[] {
  return (sync.memory.aspect("attachments")?.entries ?? []).flatMap((id) => decode(id) ?? []);
}

async function savePairs(sync: PairSync, pairs: AttachmentPair[]): Promise<void> {
  await sync.memory.save("attachments", { entries: pairs.map(encode) });
}

/** Creates an attachment on one side's ticket; returns its id. */
export async function attach(
  sync: PairSync,
  side: Side,
  contents: ItopAttachment["contents"],
): Promise<string> {
  const ticket = sync.tickets[side];
  const created = await sync.deps.clients[side].create(
    "Attachment",
    {
      item_class: ticket.class,
      item_id: Number(ticket.id),
      item_org_id: Number(ticket.orgId) || 0,
      contents: { data: contents.data, filename: contents.filename, mimetype: contents.mimetype },
    },
    "id",
    sync.job.signal,
  );
  return String(created.key);
}

/** Whether the log image with this key already has its attachment. */
export function hasImageAttachment(sync: PairSync, imageKey: string): boolean {
  return readPairs(sync).some(
    (pair) => pair.hash === imageKey && (pair.external === IMAGE || pair.internal === IMAGE),
  );
}

/** Remembers an attachment made from a log image, so that it is never copied back. */
export async function recordImageAttachment(sync: PairSync, side: Side, id: string, imageKey: string) {
  const pair =
    side === "external"
      ? { external: id, internal: IMAGE, hash: imageKey }
      : { external: IMAGE, internal: id, hash: imageKey };
  await savePairs(sync, [...readPairs(sync), pair]);
}

/**
 * Attachments follow the configured direction: a new one is copied, a changed one (its contents'
 * digest differs from the pair's) overwrites its copy, a deleted one deletes its copy. Pairs are saved
 * after every write, so a retry never copies the same attachment twice.
 */
export async function syncAttachments(sync: PairSync): Promise<void> {
  const direction = sync.deps.settings.directions.attachments;
  if (direction === "none") return;
  const lists = {
    external: await listAttachments(sync, "external"),
    internal: await listAttachments(sync, "internal"),
  };
  const byId = {
    external: new Map(lists.external.map((a) => [a.id, a])),
    internal: new Map(lists.internal.map((a) => [a.id, a])),
  };
  let pairs = readPairs(sync);
  const paired = { external: new Set<string>(), internal: new Set<string>() };

  for (const pair of [...pairs]) {
    const present = {
      external: byId.external.get(pair.external),
      internal: byId.internal.get(pair.internal),
    };
    paired.external.add(pair.external);
    paired.internal.add(pair.internal);
    const skippedSide = SIDES.find((side) => pair[side] === SKIPPED);
    if (skippedSide) {
      // Too large to copy: forget it once deleted; copy it if it shrank below the limit.
      const original = present[otherSide(skippedSide)];
      if (!original || withinLimit(sync, original.contents)) pairs = await drop(sync, pairs, pair);
      if (original && withinLimit(sync, original.contents))
        paired[otherSide(skippedSide)].delete(pair[otherSide(skippedSide)]);
      continue;
    }
    const imageSide = SIDES.find((side) => pair[side] === IMAGE);
    if (imageSide) {
      // Made from a log image: it lives on its own; forget it once deleted.
      if (!present[otherSide(imageSide)]) pairs = await drop(sync, pairs, pair);
      continue;
    }
    const gone = SIDES.find((side) => !present[side]);
    if (gone) {
      const survivor = otherSide(gone);
      const copy = present[survivor];
      if (copy && flowsFrom(direction, gone)) {
        await sync.deps.clients[survivor].delete("Attachment", Number(copy.id), sync.job.signal);
        sync.changes.push(`attachment ${pair[gone]} deleted on ${gone} → ${survivor}`);
      }
      pairs = await drop(sync, pairs, pair);
      continue;
    }
    const from = SIDES.find(
      (side) => flowsFrom(direction, side) && contentDigest(present[side] as ItopAttachment) !== pair.hash,
    );
    if (!from) continue;
    const to = otherSide(from);
    const source = present[from] as ItopAttachment;
    if (!withinLimit(sync, source.contents)) {
      // The new version is too large: the copy keeps the last version that fitted.
      sync.job.logger.warn("updated attachment too large to copy", { side: from, attachment_id: pair[from] });
      pairs = pairs.map((p) => (p === pair ? { ...pair, hash: contentDigest(source) } : p));
      await savePairs(sync, pairs);
      continue;
    }
    await sync.deps.clients[to].update(
      "Attachment",
      Number(pair[to]),
      {
        contents: {
          data: source.contents.data,
          filename: source.contents.filename,
          mimetype: source.contents.mimetype,
        },
      },
      "id",
      sync.job.signal,
    );
    pairs = pairs.map((p) => (p === pair ? { ...pair, hash: contentDigest(source) } : p));
    await savePairs(sync, pairs);
    sync.changes.push(`attachment ${pair[from]} updated on ${from} → ${to}`);
  }

  for (const from of SIDES) {
    if (!flowsFrom(direction, from)) continue;
    const to = otherSide(from);
    for (const attachment of lists[from]) {
      if (paired[from].has(attachment.id)) continue;
      if (!withinLimit(sync, attachment.contents)) {
        sync.job.logger.warn("attachment too large to copy", {
          side: from,
          attachment_id: attachment.id,
          bytes: base64Bytes(attachment.contents.data),
          limit: sync.deps.settings.maxAttachmentBytes,
        });
        const skipped =
          from === "external"
            ? { external: attachment.id, internal: SKIPPED, hash: contentDigest(attachment) }
            : { external: SKIPPED, internal: attachment.id, hash: contentDigest(attachment) };
        pairs = [...pairs, skipped];
        await savePairs(sync, pairs);
        sync.changes.push(`attachment ${attachment.id} on ${from} not copied: over the size limit`);
        continue;
      }
      const copyId = await attach(sync, to, attachment.contents);
      const pair =
        from === "external"
          ? { external: attachment.id, internal: copyId, hash: contentDigest(attachment) }
          : { external: copyId, internal: attachment.id, hash: contentDigest(attachment) };
      pairs = [...pairs, pair];
      paired[to].add(copyId);
      await savePairs(sync, pairs);
      sync.changes.push(`attachment ${attachment.id} copied ${from} → ${to}`);
    }
  }
}

function listAttachments(sync: PairSync, side: Side): Promise<ItopAttachment[]> {
  if (sync.created === side) return Promise.resolve([]);
  const ticket = sync.tickets[side];
  return sync.deps.clients[side].attachments(ticket.class, ticket.id, sync.job.signal);
}

async function drop(
  sync: PairSync,
  pairs: AttachmentPair[],
  pair: AttachmentPair,
): Promise<AttachmentPair[]> {
  const rest = pairs.filter((p) => p !== pair);
  await savePairs(sync, rest);
  return rest;
}
