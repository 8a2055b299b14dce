/**
 * The soak's bookkeeping, apart from the I/O that feeds it so that it can be tested on its own. Each
 * event is counted by the objects it made in its target system, once when the queue has drained
 * (`before` the replay of the dead letters) and once after the replay (`after`). Every event lands in
 * exactly one bucket of each phase, so a figure can no longer miss an event without naming it.
 */

/** `conversation`: on a linked OTRS ticket and Redmine issue, a developer's note and a customer's reply, each with a file. */
export type SoakKind =
  | "glpi"
  | "otrs-redmine"
  | "conversation"
  | "itop"
  | "rt"
  | "livechat"
  | "notify"
  | "notify-hooks";

/**
 * Kinds whose target may show a second object without a bridge fault: a Rocket.Chat Incoming WebHook
 * takes no message id, so a post whose answer was lost is posted again on the retry (or the replay).
 * docs/reliability.md documents this as the one at-least-once delivery. Notifications through the bot
 * user (`notify`) post under an id of their own and are exactly once like everything else.
 */
export const AT_LEAST_ONCE_KINDS: ReadonlySet<SoakKind> = new Set(["notify-hooks"]);

export interface EventCount {
  kind: SoakKind;
  /** What identifies the event in its target and in its jobs. */
  handle: string;
  /** Objects in the target when the queue had drained, before the replay. */
  before: number;
  /** Whether a dead letter named the event when the queue had drained. */
  deadLetteredBefore: boolean;
  /** Objects in the target after the replay had drained. */
  after: number;
}

export interface SoakAccount {
  /** Before the replay: exactly one object. */
  converged: number;
  /** Before the replay: no object yet, and a dead letter kept the job (nothing lost). */
  deadLettered: number;
  /** Before the replay: no object and no dead letter. Must be empty. */
  lost: EventCount[];
  /** More than one object, before or after the replay, of a kind that must be exactly once. Must be empty. */
  duplicated: EventCount[];
  /** Notifications that reached their channel more than once (after the replay): see AT_LEAST_ONCE_KINDS. */
  reposted: EventCount[];
  /** Posts beyond the first, over every reposted notification: at most one per lost answer. */
  extraPosts: number;
  /** After the replay: exactly one object. */
  exactlyOnceAfterReplay: number;
  /** After the replay: no object at all. Must be empty. */
  missingAfterReplay: EventCount[];
  /** Every event whose effect after the replay is not exactly one object (zero, or more, of any kind). */
  notExactlyOnce: EventCount[];
}

/** Sorts every event into the buckets of both phases. */
export function accountSoak(counts: readonly EventCount[]): SoakAccount {
  const atLeastOnce = (event: EventCount) => AT_LEAST_ONCE_KINDS.has(event.kind);
  const reposted = counts.filter((event) => atLeastOnce(event) && Math.max(event.before, event.after) > 1);
  return {
    converged: counts.filter((event) => event.before === 1).length,
    deadLettered: counts.filter((event) => event.before === 0 && event.deadLetteredBefore).length,
    lost: counts.filter((event) => event.before === 0 && !event.deadLetteredBefore),
    duplicated: counts.filter((event) => !atLeastOnce(event) && Math.max(event.before, event.after) > 1),
    reposted,
    extraPosts: reposted.reduce((sum, event) => sum + Math.max(event.before, event.after) - 1, 0),
    exactlyOnceAfterReplay: counts.filter((event) => event.after === 1).length,
    missingAfterReplay: counts.filter((event) => event.after === 0),
    notExactlyOnce: counts.filter((event) => event.after !== 1),
  };
}
