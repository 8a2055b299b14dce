import type { GlpiInstance } from "../../core/config-schema.ts";
import { loadSecrets, secret } from "../../core/secrets.ts";
import { GlpiClient } from "./client.ts";

/** A GLPI client for a configured instance, its app and user tokens read from the environment or SSM. */
export async function glpiClientFromConfig(name: string, instance: GlpiInstance): Promise<GlpiClient> {
  await loadSecrets([instance.appToken.secret, instance.userToken.secret]);
  return new GlpiClient({
    instance: name,
    url: instance.url,
    appToken: secret(instance.appToken.secret),
    userToken: secret(instance.userToken.secret),
    timeoutMs: instance.timeoutMs,
    activateAllEntities: instance.activateAllEntities,
  });
}
