import { sqlString } from "../../systems/rt/client.ts";

/** The TicketSQL condition "in one of these queues". */
export function inQueues(queues: readonly string[]): string {
  return `(${queues.map((queue) => `Queue = ${sqlString(queue)}`).join(" OR ")})`;
}
