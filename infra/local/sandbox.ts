import { connect } from "node:net";
import type { Config } from "../../lib/core/config-schema.ts";
import { ConfigError } from "../../lib/core/errors.ts";
import { demoEntities, type GlpiFake, startGlpiFake } from "../../test/fakes/glpi.ts";
import { type ItopFake, startItopFake } from "../../test/fakes/itop.ts";
import { ITOP_SEEDS } from "../../test/fakes/itop-seeds.ts";
import { demoTickets, type OtrsFake, startOtrsFake } from "../../test/fakes/otrs.ts";
import { type RedmineFake, startRedmineFake } from "../../test/fakes/redmine.ts";

/** The sandbox's API key of "jane", a developer, for driving the Redmine fake as a person would. */
export const SANDBOX_DEVELOPER_KEY = "sandbox-jane-api-key";

/** People on the sandbox iTops, for driving them as an agent would (REST users with a password). */
export const SANDBOX_ITOP_AGENTS = {
  external: { login: "budi", password: "sandbox-budi-password", friendlyName: "Budi Santoso" },
  internal: { login: "rina", password: "sandbox-rina-password", friendlyName: "Rina Wijaya" },
} as const;

export interface SandboxFakes {
  glpi: Record<string, GlpiFake>;
  otrs: Record<string, OtrsFake>;
  redmine: Record<string, RedmineFake>;
  itop: Record<string, ItopFake>;
}

/**
 * Starts a fake for every system instance whose URL points at an idle port on this machine, seeded with
 * demo data; systems anywhere else (or already listening there) are real and get none.
 */
export async function startSandboxFakes(
  config: Readonly<Config>,
  stops: (() => unknown)[],
): Promise<SandboxFakes> {
  const fakes: SandboxFakes = { glpi: {}, otrs: {}, redmine: {}, itop: {} };
  const forms = config.integrations.glpiForms;
  for (const [name, instance] of Object.entries(config.systems.glpi)) {
    const url = await sandboxUrl(instance.url, `GLPI "${name}"`);
    if (!url) continue;
    const fake = await startGlpiFake({
      appToken: requireEnv(instance.appToken.secret),
      userToken: requireEnv(instance.userToken.secret),
      cnpjSearchOptionId: forms?.glpi === name ? forms.entityLookup.searchOptionId : 76674,
      cnpjFieldName: forms?.glpi === name ? forms.entityLookup.fieldName : "cnpjfield",
      entities: demoEntities,
      port: Number(url.port),
      basePath: url.pathname.replace(/\/+$/, ""),
    });
    fakes.glpi[name] = fake;
    stops.push(() => fake.close());
    console.log(
      `GLPI "${name}" sandbox    ${fake.url} (demo entities: ${demoEntities.map((e) => `${e.name} ${e.cnpj}`).join(", ")})`,
    );
  }
  for (const [name, instance] of Object.entries(config.systems.otrs)) {
    const url = await sandboxUrl(instance.url, `OTRS "${name}"`);
    if (!url) continue;
    const webservice = /\/Webservice\/([^/]+)/.exec(url.pathname)?.[1] ?? "deskbridge";
    const fake = await startOtrsFake({
      login: instance.login,
      password: requireEnv(instance.password.secret),
      port: Number(url.port),
      webservice,
    });
    for (const ticket of demoTickets) fake.addTicket(ticket);
    fakes.otrs[name] = fake;
    stops.push(() => fake.close());
    console.log(
      `OTRS "${name}" sandbox    ${fake.url} (demo tickets: ${fake.tickets.map((t) => `#${t.TicketNumber} "${t.Title}" ${t.State}`).join(", ")})`,
    );
  }
  for (const [name, instance] of Object.entries(config.systems.redmine)) {
    const url = await sandboxUrl(instance.url, `Redmine "${name}"`);
    if (!url) continue;
    const apiKey = requireEnv(instance.apiKey.secret);
    const fake = await startRedmineFake({
      apiKey,
      port: Number(url.port),
      users: [
        { id: 5, login: "deskbridge", name: "Deskbridge Bot", apiKey },
        { id: 7, login: "jane", name: "Jane Dev", apiKey: SANDBOX_DEVELOPER_KEY },
      ],
    });
    fakes.redmine[name] = fake;
    stops.push(() => fake.close());
    console.log(`Redmine "${name}" sandbox ${fake.url} (developer API key: ${SANDBOX_DEVELOPER_KEY})`);
  }
  const pair = config.integrations.itopPair;
  for (const [name, instance] of Object.entries(config.systems.itop)) {
    const url = await sandboxUrl(instance.url, `iTop "${name}"`);
    if (!url) continue;
    const role = pair?.internal === name ? "internal" : "external";
    const bridgeUser = {
      login: instance.user ?? "deskbridge",
      friendlyName: "Deskbridge Bridge",
      ...(instance.password ? { password: requireEnv(instance.password.secret) } : {}),
      ...(instance.token ? { token: requireEnv(instance.token.secret) } : {}),
    };
    const fake = await startItopFake({
      instance: name,
      port: Number(url.port),
      users: [bridgeUser, SANDBOX_ITOP_AGENTS[role]],
      ...ITOP_SEEDS[role],
      ...(role === "internal" && pair?.externalRefField
        ? { extraTicketFields: [pair.externalRefField] }
        : {}),
      webhooks:
        role === "internal"
          ? { preset: "internal", source: pair?.sources.internal ?? name }
          : { preset: "external" },
    });
    fakes.itop[name] = fake;
    stops.push(() => fake.close());
    const agent = SANDBOX_ITOP_AGENTS[role];
    console.log(`iTop "${name}" sandbox   ${fake.url} (${role}; agent ${agent.login} / ${agent.password})`);
  }
  return fakes;
}

/**
 * Plays the iTops' webhook integration in the sandbox: what a fake iTop's triggers fire is POSTed to
 * the bridge, as the real ActionWebhook would. Returns the stop function.
 */
export function forwardItopWebhooks(
  fakes: SandboxFakes,
  base: string,
  header: string,
  token: string,
): () => void {
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    void (async () => {
      for (const fake of Object.values(fakes.itop)) {
        for (const call of fake.takeWebhooks()) {
          await fetch(`${base}${call.path}`, {
            method: "POST",
            headers: { "content-type": "application/json", [header]: token },
            body: JSON.stringify(call.payload),
          }).catch((error: unknown) => console.error(`iTop webhook ${call.path}:`, (error as Error).message));
        }
      }
    })().finally(() => {
      busy = false;
    });
  }, 500);
  return () => clearInterval(timer);
}

async function sandboxUrl(raw: string, label: string): Promise<URL | undefined> {
  const url = new URL(raw);
  const local = url.hostname === "127.0.0.1" || url.hostname === "localhost";
  if (!local || (await portInUse(Number(url.port || 80)))) {
    console.log(`${label.padEnd(20)} ${raw} (real system: no sandbox fake)`);
    return undefined;
  }
  return url;
}

function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value)
    throw new ConfigError([{ path: name, message: "secret is not set in the environment" }], "environment");
  return value;
}

function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: "127.0.0.1" });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}
