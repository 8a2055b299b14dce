import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { expect } from "vitest";
import type { ItopFake } from "../../infra/sandbox/itop.ts";
import type { LambdaHttpHandler } from "../../lib/core/http.ts";
import { httpEvent, SECRETS } from "./stack.ts";

const ROUTE_MODULES = {
  "/api/v1/create-ticket": "create-ticket",
  "/api/v1/update-ticket": "update-ticket",
  "/api/v1/update-attachment": "update-attachment",
  "/api/v1/ticket-update-private-log": "private-log",
  "/api/v1/ticket-state-change": "state-change",
} as const;

export const ITOP_AUTH = {
  "content-type": "application/json",
  "x-deskbridge-token": SECRETS.ITOP_WEBHOOK_TOKEN,
};
export const ITOP_FORM_AUTH = { ...ITOP_AUTH, "content-type": "application/x-www-form-urlencoded" };

/** A payload as the iTop-to-iTop action posts it: `version=1.3&json_data=<JSON>`. */
export const itopForm = (payload: unknown) =>
  new URLSearchParams({ version: "1.3", json_data: JSON.stringify(payload) }).toString();

/** The five iTop route handlers, called as API Gateway would, and both iTops' webhooks delivered to them. */
export interface ItopBridge {
  send(
    path: string,
    payload: unknown,
    headers?: Record<string, string>,
  ): Promise<APIGatewayProxyStructuredResultV2>;
  /**
   * The same payload as the webhook extension's iTop-to-iTop action posts it by default: form-encoded,
   * `version=1.3&json_data=<the payload as JSON>`.
   */
  sendForm(
    path: string,
    payload: unknown,
    headers?: Record<string, string>,
  ): Promise<APIGatewayProxyStructuredResultV2>;
  /**
   * Delivers what both iTops' webhooks would send now, round after round, until they fall silent (as
   * JSON, or form-encoded with `json_data`).
   */
  deliverWebhooks(encoding?: "json" | "form"): Promise<number[]>;
  /** A customer opens a ticket on the external iTop; its webhooks are delivered; returns it and its twin. */
  sharedTicket(title?: string): Promise<{ ticket: ItopTicketOf; twin: ItopTicketOf }>;
}
type ItopTicketOf = ReturnType<ItopFake["agentCreatesTicket"]>;

/** Loads the route handlers (after `setupStack`, which sets the environment they read). */
export async function itopBridge(external: ItopFake, internal: ItopFake): Promise<ItopBridge> {
  const routes: Record<string, LambdaHttpHandler> = {};
  for (const [path, file] of Object.entries(ROUTE_MODULES)) {
    routes[path] = (await import(`../../functions/itop/${file}.ts`)).handler;
  }
  const send = (path: string, payload: unknown, headers: Record<string, string> = ITOP_AUTH) => {
    const route = routes[path];
    if (!route) throw new Error(`no route ${path}`);
    return route(httpEvent({ method: "POST", path, body: payload, headers }));
  };
  const sendForm = (path: string, payload: unknown, headers: Record<string, string> = ITOP_FORM_AUTH) => {
    const route = routes[path];
    if (!route) throw new Error(`no route ${path}`);
    return route(httpEvent({ method: "POST", path, rawBody: itopForm(payload), headers }));
  };
  const deliverWebhooks = async (encoding: "json" | "form" = "json") => {
    const deliver = encoding === "form" ? sendForm : send;
    const statuses: number[] = [];
    for (let round = 0; round < 10; round += 1) {
      const calls = [...external.takeWebhooks(), ...internal.takeWebhooks()];
      if (calls.length === 0) return statuses;
      for (const call of calls) statuses.push((await deliver(call.path, call.payload)).statusCode ?? 0);
    }
    throw new Error("the webhooks never fell silent: the two iTops are looping");
  };
  const sharedTicket = async (title = "Email tidak bisa dikirim") => {
    const ticket = external.agentCreatesTicket({
      class: "UserRequest",
      title,
      description: "<p>Sejak pagi email keluar tertahan di outbox.</p>",
      org_id: 1,
      caller_id: 1,
      urgency: "3", // impact 1 (a department) × urgency 3 (medium): priority 2
      by: "budi",
    });
    expect(await deliverWebhooks()).toEqual(expect.arrayContaining([200]));
    const twin = internal.tickets().find((t) => t.external_ref === ticket.ref);
    if (!twin) throw new Error("no internal ticket was created");
    return { ticket, twin };
  };
  return { send, sendForm, deliverWebhooks, sharedTicket };
}

/** How many writes (anything but core/get) an iTop was sent. */
export const writes = (fake: ItopFake) => fake.calls.filter((call) => call.operation !== "core/get").length;
