import { randomUUID } from "node:crypto";
import type { LambdaHttpHandler } from "../../lib/core/http.ts";
import { httpEvent } from "../local/events.ts";
import { scenarios } from "../sandbox/scenarios.ts";
import { SECRETS, type Stack } from "../sandbox/stack.ts";

/** One webhook route, and how to make a fresh event for it and send it (as its system would). */
export interface BenchRoute {
  route: string;
  integration: string;
  /** Makes an event in the system's fake (not measured) and returns the call (measured). */
  prepare(): Promise<() => Promise<number>>;
}

const json = { "content-type": "application/json" };
const post =
  (handler: LambdaHttpHandler, path: string, body: unknown, headers: Record<string, string>) => async () =>
    (await handler(httpEvent({ method: "POST", path, body, headers: { ...json, ...headers } }))).statusCode ??
    0;

/** Every webhook route of serverless.yml with an event that does its usual work. */
export async function benchRoutes(stack: Stack): Promise<BenchRoute[]> {
  const all = await scenarios(stack);
  const external = stack.itop.external;
  const internal = stack.itop.internal;
  const issueEvents = (await import("../../functions/otrs-redmine/issue-events.ts")).handler;
  const createTicket = (await import("../../functions/itop/create-ticket.ts")).handler;
  const updateTicket = (await import("../../functions/itop/update-ticket.ts")).handler;
  const privateLog = (await import("../../functions/itop/private-log.ts")).handler;
  const stateChange = (await import("../../functions/itop/state-change.ts")).handler;
  const attachment = (await import("../../functions/itop/update-attachment.ts")).handler;
  const itopToken = { "x-deskbridge-token": SECRETS.ITOP_WEBHOOK_TOKEN };
  const fromScenario = (route: string, integration: string, key: keyof typeof all): BenchRoute => ({
    route,
    integration,
    prepare: async () => (await all[key].prepare()).send,
  });
  /** Runs the jobs a precondition queued (webhooks are answered from the queue by default). */
  const settle = () => stack.drainJobs({ idleMs: 50, timeoutMs: 60_000 });
  /** A shared iTop pair, made without measuring it. */
  const shared = async () => {
    const ticket = external.agentCreatesTicket({
      title: `Bench ${randomUUID()}`,
      description: "<p>x</p>",
      org_id: 1,
      caller_id: 1,
    });
    const create = external.takeWebhooks().find((call) => call.path === "/api/v1/create-ticket");
    await post(createTicket, "/api/v1/create-ticket", create?.payload, itopToken)();
    await settle();
    external.takeWebhooks();
    internal.takeWebhooks();
    const twin = internal.tickets().find((t) => t.external_ref === ticket.ref);
    if (!twin) throw new Error("no twin");
    return { ticket, twin };
  };
  return [
    fromScenario("POST /glpi/tickets", "glpi-forms", "glpiForms"),
    fromScenario("POST /otrs/ticket-events", "otrs-redmine", "otrsRedmine"),
    {
      route: "POST /redmine/issue-events",
      integration: "otrs-redmine",
      async prepare() {
        // A developer finishes the issue of a linked ticket: the done state and its note go to OTRS.
        await (await all.otrsRedmine.prepare()).send();
        await settle();
        const issue = stack.redmine.issues.at(-1);
        if (!issue) throw new Error("no issue");
        const payload = stack.redmine.personUpdates(issue.id, { status_id: 4, notes: "Corrigido" });
        return post(issueEvents, "/redmine/issue-events", payload, {
          "x-deskbridge-token": SECRETS.OTRS_REDMINE_TOKEN,
        });
      },
    },
    fromScenario("POST /api/v1/create-ticket", "itop-pair", "itopPair"),
    {
      route: "POST /api/v1/update-ticket",
      integration: "itop-pair",
      async prepare() {
        const { ticket } = await shared();
        external.agentUpdatesTicket(ticket.id, { title: `Changed ${randomUUID()}` }, "budi");
        external.takeWebhooks();
        return post(
          updateTicket,
          "/api/v1/update-ticket",
          { class: "UserRequest", id: String(ticket.id) },
          itopToken,
        );
      },
    },
    {
      route: "POST /api/v1/ticket-update-private-log",
      integration: "itop-pair",
      async prepare() {
        const { twin } = await shared();
        internal.agentAddsLog(twin.id, "private_log", "<p>Sedang dicek</p>", "rina");
        internal.takeWebhooks();
        return post(
          privateLog,
          "/api/v1/ticket-update-private-log",
          { event: "update private log", id: String(twin.id) },
          itopToken,
        );
      },
    },
    {
      route: "POST /api/v1/ticket-state-change",
      integration: "itop-pair",
      async prepare() {
        const { twin } = await shared();
        internal.agentAppliesStimulus(twin.id, "ev_assign", { team_id: 1, agent_id: 1 }, "rina");
        internal.takeWebhooks();
        return post(
          stateChange,
          "/api/v1/ticket-state-change",
          { event: "ticket assigned", id: String(twin.id) },
          itopToken,
        );
      },
    },
    {
      route: "POST /api/v1/update-attachment",
      integration: "itop-pair",
      async prepare() {
        const { ticket } = await shared();
        const added = external.agentAttaches("UserRequest", ticket.id, {
          filename: "log.txt",
          mimetype: "text/plain",
          data: Buffer.from("bench").toString("base64"),
        });
        external.takeWebhooks();
        return post(
          attachment,
          "/api/v1/update-attachment",
          {
            event: "attachment.update",
            source: "external",
            attachment_id: String(added.id),
            item_class: "UserRequest",
            item_id: String(ticket.id),
          },
          itopToken,
        );
      },
    },
    fromScenario("POST /rt/ticket-events", "rt-kanban", "rtKanban"),
    fromScenario("POST /rocketchat/livechat", "rocketchat-otrs", "livechat"),
    fromScenario("POST /otrs/notifications", "rocketchat-otrs", "notifications"),
  ];
}
