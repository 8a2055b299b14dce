import type { TestProject } from "vitest/node";
import { type Emulators, startEmulators } from "../../infra/local/emulators.ts";

declare module "vitest" {
  export interface ProvidedContext {
    dynamoEndpoint: string;
    sqsEndpoint: string;
  }
}

let emulators: Emulators | undefined;

/** One dynalite and one fauxqs for the whole run, on free loopback ports; test files use their own table and queues. */
export async function setup(project: TestProject): Promise<void> {
  emulators = await startEmulators({ dynamo: 0, sqs: 0 });
  project.provide("dynamoEndpoint", emulators.dynamoEndpoint);
  project.provide("sqsEndpoint", emulators.sqsEndpoint);
}

export async function teardown(): Promise<void> {
  await emulators?.stop();
}
