import type { AddressInfo } from "node:net";
import dynalite from "dynalite";
import { startFauxqs } from "fauxqs";

/** The local stand-ins for DynamoDB (dynalite) and SQS (fauxqs), in this process, on 127.0.0.1. */
export interface Emulators {
  dynamoEndpoint: string;
  sqsEndpoint: string;
  stop(): Promise<void>;
}

/** Starts dynalite and fauxqs on the given ports (0 = any free port). */
export async function startEmulators(ports: { dynamo: number; sqs: number }): Promise<Emulators> {
  const dynamo = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    dynamo.once("error", reject);
    dynamo.listen(ports.dynamo, "127.0.0.1", () => resolve());
  });
  const sqs = await startFauxqs({ port: ports.sqs, logger: false }).catch(async (error: unknown) => {
    await new Promise((resolve) => dynamo.close(resolve));
    throw error;
  });
  const dynamoPort = (dynamo.address() as AddressInfo).port;
  return {
    dynamoEndpoint: `http://127.0.0.1:${dynamoPort}`,
    sqsEndpoint: sqs.address,
    async stop() {
      await sqs.stop();
      await new Promise((resolve) => dynamo.close(resolve));
    },
  };
}
