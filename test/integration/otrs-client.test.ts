import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { demoTickets, type OtrsFake, startOtrsFake } from "../../infra/sandbox/otrs.ts";
import { isPermanent, UpstreamPermanentError, UpstreamRetryableError } from "../../lib/core/errors.ts";
import { OtrsClient } from "../../lib/systems/otrs/client.ts";

// The OTRS adapter (lib/systems/otrs/) against the OTRS fake: how it tells a refusal from an outage.

const LOGIN = "deskbridge";
const PASSWORD = "otrs-password-for-tests";

let fake: OtrsFake;
let client: OtrsClient;

beforeAll(async () => {
  fake = await startOtrsFake({ login: LOGIN, password: PASSWORD });
  client = new OtrsClient({
    instance: "main",
    url: fake.url,
    login: LOGIN,
    password: PASSWORD,
    credentialsIn: "body",
    timeoutMs: 2000,
  });
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

async function failure(call: () => Promise<unknown>): Promise<unknown> {
  try {
    await call();
  } catch (error) {
    return error;
  }
  throw new Error("the call succeeded");
}

describe("an operation OTRS will never accept (HTTP 500 with a fault)", () => {
  it("is a permanent refusal carrying OTRS's words, not an outage", async () => {
    const ticket = fake.addTicket(demoTickets[0]!);
    const message = "Ticket could not be created, please contact the system administrator";
    fake.failNext(1, { kind: "fault", message }, { operation: "TicketUpdate" });
    const error = await failure(() => client.updateTicket(ticket.TicketID, { State: "Aberto" }));
    expect(error).toBeInstanceOf(UpstreamPermanentError);
    const refused = error as UpstreamPermanentError;
    expect(refused.upstream).toMatchObject({
      system: "otrs:main",
      status: 500,
      vendorCode: "Server",
      vendorMessage: message,
    });
    expect(refused.message).toContain(message);
    expect(isPermanent(refused)).toBe(true);
    // Nothing retried it in-process.
    expect(fake.count("TicketUpdate")).toBe(1);
  });

  it("keeps TicketUpdate's misspelled-key failure, whose faultstring is Unknown, permanent too", async () => {
    const ticket = fake.addTicket(demoTickets[0]!);
    fake.failNext(1, { kind: "fault", message: "" }, { operation: "TicketGet" });
    const error = await failure(() => client.getTicket(ticket.TicketID));
    expect(error).toBeInstanceOf(UpstreamPermanentError);
    expect((error as UpstreamPermanentError).upstream.vendorMessage).toBe("Unknown");
  });
});

describe("an outage", () => {
  it("is retryable: a plain 500, 502 or 503 without OTRS's fault, and REST.pm's own text/plain 500", async () => {
    const ticket = fake.addTicket(demoTickets[0]!);
    for (const fault of [
      { kind: "status", status: 500 },
      { kind: "status", status: 500, body: "<html><body>Internal Server Error</body></html>" },
      {
        kind: "status",
        status: 500,
        body: "Could not read input data",
        headers: { "Content-Type": "text/plain; charset=UTF-8" },
      },
      { kind: "status", status: 500, body: { faultcode: "Client", detail: "not REST.pm's" } },
      { kind: "status", status: 502, body: "Bad Gateway" },
      { kind: "status", status: 503, body: { faultcode: "Server", faultstring: "on a 503: a proxy's" } },
    ] as const) {
      fake.failNext(1, fault, { operation: "TicketUpdate" });
      const error = await failure(() => client.updateTicket(ticket.TicketID, { State: "Aberto" }));
      expect(error, JSON.stringify(fault)).toBeInstanceOf(UpstreamRetryableError);
      expect(isPermanent(error as UpstreamRetryableError)).toBe(false);
    }
    expect(fake.tickets[0]?.State).toBe("Em Atendimento");
  });
});
