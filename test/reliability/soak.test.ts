import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { GetQueueUrlCommand, SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient, ScanCommand } from "@aws-sdk/lib-dynamodb";
import * as v from "valibot";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../infra/local/free-port.ts";
import { mulberry32, type NetworkFault } from "../../infra/sandbox/faults.ts";
import { depthOf } from "../../infra/sandbox/stack.ts";
import { SQS_OPTIONS } from "../../lib/core/aws.ts";
import type { JobMessage } from "../../lib/jobs/model.ts";
import { JobQueue } from "../../lib/jobs/queue.ts";
import { type ReadLetter, readDeadLetters, replayDeadLetters } from "../../lib/jobs/replay.ts";
import { LinkStore } from "../../lib/links/store.ts";
import { CONVERSATION, conversationAspect } from "../../lib/sync/otrs-redmine/conversation.ts";
import { issueRef, statusAspect, ticketRef } from "../../lib/sync/otrs-redmine/link-state.ts";
import { INTEGRATION_IDS } from "../../lib/sync/registry.ts";
import { notificationEventKey } from "../../lib/sync/rocketchat-otrs/notifications.ts";
import { SECRETS, type Stack, setupStack } from "../helpers/stack.ts";
import { accountSoak, type EventCount, type SoakKind } from "./soak-accounting.ts";

/**
 * The soak: SOAK_EVENTS events (1,000 with `npm run test:reliability`; fewer in `npm test`) across
 * every integration, sent over HTTP to the whole bridge as `npm start` runs it (serverless-offline,
 * the emulators, the local SQS event source feeding the worker), while SOAK_FAULT_RATE (20%) of the
 * calls to the external systems fail at random (seeded: SOAK_SEED). After the queue drains: nothing
 * lost (every event converged or dead-lettered), nothing duplicated; after a replay with the faults
 * off, every event converged. Its figures go to .local/reliability/soak.json.
 */
const EVENTS = Number(process.env.SOAK_EVENTS ?? 150);
const SEED = Number(process.env.SOAK_SEED ?? 7);
const RATE = Number(process.env.SOAK_FAULT_RATE ?? 0.2);
/** Where the figures go (the multi-seed runner gives each run its own file). */
const REPORT = process.env.SOAK_REPORT ?? ".local/reliability/soak.json";

type Kind = SoakKind;
const KINDS: Kind[] = [
  "glpi",
  "otrs-redmine",
  "conversation",
  "itop",
  "rt",
  "livechat",
  "notify",
  "notify-hooks",
];
/** The tickets of the `conversation` events: their jobs are otrs-redmine's too. */
const conversationTickets = new Set<string>();

interface SoakEvent {
  kind: Kind;
  /** What identifies the event in its target (and in a dead letter's job). */
  handle: string;
  /** What the bridge answered each delivery (job ids of queued work among them). */
  answers: string[];
  /** The links table's keys of the event's source object, when they can be named up front. */
  sourceKeys: RegExp[];
  send(): Promise<void>;
}

let stack: Stack;
let bridge: ChildProcess;
let output = "";
let base = "";
let sqs: SQSClient;
let jobsUrl = "";
let deadUrl = "";
const integrationQueues: Record<string, { jobs: string; deadLetters: string }> = {};
let dynamoEndpoint = "";
const answers: string[] = [];

beforeAll(async () => {
  stack = await setupStack({
    jobs: {
      maxAttempts: 5,
      backoffBaseSeconds: 1,
      backoffMaxSeconds: 2,
      inlineBudgetMs: 1500,
      // A fifth of the calls fail at random: a breaker that opens now and then must not hold jobs for minutes.
      breaker: { probeIntervalSeconds: 1, waitSeconds: 2 },
    },
  });
  const ports = {
    http: await freePort(),
    lambda: await freePort(),
    dynamo: await freePort(),
    sqs: await freePort(),
  };
  const env: Record<string, string | undefined> = {
    ...process.env,
    DESKBRIDGE_CONFIG: stack.configPath,
    HTTP_PORT: String(ports.http),
    LAMBDA_PORT: String(ports.lambda),
    DYNAMODB_PORT: String(ports.dynamo),
    SQS_PORT: String(ports.sqs),
    LOG_LEVEL: "INFO",
    // Its own state file: a developer's running stack keeps .local/stack.json.
    DESKBRIDGE_STACK_FILE: join(mkdtempSync(join(tmpdir(), "deskbridge-soak-")), "stack.json"),
  };
  // npm start makes its own table, queues and endpoints.
  for (const name of [
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_ENDPOINT_URL_SQS",
    "LINKS_TABLE",
    "JOBS_QUEUE_URL",
    "DEAD_LETTER_QUEUE_URL",
    "JOB_QUEUES",
  ])
    delete env[name];
  bridge = spawn(process.execPath, ["node_modules/tsx/dist/cli.mjs", "infra/local/start.ts"], {
    env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  bridge.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  bridge.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const deadline = Date.now() + 150_000;
  while (!output.includes("The bridge is running")) {
    if (bridge.exitCode !== null) throw new Error(`npm start exited early:\n${output}`);
    if (Date.now() > deadline) throw new Error(`npm start did not come up:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  base = `http://127.0.0.1:${ports.http}`;
  dynamoEndpoint = `http://127.0.0.1:${ports.dynamo}`;
  sqs = new SQSClient({ ...SQS_OPTIONS, endpoint: `http://127.0.0.1:${ports.sqs}`, region: "us-east-1" });
  const urlOf = async (name: string) =>
    (await sqs.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl ?? "";
  jobsUrl = await urlOf("deskbridge-local-jobs");
  deadUrl = await urlOf("deskbridge-local-jobs-dlq");
  // npm start gives every integration its own queue pair; the shared pair is the upgrade's drain.
  for (const id of INTEGRATION_IDS) {
    integrationQueues[id] = {
      jobs: await urlOf(`deskbridge-local-${id}`),
      deadLetters: await urlOf(`deskbridge-local-${id}-dlq`),
    };
  }
}, 180_000);

afterAll(async () => {
  if (bridge?.pid !== undefined && bridge.exitCode === null) {
    const exited = new Promise((resolve) => bridge.once("exit", resolve));
    process.kill(-bridge.pid, "SIGINT");
    await exited;
  }
  await stack?.close();
});

/**
 * A sender that retries what failed in transit, as OTRS's scheduler, iTop's and RT's senders, and people
 * with forms do: up to 8 attempts, backing off from 0.5 s to 8 s (about 30 s in all). A 5xx or 429 is
 * retried; a 4xx is final unless `retryAnyError` (a person retrying a form). Every answer is kept.
 */
async function deliver(
  path: string,
  body: unknown,
  headers: Record<string, string>,
  seen: string[],
  retryAnyError = false,
): Promise<void> {
  for (let attempt = 1; attempt <= 8; attempt++) {
    try {
      const response = await fetch(`${base}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify(body),
      });
      const text = await response.text();
      answers.push(text);
      seen.push(`${response.status} ${text}`);
      if (response.status < 300) return;
      if (response.status < 500 && response.status !== 429 && !retryAnyError) return;
    } catch (error) {
      seen.push(`no answer: ${(error as Error).message}`);
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(8000, 500 * 2 ** (attempt - 1))));
  }
  seen.push("the sender gave up");
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Makes one event in its system and the call its sender makes. */
function makeEvent(kind: Kind): SoakEvent {
  const { otrs, rt, rocketchat } = stack;
  const external = stack.itop.external;
  const seen: string[] = [];
  const keyOf = (system: string, type: string, id: string) =>
    new RegExp(`^${system}:[^:]+:${type}:${escapeRegExp(id)}$`);
  switch (kind) {
    case "glpi": {
      const description = `Soak ${randomUUID()}`;
      const body = {
        nome_cliente: "Soak",
        telefone_cliente: "+55 11 3333-4444",
        cnpj_cliente: "11222333000181",
        anydesk_cliente: "1",
        descricao_problema: description,
      };
      return {
        kind,
        handle: description,
        answers: seen,
        // The submission's key is its job id, known from the answers and the dead letters.
        sourceKeys: [],
        // A form that retries every failure sends an Idempotency-Key, as the README asks: one ticket.
        send: () =>
          deliver(
            "/glpi/tickets",
            body,
            { "x-deskbridge-token": SECRETS.FORMS_TOKEN, "idempotency-key": `soak-${randomUUID()}` },
            seen,
            true,
          ),
      };
    }
    case "otrs-redmine": {
      const ticket = otrs.addTicket({
        Title: `Soak ${randomUUID()}`,
        Queue: "Desenvolvimento",
        State: "Em Atendimento",
      });
      const event = otrs.agentSetState(ticket.TicketID, "Em Desenvolvimento", "agent1");
      return {
        kind,
        handle: ticket.TicketID,
        answers: seen,
        sourceKeys: [keyOf("otrs", "ticket", ticket.TicketID)],
        send: () =>
          deliver("/otrs/ticket-events", event, { "x-deskbridge-token": SECRETS.OTRS_REDMINE_TOKEN }, seen),
      };
    }
    case "conversation": {
      const marker = randomUUID();
      const ticket = otrs.addTicket({
        Title: `Soak ${marker}`,
        Queue: "Desenvolvimento",
        State: "Em Desenvolvimento",
        CustomerUserID: "maria.souza",
        Articles: [{ Subject: "s", Body: "b" }],
      });
      conversationTickets.add(ticket.TicketID);
      const { issue } = stack.redmine.personCreates({
        project_id: 1,
        subject: ticket.Title,
        custom_fields: { 5: ticket.TicketNumber },
        userId: 7,
      });
      ticket.DynamicFields.RedmineID = String(issue.id);
      return {
        kind,
        handle: ticket.TicketID,
        answers: seen,
        sourceKeys: [keyOf("otrs", "ticket", ticket.TicketID)],
        send: async () => {
          // Linked as an escalation links them (written to the bridge's table: no call a fault could take).
          const links = new LinkStore(
            DynamoDBDocumentClient.from(
              new DynamoDBClient({ endpoint: dynamoEndpoint, region: "us-east-1" }),
            ),
            "deskbridge-local-links",
          );
          await links.create(ticketRef("main", ticket.TicketID), issueRef("main", issue.id), {
            status: statusAspect({ otrs: ticket.State, redmine: issue.status_id }),
            [CONVERSATION]: conversationAspect({
              article: Number(ticket.Articles.at(-1)?.ArticleID),
              journal: 0,
            }),
          });
          stack.redmine.personUpdates(issue.id, {
            notes: `Pergunta ${marker}`,
            files: [{ filename: "trace.txt", content: `trace ${marker}` }],
            userId: 7,
          });
          const { event } = otrs.addArticle(ticket.TicketID, {
            Body: `Resposta ${marker}`,
            Attachments: [{ Filename: "tela.png", ContentType: "image/png", Content: `png ${marker}` }],
          });
          await deliver(
            "/otrs/ticket-events",
            event,
            { "x-deskbridge-token": SECRETS.OTRS_REDMINE_TOKEN },
            seen,
          );
        },
      };
    }
    case "itop": {
      const ticket = external.agentCreatesTicket({
        title: `Soak ${randomUUID()}`,
        description: "<p>x</p>",
        org_id: 1,
        caller_id: 1,
      });
      const create = external.takeWebhooks().find((call) => call.path === "/api/v1/create-ticket");
      return {
        kind,
        handle: String(ticket.id),
        answers: seen,
        sourceKeys: [keyOf("itop", "ticket", String(ticket.id))],
        send: () =>
          deliver(
            "/api/v1/create-ticket",
            create?.payload,
            { "x-deskbridge-token": SECRETS.ITOP_WEBHOOK_TOKEN },
            seen,
          ),
      };
    }
    case "rt": {
      const ticket = rt.personCreates({ queue: "General", subject: `Soak ${randomUUID()}` });
      rt.takeScripCalls();
      return {
        kind,
        handle: String(ticket.id),
        answers: seen,
        sourceKeys: [keyOf("rt", "ticket", String(ticket.id))],
        send: () =>
          deliver(
            "/rt/ticket-events",
            { ticket_id: String(ticket.id) },
            { "x-deskbridge-token": SECRETS.RT_WEBHOOK_TOKEN },
            seen,
          ),
      };
    }
    case "livechat": {
      const room = rocketchat.openRoom({
        visitor: { name: "Soak", email: "soak@cliente.example" },
        topic: `Soak ${randomUUID()}`,
      });
      rocketchat.visitorSays(room._id, "olá");
      rocketchat.close(room._id);
      const close = rocketchat.takeWebhooks().find((payload) => payload.type === "LivechatSession");
      const handle = `room:${room._id}`;
      return {
        kind,
        handle,
        answers: seen,
        sourceKeys: [keyOf("rocketchat", "chat", handle)],
        send: async () => {
          // Rocket.Chat's own delivery: exactly 200 counts, 5xx and timeouts are retried.
          const delivery = await rocketchat.deliver(close ?? {}, `${base}/rocketchat/livechat`);
          if (delivery.body) {
            answers.push(delivery.body);
            seen.push(delivery.body);
          }
        },
      };
    }
    case "notify":
    case "notify-hooks": {
      // Queue Suporte posts through the bot (exactly once), Desenvolvimento through an Incoming WebHook.
      const ticket = otrs.addTicket({
        Title: `Soak ${randomUUID()}`,
        Queue: kind === "notify" ? "Suporte" : "Desenvolvimento",
        State: "new",
        Articles: [{ Subject: "s", Body: "b" }],
      });
      const payload = otrs.eventPayload(ticket.TicketID, "TicketCreate", "Ticket::Generic");
      // Each message of the event is claimed under `<event key>.<rule>.<target or hook>`.
      const eventKey = notificationEventKey("TicketCreate", JSON.stringify(payload));
      return {
        kind,
        handle: ticket.TicketID,
        answers: seen,
        sourceKeys: [new RegExp(`^otrs:[^:]+:notification:${escapeRegExp(eventKey)}\\.`)],
        send: () =>
          deliver("/otrs/notifications", payload, { "x-deskbridge-token": SECRETS.OTRS_NOTIFY_TOKEN }, seen),
      };
    }
  }
}

/** The target objects an event made, as keys of the links table (one is converged; more is a duplicate). */
function targetsOf(event: SoakEvent): string[] {
  const { glpi, otrs, redmine, kanboard, rocketchat } = stack;
  switch (event.kind) {
    case "glpi":
      return glpi.tickets
        .filter((ticket) => String(ticket.input.content ?? "").includes(event.handle))
        .map((ticket) => `glpi:Ticket:${ticket.id}`);
    case "otrs-redmine": {
      const ticket = otrs.tickets.find((t) => t.TicketID === event.handle);
      return redmine.issues
        .filter((issue) => issue.custom_fields[5] === ticket?.TicketNumber)
        .map((issue) => `redmine:issue:${issue.id}`);
    }
    case "conversation": {
      // The copies: articles carrying the developer's note, notes carrying the customer's reply.
      const ticket = otrs.tickets.find((t) => t.TicketID === event.handle);
      const marker = ticket?.Title.replace(/^Soak /, "") ?? "-";
      const issue = redmine.issues.find((i) => String(i.id) === ticket?.DynamicFields.RedmineID);
      const articles = (ticket?.Articles ?? [])
        .filter((a) => a.Body.includes(`Pergunta ${marker}`) && a.Attachments.length === 1)
        .map((a) => `otrs:article:${a.ArticleID}`);
      const notes = (issue?.journals ?? [])
        .filter(
          // With its file, or saying Redmine refused the file for good (a 422 of the chaos on the upload).
          (j) =>
            j.notes.includes(`Resposta ${marker}`) &&
            (j.details.some((d) => d.property === "attachment") || j.notes.includes("Redmine refused it")),
        )
        .map((j) => `redmine:journal:${j.id}`);
      return [...articles, ...notes];
    }
    case "itop": {
      const ref = stack.itop.external.ticket(Number(event.handle))?.ref;
      return stack.itop.internal
        .tickets()
        .filter((t) => t.external_ref === ref)
        .map((t) => `itop:ticket:${t.id}`);
    }
    case "rt":
      return kanboard
        .tasks()
        .filter((task) => task.reference === `RT#${event.handle}`)
        .map((task) => `kanboard:card:${task.id}`);
    case "livechat":
      return otrs.tickets
        .filter((t) => t.DynamicFields.RocketChatRoom === event.handle)
        .map((t) => `otrs:ticket:${t.TicketID}`);
    case "notify":
    case "notify-hooks": {
      const number = otrs.tickets.find((t) => t.TicketID === event.handle)?.TicketNumber ?? "-";
      return rocketchat.messages
        .filter((message) => message.text.includes(number))
        .map((_message, i) => `rocketchat:message:${i + 1}`);
    }
  }
}

/**
 * How many target objects an event made. An object the source does not point back to (the Redmine id
 * in OTRS, the card id in RT) is not converged yet: 0.
 */
function objectsOf(event: SoakEvent): number {
  const targets = targetsOf(event);
  if (event.kind === "conversation") {
    // Both ways, once each, with their files: 1; a copy missing: 0; a copy made twice: a duplicate.
    const articles = targets.filter((t) => t.startsWith("otrs:")).length;
    const notes = targets.length - articles;
    if (articles === 1 && notes === 1) return 1;
    return Math.max(articles, notes) > 1 ? Math.max(articles, notes) : 0;
  }
  if (event.kind === "otrs-redmine" && targets.length === 1) {
    const written = stack.otrs.tickets.find((t) => t.TicketID === event.handle)?.DynamicFields.RedmineID;
    return targets[0] === `redmine:issue:${written}` ? 1 : 0;
  }
  if (event.kind === "rt" && targets.length === 1) {
    const written = stack.rt.ticket(Number(event.handle))?.customFields["FlowIO-id"];
    return targets[0] === `kanboard:card:${written}` ? 1 : 0;
  }
  return targets.length;
}

/** The kind of event each integration's job types serve. */
const KIND_OF_JOB: [prefix: string, kind: Kind][] = [
  ["glpi-forms.", "glpi"],
  ["otrs-redmine.", "otrs-redmine"],
  ["itop-pair.", "itop"],
  ["rt-kanban.", "rt"],
  ["rocketchat-otrs.livechat", "livechat"],
  ["rocketchat-otrs.notify", "notify"],
];
const SubmissionInput = v.object({ submission: v.object({ descricao_problema: v.string() }) });
const ChatInput = v.object({ key: v.string() });
const TicketInput = v.object({ ticketId: v.union([v.string(), v.number()]) });

/** The event a job stands for, as `<kind>|<handle>` (ticket ids repeat across systems: the kind tells them apart). */
function eventOfJob(job: JobMessage): string | undefined {
  const kind = KIND_OF_JOB.find(([prefix]) => job.type.startsWith(prefix))?.[1];
  if (!kind) return undefined;
  const submission = v.safeParse(SubmissionInput, job.input);
  if (kind === "glpi")
    return submission.success ? `glpi|${submission.output.submission.descricao_problema}` : undefined;
  const chat = v.safeParse(ChatInput, job.input);
  if (kind === "livechat") return chat.success ? `livechat|${chat.output.key}` : undefined;
  const ticket = v.safeParse(TicketInput, job.input);
  if (!ticket.success) return undefined;
  // One job type serves both notification kinds: the ticket's queue tells them apart.
  if (kind === "notify") {
    const queue = stack.otrs.tickets.find((t) => t.TicketID === String(ticket.output.ticketId))?.Queue;
    return `${queue === "Desenvolvimento" ? "notify-hooks" : "notify"}|${ticket.output.ticketId}`;
  }
  const ticketId = String(ticket.output.ticketId);
  return `${kind === "otrs-redmine" && conversationTickets.has(ticketId) ? "conversation" : kind}|${ticketId}`;
}

const eventKey = (event: { kind: Kind; handle: string }) => `${event.kind}|${event.handle}`;

const depth = (url: string) => depthOf(sqs, url);

/** Every jobs queue: the integrations' and the shared one. */
const allJobsUrls = () => [jobsUrl, ...Object.values(integrationQueues).map((pair) => pair.jobs)];
/** Every dead-letter queue: the integrations' and the shared one. */
const allDeadUrls = () => [deadUrl, ...Object.values(integrationQueues).map((pair) => pair.deadLetters)];

/** Waits until every jobs queue stays empty for a few seconds (retries come back after their backoff). */
async function drained(timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let emptySince: number | undefined;
  while (Date.now() < deadline) {
    const depths = await Promise.all(allJobsUrls().map((url) => depth(url)));
    if (depths.every((d) => d === 0)) {
      emptySince ??= Date.now();
      if (Date.now() - emptySince > 5000) return;
    } else emptySince = undefined;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error("the jobs queue did not drain in time");
}

function chaos(on: boolean): void {
  const transient: NetworkFault[] = [
    { kind: "status", status: 503, body: "Service Unavailable" },
    { kind: "status", status: 502, body: "Bad Gateway" },
    { kind: "status", status: 429, headers: { "retry-after": "1" }, body: "Too Many Requests" },
    { kind: "reset" },
    { kind: "drop-response" },
  ];
  const seeds = [1, 2, 3, 4, 5, 6, 7, 8].map((i) => SEED * 100 + i);
  const rate = on ? RATE : 0;
  const set = <F>(
    fake: { setChaos(chaos: { seed: number; rate: number; faults: F[] } | undefined): void },
    seed: number,
    faults: F[],
  ) => fake.setChaos(on ? { seed, rate, faults } : undefined);
  set(stack.glpi, seeds[0] ?? 1, [
    ...transient,
    { kind: "status", status: 400, body: ["ERROR_GLPI_ADD", "refused"] },
  ]);
  set(stack.otrs, seeds[1] ?? 2, [
    ...transient,
    { kind: "error200", code: "TicketUpdate.InvalidParameter", message: "TicketUpdate: refused" },
  ]);
  set(stack.redmine, seeds[2] ?? 3, [
    ...transient,
    { kind: "status", status: 422, body: { errors: ["refused"] } },
  ]);
  set(stack.itop.external, seeds[3] ?? 4, [
    ...transient,
    { kind: "code", code: 100, message: "Error: refused" },
  ]);
  set(stack.itop.internal, seeds[4] ?? 5, [
    ...transient,
    { kind: "code", code: 100, message: "Error: refused" },
  ]);
  set(stack.rt, seeds[5] ?? 6, transient);
  set(stack.kanboard, seeds[6] ?? 7, [...transient, { kind: "result", value: false }]);
  set(stack.rocketchat, seeds[7] ?? 8, transient);
}

const injected = () =>
  [
    stack.glpi,
    stack.otrs,
    stack.redmine,
    stack.itop.external,
    stack.itop.internal,
    stack.rt,
    stack.kanboard,
    stack.rocketchat,
  ]
    .map((fake) => fake.faultsInjected().total)
    .reduce((a, b) => a + b, 0);

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

/** The jobs an event's letters and answers name (a form's job id is its submission's key). */
function jobIdsOf(event: SoakEvent, letters: readonly ReadLetter[]): string[] {
  const fromLetters = letters.flatMap((letter) =>
    letter.kind === "letter" && eventOfJob(letter.letter.job) === eventKey(event)
      ? [letter.letter.job.id]
      : [],
  );
  return [...new Set([...fromLetters, ...event.answers.flatMap((answer) => answer.match(UUID) ?? [])])];
}

/** The items of the links table (links, job records), read once. */
async function scanTable(): Promise<Record<string, unknown>[]> {
  const db = DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint: dynamoEndpoint, region: "us-east-1" }),
  );
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await db.send(
      new ScanCommand({ TableName: "deskbridge-local-links", ExclusiveStartKey: start }),
    );
    items.push(...(out.Items ?? []));
    start = out.LastEvaluatedKey;
  } while (start);
  db.destroy();
  return items;
}

/** What the queues and the links table say about an event that is not exactly once. */
function evidenceFor(
  event: SoakEvent,
  state: {
    lettersBefore: ReadLetter[];
    lettersAfter: ReadLetter[];
    queued: ReadLetter[];
    table: Record<string, unknown>[];
  },
) {
  const describeLetter = (letter: ReadLetter) =>
    letter.kind === "letter"
      ? `${letter.letter.job.type} ${letter.letter.job.id} after ${letter.letter.attempts} attempts: ${letter.letter.lastError.code} ${letter.letter.lastError.message}`
      : `unreadable message ${letter.messageId}`;
  const ofEvent = (letters: ReadLetter[]) =>
    letters.filter((letter) => letter.kind === "letter" && eventOfJob(letter.letter.job) === eventKey(event));
  const jobIds = jobIdsOf(event, [...state.lettersBefore, ...state.lettersAfter, ...state.queued]);
  const sourceKeys = [
    ...event.sourceKeys,
    ...jobIds.map((id) => new RegExp(`^forms:glpi-forms:submission:${escapeRegExp(id)}$`)),
  ];
  const targets = targetsOf(event);
  const links = state.table.flatMap((item) => {
    if (item.kind !== "link") return [];
    const source = String(item.pk).replace(/^link#/, "");
    const target = String(item.targetKey ?? "");
    const points = targets.some((t) => {
      const [system = "", ...rest] = t.split(":");
      return target.startsWith(`${system}:`) && target.endsWith(`:${rest.join(":")}`);
    });
    if (!sourceKeys.some((key) => key.test(source)) && !points) return [];
    const aspects = Object.entries(
      (item.aspects ?? {}) as Record<string, { syncedAt?: string; entries?: string[]; holder?: string }>,
    )
      .map(
        ([name, aspect]) =>
          `${name}@${aspect.syncedAt ?? "?"}${aspect.holder ? `(${aspect.holder})` : ""}${aspect.entries?.length ? `[${aspect.entries.join(",")}]` : ""}`,
      )
      .join(" ");
    return [`${source} → ${target} v${String(item.version)} ${aspects}`.trim()];
  });
  const jobs = state.table.flatMap((item) =>
    item.kind === "job" && jobIds.includes(String(item.jobId))
      ? [
          `${String(item.jobId)} ${String(item.status)} after ${String(item.attempts)} attempts${item.lastError ? ` (${JSON.stringify(item.lastError)})` : ""}`,
        ]
      : [],
  );
  return {
    targets,
    deadLettersReplayed: ofEvent(state.lettersBefore).map(describeLetter),
    deadLettersNow: ofEvent(state.lettersAfter).map(describeLetter),
    stillQueued: ofEvent(state.queued).map(describeLetter),
    jobRecords: jobs,
    links,
    answers: event.answers.map((answer) => answer.slice(0, 200)),
  };
}

describe("the soak", () => {
  it(
    `${EVENTS} events across every route, ${Math.round(RATE * 100)}% of external calls failing: nothing lost, nothing duplicated`,
    async () => {
      const random = mulberry32(SEED);
      const events = Array.from({ length: EVENTS }, (_, i) => makeEvent(KINDS[i % KINDS.length] ?? "glpi"));
      // A seeded shuffle: kinds interleave as real traffic would.
      for (let i = events.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [events[i], events[j]] = [events[j] as SoakEvent, events[i] as SoakEvent];
      }
      const started = Date.now();
      chaos(true);
      for (let i = 0; i < events.length; i += 10)
        await Promise.all(events.slice(i, i + 10).map((event) => event.send()));
      await drained(15 * 60_000);
      const faults = injected();
      const faultsByKind = stack.rocketchat.faultsInjected().byKind;
      const lostAnswersToRocketChat = faultsByKind["drop-response"] ?? 0;
      chaos(false);

      const lettersBefore = await readDeadLetters(sqs, allDeadUrls());
      const inDlq = new Set(
        lettersBefore.flatMap((letter) =>
          letter.kind === "letter" ? [eventOfJob(letter.letter.job) ?? ""] : [],
        ),
      );
      const before = events.map((event) => objectsOf(event));
      const drainedMs = Date.now() - started;

      const queue = new JobQueue(sqs, jobsUrl, deadUrl, integrationQueues);
      const replayed = (await replayDeadLetters(sqs, queue, allDeadUrls())).length;
      await drained(10 * 60_000);
      const counts: EventCount[] = events.map((event, i) => ({
        kind: event.kind,
        handle: event.handle,
        before: before[i] ?? 0,
        deadLetteredBefore: inDlq.has(eventKey(event)),
        after: objectsOf(event),
      }));
      const account = accountSoak(counts);

      // Every event whose effect is not exactly one object, with what the queues and the table say of it.
      const state = {
        lettersBefore,
        lettersAfter: await readDeadLetters(sqs, allDeadUrls()),
        queued: await readDeadLetters(sqs, allJobsUrls()),
        table: await scanTable(),
      };
      const notExactlyOnce = account.notExactlyOnce.map((count) => {
        const event = events.find((e) => e.handle === count.handle && e.kind === count.kind) as SoakEvent;
        return { ...count, ...evidenceFor(event, state) };
      });

      const secrets = [
        ...Object.values(SECRETS),
        process.env.ROCKETCHAT_HOOK_SERVICEDESK ?? "",
        process.env.ROCKETCHAT_HOOK_VIP ?? "",
        "servicedesk-hook-token",
        "vip-hook-token",
      ].filter((value) => value.length > 0);
      const leaked = secrets.filter(
        (value) => output.includes(value) || answers.some((answer) => answer.includes(value)),
      );

      const figures = {
        events: EVENTS,
        seed: SEED,
        faultRate: RATE,
        faultsInjected: faults,
        converged: account.converged,
        deadLettered: account.deadLettered,
        lost: account.lost.length,
        duplicated: account.duplicated.length,
        notificationsReposted: account.reposted.length,
        // Posts through the bot of an id Rocket.Chat already had (it posts nothing, but it is a re-post).
        botReposts: stack.rocketchat.reusedIds.length,
        notificationExtraPosts: account.extraPosts,
        lostAnswersToRocketChat,
        replayed,
        exactlyOnceAfterReplay: account.exactlyOnceAfterReplay,
        missingAfterReplay: account.missingAfterReplay.length,
        notExactlyOnce,
        secretsInLogsOrAnswers: leaked.length,
        logBytes: output.length,
        drainSeconds: Math.round(drainedMs / 1000),
      };
      mkdirSync(dirname(REPORT), { recursive: true });
      writeFileSync(REPORT, `${JSON.stringify(figures, null, 2)}\n`);
      console.log("soak figures", JSON.stringify(figures, null, 2));

      const named = (list: EventCount[]) =>
        notExactlyOnce.filter((entry) =>
          list.some((e) => e.kind === entry.kind && e.handle === entry.handle),
        );
      expect(faults, "the soak injected no fault").toBeGreaterThan(0);
      expect(account.lost, "events neither converged nor dead-lettered").toEqual([]);
      expect(named(account.duplicated), "events with more than one target object").toEqual([]);
      expect(named(account.missingAfterReplay), "events with no target object after the replay").toEqual([]);
      // A notification is posted twice only when Rocket.Chat's answer to a post was lost: at most one
      // extra post per lost answer, whether the retry or the replay made it.
      expect(account.extraPosts, JSON.stringify(named(account.reposted), null, 2)).toBeLessThanOrEqual(
        lostAnswersToRocketChat,
      );
      expect(account.exactlyOnceAfterReplay + account.reposted.length).toBe(EVENTS);
      // Through the bot, a retry asks for its message by id before posting: not one re-post.
      expect(stack.rocketchat.reusedIds, "bot notifications posted again").toEqual([]);
      expect(leaked, "secrets in the logs or the answers").toEqual([]);
    },
    40 * 60_000,
  );
});
