import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as v from "valibot";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { COMMANDS } from "../../infra/cli/main.ts";
import {
  FORM_ROUTES,
  integrationStack,
  listIntegrations,
  OPERATION_DEFAULTS,
} from "../../infra/integrations.cjs";
import { serviceFunctions } from "../../infra/local/routes.ts";
import {
  checkTemplate,
  loadResourceSpec,
  type ResourceSpec,
  type TemplateProblem,
} from "../../infra/tools/template-check.ts";
import {
  DEFAULT_FORM_THROTTLE,
  DEFAULT_MONITORING,
  DEFAULT_THROTTLE,
  DEFAULT_WORKER_CONCURRENCY,
} from "../../lib/core/config-schema.ts";
import { METRIC, SERVICE } from "../../lib/core/metrics.ts";
import { INTEGRATION_IDS, integrationById } from "../../lib/sync/registry.ts";
import { packagedTemplate } from "../helpers/packaged-template.ts";

/**
 * The template `serverless package` compiles (serverless.yml, infra/*.yml, the plugins) against the
 * CloudFormation resource specification: a typo there fails here, not in a deploy. Every stage with a
 * configuration file is packaged; config/sandbox.json is the local stage's, never deployed.
 */
const STAGES = readdirSync("config")
  .filter((file) => file.endsWith(".json") && file !== "sandbox.json")
  .map((file) => file.slice(0, -".json".length));

const Template = v.looseObject({
  Resources: v.record(
    v.string(),
    v.looseObject({
      Type: v.string(),
      Properties: v.optional(v.record(v.string(), v.unknown()), {}),
      DependsOn: v.optional(v.union([v.string(), v.array(v.string())])),
    }),
  ),
  Outputs: v.record(v.string(), v.looseObject({ Value: v.optional(v.unknown()) })),
});
type Template = v.InferOutput<typeof Template>;
const InfraFile = v.looseObject({ Resources: v.record(v.string(), v.looseObject({ Type: v.string() })) });

let spec: ResourceSpec;
const templates = new Map<string, unknown>();

beforeAll(async () => {
  // The stages one after another (each osls takes ~300 MB), beside the specification's load.
  const loading = loadResourceSpec();
  for (const stage of STAGES) templates.set(stage, await packagedTemplate(stage));
  spec = await loading;
}, 180_000);

/** A copy of the prod template to break. */
function prodTemplate(): Template {
  return v.parse(Template, structuredClone(templates.get("prod")));
}

/**
 * The problems `checkTemplate` reports for `template` beyond those of the unbroken prod template, so a
 * real problem fails the test above once instead of every test below.
 */
function problemsAdded(template: Template): TemplateProblem[] {
  const before = new Set(checkTemplate(templates.get("prod"), spec).map((p) => JSON.stringify(p)));
  return checkTemplate(template, spec).filter((p) => !before.has(JSON.stringify(p)));
}

/** The first resource of `type` (by type, not name: the names are serverless.yml's and infra's to change). */
function firstOfType(template: Template, type: string): [string, Template["Resources"][string]] {
  const found = Object.entries(template.Resources).find(([, resource]) => resource.Type === type);
  if (!found) throw new Error(`the template has no ${type}`);
  return found;
}

describe("the packaged CloudFormation template", () => {
  it("is packaged for the deployed stages", () => {
    expect(STAGES).toEqual(expect.arrayContaining(["dev", "prod"]));
  });

  it.each(STAGES)(
    "gives every function the stage's configuration and its form checked at packaging (stage %s)",
    (stage) => {
      const template = v.parse(Template, structuredClone(templates.get(stage)));
      const functions = Object.entries(template.Resources).filter(
        ([, resource]) => resource.Type === "AWS::Lambda::Function",
      );
      expect(functions.length).toBeGreaterThan(20);
      for (const [name, fn] of functions) {
        expect(fn.Properties.Environment, name).toMatchObject({
          Variables: {
            DESKBRIDGE_CONFIG: `config/${stage}.json`,
            DESKBRIDGE_CONFIG_CHECKED: `config/checked/${stage}.json`,
          },
        });
      }
      // Written by the packaging from this very file.
      const checked = JSON.parse(readFileSync(`config/checked/${stage}.json`, "utf8"));
      const text = readFileSync(`config/${stage}.json`, "utf8");
      expect(checked.sha256).toBe(createHash("sha256").update(text).digest("hex"));
    },
  );

  it.each(STAGES)("has no unknown type or property and no dangling reference (stage %s)", (stage) => {
    expect(checkTemplate(templates.get(stage), spec)).toEqual([]);
  });

  it("holds every resource of infra/*.yml and a Lambda function per function of serverless.yml", () => {
    const template = prodTemplate();
    for (const file of readdirSync("infra").filter((name) => name.endsWith(".yml"))) {
      const { Resources } = v.parse(InfraFile, parse(readFileSync(`infra/${file}`, "utf8")));
      for (const [name, resource] of Object.entries(Resources)) {
        expect(template.Resources[name]?.Type, `${file}: ${name}`).toBe(resource.Type);
      }
    }
    const functions = Object.values(template.Resources).filter((r) => r.Type === "AWS::Lambda::Function");
    expect(functions).toHaveLength(Object.keys(serviceFunctions()).length);
  });
});

/**
 * The integrations as their folders show them (functions/<id>/ with a worker.ts), found here without
 * infra/integrations.cjs, whose output the tests below hold to them.
 */
const INTEGRATION_FOLDERS = readdirSync("functions", { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && existsSync(`functions/${entry.name}/worker.ts`))
  .map((entry) => entry.name)
  .sort();
/** The integrations with a poller, as their descriptors declare. */
const POLLED: readonly string[] = INTEGRATION_IDS.filter(
  (id) => (integrationById(id)?.pollers ?? []).length > 0,
);
const pascal = (id: string) => id.replace(/(^|-)(.)/g, (_, _dash: string, c: string) => c.toUpperCase());
const getAtt = (name: string, attribute = "Arn") => ({ "Fn::GetAtt": [name, attribute] });

const Statement = v.looseObject({
  Effect: v.string(),
  Action: v.union([v.string(), v.array(v.string())]),
  Resource: v.unknown(),
});
const RoleProperties = v.looseObject({
  Policies: v.array(v.looseObject({ PolicyDocument: v.looseObject({ Statement: v.array(Statement) }) })),
});
const JobQueues = v.record(v.string(), v.object({ jobs: v.string(), deadLetters: v.string() }));

function statementsOf(template: Template, role: string): v.InferOutput<typeof Statement>[] {
  return v
    .parse(RoleProperties, template.Resources[role]?.Properties)
    .Policies.flatMap((policy) => policy.PolicyDocument.Statement);
}
/** The resources `role` may call `action` on. */
function resourcesFor(template: Template, role: string, action: string): unknown[] {
  return statementsOf(template, role)
    .filter((s) => s.Effect === "Allow" && [s.Action].flat().includes(action))
    .flatMap((s) => [s.Resource].flat());
}
const touchesQueues = (s: v.InferOutput<typeof Statement>) =>
  [s.Action].flat().some((action) => action.startsWith("sqs:"));

/** The JOB_QUEUES a function sees: the Fn::Sub text, parsed (the `${Queue}` references left as written). */
function jobQueuesOf(template: Template, functionName: string): v.InferOutput<typeof JobQueues> {
  const environment = v.parse(
    v.object({ Variables: v.looseObject({ JOB_QUEUES: v.object({ "Fn::Sub": v.string() }) }) }),
    template.Resources[functionName]?.Properties.Environment,
  );
  return v.parse(JobQueues, JSON.parse(environment.Variables.JOB_QUEUES["Fn::Sub"]));
}

describe("each integration's queues, role and worker (generated by infra/integrations.cjs)", () => {
  it("are generated for every integration of the registry, and only those, by its folder", () => {
    expect(INTEGRATION_FOLDERS).toEqual([...INTEGRATION_IDS].sort());
    const generated = listIntegrations();
    expect(generated.map((integration) => integration.id)).toEqual(INTEGRATION_FOLDERS);
    // `npm start` invokes `<configKey>Worker` by the registry's configKey (infra/local/start.ts).
    for (const integration of generated) {
      expect(integration.workerFunction).toBe(`${integrationById(integration.id)?.configKey}Worker`);
    }
  });

  const cases = STAGES.flatMap((stage) => INTEGRATION_FOLDERS.map((id) => [id, stage] as const));
  it.each(cases)(
    "gives %s a queue pair, a worker role, a worker and a JOB_QUEUES entry (stage %s)",
    (id, stage) => {
      const template = v.parse(Template, structuredClone(templates.get(stage)));
      const [queue, deadLetterQueue, role] = [
        `${pascal(id)}Queue`,
        `${pascal(id)}DeadLetterQueue`,
        `${pascal(id)}WorkerRole`,
      ];

      expect(template.Resources[deadLetterQueue]).toMatchObject({
        Type: "AWS::SQS::Queue",
        Properties: { QueueName: `deskbridge-${stage}-${id}-dlq`, MessageRetentionPeriod: 1209600 },
      });
      expect(template.Resources[queue]).toMatchObject({
        Type: "AWS::SQS::Queue",
        Properties: {
          QueueName: `deskbridge-${stage}-${id}`,
          VisibilityTimeout: 360,
          RedrivePolicy: { deadLetterTargetArn: getAtt(deadLetterQueue), maxReceiveCount: 20 },
        },
      });
      expect(template.Outputs[`${queue}Url`]?.Value).toEqual({ Ref: queue });
      expect(template.Outputs[`${deadLetterQueue}Url`]?.Value).toEqual({ Ref: deadLetterQueue });

      // Its role: its own queue pair, and otherwise exactly what every integration's worker may do.
      expect(template.Resources[role]?.Type).toBe("AWS::IAM::Role");
      expect(resourcesFor(template, role, "sqs:ReceiveMessage")).toEqual([getAtt(queue)]);
      expect(resourcesFor(template, role, "sqs:SendMessage")).toEqual([
        getAtt(queue),
        getAtt(deadLetterQueue),
      ]);
      expect(statementsOf(template, role).filter((s) => !touchesQueues(s))).toEqual(
        statementsOf(template, `${pascal(INTEGRATION_FOLDERS[0] ?? "")}WorkerRole`).filter(
          (s) => !touchesQueues(s),
        ),
      );

      const [worker, fn] = Object.entries(template.Resources).find(
        ([, resource]) =>
          resource.Type === "AWS::Lambda::Function" &&
          resource.Properties.Handler === `functions/${id}/worker.handler`,
      ) ?? ["", undefined];
      expect(fn?.Properties).toMatchObject({ Role: getAtt(role), Timeout: 60 });
      const mappings = Object.values(template.Resources).filter(
        (resource) =>
          resource.Type === "AWS::Lambda::EventSourceMapping" &&
          JSON.stringify(resource.Properties.FunctionName) === JSON.stringify(getAtt(worker)),
      );
      const config = JSON.parse(readFileSync(`config/${stage}.json`, "utf8"));
      const configKey = integrationById(id)?.configKey ?? "";
      expect(mappings.map((mapping) => mapping.Properties)).toEqual([
        expect.objectContaining({
          EventSourceArn: getAtt(queue),
          BatchSize: 10,
          FunctionResponseTypes: ["ReportBatchItemFailures"],
          ScalingConfig: {
            MaximumConcurrency:
              config.integrations?.[configKey]?.maxConcurrency ?? DEFAULT_WORKER_CONCURRENCY,
          },
        }),
      ]);

      expect(jobQueuesOf(template, worker)[id]).toEqual({
        jobs: `\${${queue}}`,
        deadLetters: `\${${deadLetterQueue}}`,
      });
      // The roles that reach every integration's queues reach this one's, and the alarm watches its dead letters.
      expect(resourcesFor(template, "SyncRouteRole", "sqs:SendMessage")).toEqual(
        expect.arrayContaining([getAtt(queue), getAtt(deadLetterQueue)]),
      );
      expect(resourcesFor(template, "PollerRole", "sqs:SendMessage")).toContainEqual(getAtt(queue));
      expect(resourcesFor(template, "OpsRole", "sqs:SendMessage")).toContainEqual(getAtt(queue));
      expect(resourcesFor(template, "OpsRole", "sqs:ReceiveMessage")).toContainEqual(getAtt(deadLetterQueue));
      expect(JSON.stringify(template.Resources.DeadLetterDepthAlarm?.Properties.Metrics)).toContain(
        JSON.stringify(getAtt(deadLetterQueue, "QueueName")),
      );
    },
  );

  it("gives every function the same JOB_QUEUES, naming every integration folder and nothing else", () => {
    const template = prodTemplate();
    const functions = Object.keys(template.Resources).filter(
      (name) => template.Resources[name]?.Type === "AWS::Lambda::Function",
    );
    const first = jobQueuesOf(template, functions[0] ?? "");
    expect(Object.keys(first).sort()).toEqual(INTEGRATION_FOLDERS);
    for (const name of functions) expect(jobQueuesOf(template, name), name).toEqual(first);
  });
});

/** The config file's value at `path` (`monitoring.queueAgeSeconds`), or `fallback`. */
function stageSetting(stage: string, path: string, fallback: unknown): unknown {
  const config: unknown = JSON.parse(readFileSync(`config/${stage}.json`, "utf8"));
  const value = path
    .split(".")
    .reduce<unknown>(
      (node, key) => (node && typeof node === "object" ? Reflect.get(node, key) : undefined),
      config,
    );
  return value ?? fallback;
}
const ofType = (template: Template, type: string) =>
  Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);
const TOPIC = { Ref: "DeadLetterAlarmTopic" };

describe("operations: alarms, the dashboard, the API stage's throttling, tracing", () => {
  it("keeps the stack's defaults of the monitoring and http settings equal to the config schema's", () => {
    expect(OPERATION_DEFAULTS).toEqual({
      ...DEFAULT_MONITORING,
      throttle: DEFAULT_THROTTLE,
      formThrottle: DEFAULT_FORM_THROTTLE,
    });
  });

  it.each(STAGES)(
    "sends every alarm to the one topic, each with a text saying what to do (stage %s)",
    (stage) => {
      const template = v.parse(Template, structuredClone(templates.get(stage)));
      expect(ofType(template, "AWS::SNS::Topic").map(([name]) => name)).toEqual(["DeadLetterAlarmTopic"]);
      const alarms = ofType(template, "AWS::CloudWatch::Alarm");
      expect(alarms.length).toBe(2 + 2 * INTEGRATION_FOLDERS.length + POLLED.length);
      for (const [name, alarm] of alarms) {
        expect(alarm.Properties, name).toMatchObject({ AlarmActions: [TOPIC], OKActions: [TOPIC] });
        expect(String(alarm.Properties.AlarmDescription).length, name).toBeGreaterThan(80);
      }
      const deadLetters = String(template.Resources.DeadLetterDepthAlarm?.Properties.AlarmDescription);
      expect(deadLetters).not.toContain("npm run replay");
      expect(deadLetters).toContain(`npx deskbridge --stage ${stage} dlq list`);
      expect(deadLetters).toContain(`npx deskbridge --stage ${stage} dlq replay --all`);
      // The commands it names are the CLI's.
      expect(COMMANDS.map((command) => command.name)).toEqual(
        expect.arrayContaining(["dlq list", "dlq replay"]),
      );
      expect(template.Resources.ThrottlesAlarm?.Properties).toMatchObject({
        Namespace: "AWS/Lambda",
        MetricName: "Throttles",
        Threshold: stageSetting(stage, "monitoring.throttles", DEFAULT_MONITORING.throttles),
      });
    },
  );

  const cases = STAGES.flatMap((stage) => INTEGRATION_FOLDERS.map((id) => [id, stage] as const));
  it.each(cases)(
    "watches %s's queue age, worker error rate and poller lag at the config's thresholds (stage %s)",
    (id, stage) => {
      const template = v.parse(Template, structuredClone(templates.get(stage)));
      const queue = `${pascal(id)}Queue`;
      expect(template.Resources[`${pascal(id)}QueueAgeAlarm`]?.Properties).toMatchObject({
        Namespace: "AWS/SQS",
        MetricName: "ApproximateAgeOfOldestMessage",
        Dimensions: [{ Name: "QueueName", Value: getAtt(queue, "QueueName") }],
        Threshold: stageSetting(stage, "monitoring.queueAgeSeconds", DEFAULT_MONITORING.queueAgeSeconds),
        ComparisonOperator: "GreaterThanThreshold",
      });

      const worker = `${pascal(id)}WorkerLambdaFunction`;
      expect(template.Resources[worker]?.Type).toBe("AWS::Lambda::Function");
      const errors = template.Resources[`${pascal(id)}WorkerErrorRateAlarm`]?.Properties;
      expect(errors).toMatchObject({
        Threshold: stageSetting(
          stage,
          "monitoring.workerErrorRatePercent",
          DEFAULT_MONITORING.workerErrorRatePercent,
        ),
      });
      expect(JSON.stringify(errors?.Metrics)).toContain(JSON.stringify({ Ref: worker }));

      const lag = template.Resources[`${pascal(id)}PollerLagAlarm`]?.Properties;
      if (!POLLED.includes(id)) {
        expect(lag).toBeUndefined();
        return;
      }
      // The metric the poller emits (lib/jobs/poller-lag.ts, lib/core/metrics.ts), in the namespace every
      // function writes to.
      expect(lag).toMatchObject({
        Namespace: `deskbridge-${stage}`,
        MetricName: METRIC.pollerLag,
        Dimensions: [
          { Name: "service", Value: SERVICE },
          { Name: "integration", Value: id },
        ],
        Statistic: "Maximum",
        Threshold: stageSetting(stage, "monitoring.pollerLagSeconds", DEFAULT_MONITORING.pollerLagSeconds),
        ComparisonOperator: "GreaterThanThreshold",
      });
      const environment = v.parse(
        v.object({ Variables: v.record(v.string(), v.unknown()) }),
        template.Resources[worker]?.Properties.Environment,
      );
      expect(environment.Variables.POWERTOOLS_METRICS_NAMESPACE).toBe(`deskbridge-${stage}`);
    },
  );

  it.each(STAGES)("throttles the API stage, and the form routes harder (stage %s)", (stage) => {
    const template = v.parse(Template, structuredClone(templates.get(stage)));
    const [[stageName, apiStage] = ["", undefined]] = ofType(template, "AWS::ApiGatewayV2::Stage");
    const limits = (key: "throttle" | "formThrottle") => ({
      ThrottlingRateLimit: stageSetting(stage, `http.${key}.rateLimit`, OPERATION_DEFAULTS[key].rateLimit),
      ThrottlingBurstLimit: stageSetting(stage, `http.${key}.burstLimit`, OPERATION_DEFAULTS[key].burstLimit),
    });
    expect(apiStage?.Properties.DefaultRouteSettings).toMatchObject(limits("throttle"));
    expect(apiStage?.Properties.RouteSettings).toEqual(
      Object.fromEntries(FORM_ROUTES.map((route) => [route, limits("formThrottle")])),
    );
    // Each names a route of the API, which the stage waits for.
    const routes = ofType(template, "AWS::ApiGatewayV2::Route");
    for (const route of FORM_ROUTES) {
      const [name] = routes.find(([, resource]) => resource.Properties.RouteKey === route) ?? [];
      expect(name, `${stageName}: ${route}`).toBeDefined();
      expect([apiStage?.DependsOn].flat()).toContain(name);
    }
  });

  it.each(STAGES)("has tracing off unless the config turns it on (stage %s)", (stage) => {
    const template = v.parse(Template, structuredClone(templates.get(stage)));
    const on = stageSetting(stage, "monitoring.tracing", false) === true;
    expect(template.Conditions).toMatchObject({
      Tracing: { "Fn::Equals": [`tracing-${on}`, "tracing-true"] },
    });
    for (const [name, fn] of ofType(template, "AWS::Lambda::Function")) {
      expect(fn.Properties.TracingConfig, name).toEqual(on ? { Mode: "Active" } : undefined);
    }
  });

  it.each(STAGES)("has a dashboard with a row per integration (stage %s)", (stage) => {
    const template = v.parse(Template, structuredClone(templates.get(stage)));
    const [[, dashboard] = ["", undefined]] = ofType(template, "AWS::CloudWatch::Dashboard");
    const body = v.parse(v.object({ "Fn::Sub": v.string() }), dashboard?.Properties.DashboardBody);
    const { widgets } = v.parse(
      v.object({
        widgets: v.array(
          v.object({ y: v.number(), properties: v.looseObject({ title: v.optional(v.string()) }) }),
        ),
      }),
      JSON.parse(body["Fn::Sub"]),
    );
    for (const id of INTEGRATION_FOLDERS) {
      const row = widgets.filter((widget) => widget.properties.title?.startsWith(`${id}:`));
      expect(row.length, id).toBeGreaterThanOrEqual(3);
      expect(new Set(row.map((widget) => widget.y)).size, id).toBe(1);
    }
    expect(body["Fn::Sub"]).toContain(`\${${pascal("rt-kanban")}Queue.QueueName}`);
    // The template check (above) sees that every name in the Sub exists.
  });
});

describe("infra/integrations.cjs", () => {
  const roots: string[] = [];
  /** A repository of functions/<id>/ folders, each with the files named. */
  function repositoryWith(folders: Record<string, string[]>): string {
    const root = mkdtempSync(join(tmpdir(), "deskbridge-integrations-"));
    roots.push(root);
    for (const [folder, files] of Object.entries(folders)) {
      mkdirSync(join(root, "functions", folder), { recursive: true });
      for (const file of files) writeFileSync(join(root, "functions", folder, file), "");
    }
    return root;
  }
  afterAll(() => {
    for (const root of roots) rmSync(root, { recursive: true, force: true });
  });

  it("generates a new integration's queue pair, role, worker and JOB_QUEUES entry from its folder alone", () => {
    const stack = integrationStack(
      repositoryWith({
        "zammad-jira": ["worker.ts", "ticket-events.ts"],
        "rt-kanban": ["worker.ts"],
        ops: ["status.ts"],
      }),
    );
    expect(stack.integrations.map((integration) => integration.id)).toEqual(["rt-kanban", "zammad-jira"]);
    expect(stack.functions.zammadJiraWorker).toEqual({
      handler: "functions/zammad-jira/worker.handler",
      role: "ZammadJiraWorkerRole",
      timeout: 60,
      events: [
        {
          sqs: {
            arn: getAtt("ZammadJiraQueue"),
            batchSize: 10,
            maximumBatchingWindow: 1,
            functionResponseType: "ReportBatchItemFailures",
            maximumConcurrency: `\${self:custom.stageConfig.integrations.zammadJira.maxConcurrency, 5}`,
          },
        },
      ],
    });
    expect(Object.keys(stack.resources.Resources).sort()).toEqual([
      "RtKanbanDeadLetterQueue",
      "RtKanbanQueue",
      "RtKanbanWorkerRole",
      "ZammadJiraDeadLetterQueue",
      "ZammadJiraQueue",
      "ZammadJiraWorkerRole",
    ]);
    expect(stack.resources.Resources.ZammadJiraQueue?.Properties).toMatchObject({
      QueueName: `deskbridge-\${sls:stage}-zammad-jira`,
    });
    expect(JSON.parse(stack.jobQueues["Fn::Sub"])).toEqual({
      "rt-kanban": { jobs: `\${RtKanbanQueue}`, deadLetters: `\${RtKanbanDeadLetterQueue}` },
      "zammad-jira": { jobs: `\${ZammadJiraQueue}`, deadLetters: `\${ZammadJiraDeadLetterQueue}` },
    });
    expect(stack.queueArns.all).toEqual([
      getAtt("RtKanbanQueue"),
      getAtt("ZammadJiraQueue"),
      getAtt("RtKanbanDeadLetterQueue"),
      getAtt("ZammadJiraDeadLetterQueue"),
      getAtt("JobsQueue"),
      getAtt("JobsDeadLetterQueue"),
    ]);
    expect(stack.deadLetterAlarmMetrics).toHaveLength(4);
  });

  it("refuses more dead-letter queues than one metric math alarm can watch (10)", () => {
    const nine = Object.fromEntries([...Array(9).keys()].map((i) => [`integration-${i}`, ["worker.ts"]]));
    expect(integrationStack(repositoryWith(nine)).deadLetterAlarmMetrics).toHaveLength(11);
    const ten = { ...nine, "integration-9": ["worker.ts"] };
    expect(() => integrationStack(repositoryWith(ten))).toThrow(/11 dead-letter queues.*at most 10 metrics/);
  });
});

describe("the template check", () => {
  it("reports a misspelt property of a queue", () => {
    const template = prodTemplate();
    const [name, queue] = firstOfType(template, "AWS::SQS::Queue");
    expect(queue.Properties).toHaveProperty("QueueName");
    queue.Properties.QueueNmae = queue.Properties.QueueName;
    delete queue.Properties.QueueName;
    expect(problemsAdded(template)).toEqual([
      {
        path: `Resources.${name}.Properties.QueueNmae`,
        message: "AWS::SQS::Queue has no property QueueNmae",
      },
    ]);
  });

  it("reports a misspelt property of a nested property type, and the required one it lacks", () => {
    const template = prodTemplate();
    const [name, table] = firstOfType(template, "AWS::DynamoDB::Table");
    const keySchema = v.parse(v.array(v.record(v.string(), v.unknown())), table.Properties.KeySchema);
    keySchema[0]!.KeyTyp = keySchema[0]!.KeyType;
    delete keySchema[0]!.KeyType;
    table.Properties.KeySchema = keySchema;
    const path = `Resources.${name}.Properties.KeySchema[0]`;
    expect(problemsAdded(template)).toEqual([
      { path: `${path}.KeyTyp`, message: "AWS::DynamoDB::Table.KeySchema has no property KeyTyp" },
      { path, message: "AWS::DynamoDB::Table.KeySchema requires KeyType" },
    ]);
  });

  it("reports a missing required property", () => {
    const template = prodTemplate();
    const [name, permission] = firstOfType(template, "AWS::Lambda::Permission");
    delete permission.Properties.Principal;
    expect(problemsAdded(template)).toEqual([
      { path: `Resources.${name}.Properties`, message: "AWS::Lambda::Permission requires Principal" },
    ]);
  });

  it("reports an unknown resource type, and a misspelt resource key", () => {
    const template = prodTemplate();
    const [queueName, queue] = firstOfType(template, "AWS::SQS::Queue");
    queue.Type = "AWS::SQS::Queu";
    const [topicName, topic] = firstOfType(template, "AWS::SNS::Topic");
    topic.Propertes = topic.Properties;
    Reflect.deleteProperty(topic, "Properties");
    expect(problemsAdded(template)).toEqual([
      { path: `Resources.${queueName}.Type`, message: "unknown resource type AWS::SQS::Queu" },
      { path: `Resources.${topicName}.Propertes`, message: "a resource has no Propertes" },
    ]);
  });

  it("reports a Ref to a missing resource, in a resource and in an output", () => {
    const template = prodTemplate();
    const [name, fn] = firstOfType(template, "AWS::Lambda::Function");
    fn.Properties.Environment = { Variables: { LINKS_TABLE: { Ref: "NoSuchTable" } } };
    const [output] = Object.keys(template.Outputs);
    template.Outputs[output!]!.Value = { "Fn::Join": ["", [{ Ref: "AWS::Region" }, { Ref: "NoSuchQueue" }]] };
    expect(problemsAdded(template)).toEqual([
      {
        path: `Resources.${name}.Properties.Environment.Variables.LINKS_TABLE.Ref`,
        message: "Ref NoSuchTable: no resource, parameter or pseudo parameter of that name",
      },
      {
        path: `Outputs.${output}.Value.Fn::Join[1][1].Ref`,
        message: "Ref NoSuchQueue: no resource, parameter or pseudo parameter of that name",
      },
    ]);
  });

  it("reports a GetAtt of an attribute the type lacks, and of a missing resource", () => {
    const template = prodTemplate();
    const [queueName] = firstOfType(template, "AWS::SQS::Queue");
    const [mappingName, mapping] = firstOfType(template, "AWS::Lambda::EventSourceMapping");
    mapping.Properties.EventSourceArn = { "Fn::GetAtt": [queueName, "Url"] };
    const [permissionName, permission] = firstOfType(template, "AWS::Lambda::Permission");
    permission.Properties.FunctionName = { "Fn::GetAtt": "NoSuchFunction.Arn" };
    expect(problemsAdded(template)).toEqual([
      {
        path: `Resources.${permissionName}.Properties.FunctionName.Fn::GetAtt`,
        message: "Fn::GetAtt NoSuchFunction.Arn: no resource of that name",
      },
      {
        path: `Resources.${mappingName}.Properties.EventSourceArn.Fn::GetAtt`,
        message: `Fn::GetAtt ${queueName}.Url: AWS::SQS::Queue has no attribute Url (it has Arn, QueueName, QueueUrl)`,
      },
    ]);
  });

  it("reports what a Sub names that does not exist, and takes its variables and escaped literals", () => {
    const template = prodTemplate();
    const [queueName] = firstOfType(template, "AWS::SQS::Queue");
    const [roleName, role] = firstOfType(template, "AWS::IAM::Role");
    role.Properties.ManagedPolicyArns = [
      {
        "Fn::Sub": [
          `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:policy/\${NoSuchPolicy}/\${${queueName}.Arnn}/\${Own}/\${!Literal}`,
          { Own: { Ref: "NoSuchParameter" } },
        ],
      },
    ];
    const path = `Resources.${roleName}.Properties.ManagedPolicyArns[0].Fn::Sub`;
    expect(problemsAdded(template)).toEqual([
      {
        path: `${path}[1].Own.Ref`,
        message: "Ref NoSuchParameter: no resource, parameter or pseudo parameter of that name",
      },
      {
        path,
        message: `Fn::Sub \${NoSuchPolicy}: no resource, parameter or pseudo parameter of that name`,
      },
      {
        path,
        message: `Fn::Sub \${${queueName}.Arnn}: AWS::SQS::Queue has no attribute Arnn (it has Arn, QueueName, QueueUrl)`,
      },
    ]);
  });

  it("reports a DependsOn naming a missing resource", () => {
    const template = prodTemplate();
    const [name, fn] = firstOfType(template, "AWS::Lambda::Function");
    const dependsOn = [fn.DependsOn ?? []].flat();
    fn.DependsOn = [...dependsOn, "NoSuchLogGroup"];
    expect(problemsAdded(template)).toEqual([
      {
        path: `Resources.${name}.DependsOn[${dependsOn.length}]`,
        message: "DependsOn NoSuchLogGroup: no resource of that name",
      },
    ]);
  });

  it("reports an output without a Value, and a condition the template does not define", () => {
    const template = prodTemplate();
    template.Conditions = {
      ...v.parse(v.optional(v.record(v.string(), v.unknown()), {}), template.Conditions),
      InUsEast1: { "Fn::Equals": [{ Ref: "AWS::Region" }, "us-east-1"] },
    };
    const [name, topic] = firstOfType(template, "AWS::SNS::Topic");
    topic.Condition = "InUsEast";
    template.Outputs.Misspelt = { Vaule: "x" };
    template.Outputs.Conditional = {
      Condition: "InUsEast1",
      Value: { "Fn::If": ["InUsEast", "yes", { Ref: "AWS::NoValue" }] },
    };
    expect(problemsAdded(template)).toEqual([
      { path: `Resources.${name}.Condition`, message: "Condition InUsEast: no condition of that name" },
      { path: "Outputs.Misspelt.Vaule", message: "an output has no Vaule" },
      { path: "Outputs.Misspelt", message: "an output needs a Value" },
      { path: "Outputs.Conditional.Value.Fn::If[0]", message: "Fn::If InUsEast: no condition of that name" },
    ]);
  });
});
