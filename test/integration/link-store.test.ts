import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IdempotencyStore } from "../../lib/links/idempotency.ts";
import type { Ref } from "../../lib/links/refs.ts";
import { LinkStore } from "../../lib/links/store.ts";
import { type Stack, setupStack } from "../helpers/stack.ts";

let stack: Stack;
let links: LinkStore;
let idempotency: IdempotencyStore;

beforeAll(async () => {
  stack = await setupStack();
  const db = DynamoDBDocumentClient.from(stack.dynamo, { marshallOptions: { removeUndefinedValues: true } });
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
