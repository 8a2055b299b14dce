import { dynamo } from "../../lib/core/aws.ts";

/** Which link-store write fails: the command (PutItemCommand, UpdateItemCommand) and the item key's prefix. */
export interface DynamoFault {
  command: "PutItemCommand" | "UpdateItemCommand";
  keyPrefix: string;
  /** Lets this many matching writes through first. */
  after?: number;
  times: number;
}

let active: (DynamoFault & { seen: number; failed: number }) | undefined;
let installed = false;
let failures = 0;

/**
 * Fails chosen writes of the bridge's DynamoDB client (the one `lib/core/aws.ts` shares: the link
 * store, claims, job records), as a throttled or unreachable table would. The middleware sits in the
 * `initialize` step, before the SDK's own retries, so each injected failure reaches the bridge.
 */
export function failDynamoWrite(fault: DynamoFault | undefined): void {
  if (!installed) {
    dynamo().middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as { Key?: { pk?: unknown }; Item?: { pk?: unknown } };
        const pk = String(input.Key?.pk ?? input.Item?.pk ?? "");
        const plan = active;
        if (plan && context.commandName === plan.command && pk.startsWith(plan.keyPrefix)) {
          plan.seen += 1;
          if (plan.seen > (plan.after ?? 0) && plan.failed < plan.times) {
            plan.failed += 1;
            failures += 1;
            throw Object.assign(new Error("injected: the table did not answer"), {
              name: "ServiceUnavailable",
            });
          }
        }
        return next(args);
      },
      { step: "initialize", name: "deskbridgeReliabilityFaults" },
    );
    installed = true;
  }
  active = fault ? { ...fault, seen: 0, failed: 0 } : undefined;
  failures = 0;
}

/** How many writes were failed since the last failDynamoWrite(). */
export function dynamoFailures(): number {
  return failures;
}
