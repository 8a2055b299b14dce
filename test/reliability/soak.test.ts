import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { GetQueueAttributesCommand, GetQueueUrlCommand, SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SQS_OPTIONS } from "../../lib/core/aws.ts";
import type { JobMessage } from "../../lib/jobs/model.ts";
import { JobQueue } from "../../lib/jobs/queue.ts";
import { readDeadLetters, replayDeadLetters } from "../../lib/jobs/replay.ts";
import { mulberry32, type NetworkFault } from "../fakes/faults.ts";
import { SECRETS, type Stack, setupStack } from "../helpers/stack.ts";

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

type Kind = "glpi" | "otrs-redmine" | "itop" | "rt" | "livechat" | "notify";
const KINDS: Kind[] = ["glpi", "otrs-redmine", "itop", "rt", "livechat", "notify"];

interface SoakEvent {
  kind: Kind;
  /** What identifies the event in its target (and in a dead letter's job). */
  handle: string;
  send(): Promise<void>;
}

let stack: Stack;
let bridge: ChildProcess;
let output = "";
let base = "";
let sqs: SQSClient;
let jobsUrl = "";
let deadUrl = "";
const answers: string[] = [];

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

beforeAll(async () => {
  stack = await setupStack({
    jobs: { maxAttempts: 5, backoffBaseSeconds: 1, backoffMaxSeconds: 2, inlineBudgetMs: 1500 },
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
  };
  // npm start makes its own table, queues and endpoints.
  for (const name of [
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_ENDPOINT_URL_SQS",
    "LINKS_TABLE",
    "JOBS_QUEUE_URL",
    "DEAD_LETTER_QUEUE_URL",
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
  sqs = new SQSClient({ ...SQS_OPTIONS, endpoint: `http://127.0.0.1:${ports.sqs}`, region: "us-east-1" });
  jobsUrl = (await sqs.send(new GetQueueUrlCommand({ QueueName: "deskbridge-local-jobs" }))).QueueUrl ?? "";
  deadUrl =
    (await sqs.send(new GetQueueUrlCommand({ QueueName: "deskbridge-local-jobs-dlq" }))).QueueUrl ?? "";
}, 180_000);

afterAll(async () => {
  if (bridge?.pid !== undefined && bridge.exitCode === null) {
    const exited = new Promise((resolve) => bridge.once("exit", resolve));
    process.kill(-bridge.pid, "SIGINT");
    await exited;
  }
  await stack?.close();
});

/** A sender that retries what failed in transit, as OTRS's scheduler, iTop's and RT's senders, and people with forms do. */
async function deliver(
  path: string,
  body: unknown,
  headers: Record<string, string>,
  retryAnyError = false,
): Promise<void> {
  for (let attempt = 1; attempt <= 5; attempt++) {
    try {
      const response = await fetch(`${base}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify(body),
      });
      const text = await response.text();
      answers.push(text);
      if (response.status < 300) return;
      if (response.status < 500 && response.status !== 429 && !retryAnyError) return;
    } catch {
      // the bridge did not answer: try again
    }
    await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
  }
}

/** Makes one event in its system and the call its sender makes. */
function makeEvent(kind: Kind): SoakEvent {
  const { glpi: _glpi, otrs, rt, rocketchat } = stack;
  const external = stack.itop.external;
  const token = { "x-deskbridge-token": "" };
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
        send: () =>
          deliver("/glpi/tickets", body, { ...token, "x-deskbridge-token": SECRETS.FORMS_TOKEN }, true),
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
        send: () =>
          deliver("/otrs/ticket-events", event, { "x-deskbridge-token": SECRETS.OTRS_REDMINE_TOKEN }),
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
        send: () =>
          deliver("/api/v1/create-ticket", create?.payload, {
            "x-deskbridge-token": SECRETS.ITOP_WEBHOOK_TOKEN,
          }),
      };
    }
    case "rt": {
      const ticket = rt.personCreates({ queue: "General", subject: `Soak ${randomUUID()}` });
      rt.takeScripCalls();
      return {
        kind,
        handle: String(ticket.id),
        send: () =>
          deliver(
            "/rt/ticket-events",
            { ticket_id: String(ticket.id) },
            { "x-deskbridge-token": SECRETS.RT_WEBHOOK_TOKEN },
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
      return {
        kind,
        handle: `room:${room._id}`,
        send: async () => {
          // Rocket.Chat's own delivery: exactly 200 counts, 5xx and timeouts are retried.
          const delivery = await rocketchat.deliver(close ?? {}, `${base}/rocketchat/livechat`);
          if (delivery.body) answers.push(delivery.body);
        },
      };
    }
    case "notify": {
      const ticket = otrs.addTicket({
        Title: `Soak ${randomUUID()}`,
        Queue: "Suporte",
        State: "new",
        Articles: [{ Subject: "s", Body: "b" }],
      });
      const payload = otrs.eventPayload(ticket.TicketID, "TicketCreate", "Ticket::Generic");
      return {
        kind,
        handle: ticket.TicketID,
        send: () =>
          deliver("/otrs/notifications", payload, { "x-deskbridge-token": SECRETS.OTRS_NOTIFY_TOKEN }),
      };
    }
  }
}

/** How many target objects an event made (1 is converged; more is a duplicate). */
function objectsOf(event: SoakEvent): number {
  const { glpi, otrs, redmine, rt, kanboard, rocketchat } = stack;
  switch (event.kind) {
    case "glpi":
      return glpi.tickets.filter((ticket) => String(ticket.input.content ?? "").includes(event.handle))
        .length;
    case "otrs-redmine": {
      const ticket = otrs.tickets.find((t) => t.TicketID === event.handle);
      const issues = redmine.issues.filter((issue) => issue.custom_fields[5] === ticket?.TicketNumber);
      return issues.length === 1 && ticket?.DynamicFields.RedmineID !== String(issues[0]?.id)
        ? 0
        : issues.length;
    }
    case "itop": {
      const ref = stack.itop.external.ticket(Number(event.handle))?.ref;
      return stack.itop.internal.tickets().filter((t) => t.external_ref === ref).length;
    }
    case "rt": {
      const cards = kanboard.tasks().filter((task) => task.reference === `RT#${event.handle}`);
      const written = rt.ticket(Number(event.handle))?.customFields["FlowIO-id"];
      return cards.length === 1 && written !== String(cards[0]?.id) ? 0 : cards.length;
    }
    case "livechat":
      return otrs.tickets.filter((t) => t.DynamicFields.RocketChatRoom === event.handle).length;
    case "notify": {
      const number = otrs.tickets.find((t) => t.TicketID === event.handle)?.TicketNumber ?? "-";
      return rocketchat.messages.filter((message) => message.text.includes(number)).length;
    }
  }
}

/** The event a dead letter's job stands for. */
function handleOfJob(job: JobMessage): string | undefined {
  const input = job.input as Record<string, unknown>;
  if (job.type === "glpi-forms.create-ticket")
    return String((input.submission as Record<string, unknown>)?.descricao_problema ?? "");
  if (job.type === "rocketchat-otrs.livechat") return String(input.key);
  if ("ticketId" in input) return String(input.ticketId);
  return undefined;
}

async function depth(url: string): Promise<number> {
  const out = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
      ],
    }),
  );
  const a = out.Attributes ?? {};
  return (
    Number(a.ApproximateNumberOfMessages ?? 0) +
    Number(a.ApproximateNumberOfMessagesNotVisible ?? 0) +
    Number(a.ApproximateNumberOfMessagesDelayed ?? 0)
  );
}

/** Waits until the jobs queue stays empty for a few seconds (retries come back after their backoff). */
async function drained(timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let emptySince: number | undefined;
  while (Date.now() < deadline) {
    if ((await depth(jobsUrl)) === 0) {
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
      const lostAnswersToRocketChat = stack.rocketchat.faultsInjected().byKind["drop-response"] ?? 0;
      chaos(false);

      const letters = (await readDeadLetters(sqs, deadUrl)).flatMap((letter) =>
        letter.kind === "letter" ? [letter.letter] : [],
      );
      const inDlq = new Set(
        letters
          .map((letter) => handleOfJob(letter.job))
          .filter((handle): handle is string => Boolean(handle)),
      );
      const counts = events.map((event) => objectsOf(event));
      const converged = counts.filter((n) => n === 1).length;
      const duplicatedEvents = events.filter((_, i) => (counts[i] ?? 0) > 1);
      const reposts = duplicatedEvents.filter((event) => event.kind === "notify").length;
      const duplicated = duplicatedEvents.length - reposts;
      const deadLettered = events.filter(
        (event, i) => (counts[i] ?? 0) === 0 && inDlq.has(event.handle),
      ).length;
      const lost = events.filter((event, i) => (counts[i] ?? 0) === 0 && !inDlq.has(event.handle)).length;
      const drainedMs = Date.now() - started;

      const queue = new JobQueue(sqs, jobsUrl, deadUrl);
      const replayed = (await replayDeadLetters(sqs, queue, deadUrl)).length;
      await drained(10 * 60_000);
      const after = events.map((event) => objectsOf(event));
      const convergedAfterReplay =
        after.filter((n) => n === 1).length + duplicatedEvents.filter((e) => e.kind === "notify").length;
      // What did not converge, and what the dead-letter queue still says about it: the figures name it.
      const stillLetters = (await readDeadLetters(sqs, deadUrl)).flatMap((letter) =>
        letter.kind === "letter" ? [letter.letter] : [],
      );
      const notConverged = events
        .filter((_event, i) => (after[i] ?? 0) === 0)
        .map((event) => ({
          kind: event.kind,
          handle: event.handle,
          deadLetters: stillLetters
            .filter((letter) => handleOfJob(letter.job) === event.handle)
            .map((letter) => `${letter.job.type} ${letter.lastError.code}: ${letter.lastError.message}`),
        }));

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
        converged,
        deadLettered,
        lost,
        duplicated,
        duplicates: duplicatedEvents
          .filter((event) => event.kind !== "notify")
          .map((event) => ({ kind: event.kind, handle: event.handle, objects: objectsOf(event) })),
        notificationsRepostedAfterLostAnswer: reposts,
        lostAnswersToRocketChat,
        replayed,
        convergedAfterReplay,
        notConverged,
        secretsInLogsOrAnswers: leaked.length,
        logBytes: output.length,
        drainSeconds: Math.round(drainedMs / 1000),
      };
      mkdirSync(".local/reliability", { recursive: true });
      writeFileSync(".local/reliability/soak.json", `${JSON.stringify(figures, null, 2)}\n`);
      console.log("soak figures", figures);

      expect(faults, "the soak injected no fault").toBeGreaterThan(0);
      expect(lost, "events neither converged nor dead-lettered").toBe(0);
      expect(duplicated, "events with more than one target object").toBe(0);
      expect(
        reposts,
        "a notification is posted twice only when Rocket.Chat's answer was lost",
      ).toBeLessThanOrEqual(lostAnswersToRocketChat);
      expect(converged + deadLettered + reposts).toBe(EVENTS);
      expect(convergedAfterReplay).toBe(EVENTS);
      expect(leaked, "secrets in the logs or the answers").toEqual([]);
    },
    40 * 60_000,
  );
});
