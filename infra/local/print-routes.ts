import { mkdirSync, writeFileSync } from "node:fs";
import * as v from "valibot";
import type { Config } from "../../lib/core/config-schema.ts";
import type { GlpiFake } from "../sandbox/glpi.ts";
import { listHttpRoutes } from "./routes.ts";
import { SANDBOX_LIVECHAT, type SandboxFakes } from "./sandbox.ts";

/** The demo form submission printed in the curl examples (a CNPJ of a sandbox demo entity). */
export const DEMO_SUBMISSION = {
  nome_cliente: "Fulano de Tal",
  telefone_cliente: "5511987654321",
  cnpj_cliente: "11.222.333/0001-81",
  anydesk_cliente: "123 456 789",
  descricao_problema: "Problema com lentidão no sistema X",
};

interface PrintInput {
  base: string;
  config: Readonly<Config>;
  /** Secrets that came from config/sandbox.env: only these are printed in clear. */
  sandboxSecrets: Record<string, string>;
  fakes: SandboxFakes;
}

/** Prints every route of serverless.yml with its URL and a curl command that works as printed. */
export async function printRoutes({ base, config, sandboxSecrets, fakes }: PrintInput): Promise<void> {
  const forms = config.integrations.glpiForms;
  const tokenHeader = forms?.auth.header ?? "X-Deskbridge-Token";
  const token = forms ? (sandboxSecrets[forms.auth.secret] ?? `$${forms.auth.secret}`) : "";
  const body = shellQuote(DEMO_SUBMISSION);
  const jobId = forms ? await demoQueuedJob(base, tokenHeader, token, forms.glpi, fakes.glpi) : undefined;
  const bridge = config.integrations.otrsRedmine;
  const bridgeToken = bridge ? (sandboxSecrets[bridge.auth.secret] ?? `$${bridge.auth.secret}`) : "";
  const otrs = bridge ? fakes.otrs[bridge.otrs] : undefined;
  const redmine = bridge ? fakes.redmine[bridge.redmine] : undefined;
  // The sandbox's demo: an agent has just moved the development ticket into the trigger state…
  const devTicket =
    bridge && otrs ? otrs.tickets.find((t) => bridge.queueProjects[t.Queue] !== undefined) : undefined;
  const ticketEvent =
    bridge && otrs && devTicket
      ? otrs.agentSetState(devTicket.TicketID, bridge.triggerState, "agent1")
      : undefined;
  // …and a developer has opened an issue by hand for the other ticket, naming it in the OTRS field.
  const otherTicket = otrs?.tickets.find((t) => t !== devTicket);
  const issueEvent =
    bridge && redmine && otherTicket
      ? redmine.personCreates({
          project_id: 1,
          subject: `Investigar: ${otherTicket.Title}`,
          custom_fields: { [bridge.redmineCustomFieldId]: otherTicket.TicketNumber },
          userId: 7,
        }).payload
      : { payload: { action: "updated", issue: { id: 1 } } };

  const itop = itopExamples(base, config, sandboxSecrets, fakes);
  const rt = rtExamples(base, config, sandboxSecrets);
  const chat = chatExamples(base, config, sandboxSecrets, fakes);
  const notifications = notificationExamples(base, config, sandboxSecrets, fakes);

  const ops = await opsExamples(base, config, sandboxSecrets, {
    forms: forms && !token.startsWith("$") ? { header: tokenHeader, token } : undefined,
    otrsTicket: devTicket?.TicketNumber,
  });

  const examples: Record<string, string> = {
    ...itop,
    ...rt,
    ...chat,
    ...ops,
    "POST /glpi/tickets": `curl -s -X POST ${base}/glpi/tickets -H 'Content-Type: application/json' -H '${tokenHeader}: ${token}' -d ${body}`,
    "POST /criar-chamado": forms?.auth.allowQueryToken
      ? `curl -s -X POST '${base}/criar-chamado?token=${token}' -H 'Content-Type: application/json' -d ${body}`
      : `curl -s -X POST ${base}/criar-chamado -H 'Content-Type: application/json' -H '${tokenHeader}: ${token}' -d ${body}`,
    "GET /glpi/tickets/jobs/{id}": `curl -s ${base}/glpi/tickets/jobs/${jobId ?? "JOB_ID_FROM_A_202_ANSWER"} -H '${tokenHeader}: ${token}'`,
    "GET /ping": `curl -s ${base}/ping`,
    "POST /otrs/ticket-events": `curl -s -X POST ${base}/otrs/ticket-events -H 'Content-Type: application/json' -H '${bridge?.auth.header ?? "X-Deskbridge-Token"}: ${bridgeToken}' -d ${shellQuote(ticketEvent ?? { TicketID: "1", OldTicketData: { State: "open" } })}`,
    // The same event through a controller /otrs/ticket-events/:TicketID: the id in the path, not the body.
    "POST /otrs/ticket-events/{ticketId}": `curl -s -X POST ${base}/otrs/ticket-events/${ticketEvent?.TicketID ?? "1"} -H 'Content-Type: application/json' -H '${bridge?.auth.header ?? "X-Deskbridge-Token"}: ${bridgeToken}' -d ${shellQuote({ OldTicketData: { State: String(ticketEvent?.OldTicketData.State ?? "open") } })}`,
    "POST /redmine/issue-events": `curl -s -X POST '${base}/redmine/issue-events?token=${bridgeToken}' -H 'Content-Type: application/json' -d ${shellQuote(issueEvent)}`,
  };

  console.log("\nRoutes (from serverless.yml):");
  for (const route of listHttpRoutes()) {
    const key = `${route.method} ${route.path}`;
    console.log(`\n  ${key.padEnd(32)} ${base}${route.path}   [${route.functionName}]`);
    console.log(`    ${examples[key] ?? "(no example)"}`);
  }
  if (notifications.length > 0) {
    console.log("\nOTRS → Rocket.Chat, the sandbox's notification rules (posted messages are logged above):");
    for (const [title, command] of notifications) console.log(`\n  ${title}\n    ${command}`);
  }
  if (jobId) {
    console.log(
      `\n  (Job ${jobId} was queued at start-up while the sandbox GLPI refused once: the worker has created its ticket since.)`,
    );
  }
}

/** A valid CNPJ that no sandbox entity has: the demo request the status page shows as parked. */
const UNKNOWN_CNPJ = "45.723.174/0001-10";

/**
 * The operators' routes: the status page (a browser asks for the password; curl sends it as Basic
 * auth with any user name), its actions (authenticated by the header, which needs no CSRF token), the
 * link lookup and the API description. At start-up one form request with a CNPJ no sandbox entity has
 * is sent, so that the page has a parked request to assign.
 */
async function opsExamples(
  base: string,
  config: Readonly<Config>,
  sandboxSecrets: Record<string, string>,
  demo: { forms: { header: string; token: string } | undefined; otrsTicket: string | undefined },
): Promise<Record<string, string>> {
  const examples: Record<string, string> = {
    "GET /openapi.json": `curl -s ${base}/openapi.json`,
  };
  const auth = config.operators?.auth;
  if (!auth) return examples;
  const secret = sandboxSecrets[auth.secret] ?? `$${auth.secret}`;
  let parkedId = "PARKED_REQUEST_ID";
  if (demo.forms) {
    const response = await fetch(`${base}/glpi/tickets`, {
      method: "POST",
      headers: { "content-type": "application/json", [demo.forms.header]: demo.forms.token },
      body: JSON.stringify({
        ...DEMO_SUBMISSION,
        cnpj_cliente: UNKNOWN_CNPJ,
        descricao_problema: "Demo: a request whose CNPJ no entity has, parked for an operator",
      }),
    });
    await response.body?.cancel();
    const page = await fetch(`${base}/status`, {
      headers: { accept: "application/json", [auth.header]: secret },
    });
    const overview = v.safeParse(
      v.object({ parked: v.array(v.object({ id: v.string() })) }),
      await page.json().catch(() => null),
    );
    parkedId = (overview.success ? overview.output.parked[0]?.id : undefined) ?? parkedId;
  }
  const header = `-H '${auth.header}: ${secret}'`;
  return {
    ...examples,
    "GET /status": `curl -s -u :${secret} ${base}/status -H 'Accept: application/json'   # or open ${base}/status in a browser (password ${secret})`,
    "POST /status/dead-letters/replay": `curl -s -X POST ${base}/status/dead-letters/replay ${header} -H 'Accept: application/json' -d all=1`,
    "POST /status/parked/{id}/replay": `curl -s -X POST ${base}/status/parked/${parkedId}/replay ${header} -H 'Accept: application/json' -d entity_id=1`,
    "GET /status/links": `curl -s -u :${secret} '${base}/status/links?system=otrs&id=${demo.otrsTicket ?? "TICKET_NUMBER"}' -H 'Accept: application/json'`,
  };
}

/**
 * Shows the queue path at start-up: the sandbox GLPI fails one ticket creation, so a demo request is
 * answered 202 and the worker creates the ticket a moment later. Only done against a sandbox fake.
 */
async function demoQueuedJob(
  base: string,
  header: string,
  token: string,
  glpi: string,
  fakes: Record<string, GlpiFake>,
): Promise<string | undefined> {
  const fake = fakes[glpi];
  if (!fake || token.startsWith("$")) return undefined;
  fake.failNext(
    1,
    { kind: "status", status: 503, body: ["ERROR", "Service Unavailable"] },
    { method: "POST", path: "/Ticket" },
  );
  const response = await fetch(`${base}/glpi/tickets`, {
    method: "POST",
    headers: { "content-type": "application/json", [header]: token },
    body: JSON.stringify({
      ...DEMO_SUBMISSION,
      descricao_problema: "Demo: ticket created by the worker after a GLPI outage",
    }),
  });
  const answer = v.safeParse(v.object({ job_id: v.string() }), await response.json().catch(() => null));
  return response.status === 202 && answer.success ? answer.output.job_id : undefined;
}

/**
 * The iTop routes' examples. The sandbox's customer has just opened a ticket on the external iTop: its
 * create webhook is printed (not forwarded), so the first curl is what shares it; the other examples
 * are what each iTop sends for that ticket (harmless redeliveries once it is shared).
 */
function itopExamples(
  base: string,
  config: Readonly<Config>,
  sandboxSecrets: Record<string, string>,
  fakes: SandboxFakes,
): Record<string, string> {
  const pair = config.integrations.itopPair;
  if (!pair) return {};
  const token = sandboxSecrets[pair.auth.secret] ?? `$${pair.auth.secret}`;
  const external = fakes.itop[pair.external];
  const ticket = external?.agentCreatesTicket({
    class: "UserRequest",
    title: "Email tidak bisa dikirim",
    description: "<p>Sejak pagi email keluar tertahan di outbox.</p>",
    org_id: pair.defaults.external.orgId,
    caller_id: 1,
    urgency: "3", // with impact 1 (a department): priority 2
    by: "budi",
  });
  const create = external?.takeWebhooks().find((call) => call.path === "/api/v1/create-ticket");
  const id = String(ticket?.id ?? 1);
  const curl = (path: string, payload: unknown) =>
    `curl -s -X POST ${base}${path} -H 'Content-Type: application/json' -H '${pair.auth.header}: ${token}' -d ${shellQuote(payload)}`;
  return {
    "POST /api/v1/create-ticket": curl(
      "/api/v1/create-ticket",
      create?.payload ?? { event: "ticket.create", class: "UserRequest", id },
    ),
    "POST /api/v1/update-ticket": curl("/api/v1/update-ticket", { class: "UserRequest", id }),
    "POST /api/v1/update-attachment": curl("/api/v1/update-attachment", {
      event: "attachment.update",
      source: pair.sources.external,
      attachment_id: "0",
      item_class: "UserRequest",
      item_id: id,
    }),
    "POST /api/v1/ticket-update-private-log": curl("/api/v1/ticket-update-private-log", {
      event: "update private log",
      id: "1",
    }),
    "POST /api/v1/ticket-state-change": curl("/api/v1/ticket-state-change", {
      event: "ticket assigned ",
      id: "1",
    }),
  };
}

/**
 * The RT route's example: what the Scrip posts for the sandbox's demo ticket 1 (which existed before
 * the bridge, so it has no card yet): the card appears in Backlog.
 */
function rtExamples(
  base: string,
  config: Readonly<Config>,
  sandboxSecrets: Record<string, string>,
): Record<string, string> {
  const settings = config.integrations.rtKanban;
  if (!settings) return {};
  const token = sandboxSecrets[settings.auth.secret] ?? `$${settings.auth.secret}`;
  const payload = { ticket_id: "1", transaction_id: "1", type: "Create", creator: "alice" };
  return {
    "POST /rt/ticket-events": `curl -s -X POST ${base}/rt/ticket-events -H 'Content-Type: application/json' -H '${settings.auth.header}: ${token}' -d ${shellQuote(payload)}`,
  };
}

/**
 * The Rocket.Chat ↔ OTRS examples. The sandbox's visitor has just closed a chat with the Suporte
 * department (no ticket named: a new ticket); OTRS has just created its demo ticket 2. Both payloads
 * are long, so they are written to `.local/` and the curls send the files.
 */
function chatExamples(
  base: string,
  config: Readonly<Config>,
  sandboxSecrets: Record<string, string>,
  fakes: SandboxFakes,
): Record<string, string> {
  const settings = config.integrations.rocketchatOtrs;
  if (!settings) return {};
  const examples: Record<string, string> = {};
  mkdirSync(".local", { recursive: true });
  const rocketchat = fakes.rocketchat;
  if (settings.livechat && rocketchat) {
    const room = rocketchat.openRoom({
      visitor: { name: "Joana Cliente", email: "joana@cliente.example", phone: "+55 11 91234-5678" },
      departmentId: SANDBOX_LIVECHAT.department._id,
      agentUsername: SANDBOX_LIVECHAT.agent.username,
      topic: "Segunda via de boleto",
    });
    rocketchat.navigates(room._id, { title: "Boletos", href: "https://loja.example/boletos" });
    rocketchat.visitorSays(room._id, "Olá, preciso da segunda via do boleto de novembro");
    rocketchat.agentSays(room._id, "Claro! Vou abrir um chamado para o financeiro enviar por e-mail.");
    rocketchat.close(room._id, { closer: "user", comment: "Chamado aberto" });
    const close = rocketchat.takeWebhooks().find((payload) => payload.type === "LivechatSession");
    writeFileSync(".local/demo-livechat-close.json", `${JSON.stringify(close, null, 2)}\n`);
    const token = sandboxSecrets[settings.livechat.secret] ?? `$${settings.livechat.secret}`;
    examples["POST /rocketchat/livechat"] =
      `curl -s -X POST ${base}/rocketchat/livechat -H 'Content-Type: application/json' -H 'X-RocketChat-Livechat-Token: ${token}' -d @.local/demo-livechat-close.json`;
  }
  const otrs = fakes.otrs[settings.otrs];
  const notify = settings.notifications;
  const demo = otrs?.tickets.find((ticket) => ticket.Queue === "Suporte") ?? otrs?.tickets[0];
  if (notify && otrs && demo) {
    writeFileSync(
      ".local/demo-otrs-ticket-create.json",
      `${JSON.stringify(otrs.eventPayload(demo.TicketID, "TicketCreate", "Ticket::Generic"), null, 2)}\n`,
    );
    const token = sandboxSecrets[notify.auth.secret] ?? `$${notify.auth.secret}`;
    examples["POST /otrs/notifications"] =
      `curl -s -X POST ${base}/otrs/notifications -H 'Content-Type: application/json' -H '${notify.auth.header}: ${token}' -d @.local/demo-otrs-ticket-create.json`;
    // What a Test::TestSimple invoker with the controller /otrs/notifications/TicketCreate sends.
    examples["POST /otrs/notifications/{event}"] =
      `curl -s -X POST ${base}/otrs/notifications/TicketCreate -H 'Content-Type: application/json' -H '${notify.auth.header}: ${token}' -d ${shellQuote(otrs.eventPayload(demo.TicketID, "TicketCreate", "Test::TestSimple"))}`;
  }
  return examples;
}

/**
 * The write-up's notifications, one curl each, as OTRS would send them: "New VIP ticket" (TicketCreate
 * of a ticket of customer VIPCORP, opened in the sandbox OTRS at start-up: to #vip and to @carla) and
 * "Solution time about to expire" (Znuny's EscalationSolutionTimeNotifyBefore for the same ticket:
 * to #servicedesk). "New ticket" is POST /otrs/notifications above.
 */
function notificationExamples(
  base: string,
  config: Readonly<Config>,
  sandboxSecrets: Record<string, string>,
  fakes: SandboxFakes,
): [string, string][] {
  const settings = config.integrations.rocketchatOtrs;
  const notify = settings?.notifications;
  const otrs = settings ? fakes.otrs[settings.otrs] : undefined;
  const vipCustomer = notify?.rules.find((rule) => rule.customers?.length)?.customers?.[0];
  if (!notify || !otrs || !vipCustomer) return [];
  const vip = otrs.addTicket({
    Title: "Sistema de vendas fora do ar na matriz",
    Queue: "Raw",
    State: "new",
    Priority: "5 very high",
    CustomerUserID: "roberto.almeida",
    CustomerID: vipCustomer,
    CustomerName: "Roberto Almeida",
    Articles: [
      {
        Subject: "Sistema fora do ar",
        Body: "Nenhum caixa da matriz consegue registrar vendas desde as 9h.\nPrecisamos de ajuda urgente.",
      },
    ],
  });
  const token = sandboxSecrets[notify.auth.secret] ?? `$${notify.auth.secret}`;
  const curl = (file: string, event: string) => {
    writeFileSync(
      file,
      `${JSON.stringify(otrs.eventPayload(vip.TicketID, event, "Ticket::Generic"), null, 2)}\n`,
    );
    return `curl -s -X POST ${base}/otrs/notifications -H 'Content-Type: application/json' -H '${notify.auth.header}: ${token}' -d @${file}`;
  };
  return [
    [
      `New VIP ticket (TicketCreate, customer ${vipCustomer})`,
      curl(".local/demo-otrs-vip-ticket-create.json", "TicketCreate"),
    ],
    [
      "Solution time about to expire (EscalationSolutionTimeNotifyBefore)",
      curl(".local/demo-otrs-escalation.json", "EscalationSolutionTimeNotifyBefore"),
    ],
  ];
}

/** JSON in single quotes for a POSIX shell. */
function shellQuote(value: unknown): string {
  return `'${JSON.stringify(value).replace(/'/g, "'\\''")}'`;
}
