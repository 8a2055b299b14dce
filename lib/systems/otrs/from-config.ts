import type { OtrsInstance } from "../../core/config-schema.ts";
import { loadSecrets, secret } from "../../core/secrets.ts";
import { OtrsClient } from "./client.ts";

/** An OTRS client for a configured instance, its password read from the environment or SSM. */
export async function otrsClientFromConfig(name: string, instance: OtrsInstance): Promise<OtrsClient> {
  await loadSecrets([instance.password.secret]);
  return new OtrsClient({
    instance: name,
    url: instance.url,
    login: instance.login,
    password: secret(instance.password.secret),
    credentialsIn: instance.credentialsIn,
    timeoutMs: instance.timeoutMs,
  });
}
