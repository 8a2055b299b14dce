import * as v from "valibot";
import {
  type Config,
  lazy,
  maxConcurrency,
  missingInstances,
  nonNegativeInt,
  positiveInt,
  regexSource,
  sharedSecretAuthSchema,
} from "../../core/config-schema.ts";
import type { FieldProblem } from "../../core/errors.ts";

/** A condition every projected ticket must meet (all rules of the list must hold). */
const rtFilterRule = lazy(() =>
  v.pipe(
    v.strictObject({
      /** `Subject`, `Status`, `Owner`, `Priority`, `Requestor`, or a custom field as `CF.{Name}`. */
      field: v.pipe(
        v.string(),
        v.regex(
          /^(Subject|Status|Owner|Priority|Requestor|CF\.\{[^}]+\})$/,
          "must be Subject, Status, Owner, Priority, Requestor or CF.{Name}",
        ),
      ),
      in: v.optional(v.array(v.string())),
      notIn: v.optional(v.array(v.string())),
      /** A regular expression the value must match (case-insensitive)… */
      matches: v.optional(regexSource()),
      /** …or must not match. */
      notMatches: v.optional(regexSource()),
    }),
    v.check(
      (rule) => Boolean(rule.in || rule.notIn || rule.matches || rule.notMatches),
      "needs `in`, `notIn`, `matches` or `notMatches`",
    ),
  ),
);
export type RtFilterRule = v.InferOutput<ReturnType<typeof rtFilterRule>>;

/** RT's default lifecycle on Kanboard's default columns. */
const DEFAULT_RT_COLUMNS = {
  new: "Backlog",
  open: "Work in progress",
  stalled: "Work in progress",
  resolved: "Done",
  rejected: "Done",
};

/** `integrations.rtKanban`: this integration's settings, when the deployment enables it. */
export const rtKanbanSchema = lazy(() =>
  v.strictObject({
    maxConcurrency: maxConcurrency(),
    /** Key of the RT instance under systems.rt. */
    rt: v.string(),
    board: v.strictObject({
      /** Key of the Kanboard instance under systems.kanboard. */
      kanboard: v.string(),
      projectId: positiveInt(),
      /** The swimlane cards are created in (by name); the project's first active swimlane when absent. */
      swimlane: v.optional(v.pipe(v.string(), v.minLength(1))),
    }),
    /** The secret the Scrip sends (a header, HTTP Basic's password, or `?token=` with allowQueryToken). */
    auth: sharedSecretAuthSchema(),
    /** RT queues whose tickets become cards. */
    queues: v.pipe(v.array(v.pipe(v.string(), v.minLength(1))), v.minLength(1, "needs at least one queue")),
    /** Queues whose tickets never reach the board: a ticket moved there loses its card (deleted, not archived). */
    sensitiveQueues: v.optional(v.array(v.pipe(v.string(), v.minLength(1))), []),
    /** Further conditions a ticket must meet to be shown (all of them). */
    filters: v.optional(v.array(rtFilterRule()), []),
    /** RT status → column title. Statuses not listed go to `defaultColumn`. */
    columns: v.optional(v.record(v.string(), v.pipe(v.string(), v.minLength(1))), DEFAULT_RT_COLUMNS),
    /** The column of a status `columns` does not list; the board's first column when absent. */
    defaultColumn: v.optional(v.pipe(v.string(), v.minLength(1))),
    /** The RT ticket custom field that holds the card id (the old setup's `FlowIO-id`). */
    cardField: v.optional(v.pipe(v.string(), v.minLength(1)), "FlowIO-id"),
    /** What happens to the card of a ticket that leaves the board: `delete` it, or `close` (archive) it. */
    onRemove: v.optional(v.picklist(["delete", "close"]), "delete"),
    /** RT user name → board user id; others are matched by user name on the board, or left unassigned. */
    owners: v.optional(v.record(v.string(), nonNegativeInt()), {}),
    matchOwnersByUsername: v.optional(v.boolean(), true),
    /** RT priority bands → board priority: the last band whose `from` the RT priority reaches. */
    priorities: v.optional(
      v.pipe(v.array(v.strictObject({ from: nonNegativeInt(), priority: nonNegativeInt() })), v.minLength(1)),
      [
        { from: 0, priority: 0 },
        { from: 25, priority: 1 },
        { from: 50, priority: 2 },
        { from: 75, priority: 3 },
      ],
    ),
    /** The card title; `{id}`, `{subject}` and `{queue}` are replaced. */
    title: v.optional(v.pipe(v.string(), v.minLength(1)), "#{id} {subject}"),
    poller: v.optional(
      v.strictObject({
        overlapSeconds: v.optional(nonNegativeInt(), 120),
        initialLookbackHours: v.optional(nonNegativeInt(), 24),
      }),
      {},
    ),
    reconciler: v.optional(
      v.strictObject({
        /** Inactive tickets changed within this many days are checked too (resolved just now, say). */
        lookbackDays: v.optional(positiveInt(), 7),
      }),
      {},
    ),
  }),
);
export type RtKanbanConfig = v.InferOutput<ReturnType<typeof rtKanbanSchema>>;

declare module "../../core/config-schema.ts" {
  interface IntegrationSettingsMap {
    rtKanban: RtKanbanConfig;
  }
}

type Systems = Config["systems"];

/** What its settings name must exist under `systems` (paths relative to `integrations.rtKanban`). */
export function checkRtKanban(settings: RtKanbanConfig, systems: Systems): FieldProblem[] {
  const problems = missingInstances(systems, [
    ["rt", "rt", settings.rt],
    ["board.kanboard", "kanboard", settings.board.kanboard],
  ]);
  for (const queue of settings.queues ?? []) {
    if (settings.sensitiveQueues.includes(queue)) {
      problems.push({
        path: "sensitiveQueues",
        message: `lists ${queue}, which integrations.rtKanban.queues exposes`,
      });
    }
  }
  return problems;
}
