import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RtFake, startRtFake } from "../../infra/sandbox/rt.ts";
import { type RealRt, startRealRt } from "./servers/rt.ts";

/**
 * The RT fake beside a real RT 5.0.3 set up the same way (the README's bridge rights: it reads General,
 * Helpdesk and Facilities, may not see HR, may change only FlowIO-id), driven through REST2 by the same
 * requests. What the bridge depends on must come back the same: statuses and bodies of refusals, PUT
 * sentences, search totals and paging, and the links a ticket offers. Ids are compared by position.
 */
let real: RealRt;
let fake: RtFake;
const FAKE_TOKENS = { deskbridge: "1-14-fake-bridge", alice: "1-15-fake-alice" };

type Side = (
  user: "deskbridge" | "alice",
  method: string,
  path: string,
  body?: unknown,
) => Promise<{ status: number; body: unknown }>;
let onReal: Side;
let onFake: Side;

beforeAll(async () => {
  real = await startRealRt({ bridgeUrl: "http://127.0.0.1:9", webhookToken: "unused" });
  await real.setScripDisabled(true);
  fake = await startRtFake({
    users: [
      {
        name: "deskbridge",
        token: FAKE_TOKENS.deskbridge,
        queues: ["General", "Helpdesk", "Facilities"],
        modifyTicket: false,
      },
      { name: "alice", token: FAKE_TOKENS.alice },
    ],
    queues: [
      { id: 1, name: "General" },
      { id: 3, name: "Helpdesk" },
      { id: 4, name: "HR" },
      { id: 5, name: "Facilities" },
    ],
    customFields: [{ id: 2, name: "FlowIO-id", queues: ["General", "Helpdesk", "HR"] }],
    person: "alice",
  });
  onReal = (user, method, path, body) => real.as(user, method, path, body);
  onFake = async (user, method, path, body) => {
    const response = await fetch(`${fake.url}/${path}`, {
      method,
      headers: {
        authorization: `token ${FAKE_TOKENS[user]}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: await response.json() };
  };
}, 300_000);
afterAll(async () => {
  await real?.stop();
  await fake?.close();
});

/** Runs the same story on one side; returns what the bridge would see, with ids made positional. */
async function story(side: Side) {
  const ids: string[] = [];
  const made = async (queue: string, subject: string, extra: Record<string, unknown> = {}) => {
    const answer = await side("alice", "POST", "ticket", { Queue: queue, Subject: subject, ...extra });
    const id = String((answer.body as { id: string }).id);
    ids.push(id);
    return { status: answer.status, id };
  };
  const a = await made("General", "with a requestor", { Requestor: "jdoe@example.com" });
  const b = await made("HR", "salary");
  const c = await made("General", "plain");
  const positional = (value: unknown) =>
    JSON.parse(
      ids.reduce(
        (text, id, i) => text.replace(new RegExp(`\\bTicket ${id}\\b`, "g"), `Ticket #${i + 1}`),
        JSON.stringify(value),
      ),
    );
  const transactionsPage = async (page: number) => {
    const query = new URLSearchParams({
      query: "ObjectType = 'RT::Ticket'",
      fields: "Type",
      per_page: "2",
      page: String(page),
    });
    const body = (await side("deskbridge", "GET", `transactions?${query}`)).body as Record<string, unknown>;
    return {
      count: body.count,
      total: body.total,
      pages: body.pages,
      next: "next_page" in body,
      types: (body.items as { Type: string }[]).map((item) => item.Type),
    };
  };
  const refs = async (user: "deskbridge" | "alice") =>
    ((await side(user, "GET", `ticket/${a.id}`)).body as { _hyperlinks: { ref: string }[] })._hyperlinks.map(
      (link) => link.ref,
    );
  const ticketSearch = (
    await side("deskbridge", "GET", `tickets?${new URLSearchParams({ query: "id > 0", per_page: "1" })}`)
  ).body as Record<string, unknown>;
  return {
    created: [a.status, b.status, c.status],
    hiddenRead: await side("deskbridge", "GET", `ticket/${b.id}`),
    hiddenWrite: await side("deskbridge", "PUT", `ticket/${b.id}`, { CustomFields: { "FlowIO-id": "7" } }),
    hiddenQueue: await side("deskbridge", "GET", "queue/HR"),
    deniedStatus: positional(await side("deskbridge", "PUT", `ticket/${a.id}`, { Status: "open" })),
    cardField: positional(
      await side("deskbridge", "PUT", `ticket/${a.id}`, { CustomFields: { "FlowIO-id": "7" } }),
    ),
    missing: await side("deskbridge", "GET", "ticket/99999"),
    ticketSearch: {
      total: ticketSearch.total,
      pages: ticketSearch.pages,
      count: ticketSearch.count,
      next: "next_page" in ticketSearch,
    },
    transactions: [
      await transactionsPage(1),
      await transactionsPage(2),
      await transactionsPage(3),
      await transactionsPage(4),
    ],
    bridgeLinks: await refs("deskbridge"),
    personLinks: await refs("alice"),
    told: "Told" in ((await side("deskbridge", "GET", `ticket/${a.id}`)).body as object),
  };
}

describe("the RT fake beside RT 5.0.3", () => {
  it("tells the bridge the same things: refusals, sentences, totals, paging and links", async () => {
    const fromReal = await story(onReal);
    const fromFake = await story(onFake);
    expect(fromFake).toEqual(fromReal);
    // What the real RT said, spelled out (so a change in either shows here, not only as a difference).
    expect(fromReal.hiddenRead).toEqual({ status: 403, body: { message: "Forbidden" } });
    expect(fromReal.deniedStatus).toEqual({ status: 200, body: ["Ticket #1: Permission Denied"] });
    expect(fromReal.transactions[0]).toMatchObject({ count: 1, total: null, next: false, types: ["Create"] });
  });
});
