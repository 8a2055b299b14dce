import { DynamoDBDocumentClient, GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InProgressError } from "../../lib/core/errors.ts";
import {
  assertLeaseFree,
  CLAIM_LEASE_MS,
  claimCreation,
  holdsLease,
  PENDING,
  releaseLease,
  takeLease,
} from "../../lib/links/claims.ts";
import { IdempotencyStore } from "../../lib/links/idempotency.ts";
import type { Ref } from "../../lib/links/refs.ts";
import { LinkStore } from "../../lib/links/store.ts";
import { type Stack, setupStack } from "../helpers/stack.ts";

let stack: Stack;
let db: DynamoDBDocumentClient;
let links: LinkStore;
let idempotency: IdempotencyStore;

beforeAll(async () => {
  stack = await setupStack();
  db = DynamoDBDocumentClient.from(stack.dynamo, { marshallOptions: { removeUndefinedValues: true } });
  links = new LinkStore(db, stack.resources.table);
  idempotency = new IdempotencyStore(db, stack.resources.table);
});
afterAll(() => stack.close());

const otrs = (id: string): Ref => ({ system: "otrs", instance: "prod", type: "ticket", id });
const redmine = (id: string): Ref => ({ system: "redmine", instance: "main", type: "issue", id });

describe("link store", () => {
  it("lets exactly one of ten racing writers create a link, and tells the others the winner's target", async () => {
    const outcomes = await Promise.all(
      Array.from({ length: 10 }, (_, i) => links.create(otrs("4711"), redmine(String(100 + i)))),
    );
    const created = outcomes.filter((o) => o.outcome === "created");
    expect(created).toHaveLength(1);
    const winner = created[0]!.link.target;
    for (const outcome of outcomes) expect(outcome.link.target).toEqual(winner);
    expect((await links.get(otrs("4711")))?.target).toEqual(winner);
  });

  it("answers the reverse question: which source is linked to this target", async () => {
    await links.create(otrs("5000"), redmine("88"));
    const found = await links.findByTarget(redmine("88"));
    expect(found.map((link) => link.source)).toEqual([otrs("5000")]);
    expect(await links.findByTarget(redmine("does-not-exist"))).toEqual([]);
  });

  it("refuses an aspect update based on a stale version", async () => {
    const { link } = await links.create(otrs("6000"), redmine("90"));
    const first = await links.updateAspect(link, "state", { state: "a", syncedAt: new Date().toISOString() });
    expect(first.outcome).toBe("updated");
    const stale = await links.updateAspect(link, "state", { state: "b", syncedAt: new Date().toISOString() });
    expect(stale.outcome).toBe("stale");
    const stored = await links.get(otrs("6000"));
    expect(stored).toMatchObject({ version: 2, aspects: { state: { state: "a" } } });
    if (first.outcome !== "updated") throw new Error("unreachable");
    expect((await links.updateAspect(first.link, "state", { state: "c", syncedAt: "now" })).outcome).toBe(
      "updated",
    );
  });
});

describe("link items stored before the aspect fields were renamed", () => {
  const rawItem = async (source: Ref) =>
    (
      await db.send(
        new GetCommand({
          TableName: stack.resources.table,
          Key: { pk: `link#${source.system}:${source.instance}:${source.type}:${source.id}` },
          ConsistentRead: true,
        }),
      )
    ).Item;

  it("reads `hash` as `state` and `ids` as `entries`, and the next write stores every aspect under the new names", async () => {
    const source = otrs("7000");
    const at = "2030-01-01T00:00:00.000Z";
    // The shape an earlier version wrote (and deployed stacks still hold).
    await db.send(
      new PutCommand({
        TableName: stack.resources.table,
        Item: {
          pk: "link#otrs:prod:ticket:7000",
          kind: "link",
          targetKey: "redmine:main:issue:91",
          source,
          target: redmine("91"),
          aspects: {
            status: { hash: '{"otrs":"open","redmine":2}', ids: [], syncedAt: at },
            privateLog: { ids: ["a", "b"], notes: ["too big"], syncedAt: at },
            lease: { ids: ["job:old"], syncedAt: at },
          },
          version: 3,
          createdAt: at,
          updatedAt: at,
        },
      }),
    );
    const link = await links.get(source);
    expect(link?.aspects).toEqual({
      status: { state: '{"otrs":"open","redmine":2}', entries: [], syncedAt: at },
      privateLog: { entries: ["a", "b"], notes: ["too big"], syncedAt: at },
      lease: { entries: ["job:old"], syncedAt: at },
    });
    // A lease of the old shape names its holder as a `job:` entry: it is that job's.
    expect(holdsLease(link!, "old")).toBe(true);

    const written = await links.updateAspect(link!, "form", { state: "{}", syncedAt: at });
    expect(written.outcome).toBe("updated");
    const item = await rawItem(source);
    expect(item?.version).toBe(4);
    expect(item?.aspects).toEqual({
      status: { state: '{"otrs":"open","redmine":2}', entries: [], syncedAt: at },
      privateLog: { entries: ["a", "b"], notes: ["too big"], syncedAt: at },
      lease: { entries: ["job:old"], syncedAt: at },
      form: { state: "{}", syncedAt: at },
    });
    expect(JSON.stringify(item)).not.toMatch(/"hash"|"ids"/);
  });
});

describe("claims and leases", () => {
  it("keeps a lease to its job: another job waits, the holder's retry takes it back, and its release records what it synced in the same write", async () => {
    const { link } = await links.create(otrs("7100"), redmine("92"));
    const leased = await takeLease(links, link, "job-a");
    expect(leased.aspects.lease).toMatchObject({ holder: "job-a" });
    expect(() => assertLeaseFree(leased, "job-b")).toThrow(InProgressError);
    await expect(takeLease(links, leased, "job-b")).rejects.toThrow(InProgressError);
    // Another job's release gives back nothing it does not hold.
    const untouched = await releaseLease(links, leased, "job-b");
    expect(untouched).toBe(leased);
    // A retry of the same job takes its own lease back at once.
    const again = await takeLease(links, leased, "job-a");
    const released = await releaseLease(links, again, "job-a", {
      status: { state: '{"otrs":"open","redmine":1}', syncedAt: new Date().toISOString() },
    });
    const stored = await links.get(otrs("7100"));
    expect(stored).toEqual(released);
    expect(stored?.version).toBe(again.version + 1);
    expect(stored?.aspects.lease?.holder).toBeUndefined();
    expect(stored?.aspects.status?.state).toBe('{"otrs":"open","redmine":1}');
    expect(() => assertLeaseFree(stored!, "job-b")).not.toThrow();
    // A release from a link read before someone else wrote it is refused, not written.
    await expect(releaseLease(links, again, "job-a")).rejects.toThrow(InProgressError);
  });

  it("lets the next job take over a lease older than CLAIM_LEASE_MS, and only one of two racing jobs", async () => {
    const { link } = await links.create(otrs("7200"), redmine("93"), {
      lease: { holder: "dead", syncedAt: new Date(Date.now() - CLAIM_LEASE_MS - 1000).toISOString() },
    });
    const outcomes = await Promise.allSettled([
      takeLease(links, link, "job-a"),
      takeLease(links, link, "job-b"),
    ]);
    expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(1);
    expect(outcomes.filter((o) => o.status === "rejected").map((o) => o.reason)).toEqual([
      expect.any(InProgressError),
    ]);
  });

  it("gives the creation of a target to one of ten racing jobs", async () => {
    const outcomes = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => claimCreation(links, otrs("7300"), redmine(PENDING), `job-${i}`)),
    );
    const claimed = outcomes.filter((o) => o.status === "fulfilled" && o.value.kind === "claimed");
    expect(claimed).toHaveLength(1);
    expect(outcomes.filter((o) => o.status === "rejected")).toHaveLength(9);
    expect((await links.get(otrs("7300")))?.aspects.claim?.holder).toMatch(/^job-\d$/);
  });
});

describe("idempotency records", () => {
  const init = { fingerprint: "f1", jobId: "job-1", lockMs: 60_000, ttlSeconds: 3600 };

  it("gives a key to one claimant; the others see the record", async () => {
    const outcomes = await Promise.all(Array.from({ length: 5 }, () => idempotency.claim("t", "k1", init)));
    expect(outcomes.filter((o) => o.outcome === "claimed")).toHaveLength(1);
    expect(outcomes.filter((o) => o.outcome === "exists")).toHaveLength(4);
    await idempotency.complete("t", "k1", { kind: "created", ticketId: 7 });
    expect(await idempotency.get("t", "k1")).toMatchObject({ status: "completed", outcome: { ticketId: 7 } });
  });

  it("lets one repeat take over a key whose holder died (lock expired), and only one", async () => {
    await idempotency.claim("t", "k2", { ...init, lockMs: -1 });
    const outcomes = await Promise.all(Array.from({ length: 5 }, () => idempotency.claim("t", "k2", init)));
    expect(outcomes.filter((o) => o.outcome === "taken-over")).toHaveLength(1);
  });

  it("does not hand over a completed key", async () => {
    await idempotency.claim("t", "k3", { ...init, lockMs: -1 });
    await idempotency.complete("t", "k3", { kind: "created", ticketId: 1 });
    expect((await idempotency.claim("t", "k3", init)).outcome).toBe("exists");
  });
});
