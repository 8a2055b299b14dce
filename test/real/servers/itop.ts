import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../../../infra/local/free-port.ts";
import { ITOP_SEEDS } from "../../../infra/sandbox/itop-seeds.ts";
import { runStep, type ServerProcess, startServer, waitForHttp } from "./process.ts";

/** The snapshot beside the project, as CI has it (../shared/real-systems, read-only). */
export const ITOP_SNAPSHOT = resolve("../shared/real-systems/itop-dd34fda42.tar.gz");
/** Our datamodel extension adding `external_ref` to Ticket, as the README tells the internal side's admin. */
export const EXTERNAL_REF_EXTENSION = resolve("infra/itop/deskbridge-external-ref");

const HERE = join(dirname(fileURLToPath(import.meta.url)), "itop");
const PARAMS_TEMPLATE = join(HERE, "install-params.xml");
const GRANT_PROFILES = join(HERE, "grant-profiles.php");

export interface Credentials {
  user: string;
  password: string;
}

export interface RestAnswer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: iTop's JSON, read by the tests as they need
  body: any;
}

export interface RealItop {
  side: "external" | "internal";
  /** `http://127.0.0.1:<port>/` (iTop's app_root_url). */
  base: string;
  /** The REST endpoint: `http://127.0.0.1:<port>/webservices/rest.php`. */
  url: string;
  /** The administrator of the unattended install, given "REST Services User" too. */
  admin: Credentials;
  /** The bridge's account, as the README sets it up: "REST Services User" and "Support Agent". */
  bridge: Credentials;
  /** The person working tickets on this side ("budi" / "rina"): "Support Agent" and "REST Services User". */
  agent: Credentials & { personId: number };
  /** Ids by name, as iTop gave them (not 1: persons and teams are both Contacts). */
  organizations: Record<string, number>;
  /** By "First Last", e.g. "Budi Santoso". */
  persons: Record<string, number>;
  teams: Record<string, number>;
  services: Record<string, number>;
  /** What `integrations.itopPair.defaults.<side>` would hold for this iTop. */
  defaults: { orgId: number; agentId: number; teamId: number; callerId: number };
  /** The extracted iTop (its log/ folder has error.log). */
  dir: string;
  /** A REST call (version 1.3, form-encoded), as `as` (the admin by default); the parsed JSON answer. */
  rest(payload: object, as?: Credentials): Promise<RestAnswer>;
}

export interface RealItops {
  external: RealItop;
  internal: RealItop;
  stop(): Promise<void>;
}

const ADMIN: Credentials = { user: "admin", password: "Admin-pass-2026" };
const BRIDGE: Credentials = { user: "deskbridge", password: "Bridge-pass-2026" };
/** Profiles as the README tells each iTop's administrator to give the bridge's account. */
export const BRIDGE_PROFILES = ["REST Services User", "Support Agent"];
const AGENT_PROFILES = ["REST Services User", "Support Agent"];
const DB_USER: Credentials = { user: "itop", password: "itop-db-pass" };

/**
 * Two real iTops (Combodo iTop community 3.3.0-dev, AGPL, from its source snapshot): a customer's
 * ("external") and its provider's ("internal", with the `external_ref` extension), on one throwaway
 * MariaDB (Debian's `mariadb-server`, its own datadir, port and socket), each extracted to a temporary
 * folder, installed by iTop's unattended install (ITIL user requests and incidents, no sample data),
 * switched to UTC, and served by `php -S` on 127.0.0.1. People, teams, services and users are created
 * through REST, mirroring infra/sandbox/itop-seeds.ts by name.
 */
export async function startRealItops(): Promise<RealItops> {
  const root = mkdtempSync(join(tmpdir(), "deskbridge-real-itop-"));
  const servers: ServerProcess[] = [];
  const stop = async () => {
    await Promise.all(servers.map((server) => server.stop()));
    rmSync(root, { recursive: true, force: true });
  };
  try {
    const [database] = await Promise.all([
      startMariaDb(root, servers),
      extract(root, "external"),
      extract(root, "internal"),
    ]);
    cpSync(EXTERNAL_REF_EXTENSION, join(root, "internal", "itop", "extensions", "deskbridge-external-ref"), {
      recursive: true,
    });
    const [external, internal] = await Promise.all([
      startItop(root, "external", database, servers).then(seedExternal),
      startItop(root, "internal", database, servers).then(seedInternal),
    ]);
    return { external, internal, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** MariaDB with a throwaway datadir; iTop connects over TCP as `itop`. Returns `127.0.0.1:<port>`. */
async function startMariaDb(root: string, servers: ServerProcess[]): Promise<string> {
  const datadir = join(root, "mariadb");
  const socket = join(root, "mariadb.sock");
  mkdirSync(datadir);
  const env = process.env;
  await runStep(
    "mariadb-install-db",
    "mariadb-install-db",
    [
      "--no-defaults",
      `--datadir=${datadir}`,
      "--user=root",
      "--auth-root-authentication-method=normal",
      "--skip-test-db",
    ],
    { cwd: root, env },
  );
  const port = await freePort();
  const server = startServer(
    "mariadbd",
    [
      "--no-defaults",
      `--datadir=${datadir}`,
      "--user=root",
      "--bind-address=127.0.0.1",
      `--port=${port}`,
      `--socket=${socket}`,
      `--pid-file=${join(root, "mariadb.pid")}`,
      "--skip-log-bin",
      "--innodb-buffer-pool-size=128M",
      "--innodb-flush-log-at-trx-commit=2",
    ],
    { cwd: root, env, log: join(root, "mariadb.log") },
  );
  servers.push(server);
  const sql =
    `CREATE USER '${DB_USER.user}'@'127.0.0.1' IDENTIFIED BY '${DB_USER.password}';` +
    `CREATE USER '${DB_USER.user}'@'localhost' IDENTIFIED BY '${DB_USER.password}';` +
    `GRANT ALL ON *.* TO '${DB_USER.user}'@'127.0.0.1';` +
    `GRANT ALL ON *.* TO '${DB_USER.user}'@'localhost';`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (server.child.exitCode !== null) throw new Error(`mariadbd exited; see ${server.log}`);
    try {
      await runStep(
        "create the iTop database user",
        "mariadb",
        ["--no-defaults", "-S", socket, "-uroot", "-e", sql],
        {
          cwd: root,
          env,
          timeoutMs: 10_000,
        },
      );
      return `127.0.0.1:${port}`;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

async function extract(root: string, side: string): Promise<void> {
  const folder = join(root, side);
  mkdirSync(folder);
  await runStep(`extract iTop (${side})`, "tar", ["xzf", ITOP_SNAPSHOT, "-C", folder], {
    cwd: folder,
    env: process.env,
  });
}

interface StartedItop {
  side: "external" | "internal";
  dir: string;
  base: string;
  url: string;
  rest: RealItop["rest"];
}

async function startItop(
  root: string,
  side: "external" | "internal",
  database: string,
  servers: ServerProcess[],
): Promise<StartedItop> {
  const dir = join(root, side, "itop");
  const port = await freePort();
  const base = `http://127.0.0.1:${port}/`;
  const params = join(root, `${side}-params.xml`);
  const values: Record<string, string> = {
    DB_SERVER: database,
    DB_USER: DB_USER.user,
    DB_PASSWORD: DB_USER.password,
    DB_NAME: `itop_${side}`,
    URL: base,
    ADMIN_USER: ADMIN.user,
    ADMIN_PASSWORD: ADMIN.password,
  };
  writeFileSync(
    params,
    readFileSync(PARAMS_TEMPLATE, "utf8").replace(/\{\{(\w+)\}\}/g, (_, key: string) => values[key] ?? ""),
  );
  const env = process.env;
  // Manual extensions in extensions/ (ours, on the internal side) are selected by the unattended
  // install on its own; naming them in selected_extensions would leave them out.
  const output = await runStep(
    `iTop unattended install (${side})`,
    "php",
    [
      "setup/unattended-install/unattended-install.php",
      `--param-file=${params}`,
      "--installation_xml=datamodels/2.x/installation.xml",
    ],
    { cwd: dir, env, timeoutMs: 300_000 },
  );
  if (!output.trimEnd().endsWith("installed!"))
    throw new Error(`iTop unattended install (${side}) did not finish:\n${output}`);
  // REST dates carry no offset: the iTops run in UTC (the install writes Europe/Paris).
  const config = join(dir, "conf", "production", "config-itop.php");
  chmodSync(config, 0o640);
  writeFileSync(config, readFileSync(config, "utf8").replace(/'timezone' => '[^']*'/, "'timezone' => 'UTC'"));
  await runStep(
    `give admin REST Services User (${side})`,
    "php",
    [GRANT_PROFILES, dir, ADMIN.user, "REST Services User"],
    {
      cwd: dir,
      env,
    },
  );
  // php -S serves one request at a time unless it forks workers.
  const server = startServer("php", ["-S", `127.0.0.1:${port}`, "-t", dir], {
    cwd: dir,
    env: { ...env, PHP_CLI_SERVER_WORKERS: "4" },
    log: join(root, `${side}-php.log`),
  });
  servers.push(server);
  const url = `${base}webservices/rest.php`;
  await waitForHttp(url, server);
  const rest = async (payload: object, as: Credentials = ADMIN): Promise<RestAnswer> => {
    const response = await fetch(url, {
      method: "POST",
      body: new URLSearchParams({
        version: "1.3",
        auth_user: as.user,
        auth_pwd: as.password,
        json_data: JSON.stringify(payload),
      }),
    });
    const text = await response.text();
    try {
      return { status: response.status, body: JSON.parse(text) };
    } catch {
      return { status: response.status, body: text };
    }
  };
  return { side, dir, base, url, rest };
}

/** core/create as admin; the new object's id, or an error naming what iTop said. */
async function create(
  itop: StartedItop,
  itemClass: string,
  fields: Record<string, unknown>,
): Promise<number> {
  const { body } = await itop.rest({
    operation: "core/create",
    class: itemClass,
    comment: "deskbridge test setup",
    output_fields: "id",
    fields,
  });
  const created = body?.code === 0 ? Object.values(body.objects ?? {})[0] : undefined;
  const key = Number((created as { key?: unknown } | undefined)?.key);
  if (!Number.isInteger(key) || key <= 0)
    throw new Error(`iTop (${itop.side}) core/create ${itemClass}: ${JSON.stringify(body)}`);
  return key;
}

async function createUser(
  itop: StartedItop,
  credentials: Credentials,
  contactId: number | undefined,
  profiles: string[],
): Promise<void> {
  const profileIds = await Promise.all(
    profiles.map(async (name) => {
      const { body } = await itop.rest({
        operation: "core/get",
        class: "URP_Profiles",
        key: { name },
        output_fields: "id",
      });
      const found = Object.values(body?.objects ?? {})[0] as { key?: string } | undefined;
      if (!found?.key)
        throw new Error(`iTop (${itop.side}) has no profile "${name}": ${JSON.stringify(body)}`);
      return Number(found.key);
    }),
  );
  await create(itop, "UserLocal", {
    login: credentials.user,
    password: credentials.password,
    ...(contactId === undefined ? {} : { contactid: contactId }),
    language: "EN US",
    profile_list: profileIds.map((profileid) => ({ profileid })),
  });
}

function finish(
  itop: StartedItop,
  ids: Pick<RealItop, "organizations" | "persons" | "teams" | "services" | "defaults">,
  agent: RealItop["agent"],
): RealItop {
  return { ...itop, ...ids, admin: ADMIN, bridge: BRIDGE, agent };
}

function fullName(person: { first_name: string; name: string }): string {
  return `${person.first_name} ${person.name}`;
}

async function seedExternal(itop: StartedItop): Promise<RealItop> {
  const seeds = ITOP_SEEDS.external;
  const [customer] = seeds.organizations;
  const orgId = await create(itop, "Organization", { name: customer.name });
  const persons: Record<string, number> = {};
  for (const person of seeds.persons)
    persons[fullName(person)] = await create(itop, "Person", {
      name: person.name,
      first_name: person.first_name,
      email: person.email,
      org_id: orgId,
    });
  const budi = persons["Budi Santoso"] as number;
  const providerDesk = persons["Elitery Provider Desk"] as number;
  // The bridge assigns external tickets to "Provider Desk" (defaults.external.agentId), a member too;
  // its account is that person.
  const teamId = await create(itop, "Team", {
    name: seeds.teams[0].name,
    org_id: orgId,
    persons_list: [{ person_id: budi }, { person_id: providerDesk }],
  });
  const serviceId = await create(itop, "Service", { name: seeds.services[0].name, org_id: orgId });
  const agent = { user: "budi", password: "Budi-pass-2026", personId: budi };
  await Promise.all([
    createUser(itop, BRIDGE, providerDesk, BRIDGE_PROFILES),
    createUser(itop, agent, budi, AGENT_PROFILES),
  ]);
  return finish(
    itop,
    {
      organizations: { [customer.name]: orgId },
      persons,
      teams: { [seeds.teams[0].name]: teamId },
      services: { [seeds.services[0].name]: serviceId },
      defaults: { orgId, agentId: providerDesk, teamId, callerId: budi },
    },
    agent,
  );
}

async function seedInternal(itop: StartedItop): Promise<RealItop> {
  const seeds = ITOP_SEEDS.internal;
  const organizations: Record<string, number> = {};
  for (const organization of seeds.organizations)
    organizations[organization.name] = await create(itop, "Organization", { name: organization.name });
  const provider = organizations.Elitery as number;
  const managed = organizations["PT Pelanggan Sejahtera (managed)"] as number;
  const orgBySeedId = new Map(
    seeds.organizations.map((organization) => [organization.id, organizations[organization.name]]),
  );
  const persons: Record<string, number> = {};
  for (const person of seeds.persons)
    persons[fullName(person)] = await create(itop, "Person", {
      name: person.name,
      first_name: person.first_name,
      email: person.email,
      org_id: orgBySeedId.get(person.org_id),
    });
  const rina = persons["Rina Wijaya"] as number;
  const kontak = persons["Kontak Pelanggan"] as number;
  const teamId = await create(itop, "Team", {
    name: seeds.teams[0].name,
    org_id: provider,
    persons_list: [{ person_id: rina }],
  });
  const serviceId = await create(itop, "Service", { name: seeds.services[0].name, org_id: provider });
  const agent = { user: "rina", password: "Rina-pass-2026", personId: rina };
  await Promise.all([
    createUser(itop, BRIDGE, undefined, BRIDGE_PROFILES),
    createUser(itop, agent, rina, AGENT_PROFILES),
  ]);
  return finish(
    itop,
    {
      organizations,
      persons,
      teams: { [seeds.teams[0].name]: teamId },
      services: { [seeds.services[0].name]: serviceId },
      defaults: { orgId: managed, agentId: rina, teamId, callerId: kontak },
    },
    agent,
  );
}
