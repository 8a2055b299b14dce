import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { faultsOf, type Scenario, STEP_PLANS, scenarios } from "../../infra/sandbox/scenarios.ts";
import { type Stack, setupStack } from "../helpers/stack.ts";
import { type CaseResult, expectConverged, runCase, saveResults } from "./matrix.ts";

let stack: Stack;
let scenario: Scenario;
const results: CaseResult[] = [];

beforeAll(async () => {
  stack = await setupStack({ jobs: { maxAttempts: 3 } });
  scenario = (await scenarios(stack)).notificationsHooks;
  expect(scenario.steps.map((step) => step.name)).toEqual(
    STEP_PLANS.notificationsHooks.map((step) => step.name),
  );
});
afterAll(async () => {
  saveResults("otrs-notifications-hooks", results);
  await stack.close();
});

describe("otrs-notifications-hooks converges under a fault at each step of its job", () => {
  for (const planned of STEP_PLANS.notificationsHooks) {
    for (const fault of faultsOf(planned)) {
      it(`${planned.name}: ${fault}`, async () => {
        const step = scenario.steps.find((s) => s.name === planned.name);
        if (!step) throw new Error(`no step ${planned.name}`);
        const result = await runCase(stack, scenario, step, fault);
        results.push(result);
        expectConverged(result);
      }, 180_000);
    }
  }
});
