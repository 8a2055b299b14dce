import type { Logger } from "@aws-lambda-powertools/logger";
import type { CursorStore } from "../links/cursors.ts";

/** How far back a poller looks: before its first cursor, and for changes committed late. */
export interface PollSettings {
  overlapSeconds: number;
  initialLookbackHours: number;
}

/** One poll run's window: read items changed since `since`, `see` each, then `save` the position. */
export interface PollWindow {
  since: Date;
  /** Records an item's (timestamp, id); the cursor ends at the greatest, so equal timestamps never stall it. */
  see(at: string, id: string): void;
  /**
   * Saves where the run got to. A run that saw nothing still saves the window's start, so that the next
   * one looks back from there and not from its own "now" (with no look-back, a poller that never saw an
   * item would never see one). `truncated`: the run stopped at its page limit with more to read, so the
   * next run starts at the cursor without the overlap (an overlap wider than one run's pages would
   * re-read the same items for ever).
   */
  save(options: { truncated: boolean }): Promise<string>;
}

/** A timestamp as the systems write theirs (`2026-12-02T17:19:18Z`): string order is time order. */
const toSeconds = (date: Date) => date.toISOString().replace(/\.\d{3}Z$/, "Z");

/** Opens this run's window from the poller's cursor (`name` in the cursor store). */
export async function openPollWindow(
  cursors: CursorStore,
  name: string,
  settings: PollSettings,
  logger: Logger,
): Promise<PollWindow> {
  // Everything changed before this moment is listed by a run that reads to the end: its lag's zero.
  const startedAt = new Date();
  const cursor = await cursors.get(name);
  const since = cursor
    ? new Date(Date.parse(cursor.at) - (cursor.resume ? 0 : settings.overlapSeconds * 1000))
    : new Date(Date.now() - settings.initialLookbackHours * 3600 * 1000);
  let last = cursor ? { at: cursor.at, id: cursor.id } : { at: toSeconds(since), id: "0" };
  return {
    since,
    see(at, id) {
      if (at > last.at || (at === last.at && Number(id) > Number(last.id))) last = { at, id };
    },
    async save({ truncated }) {
      const next = { ...last, resume: truncated };
      const unchanged =
        cursor && next.at === cursor.at && next.id === cursor.id && truncated === Boolean(cursor.resume);
      if (!unchanged && !(await cursors.advance(name, cursor, next)))
        logger.warn("another poll moved the cursor first; this run's position was not saved", {
          cursor: name,
        });
      // The run succeeded: its lag is measured from here (the status page, the poller lag metric).
      await cursors.recordRun(name, {
        lastSuccessAt: new Date().toISOString(),
        caughtUpTo: truncated ? new Date(Date.parse(next.at)).toISOString() : startedAt.toISOString(),
        cursorAt: next.at,
      });
      return next.at;
    },
  };
}
