import { connect } from "node:net";
import type { Config } from "../../lib/core/config-schema.ts";
import { ConfigError } from "../../lib/core/errors.ts";
import { demoEntities, type GlpiFake, startGlpiFake } from "../../test/fakes/glpi.ts";
import { demoTickets, type OtrsFake, startOtrsFake } from "../../test/fakes/otrs.ts";
import { type RedmineFake, startRedmineFake } from "../../test/fakes/redmine.ts";

/** The sandbox's API key of "jane", a developer, for driving the Redmine fake as a person would. */
export const SANDBOX_DEVELOPER_KEY = "sandbox-jane-api-key";

export interface SandboxFakes {
  glpi: Record<string, GlpiFake>;
  otrs: Record<string, OtrsFake>;
  redmine: Record<string, RedmineFake>;
}

/**
 * Starts a fake for every system instance whose URL points at an idle port on this machine, seeded with
 * demo data; systems anywhere else (or already listening there) are real and get none.
 */
export async function startSandboxFakes(
  config: Readonly<Config>,
  stops: (() => unknown)[],
): Promise<SandboxFakes> {
  const fakes: SandboxFakes = { glpi: {}, otrs: {}, redmine: {} };
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
  return fakes;
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
