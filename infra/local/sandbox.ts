import { connect } from "node:net";
import type { Config } from "../../lib/core/config-schema.ts";
import { ConfigError } from "../../lib/core/errors.ts";
import { demoEntities, type GlpiFake, startGlpiFake } from "../sandbox/glpi.ts";
import { type ItopFake, startItopFake } from "../sandbox/itop.ts";
import { ITOP_SEEDS } from "../sandbox/itop-seeds.ts";
import { type KanboardFake, startKanboardFake } from "../sandbox/kanboard.ts";
import { demoTickets, type OtrsFake, startOtrsFake } from "../sandbox/otrs.ts";
import { type RedmineFake, startRedmineFake } from "../sandbox/redmine.ts";
import { ROCKETCHAT_SEEDS, type RocketChatFake, startRocketChatFake } from "../sandbox/rocketchat.ts";
import { type RtFake, startRtFake } from "../sandbox/rt.ts";
import { KANBOARD_SEEDS, RT_SEEDS } from "../sandbox/rt-kanban-seeds.ts";

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
  rt: Record<string, RtFake>;
  kanboard: Record<string, KanboardFake>;
  /** The sandbox Rocket.Chat (Incoming WebHooks, and the Livechat simulator), when one was started. */
  rocketchat?: RocketChatFake;
}

/** The sandbox Rocket.Chat's Livechat department, its agent, and the department's OTRS queue. */
export const SANDBOX_LIVECHAT = {
  department: { _id: "SupportDept000001", name: "Suporte" },
  agent: { _id: "AgentAna000000001", username: "ana", name: "Ana Atendente" },
} as const;

/** A person on the sandbox RT with her own token, for driving RT as an agent would. */
export const SANDBOX_RT_AGENT = { name: "alice", token: "sandbox-alice-token" } as const;

/**
 * The sandbox RT's tickets at start-up (ids 1–6; #3 is then stalled): open ones in exposed queues, and
 * some that never show. They existed before the bridge: the sandbox's poller starts at start-up
 * (`initialLookbackHours: 0`), so `npm run backfill -- rt-kanban` is what projects them.
 */
const RT_DEMO_TICKETS = [
  {
    queue: "General",
    subject: "Printer on fire",
    owner: "alice",
    priority: 60,
    requestor: "jdoe@example.com",
  },
  {
    queue: "General",
    subject: "VPN drops every hour",
    status: "open",
    priority: 30,
    requestor: "ann@example.com",
  },
  { queue: "Helpdesk", subject: "Laptop battery swelling", status: "open", requestor: "raj@example.com" },
  { queue: "Helpdesk", subject: "Password reset", status: "resolved", requestor: "li@example.com" },
  { queue: "HR", subject: "Salary slip is wrong", requestor: "bob@example.com" },
  { queue: "Facilities", subject: "Broken chair", requestor: "ann@example.com" },
];

/**
 * Starts a fake for every system instance whose URL points at an idle port on this machine, seeded with
 * demo data; systems anywhere else (or already listening there) are real and get none.
 */
export async function startSandboxFakes(
  config: Readonly<Config>,
  stops: (() => unknown)[],
): Promise<SandboxFakes> {
  const fakes: SandboxFakes = { glpi: {}, otrs: {}, redmine: {}, itop: {}, rt: {}, kanboard: {} };
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
      // The ticket fields the integrations write (the Redmine issue id, the chat's room).
      dynamicFields: [
        config.integrations.otrsRedmine?.otrsDynamicField ?? "RedmineID",
        ...(config.integrations.rocketchatOtrs?.livechat?.roomDynamicField
          ? [config.integrations.rocketchatOtrs.livechat.roomDynamicField]
          : []),
      ],
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
  for (const [name, instance] of Object.entries(config.systems.rt)) {
    const url = await sandboxUrl(instance.url, `RT "${name}"`);
    if (!url) continue;
    const fake = await startRtFake({
      port: Number(url.port),
      users: [
        { name: instance.user, token: requireEnv(instance.token.secret), ...RT_SEEDS.bridge },
        ...RT_SEEDS.people.map((person) =>
          person.name === SANDBOX_RT_AGENT.name ? { ...person, token: SANDBOX_RT_AGENT.token } : person,
        ),
      ],
      queues: RT_SEEDS.queues,
      customFields: RT_SEEDS.customFields,
    });
    for (const ticket of RT_DEMO_TICKETS) fake.personCreates(ticket);
    fake.personUpdates(3, { status: "stalled" }); // RT creates tickets new, open or resolved only
    fake.takeScripCalls(); // the demo existed before the bridge: backfill projects it
    fakes.rt[name] = fake;
    stops.push(() => fake.close());
    const demo = RT_DEMO_TICKETS.map((t, i) => `#${i + 1} ${t.queue} "${t.subject}"`).join(", ");
    console.log(
      `RT "${name}" sandbox      ${fake.url} (agent ${SANDBOX_RT_AGENT.name}, token ${SANDBOX_RT_AGENT.token}; demo tickets: ${demo})`,
    );
  }
  for (const [name, instance] of Object.entries(config.systems.kanboard)) {
    const url = await sandboxUrl(instance.url, `Kanboard "${name}"`);
    if (!url) continue;
    const fake = await startKanboardFake({
      port: Number(url.port),
      apiToken: requireEnv(instance.token.secret),
      users: KANBOARD_SEEDS.users,
      projects: KANBOARD_SEEDS.projects,
    });
    fakes.kanboard[name] = fake;
    stops.push(() => fake.close());
    console.log(`Kanboard "${name}" sandbox ${fake.url} (project 1 "Helpdesk"; API user jsonrpc)`);
  }
  const chat = config.integrations.rocketchatOtrs;
  if (chat) fakes.rocketchat = await startSandboxRocketChat(chat, stops);
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
      // A token login needs Combodo's authent-token extension (not in the community edition).
      tokenLogin: Boolean(instance.token),
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
 * The sandbox Rocket.Chat: it serves the bot user's REST API where `notifications.bot.url` points (its
 * personal access token from config/sandbox.env) and the Incoming WebHooks whose URLs (secrets, from
 * config/sandbox.env) point at the same idle loopback port, logs what is posted, and simulates the Livechat.
 */
async function startSandboxRocketChat(
  chat: NonNullable<Config["integrations"]["rocketchatOtrs"]>,
  stops: (() => unknown)[],
): Promise<RocketChatFake | undefined> {
  const hooks = Object.entries(chat.notifications?.hooks ?? {}).flatMap(([name, ref]) => {
    const match = /^http:\/\/(?:127\.0\.0\.1|localhost):(\d+)\/hooks\/([^/]+)\/([^/]+)$/.exec(
      process.env[ref.secret] ?? "",
    );
    return match?.[1] && match[2] && match[3]
      ? [{ name, port: Number(match[1]), id: match[2], token: match[3] }]
      : [];
  });
  const bot = chat.notifications?.bot;
  const botPort = bot && /^http:\/\/(?:127\.0\.0\.1|localhost):(\d+)\/?$/.exec(bot.url)?.[1];
  const port = botPort ? Number(botPort) : hooks[0]?.port;
  if (port === undefined || (await portInUse(port))) return undefined;
  const fake = await startRocketChatFake({
    port,
    integrations: hooks
      .filter((hook) => hook.port === port)
      .map((hook) => ({ id: hook.id, token: hook.token, channel: `#${hook.name}` })),
    ...(bot && botPort ? { bot: { userId: bot.userId, authToken: requireEnv(bot.authToken.secret) } } : {}),
    ...ROCKETCHAT_SEEDS,
    livechat: {
      ...(chat.livechat ? { secretToken: requireEnv(chat.livechat.secret) } : {}),
      on: { close: true, offline: true, navigation: true },
    },
    departments: [SANDBOX_LIVECHAT.department],
    agents: [SANDBOX_LIVECHAT.agent],
  });
  stops.push(() => fake.close());
  let shown = 0;
  const timer = setInterval(() => {
    for (const message of fake.messages.slice(shown))
      console.log(`Rocket.Chat ${message.channel} ← ${message.text.replace(/\n/g, " ⏎ ")}`);
    shown = fake.messages.length;
  }, 300);
  stops.push(() => clearInterval(timer));
  console.log(
    `Rocket.Chat sandbox    ${fake.url} (${bot && botPort ? `bot user ${bot.userId}: #servicedesk, #vip, @carla; ` : ""}Incoming WebHooks: ${hooks.map((hook) => `#${hook.name}`).join(", ") || "none"}; posted messages are logged here)`,
  );
  return fake;
}

/** A call a sandbox system would make to the bridge: its path and JSON body. */
export interface OutboundCall {
  path: string;
  payload: unknown;
}

/**
 * Plays a system's outbound calls in the sandbox (the iTop webhook extension, RT's Scrips): what the
 * fakes queue is POSTed to the bridge every half second, with the integration's secret header, as the
 * real system would. Returns the stop function.
 */
export function forwardOutbox(
  label: string,
  take: () => OutboundCall[],
  base: string,
  auth: { header: string; token: string },
): () => void {
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    void (async () => {
      for (const call of take()) {
        await fetch(`${base}${call.path}`, {
          method: "POST",
          headers: { "content-type": "application/json", [auth.header]: auth.token },
          body: JSON.stringify(call.payload),
        }).catch((error: unknown) => console.error(`${label} ${call.path}:`, (error as Error).message));
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
