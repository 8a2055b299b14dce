import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { faultsOf, type Scenario, STEP_PLANS, scenarios } from "../../infra/sandbox/scenarios.ts";
import { type Stack, setupStack } from "../helpers/stack.ts";
import { type CaseResult, expectConverged, runCase, saveResults } from "./matrix.ts";

let stack: Stack;
let scenario: Scenario;
const results: CaseResult[] = [];

beforeAll(async () => {
  stack = await setupStack({ jobs: { maxAttempts: 3 } });
  scenario = (await scenarios(stack)).otrsRedmineConversation;
  expect(scenario.steps.map((step) => step.name)).toEqual(
    STEP_PLANS.otrsRedmineConversation.map((step) => step.name),
  );
});
afterAll(async () => {
  saveResults("otrs-redmine-conversation", results);
  await stack.close();
});

describe("otrs-redmine conversation (both ways, with files) converges under a fault at each step of its job: 0 lost, 0 duplicated", () => {
  for (const planned of STEP_PLANS.otrsRedmineConversation) {
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
