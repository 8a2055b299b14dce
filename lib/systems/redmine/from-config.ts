import type { RedmineInstance } from "../../core/config-schema.ts";
import { loadSecrets, secret } from "../../core/secrets.ts";
import { RedmineClient } from "./client.ts";

/** A Redmine client for a configured instance, its API key read from the environment or SSM. */
export async function redmineClientFromConfig(
  name: string,
  instance: RedmineInstance,
): Promise<RedmineClient> {
  await loadSecrets([instance.apiKey.secret]);
  return new RedmineClient({
    instance: name,
    url: instance.url,
    apiKey: secret(instance.apiKey.secret),
    timeoutMs: instance.timeoutMs,
  });
}
