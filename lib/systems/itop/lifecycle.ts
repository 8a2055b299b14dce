/**
 * The ticket lifecycles of iTop's ITIL datamodels (UserRequest; Incident has no approval states), as
 * stimuli a REST user may apply. `ev_timeout` and `ev_autoresolve` are left out: iTop applies them
 * itself, so the escalated states are not targets the bridge can reach.
 */
const USER_REQUEST: Record<string, Record<string, string>> = {
  new: { ev_assign: "assigned", ev_wait_for_approval: "waiting_for_approval" },
  escalated_tto: { ev_assign: "assigned" },
  assigned: { ev_pending: "pending", ev_resolve: "resolved", ev_reassign: "assigned" },
  escalated_ttr: { ev_pending: "pending", ev_resolve: "resolved", ev_reassign: "assigned" },
  waiting_for_approval: { ev_approve: "approved", ev_reject: "rejected" },
  approved: { ev_assign: "assigned" },
  rejected: { ev_reopen: "new" },
  pending: { ev_assign: "assigned" },
  resolved: { ev_close: "closed", ev_reopen: "assigned" },
  closed: {},
};

const INCIDENT: Record<string, Record<string, string>> = {
  new: { ev_assign: "assigned" },
  escalated_tto: { ev_assign: "assigned" },
  assigned: { ev_pending: "pending", ev_resolve: "resolved", ev_reassign: "assigned" },
  escalated_ttr: { ev_pending: "pending", ev_resolve: "resolved", ev_reassign: "assigned" },
  pending: { ev_assign: "assigned" },
  resolved: { ev_close: "closed", ev_reopen: "assigned" },
  closed: {},
};

/** Fields that must hold a value in a state (`apply_stimulus` refuses the transition otherwise). */
export const REQUIRED_IN_STATE: Record<string, string[]> = {
  assigned: ["team_id", "agent_id"],
  pending: ["pending_reason"],
  resolved: ["service_id", "resolution_code", "solution"],
  new: ["org_id", "caller_id"],
};

export interface Step {
  stimulus: string;
  to: string;
}

/**
 * The shortest sequence of stimuli that takes a ticket of `ticketClass` from `from` to `to`
 * (breadth first); [] when already there, undefined when the target cannot be reached.
 */
export function stimulusPath(ticketClass: string, from: string, to: string): Step[] | undefined {
  if (from === to) return [];
  const graph = ticketClass === "Incident" ? INCIDENT : USER_REQUEST;
  const previous = new Map<string, { state: string; step: Step }>();
  const queue = [from];
  const seen = new Set([from]);
  while (queue.length > 0) {
    const state = queue.shift() as string;
    for (const [stimulus, next] of Object.entries(graph[state] ?? {})) {
      if (seen.has(next)) continue;
      seen.add(next);
      previous.set(next, { state, step: { stimulus, to: next } });
      if (next === to) {
        const path: Step[] = [];
        for (let at = to; at !== from; ) {
          const hop = previous.get(at) as { state: string; step: Step };
          path.unshift(hop.step);
          at = hop.state;
        }
        return path;
      }
      queue.push(next);
    }
  }
  return undefined;
}
