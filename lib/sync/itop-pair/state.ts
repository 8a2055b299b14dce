import { ConfigError, UpstreamPermanentError } from "../../core/errors.ts";
import { REQUIRED_IN_STATE, stimulusPath } from "../../systems/itop/lifecycle.ts";
import type { ItopTicket } from "../../systems/itop/schemas.ts";
import { isEmpty, type PairSync } from "./context.ts";
import { flowsFrom, otherSide, SIDES, type Side } from "./deps.ts";
import { readPair, writePair } from "./memory.ts";

/**
 * The ticket status follows the configured direction (by default internal → external). A status that
 * changed since the last sync is mapped (`stateMap`: unlisted = same status, null = no action) and
 * reached on the other side with the shortest chain of stimuli, each given the fields its target state
 * requires: `stateFields`, else the side's defaults (team, agent), else the value on the source ticket
 * (pending reason, solution, resolution code).
 *
 * iTop does not check external keys on a transition: `ev_assign` without a team or agent answers 0
 * and leaves the ticket assigned to nobody. So the bridge checks first that it has every external key
 * the state needs (ConfigError naming the setting otherwise, nothing sent), and reads the ticket back
 * from the stimulus' answer: a status or key that did not stick is a refusal, not a success.
 */
export async function syncState(sync: PairSync): Promise<void> {
  const { settings } = sync.deps;
  const direction = settings.directions.state;
  const current = { external: sync.tickets.external.status, internal: sync.tickets.internal.status };
  const last = readPair(sync.memory.aspect("state"));
  if (!last) return sync.memory.save("state", writePair(current));
  // Internal first: with "both", the provider's desk wins a simultaneous change.
  const from = (["internal", "external"] as const).find(
    (side) => flowsFrom(direction, side) && current[side] !== last[side],
  );
  if (!from) {
    if (SIDES.some((side) => current[side] !== last[side]))
      await sync.memory.save("state", writePair(current));
    return;
  }
  const to: Side = otherSide(from);
  const mapped = settings.stateMap[current[from]];
  const wanted = mapped === undefined ? current[from] : mapped;
  if (wanted === null || wanted === current[to]) {
    await sync.memory.save("state", writePair(current));
    return;
  }
  const target = sync.tickets[to];
  const path = stimulusPath(target.class, target.status, wanted);
  if (!path) {
    sync.job.logger.warn("no stimulus leads to the mapped status; state not synced", {
      from,
      status: current[from],
      target_status: target.status,
      wanted,
    });
    await sync.memory.save("state", writePair(current));
    return;
  }
  for (const step of path) {
    const fields = fieldsFor(sync, step.to, target, sync.tickets[from], to);
    const keys = (REQUIRED_IN_STATE[step.to] ?? []).filter((name) => EXTERNAL_KEYS.includes(name));
    const lacking = keys.filter((name) => isEmpty(fields[name]) && isEmpty(target.fields[name]));
    if (lacking.length > 0) {
      throw new ConfigError(
        lacking.map((name) => ({
          path: `integrations.itopPair.stateFields.${step.to}.${name}`,
          message: `${to} ${target.class} ${target.ref} needs ${name} to become "${step.to}" and has none: set it here or in integrations.itopPair.defaults.${to} (iTop itself would accept the stimulus without it)`,
        })),
        "config",
      );
    }
    let answer: Record<string, unknown>;
    try {
      answer = (
        await sync.deps.clients[to].applyStimulus(
          target.class,
          Number(target.id),
          step.stimulus,
          fields,
          ["id", "status", ...keys].join(","),
          sync.job.signal,
        )
      ).fields;
    } catch (error) {
      if (error instanceof UpstreamPermanentError) {
        throw new UpstreamPermanentError(
          error.upstream,
          `${step.stimulus} towards "${wanted}" on ${to} ${target.class} ${target.id} was refused: ${error.message}` +
            " (set the fields that state needs under integrations.itopPair.stateFields)",
          { cause: error },
        );
      }
      throw error;
    }
    const unset = keys.filter((name) => isEmpty(answer[name]));
    if (answer.status !== step.to || unset.length > 0) {
      const message = `${step.stimulus} on ${to} ${target.class} ${target.ref} answered success but left it "${String(answer.status)}"${unset.length > 0 ? ` without ${unset.join(", ")}` : ""}`;
      throw new UpstreamPermanentError(
        { system: `itop:${sync.deps.instances[to]}`, status: 200, vendorCode: "0", vendorMessage: message },
        message,
      );
    }
    target.status = step.to;
    Object.assign(target.fields, fields, { status: step.to });
    sync.changes.push(`state ${from} → ${to}: ${step.stimulus} (${step.to})`);
  }
  await sync.memory.save("state", writePair({ ...current, [to]: target.status }));
}

/** The fields of REQUIRED_IN_STATE that are external keys: iTop stores "0" rather than refuse. */
const EXTERNAL_KEYS = ["org_id", "caller_id", "team_id", "agent_id", "service_id"];

function fieldsFor(
  sync: PairSync,
  state: string,
  target: ItopTicket,
  source: ItopTicket,
  side: Side,
): Record<string, unknown> {
  const defaults = sync.deps.settings.defaults[side];
  const fields: Record<string, unknown> = {};
  for (const name of REQUIRED_IN_STATE[state] ?? []) {
    if (!isEmpty(target.fields[name])) continue;
    if (name === "team_id" && defaults.teamId) fields.team_id = defaults.teamId;
    else if (name === "agent_id") fields.agent_id = defaults.agentId;
    else if (name === "org_id") fields.org_id = defaults.orgId;
    else if (name === "caller_id" && defaults.callerId) fields.caller_id = defaults.callerId;
    else if (
      ["pending_reason", "solution", "resolution_code"].includes(name) &&
      !isEmpty(source.fields[name])
    )
      fields[name] = source.fields[name];
  }
  for (const [name, value] of Object.entries(sync.deps.settings.stateFields[state] ?? {})) {
    fields[name] = typeof value === "object" ? (source.fields[value.copy] ?? "") : value;
  }
  return fields;
}
