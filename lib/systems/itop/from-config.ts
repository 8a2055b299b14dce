import type { ItopInstance } from "../../core/config-schema.ts";
import { loadSecrets, secret } from "../../core/secrets.ts";
import { ItopClient } from "./client.ts";

/**
 * An iTop client for a configured instance, its password or token read from the environment or SSM.
 * `comment` is what iTop records as the origin of the changes the client makes.
 */
export async function itopClientFromConfig(
  name: string,
  instance: ItopInstance,
  comment: string,
): Promise<ItopClient> {
  await loadSecrets([instance.password?.secret, instance.token?.secret].filter((s): s is string => !!s));
  return new ItopClient({
    instance: name,
    url: instance.url,
    version: instance.version,
    user: instance.user,
    password: instance.password ? secret(instance.password.secret) : undefined,
    token: instance.token ? secret(instance.token.secret) : undefined,
    timeoutMs: instance.timeoutMs,
    comment,
  });
}
