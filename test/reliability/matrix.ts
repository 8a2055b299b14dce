import { mkdirSync, writeFileSync } from "node:fs";
import { PurgeQueueCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { failDynamoWrite } from "../../infra/sandbox/dynamo-faults.ts";
import {
  type FaultName,
  faultsOf,
  type Scenario,
  type ScenarioKey,
  STEP_PLANS,
  type Step,
  scenarios,
} from "../../infra/sandbox/scenarios.ts";
import { JobQueue } from "../../lib/jobs/queue.ts";
import { readDeadLetters, replayDeadLetters } from "../../lib/jobs/replay.ts";
import { type Stack, setupStack } from "../helpers/stack.ts";

export interface CaseResult {
  integration: string;
  step: string;
  fault: FaultName;
  /** The answer the event's sender got. */
  status: number;
  refusalAnswered: boolean;
  /** Why this cell may deliver twice, when it is one of those (docs/reliability.md). */
  atLeastOnce?: string | undefined;
  injected: number;
  deadLettered: number;
  objects: number;
  complete: boolean;
  detail: string;
  ms: number;
}

/**
 * One cell of the matrix: the fault on one step, one event, the queue drained; what is in the
 * dead-letter queue replayed with the fault gone; then the event must have converged: exactly one
 * target object, its back-references, its link. A case whose fault was never applied is void, and
 * fails: it would prove nothing.
 */
export async function runCase(
  stack: Stack,
  scenario: Scenario,
  step: Step,
  fault: FaultName,
): Promise<CaseResult> {
  const started = Date.now();
  scenario.reset();
  failDynamoWrite(undefined);
  await stack.sqs.send(new PurgeQueueCommand({ QueueUrl: stack.resources.deadLetterQueueUrl }));
  step.inject(fault);
  const event = await scenario.prepare();
  const { handle } = event;
  const status = await event.send();
  await stack.drainJobs({ timeoutMs: 60_000 });
  const injected = step.injected();
  const letters = await readDeadLetters(stack.sqs, stack.resources.deadLetterQueueUrl, {
    type: scenario.jobType,
  });
  if (letters.length > 0) {
    failDynamoWrite(undefined);
    const queue = new JobQueue(stack.sqs, stack.resources.jobsQueueUrl, stack.resources.deadLetterQueueUrl);
    await replayDeadLetters(stack.sqs, queue, stack.resources.deadLetterQueueUrl, { type: scenario.jobType });
    await stack.drainJobs({ timeoutMs: 60_000 });
  }
  const outcome = await scenario.converged(handle);
  return {
    integration: scenario.name,
    step: step.name,
    fault,
    status,
    refusalAnswered: Boolean(scenario.refusalAnswered),
    atLeastOnce: scenario.atLeastOnce?.[`${step.name}: ${fault}`],
    injected,
    deadLettered: letters.length,
    objects: outcome.objects,
    complete: outcome.complete,
    detail: outcome.detail,
    ms: Date.now() - started,
  };
}

/** The assertions every cell makes (a refusal must be kept in the dead-letter queue, then replayed). */
export function expectConverged(result: CaseResult): void {
  expect(result.injected, "the fault was never applied: the case proves nothing").toBeGreaterThan(0);
  if (result.fault === "refused" && result.refusalAnswered) {
    // The sender was told (and can correct and resend): nothing made, nothing left in a queue.
    expect(result.status, "the refusal is answered to the sender").toBeGreaterThanOrEqual(400);
    expect(result.objects, result.detail).toBe(0);
    expect(result.deadLettered).toBe(0);
    return;
  }
  if (result.atLeastOnce) {
    // Delivered twice, not lost: the known limit this cell documents.
    expect(result.objects, `${result.detail} (${result.atLeastOnce})`).toBe(2);
    return;
  }
  expect(result.objects, result.detail).toBe(1);
  expect(result.complete, result.detail).toBe(true);
  if (result.fault === "refused")
    expect(result.deadLettered, "a refusal is kept in the DLQ").toBeGreaterThan(0);
}

/** Writes a matrix's cells where docs/reliability.md's figures come from. */
export function saveResults(name: string, results: CaseResult[]): void {
  mkdirSync(".local/reliability", { recursive: true });
  writeFileSync(`.local/reliability/matrix-${name}.json`, `${JSON.stringify(results, null, 2)}\n`);
}

/**
 * One integration's fault matrix, as its test file declares it (a file each, so that vitest runs the
 * matrices side by side): every step of the scenario's job under every fault that step can meet, one
 * test each, on a stack of its own; each case must converge, or its refusal be dead-lettered and
 * converge on replay. The results go to `name`'s file for the figures.
 */
export function matrixSuite(key: ScenarioKey, name: string, title: string): void {
  let stack: Stack;
  let scenario: Scenario;
  const results: CaseResult[] = [];

  beforeAll(async () => {
    stack = await setupStack({ jobs: { maxAttempts: 3 } });
    scenario = (await scenarios(stack))[key];
    expect(scenario.steps.map((step) => step.name)).toEqual(STEP_PLANS[key].map((step) => step.name));
  });
  afterAll(async () => {
    saveResults(name, results);
    await stack.close();
  });

  describe(title, () => {
    for (const planned of STEP_PLANS[key]) {
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
}
