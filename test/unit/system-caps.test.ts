import * as v from "valibot";
import { describe, expect, it } from "vitest";
import { defineJob } from "../../lib/jobs/model.ts";
import { newJob } from "../../lib/jobs/queue.ts";
import { BatchTurns, capsFromHandlers, capWaitSeconds } from "../../lib/jobs/system-caps.ts";

const pairJob = defineJob({
  type: "test.pair",
  input: v.object({ external: v.string(), internal: v.string() }),
  systems: ({ external, internal }) => [
    { system: "itop", instance: external },
    { system: "itop", instance: internal },
    { system: "rocketchat", instance: "hooks" },
  ],
  run: async () => ({}),
});
const uncappedJob = defineJob({ type: "test.plain", input: v.object({}), run: async () => ({}) });

describe("system caps", () => {
  const capFor = capsFromHandlers([pairJob, uncappedJob], () => ({
    itop: { customer: { maxConcurrentCalls: 2 }, provider: { maxConcurrentCalls: 6 } },
  }));

  it("caps each instance a job names at its maxConcurrentCalls, or 4 when the config has none", () => {
    expect(capFor(newJob(pairJob.type, { external: "customer", internal: "provider" }))).toEqual([
      { system: "itop:customer", max: 2 },
      { system: "itop:provider", max: 6 },
      { system: "rocketchat:hooks", max: 4 },
    ]);
  });

  it("counts one instance named twice once (a pair on one iTop calls it one call at a time)", () => {
    expect(capFor(newJob(pairJob.type, { external: "customer", internal: "customer" }))).toEqual([
      { system: "itop:customer", max: 2 },
      { system: "rocketchat:hooks", max: 4 },
    ]);
  });

  it("leaves a job uncapped when its handler names no systems, or its type has no handler", () => {
    expect(capFor(newJob(uncappedJob.type, {}))).toEqual([]);
    expect(capFor(newJob("test.unknown", {}))).toEqual([]);
  });

  it("waits 1 to 3 seconds before a capped job tries again", () => {
    expect(capWaitSeconds(() => 0)).toBe(1);
    expect(capWaitSeconds(() => 0.999)).toBe(3);
  });
});

describe("a batch's turns at its systems", () => {
  const rt = { system: "rt:main", max: 2 };
  const board = { system: "kanboard:main", max: 1 };
  const later = () => Date.now() + 60_000;

  it("lets no more jobs of a batch at a system than its cap, and hands a turn given back to the next", async () => {
    const turns = new BatchTurns();
    expect(await turns.take([rt], later())).toBeUndefined();
    expect(await turns.take([rt], later())).toBeUndefined();
    let third = false;
    const waiting = turns.take([rt], later()).then((full) => {
      third = true;
      return full;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(third).toBe(false);

    turns.give([rt]);
    expect(await waiting).toBeUndefined();
  });

  it("gives a job its turns at all its systems at once, and lets a job that fits pass one that waits", async () => {
    const turns = new BatchTurns();
    expect(await turns.take([board], later())).toBeUndefined();
    const order: string[] = [];
    const both = turns.take([board, rt], later()).then(() => order.push("both"));
    // RT has turns free: a job needing RT alone is not held back behind the one waiting for Kanboard.
    await turns.take([rt], later()).then(() => order.push("rt"));
    expect(order).toEqual(["rt"]);

    turns.give([board]);
    await both;
    expect(order).toEqual(["rt", "both"]);
    // RT's two turns are both in use now.
    expect(await turns.take([rt], Date.now() + 20)).toBe("rt:main");
  });

  it("stops waiting at its deadline and names the system that had no free turn", async () => {
    const turns = new BatchTurns();
    expect(await turns.take([board], later())).toBeUndefined();
    const started = Date.now();
    expect(await turns.take([rt, board], started + 50)).toBe("kanboard:main");
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    // The job that gave up holds no turn: RT's two are still free.
    expect(await turns.take([rt], later())).toBeUndefined();
    expect(await turns.take([rt], later())).toBeUndefined();
  });
});
