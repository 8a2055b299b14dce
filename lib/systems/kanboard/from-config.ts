import type { KanboardInstance } from "../../core/config-schema.ts";
import { loadSecrets, secret } from "../../core/secrets.ts";
import { KanboardClient } from "./client.ts";

/** A Kanboard JSON-RPC client for a configured instance, its API token read from the environment or SSM. */
export async function kanboardClientFromConfig(
  name: string,
  instance: KanboardInstance,
): Promise<KanboardClient> {
  await loadSecrets([instance.token.secret]);
  return new KanboardClient({
    instance: name,
    url: instance.url,
    user: instance.user,
    token: secret(instance.token.secret),
    timeoutMs: instance.timeoutMs,
  });
}
