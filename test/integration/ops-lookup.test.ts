import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { OpsDeps } from "../../lib/ops/deps.ts";
import { type Stack, setupStack } from "../helpers/stack.ts";

let stack: Stack;
let deps: OpsDeps;

beforeAll(async () => {
  stack = await setupStack();
  deps = (await import("../../lib/ops/deps.ts")).opsDeps();
});
afterAll(() => stack.close());

describe("lookupLinks", () => {
  it("finds a link from either end, with both ends' pages and the synced aspects sorted", async () => {
    const { LinkStore } = await import("../../lib/links/store.ts");
    const { lookupLinks } = await import("../../lib/ops/lookup.ts");
    const links = new LinkStore(deps.db, deps.table);
    const ticket = stack.otrs.addTicket({ Title: "Erro", Queue: "Desenvolvimento", State: "open" });
    await links.create(
      { system: "otrs", instance: "main", type: "ticket", id: ticket.TicketID },
      { system: "redmine", instance: "main", type: "issue", id: "88" },
      {
        status: { syncedAt: "2030-01-01T00:00:02Z" },
        articles: { syncedAt: "2030-01-01T00:00:01Z" },
        // The bridge's own bookkeeping, not something that synced: left out.
        claim: { syncedAt: "2030-01-01T00:00:00Z", holder: "1" },
        lease: { syncedAt: "2030-01-01T00:00:03Z" },
      },
    );
    const fromOtrs = await lookupLinks(deps, "otrs", ticket.TicketID);
    expect(fromOtrs.links).toHaveLength(1);
    expect(fromOtrs.links[0]).toMatchObject({
      source: {
        key: `otrs:main:ticket:${ticket.TicketID}`,
        url: expect.stringContaining(`TicketID=${ticket.TicketID}`),
      },
      target: { key: "redmine:main:issue:88", url: `${stack.redmine.url}/issues/88` },
      aspects: [
        { name: "articles", syncedAt: "2030-01-01T00:00:01Z" },
        { name: "status", syncedAt: "2030-01-01T00:00:02Z" },
      ],
    });
    const fromRedmine = await lookupLinks(deps, "redmine", "88");
    expect(fromRedmine.links.map((l) => l.source.key)).toEqual([`otrs:main:ticket:${ticket.TicketID}`]);
    const byNumber = await lookupLinks(deps, "otrs", ticket.TicketNumber);
    expect(byNumber.links.map((l) => l.target.key)).toEqual(["redmine:main:issue:88"]);
  });

  it("finds an iTop ticket by its ref", async () => {
    const { LinkStore } = await import("../../lib/links/store.ts");
    const { lookupLinks } = await import("../../lib/ops/lookup.ts");
    const ticket = stack.itop.external.agentCreatesTicket({
      title: "Servidor lento",
      description: "<p>lento</p>",
      org_id: 1,
      caller_id: 1,
    });
    await new LinkStore(deps.db, deps.table).create(
      { system: "itop", instance: "customer", type: "ticket", id: String(ticket.id) },
      { system: "itop", instance: "elitery", type: "ticket", id: "901" },
    );
    const found = await lookupLinks(deps, "itop", ticket.ref);
    expect(found.links.map((l) => l.target.key)).toEqual(["itop:elitery:ticket:901"]);
    expect(found.links[0]?.source.url).toBe(
      `${stack.itop.external.url.replace(/\/webservices\/rest\.php$/, "")}/pages/UI.php?operation=details&class=Ticket&id=${ticket.id}`,
    );
    expect((await lookupLinks(deps, "itop", "R-999999")).links).toEqual([]);
  });

  it("names the system or the id when they are bad", async () => {
    const { lookupLinks } = await import("../../lib/ops/lookup.ts");
    await expect(lookupLinks(deps, "jira", "1")).rejects.toMatchObject({ fields: [{ path: "system" }] });
    await expect(lookupLinks(deps, "rt", "")).rejects.toMatchObject({ fields: [{ path: "id" }] });
    await expect(lookupLinks(deps, "rt", "a b")).rejects.toMatchObject({ fields: [{ path: "id" }] });
  });
});
