import { describe, expect, it } from "vitest";
import { accountSoak, type EventCount } from "../reliability/soak-accounting.ts";

const event = (over: Partial<EventCount>): EventCount => ({
  kind: "rt",
  handle: "1",
  before: 1,
  deadLetteredBefore: false,
  after: 1,
  ...over,
});

describe("the soak's accounting", () => {
  it("puts every event in exactly one bucket before the replay", () => {
    const counts = [
      event({ handle: "ok" }),
      event({ handle: "letter", before: 0, deadLetteredBefore: true }),
      event({ handle: "lost", before: 0 }),
      event({ handle: "twice", kind: "glpi", before: 2, after: 2 }),
      event({ handle: "repost", kind: "notify-hooks", before: 2, after: 2 }),
    ];
    const account = accountSoak(counts);
    expect(account.converged).toBe(1);
    expect(account.deadLettered).toBe(1);
    expect(account.lost.map((e) => e.handle)).toEqual(["lost"]);
    expect(account.duplicated.map((e) => e.handle)).toEqual(["twice"]);
    expect(account.reposted.map((e) => e.handle)).toEqual(["repost"]);
    expect(
      account.converged +
        account.deadLettered +
        account.lost.length +
        account.duplicated.length +
        account.reposted.length,
    ).toBe(counts.length);
  });

  it("names an event that the replay made twice, though it was exactly once before it", () => {
    // The gap of the 149-of-150 run: one object when the queue drained, a second after the replay.
    const account = accountSoak([
      event({ handle: "a" }),
      event({ handle: "b", kind: "itop", before: 1, deadLetteredBefore: true, after: 2 }),
    ]);
    expect(account.exactlyOnceAfterReplay).toBe(1);
    expect(account.duplicated.map((e) => e.handle)).toEqual(["b"]);
    expect(account.notExactlyOnce.map((e) => e.handle)).toEqual(["b"]);
  });

  it("counts a bot notification posted twice as a duplicate: the bot is exactly once", () => {
    const account = accountSoak([event({ handle: "b1", kind: "notify", before: 2, after: 2 })]);
    expect(account.duplicated.map((e) => e.handle)).toEqual(["b1"]);
    expect(account.reposted).toEqual([]);
  });

  it("counts a notification re-posted by the replay as a repost, with its extra post", () => {
    const account = accountSoak([
      event({ handle: "n1", kind: "notify-hooks", before: 1, deadLetteredBefore: true, after: 2 }),
      event({ handle: "n2", kind: "notify-hooks", before: 2, after: 3 }),
    ]);
    expect(account.reposted.map((e) => e.handle)).toEqual(["n1", "n2"]);
    expect(account.extraPosts).toBe(3);
    expect(account.duplicated).toEqual([]);
    expect(account.notExactlyOnce.map((e) => e.handle)).toEqual(["n1", "n2"]);
  });

  it("names an event still without its object after the replay", () => {
    const account = accountSoak([event({ handle: "z", before: 0, deadLetteredBefore: true, after: 0 })]);
    expect(account.deadLettered).toBe(1);
    expect(account.missingAfterReplay.map((e) => e.handle)).toEqual(["z"]);
    expect(account.notExactlyOnce.map((e) => e.handle)).toEqual(["z"]);
  });
});
