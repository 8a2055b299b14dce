import { randomUUID } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  GetQueueAttributesCommand,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import type { Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { SQS_OPTIONS } from "../../lib/core/aws.ts";
import { REGISTRY } from "../../lib/sync/registry.ts";
import { lambdaContext } from "../local/events.ts";
import { createLocalResources, integrationQueueNames, type LocalResources } from "../local/resources.ts";
import { SqsEventSource } from "../local/sqs-event-source.ts";
import { demoEntities, type GlpiFake, startGlpiFake } from "./glpi.ts";
import { type ItopFake, startItopFake } from "./itop.ts";
import { ITOP_SEEDS } from "./itop-seeds.ts";
import { type KanboardFake, type KanboardFakeOptions, startKanboardFake } from "./kanboard.ts";
import { type OtrsFake, startOtrsFake } from "./otrs.ts";
import { type RedmineFake, startRedmineFake } from "./redmine.ts";
import { ROCKETCHAT_SEEDS, type RocketChatFake, startRocketChatFake } from "./rocketchat.ts";
import { type RtFake, type RtFakeOptions, startRtFake } from "./rt.ts";
import { KANBOARD_SEEDS, RT_SEEDS } from "./rt-kanban-seeds.ts";

export const SECRETS = {
  FORMS_TOKEN: "test-forms-token",
  GLPI_APP_TOKEN: "test-app-token",
  GLPI_USER_TOKEN: "test-user-token",
  OTRS_REDMINE_TOKEN: "test-otrs-redmine-token",
  OTRS_PASSWORD: "test-otrs-password",
  REDMINE_API_KEY: "test-redmine-key",
  ITOP_WEBHOOK_TOKEN: "test-itop-webhook-token",
  ITOP_EXTERNAL_PASSWORD: "test-itop-external-password",
  ITOP_INTERNAL_TOKEN: "test-itop-internal-token",
  RT_WEBHOOK_TOKEN: "test-rt-webhook-token",
  RT_TOKEN: "test-rt-token",
  KANBOARD_TOKEN: "test-kanboard-token",
  ROCKETCHAT_LIVECHAT_TOKEN: "test-livechat-token",
  OTRS_NOTIFY_TOKEN: "test-otrs-notify-token",
  ROCKETCHAT_BOT_TOKEN: "test-rocketchat-bot-token",
  OPERATOR_TOKEN: "test-operator-token",
  REDMINE_WEBHOOK_SECRET: "test-redmine-webhook-secret",
} as const;
/** The RT and Kanboard fakes of every stack (the bench's scale run starts them in a process of their own). */
export const RT_FAKE_OPTIONS = {
  users: [{ name: "deskbridge", token: SECRETS.RT_TOKEN, ...RT_SEEDS.bridge }, ...RT_SEEDS.people],
  queues: RT_SEEDS.queues,
  customFields: RT_SEEDS.customFields,
} satisfies RtFakeOptions;
export const KANBOARD_FAKE_OPTIONS = {
  apiToken: SECRETS.KANBOARD_TOKEN,
  users: KANBOARD_SEEDS.users,
  projects: KANBOARD_SEEDS.projects,
} satisfies KanboardFakeOptions;
/**
 * The rules of the write-up's notifications ("New ticket", "Solution time about to expire", "New VIP
 * ticket") through the bot, and one through an Incoming WebHook (at least once).
 */
export const SANDBOX_NOTIFICATION_RULES = [
  { events: ["TicketCreate"], queues: ["Suporte"], targets: ["#servicedesk"] },
  {
    events: ["EscalationSolutionTimeNotifyBefore"],
    priorities: ["5 very high"],
    targets: ["#servicedesk", "#vip"],
    template: ":warning: *Solution time about to expire* {link} {title} ({priority}, {queue})",
  },
  {
    events: ["TicketCreate"],
    customers: ["VIPCORP"],
    targets: ["#vip", "@carla"],
    template: "*New VIP ticket* {link}: {title} ({priority})\n{customer} ({customerId}) wrote:\n{body}",
  },
  {
    events: ["TicketCreate"],
    queues: ["Desenvolvimento"],
    transport: "hooks" as const,
    hooks: ["servicedesk"],
  },
];
/** The bot user the stack's notifications post as (its personal access token is ROCKETCHAT_BOT_TOKEN). */
export const ROCKETCHAT_BOT_USER = "DeskbridgeBot0001";
/** The sandbox Rocket.Chat's department that maps to the OTRS queue "Suporte". */
export const SUPPORT_DEPARTMENT = "SupportDept000001";
/** A developer's API key on the Redmine fake (a person, not the bridge). */
export const DEVELOPER_KEY = "test-jane-key";
export const CNPJ_SEARCH_OPTION = 76674;

export interface Stack {
  glpi: GlpiFake;
  otrs: OtrsFake;
  redmine: RedmineFake;
  /** The customer's iTop ("customer", webhooks of the external preset) and the provider's ("elitery"). */
  itop: { external: ItopFake; internal: ItopFake };
  rt: RtFake;
  kanboard: KanboardFake;
  /** Incoming WebHooks "servicedesk" and "vip", and the Livechat simulator. */
  rocketchat: RocketChatFake;
  resources: LocalResources;
  sqs: SQSClient;
  dynamo: DynamoDBClient;
  configPath: string;
  /**
   * Runs the workers over the jobs queues (without `integrationQueues` the shared one with a worker
   * for every job; with them each integration's with its own worker, and the shared one with the
   * drain, functions/worker.ts, which moves jobs to them) until they stay empty for `idleMs`
   * (or `timeoutMs` passes).
   */
  drainJobs(options?: { idleMs?: number; timeoutMs?: number }): Promise<void>;
  /** The dead-letter queues' bodies (received, then made visible again). */
  deadLetters(): Promise<unknown[]>;
  queueDepth(url: string): Promise<number>;
  close(): Promise<void>;
}

export interface StackOptions {
  /** Overrides merged into the test configuration. */
  jobs?: Record<string, unknown>;
  glpiTimeoutMs?: number;
  /** Overrides merged into integrations.itopPair. */
  itopPair?: Record<string, unknown>;
  /** The internal iTop also has a "ticket updated" webhook (for a form that flows both ways). */
  internalTicketUpdateWebhook?: boolean;
  /** Overrides merged into integrations.rtKanban. */
  rtKanban?: Record<string, unknown>;
  /** Overrides merged into integrations.rocketchatOtrs. */
  rocketchatOtrs?: Record<string, unknown>;
  /** The jobs queue's visibility timeout (30 s): how long a message held by a crashed worker waits. */
  visibilityTimeoutSeconds?: number;
  /**
   * Gives each integration its queue pair (JOB_QUEUES), as a deployed stack has; without it every job
   * uses the shared pair (resources.jobsQueueUrl), as the drain of an upgraded stack sees it.
   */
  integrationQueues?: boolean;
  /** Changes the whole test configuration before it is written (the real-systems tier points it at real servers). */
  configure?: (config: TestConfig) => void;
}

/** The configuration a test stack writes (see testConfig). */
export type TestConfig = ReturnType<typeof testConfig>;

/**
 * A stack on emulators the caller started (the tests' setupStack, the benchmarks): the fakes of every
 * system, its own table and queues, a config file pointing at the fakes, and the environment the
 * functions read. Import handlers after this.
 */
/** Messages on a queue, visible, in flight or delayed. */
export async function depthOf(sqs: SQSClient, url: string): Promise<number> {
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

export async function buildStack(
  endpoints: { dynamo: string; sqs: string },
  options: StackOptions = {},
): Promise<Stack> {
  Object.assign(process.env, {
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: "local",
    AWS_SECRET_ACCESS_KEY: "local",
    AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamo,
    AWS_ENDPOINT_URL_SQS: endpoints.sqs,
    POWERTOOLS_LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "SILENT",
    ...SECRETS,
  });
  const glpi = await startGlpiFake({
    appToken: SECRETS.GLPI_APP_TOKEN,
    userToken: SECRETS.GLPI_USER_TOKEN,
    cnpjSearchOptionId: CNPJ_SEARCH_OPTION,
    entities: demoEntities,
  });
  const otrs = await startOtrsFake({
    login: "deskbridge",
    password: SECRETS.OTRS_PASSWORD,
    dynamicFields: ["RedmineID", "RocketChatRoom"],
  });
  const redmine = await startRedmineFake({
    apiKey: SECRETS.REDMINE_API_KEY,
    users: [
      { id: 5, login: "deskbridge", name: "Deskbridge Bot", apiKey: SECRETS.REDMINE_API_KEY },
      { id: 7, login: "jane", name: "Jane Dev", apiKey: DEVELOPER_KEY },
    ],
  });
  const itop = {
    external: await startItopFake({
      instance: "customer",
      users: [
        { login: "deskbridge", password: SECRETS.ITOP_EXTERNAL_PASSWORD, friendlyName: "Deskbridge Bridge" },
        { login: "budi", password: "budi-password", friendlyName: "Budi Santoso" },
      ],
      ...ITOP_SEEDS.external,
      webhooks: { preset: "external" },
    }),
    internal: await startItopFake({
      instance: "elitery",
      users: [
        { login: "deskbridge", token: SECRETS.ITOP_INTERNAL_TOKEN, friendlyName: "Deskbridge Bridge" },
        { login: "rina", password: "rina-password", friendlyName: "Rina Wijaya" },
      ],
      ...ITOP_SEEDS.internal,
      extraTicketFields: ["external_ref"], // the datamodel extension in infra/itop/
      tokenLogin: true, // the internal side logs in by token: Combodo's authent-token extension
      webhooks: {
        preset: "internal",
        source: "elitery",
        ticketUpdate: options.internalTicketUpdateWebhook ?? false,
      },
    }),
  };
  const rt = await startRtFake(RT_FAKE_OPTIONS);
  const kanboard = await startKanboardFake(KANBOARD_FAKE_OPTIONS);
  const rocketchat = await startRocketChatFake({
    integrations: [
      { id: "ServiceDeskHook01", token: "servicedesk-hook-token", channel: "#servicedesk" },
      { id: "VipHook0000000001", token: "vip-hook-token", channel: "#vip" },
    ],
    livechat: {
      secretToken: SECRETS.ROCKETCHAT_LIVECHAT_TOKEN,
      timeoutMs: 2000,
      retryDelayMs: 50,
      on: { close: true, offline: true, navigation: true },
    },
    departments: [{ _id: SUPPORT_DEPARTMENT, name: "Suporte" }],
    agents: [{ _id: "AgentAna000000001", username: "ana", name: "Ana Atendente" }],
    bot: { userId: ROCKETCHAT_BOT_USER, authToken: SECRETS.ROCKETCHAT_BOT_TOKEN },
    ...ROCKETCHAT_SEEDS,
  });
  // Incoming WebHook URLs hold their token: they are secrets, like in a real deployment.
  process.env.ROCKETCHAT_HOOK_SERVICEDESK = rocketchat.hookUrl("ServiceDeskHook01");
  process.env.ROCKETCHAT_HOOK_VIP = rocketchat.hookUrl("VipHook0000000001");
  const sqs = new SQSClient(SQS_OPTIONS);
  const dynamo = new DynamoDBClient({});
  const suffix = randomUUID().slice(0, 8);
  const resources = await createLocalResources(
    { dynamo, sqs },
    {
      table: `links-${suffix}`,
      jobsQueue: `jobs-${suffix}`,
      deadLetterQueue: `jobs-dlq-${suffix}`,
      ...(options.integrationQueues
        ? {
            integrationQueues: integrationQueueNames(
              `q-${suffix}`,
              REGISTRY.map((integration) => integration.id),
            ),
          }
        : {}),
    },
    { maxReceiveCount: 10, visibilityTimeoutSeconds: options.visibilityTimeoutSeconds ?? 30 },
  );
  const config = testConfig(
    {
      glpi: glpi.url,
      otrs: otrs.url,
      redmine: redmine.url,
      itopExternal: itop.external.url,
      itopInternal: itop.internal.url,
      rt: rt.url,
      kanboard: kanboard.url,
      rocketchat: rocketchat.url,
    },
    options,
  );
  options.configure?.(config);
  const configPath = join(mkdtempSync(join(tmpdir(), "deskbridge-")), "config.json");
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  Object.assign(process.env, {
    DESKBRIDGE_CONFIG: configPath,
    LINKS_TABLE: resources.table,
    JOBS_QUEUE_URL: resources.jobsQueueUrl,
    DEAD_LETTER_QUEUE_URL: resources.deadLetterQueueUrl,
    JOB_QUEUES: JSON.stringify(resources.jobQueues),
  });

  type Worker = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
  // Each queue with the worker that consumes it: the shared one's drain, each integration's own.
  const consumers = [
    {
      url: resources.jobsQueueUrl,
      name: `jobs-${suffix}`,
      // With queues of their own, the shared queue is an upgraded stack's: the drain moves its jobs to
      // them. Without, every job is on it, and one worker runs them all.
      load: async () =>
        (options.integrationQueues
          ? (await import("../../functions/worker.ts")).handler
          : (await import("./every-job-worker.ts")).handler) as Worker,
    },
    ...Object.entries(resources.jobQueues).map(([id, pair]) => ({
      url: pair.jobs,
      name: `q-${suffix}-${id}`,
      load: async () => ((await import(`../../functions/${id}/worker.ts`)) as { handler: Worker }).handler,
    })),
  ];
  const deadLetterQueues = [
    resources.deadLetterQueueUrl,
    ...Object.values(resources.jobQueues).map((pair) => pair.deadLetters),
  ];
  let sources: SqsEventSource[] | undefined;
  const queueDepth = (url: string) => depthOf(sqs, url);

  const totalDepth = async () =>
    (await Promise.all(consumers.map((consumer) => queueDepth(consumer.url)))).reduce((a, b) => a + b, 0);

  return {
    glpi,
    otrs,
    redmine,
    itop,
    rt,
    kanboard,
    rocketchat,
    resources,
    sqs,
    dynamo,
    configPath,
    queueDepth,
    async drainJobs({ idleMs = 300, timeoutMs = 20_000 } = {}) {
      sources ??= await Promise.all(
        consumers.map(async (consumer) => {
          const invoke = await consumer.load();
          return new SqsEventSource({
            sqs,
            queueUrl: consumer.url,
            queueArn: `arn:aws:sqs:us-east-1:000000000000:${consumer.name}`,
            invoke: (event) => invoke(event, lambdaContext()),
            waitSeconds: 0,
          });
        }),
      );
      const deadline = Date.now() + timeoutMs;
      let idleSince = Date.now();
      while (Date.now() < deadline) {
        let received = 0;
        for (const source of sources) received += await source.pollOnce();
        if (received > 0) idleSince = Date.now();
        else if ((await totalDepth()) === 0 && Date.now() - idleSince >= idleMs) return;
        else await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error("the jobs queues did not drain in time");
    },
    async deadLetters() {
      const bodies: unknown[] = [];
      for (const url of deadLetterQueues) {
        const out = await sqs.send(
          new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, VisibilityTimeout: 0 }),
        );
        bodies.push(...(out.Messages ?? []).map((message) => JSON.parse(message.Body ?? "null")));
      }
      return bodies;
    },
    async close() {
      for (const consumer of consumers)
        await sqs.send(new PurgeQueueCommand({ QueueUrl: consumer.url })).catch(() => undefined);
      await Promise.all([
        glpi.close(),
        otrs.close(),
        redmine.close(),
        itop.external.close(),
        itop.internal.close(),
        rt.close(),
        kanboard.close(),
        rocketchat.close(),
      ]);
    },
  };
}

interface FakeUrls {
  glpi: string;
  otrs: string;
  redmine: string;
  itopExternal: string;
  itopInternal: string;
  rt: string;
  kanboard: string;
  rocketchat: string;
}

function testConfig(urls: FakeUrls, options: StackOptions) {
  return {
    jobs: {
      maxAttempts: 3,
      inlineBudgetMs: 1500,
      // Most tests follow one event through its sync inline; queue acks have their own tests.
      webhookAck: "inline",
      backoffBaseSeconds: 1,
      backoffMaxSeconds: 1,
      ...options.jobs,
    },
    idempotency: { waitMs: 5000 },
    operators: { auth: { secret: "OPERATOR_TOKEN" } },
    systems: {
      glpi: {
        main: {
          url: urls.glpi,
          appToken: { secret: "GLPI_APP_TOKEN" },
          userToken: { secret: "GLPI_USER_TOKEN" },
          timeoutMs: options.glpiTimeoutMs ?? 1000,
        },
      },
      otrs: {
        main: {
          url: urls.otrs,
          login: "deskbridge",
          password: { secret: "OTRS_PASSWORD" },
          timeoutMs: 1000,
          agentUrl: "https://otrs.example.com/otrs/index.pl",
        },
      },
      redmine: { main: { url: urls.redmine, apiKey: { secret: "REDMINE_API_KEY" }, timeoutMs: 1000 } },
      itop: {
        customer: {
          url: urls.itopExternal,
          user: "deskbridge",
          password: { secret: "ITOP_EXTERNAL_PASSWORD" },
          timeoutMs: 1000,
        },
        elitery: {
          url: urls.itopInternal,
          version: "1.4",
          token: { secret: "ITOP_INTERNAL_TOKEN" },
          timeoutMs: 1000,
        },
      },
      rt: {
        main: {
          url: urls.rt,
          token: { secret: "RT_TOKEN" },
          user: "deskbridge",
          webUrl: urls.rt.replace(/\/REST\/2\.0$/, ""),
          timeoutMs: 1000,
        },
      },
      kanboard: { main: { url: urls.kanboard, token: { secret: "KANBOARD_TOKEN" }, timeoutMs: 1000 } },
    },
    integrations: {
      glpiForms: {
        glpi: "main",
        auth: { header: "X-Deskbridge-Token", secret: "FORMS_TOKEN", allowQueryToken: true },
        entityLookup: { fieldName: "cnpjfield", searchOptionId: CNPJ_SEARCH_OPTION, cacheTtlSeconds: 300 },
        ticket: {
          defaultCategoryId: 18,
          requesterUserId: 36,
          recipientUserId: 36,
          requestSourceId: 5,
          requestTypeId: 5,
        },
      },
      otrsRedmine: {
        otrs: "main",
        redmine: "main",
        auth: { header: "X-Deskbridge-Token", secret: "OTRS_REDMINE_TOKEN", allowQueryToken: true },
        redmineWebhookSecret: { secret: "REDMINE_WEBHOOK_SECRET" },
        otrsDynamicField: "RedmineID",
        redmineCustomFieldId: 5,
        triggerState: "Em Desenvolvimento",
        reopenState: "Aberto",
        queueProjects: { Desenvolvimento: "devteam" },
        issue: { trackerId: 1, initialStatusId: 1, assigneeId: 7 },
        done: {
          redmineStatusId: 4,
          otrsState: "Aguardando deploy",
          noteSubject: "Retorno do Desenvolvimento",
        },
        stateMap: { otrsToRedmine: { "Fechado com sucesso": null }, redmineToOtrs: { "5": "Aberto" } },
        poller: { overlapSeconds: 120, initialLookbackHours: 24 },
      },
      itopPair: {
        external: "customer",
        internal: "elitery",
        auth: { header: "X-Deskbridge-Token", secret: "ITOP_WEBHOOK_TOKEN" },
        sources: { external: "external", internal: "elitery" },
        externalRefField: "external_ref",
        defaults: {
          external: { orgId: 1, agentId: 2, teamId: 1 },
          internal: { orgId: 2, agentId: 1, teamId: 1, callerId: 2 },
        },
        stateFields: {
          resolved: {
            service_id: 1,
            resolution_code: { copy: "resolution_code" },
            solution: { copy: "solution" },
          },
        },
        ...options.itopPair,
      },
      rtKanban: {
        rt: "main",
        board: { kanboard: "main", projectId: 1 },
        auth: { header: "X-Deskbridge-Token", secret: "RT_WEBHOOK_TOKEN", allowQueryToken: true },
        queues: ["General", "Helpdesk", "Legacy"],
        sensitiveQueues: ["HR"],
        filters: [{ field: "Subject", notMatches: "^\\[spam\\]" }],
        columns: {
          new: "Backlog",
          open: "Work in progress",
          stalled: "Waiting",
          resolved: "Done",
          rejected: "Done",
        },
        ...options.rtKanban,
      },
      rocketchatOtrs: {
        otrs: "main",
        livechat: {
          secret: "ROCKETCHAT_LIVECHAT_TOKEN",
          departments: { [SUPPORT_DEPARTMENT]: "Suporte" },
          defaultQueue: "Raw",
          defaultCustomerUser: "livechat-visitor",
          ticket: { state: "new", priority: "3 normal", lock: "unlock", owner: "agent1" },
          roomDynamicField: "RocketChatRoom",
          timeZone: "America/Sao_Paulo",
        },
        notifications: {
          auth: { header: "X-Deskbridge-Token", secret: "OTRS_NOTIFY_TOKEN", allowQueryToken: true },
          // The bot posts exactly once; the rule of queue Desenvolvimento keeps an Incoming WebHook.
          bot: {
            url: urls.rocketchat,
            userId: ROCKETCHAT_BOT_USER,
            authToken: { secret: "ROCKETCHAT_BOT_TOKEN" },
          },
          hooks: {
            servicedesk: { secret: "ROCKETCHAT_HOOK_SERVICEDESK" },
            vip: { secret: "ROCKETCHAT_HOOK_VIP" },
          },
          rules: SANDBOX_NOTIFICATION_RULES,
          alias: "OTRS",
        },
        ...options.rocketchatOtrs,
      },
    },
  };
}
