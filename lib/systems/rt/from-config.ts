import type { RtInstance } from "../../core/config-schema.ts";
import { loadSecrets, secret } from "../../core/secrets.ts";
import { RtClient } from "./client.ts";

/** An RT client for a configured instance, its auth token read from the environment or SSM. */
export async function rtClientFromConfig(name: string, instance: RtInstance): Promise<RtClient> {
  await loadSecrets([instance.token.secret]);
  return new RtClient({
    instance: name,
    url: instance.url,
    token: secret(instance.token.secret),
    timeoutMs: instance.timeoutMs,
  });
}
