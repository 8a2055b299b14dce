import * as v from "valibot";
import { describe, expect, it } from "vitest";
import { defineJob } from "../../lib/jobs/model.ts";
import { newJob } from "../../lib/jobs/queue.ts";
import { capsFromHandlers, capWaitSeconds } from "../../lib/jobs/system-caps.ts";

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
