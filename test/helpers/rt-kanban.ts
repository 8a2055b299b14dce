import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import type { RtFake } from "../../infra/sandbox/rt.ts";
import type { LambdaHttpHandler } from "../../lib/core/http.ts";
import { httpEvent, SECRETS } from "./stack.ts";

export const RT_AUTH = { "content-type": "application/json", "x-deskbridge-token": SECRETS.RT_WEBHOOK_TOKEN };

/** The RT route called as API Gateway would, and RT's Scrip calls delivered to it. */
export interface RtBridge {
  post(payload: unknown, headers?: Record<string, string>): Promise<APIGatewayProxyStructuredResultV2>;
  /** Delivers what RT's Scrips would send now (every change, the bridge's own included), until silent. */
  deliverScrips(): Promise<number[]>;
}

/** Loads the route handler (after `setupStack`, which sets the environment it reads). */
export async function rtBridge(rt: RtFake): Promise<RtBridge> {
  const route: LambdaHttpHandler = (await import("../../functions/rt-kanban/ticket-events.ts")).handler;
  const post = (payload: unknown, headers: Record<string, string> = RT_AUTH) =>
    route(httpEvent({ method: "POST", path: "/rt/ticket-events", body: payload, headers }));
  const deliverScrips = async () => {
    const statuses: number[] = [];
    for (let round = 0; round < 10; round += 1) {
      const calls = rt.takeScripCalls();
      if (calls.length === 0) return statuses;
      for (const call of calls) statuses.push((await post(call)).statusCode ?? 0);
    }
    throw new Error("the Scrips never fell silent");
  };
  return { post, deliverScrips };
}
