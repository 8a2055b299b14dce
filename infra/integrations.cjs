"use strict";
/**
 * Each integration's share of the stack, generated from the integrations in the repository, so that
 * adding one touches its folders (lib/sync/<id>/, functions/<id>/) and its routes in serverless.yml only.
 * An integration is a folder functions/<id>/ holding a worker.ts; its names follow from its id:
 * `otrs-redmine` → queues OtrsRedmineQueue and OtrsRedmineDeadLetterQueue (deskbridge-<stage>-otrs-redmine
 * and -dlq), role OtrsRedmineWorkerRole, function otrsRedmineWorker, config key `otrsRedmine`.
 *
 * serverless.yml and infra/*.yml read it as `${file(./infra/integrations.cjs):<export>[.<key>]}`: osls
 * requires this file, calls the export and resolves the variables in what it returns (`${sls:stage}`,
 * `${self:…}`), and merges the `functions` and `resources` arrays' items into one map each. CommonJS,
 * because osls loads `.js`/`.cjs` files with require() (and this package is an ES module one).
 */
const { execFileSync } = require("node:child_process");
const { existsSync, readdirSync } = require("node:fs");
const { join, resolve } = require("node:path");

const ROOT = join(__dirname, "..");

/**
 * The shared queue pair of the stacks deployed before each integration had its own, drained by the
 * `worker` function for one release: the roles that still send to it or read it name it with the rest.
 */
const SHARED_QUEUE = "JobsQueue";
const SHARED_DEAD_LETTER_QUEUE = "JobsDeadLetterQueue";

/** CloudWatch's hard limit of metrics in one metric math alarm. */
const ALARM_METRICS_LIMIT = 10;

const getAtt = (resource, attribute) => ({ "Fn::GetAtt": [resource, attribute] });

/** `otrs-redmine` → `OtrsRedmine`. */
const pascalCase = (id) =>
  id
    .split("-")
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join("");

/** `otrs-redmine` → `otrsRedmine` (the integration's key in the configuration file). */
const camelCase = (id) => {
  const pascal = pascalCase(id);
  return pascal.charAt(0).toLowerCase() + pascal.slice(1);
};

/** The integrations under `root` (a folder functions/<id>/ with a worker.ts), by id in name order. */
function listIntegrations(root = ROOT) {
  const functions = join(root, "functions");
  return readdirSync(functions, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(functions, entry.name, "worker.ts")))
    .map((entry) => entry.name)
    .sort()
    .map((id) => {
      const pascal = pascalCase(id);
      return {
        id,
        configKey: camelCase(id),
        queue: `${pascal}Queue`,
        deadLetterQueue: `${pascal}DeadLetterQueue`,
        workerRole: `${pascal}WorkerRole`,
        workerFunction: `${camelCase(id)}Worker`,
        /** Its scheduled pollers (functions/<id>/poll-*.ts): it emits PollerLagSeconds. */
        hasPoller: readdirSync(join(functions, id)).some((file) => /^poll-.+\.ts$/.test(file)),
      };
    });
}

// The statements every worker role has (the roles of infra/iam.yml share theirs through the anchors
// `assume`, `logs` and `secrets`, which do not cross files).
const assumeRolePolicy = () => ({
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" }],
});
const logsPolicies = () => [
  { "Fn::Sub": `arn:\${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole` },
  xrayPolicy(),
];
/** X-Ray's write access, on the roles only when `monitoring.tracing` is on (the Tracing condition). */
const xrayPolicy = () => ({
  "Fn::If": [
    "Tracing",
    { "Fn::Sub": `arn:\${AWS::Partition}:iam::aws:policy/AWSXRayDaemonWriteAccess` },
    { Ref: "AWS::NoValue" },
  ],
});
const workerTableStatement = () => ({
  Effect: "Allow",
  Action: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"],
  Resource: [getAtt("LinksTable", "Arn"), { "Fn::Sub": `\${LinksTable.Arn}/index/*` }],
});
// The per-system caps' slots (lib/links/system-slots.ts): read them all, give one back.
const workerSlotsStatement = () => ({
  Effect: "Allow",
  Action: ["dynamodb:BatchGetItem", "dynamodb:DeleteItem"],
  Resource: getAtt("LinksTable", "Arn"),
});
const secretsStatement = () => ({
  Effect: "Allow",
  Action: "ssm:GetParameters",
  Resource: {
    "Fn::Sub": `arn:\${AWS::Partition}:ssm:\${AWS::Region}:\${AWS::AccountId}:parameter/deskbridge/\${sls:stage}/*`,
  },
});

/** Its queue, and the dead-letter queue its queue hands a message to after 20 receives. */
function queuePair(integration) {
  return {
    [integration.deadLetterQueue]: {
      Type: "AWS::SQS::Queue",
      Properties: {
        QueueName: `deskbridge-\${sls:stage}-${integration.id}-dlq`,
        MessageRetentionPeriod: 1209600, // 14 days, the maximum
        SqsManagedSseEnabled: true,
      },
    },
    [integration.queue]: {
      Type: "AWS::SQS::Queue",
      Properties: {
        QueueName: `deskbridge-\${sls:stage}-${integration.id}`,
        // At least 6x the worker's timeout (60 s), as AWS recommends for Lambda event sources.
        VisibilityTimeout: 360,
        MessageRetentionPeriod: 1209600,
        SqsManagedSseEnabled: true,
        RedrivePolicy: {
          deadLetterTargetArn: getAtt(integration.deadLetterQueue, "Arn"),
          // The worker dead-letters a job itself after jobs.maxAttempts (keeping its last error); this
          // is the safety net for messages it cannot even read, or a worker that keeps crashing.
          maxReceiveCount: 20,
        },
      },
    },
  };
}

/**
 * Its worker's role: links, job records, backoff and the systems' slots; reads its own
 * queue, puts jobs back on it, dead-letters to its own.
 */
function workerRole(integration) {
  return {
    Type: "AWS::IAM::Role",
    Properties: {
      AssumeRolePolicyDocument: assumeRolePolicy(),
      ManagedPolicyArns: logsPolicies(),
      Policies: [
        {
          PolicyName: `${integration.id}-worker`,
          PolicyDocument: {
            Version: "2012-10-17",
            Statement: [
              workerTableStatement(),
              workerSlotsStatement(),
              {
                Effect: "Allow",
                Action: [
                  "sqs:ReceiveMessage",
                  "sqs:DeleteMessage",
                  "sqs:ChangeMessageVisibility",
                  "sqs:GetQueueAttributes",
                ],
                Resource: getAtt(integration.queue, "Arn"),
              },
              {
                Effect: "Allow",
                Action: "sqs:SendMessage",
                Resource: [getAtt(integration.queue, "Arn"), getAtt(integration.deadLetterQueue, "Arn")],
              },
              secretsStatement(),
            ],
          },
        },
      ],
    },
  };
}

/**
 * Its worker (functions/<id>/worker.ts) on its queue, at most `integrations.<configKey>.maxConcurrency`
 * of its invocations at once (default 5, AWS allows 2 to 1000): one backlog never holds up another
 * integration. Its queue's visibility timeout is 6x its timeout.
 */
function workerFunction(integration) {
  return {
    handler: `functions/${integration.id}/worker.handler`,
    role: integration.workerRole,
    timeout: 60,
    events: [
      {
        sqs: {
          arn: getAtt(integration.queue, "Arn"),
          batchSize: 10,
          maximumBatchingWindow: 1,
          functionResponseType: "ReportBatchItemFailures",
          maximumConcurrency: `\${self:custom.stageConfig.integrations.${integration.configKey}.maxConcurrency, 5}`,
        },
      },
    ],
  };
}

/** Every generated part for the integrations under `root` (the repository unless a test says). */
function integrationStack(root = ROOT) {
  const integrations = listIntegrations(root);
  const queues = integrations.map((integration) => getAtt(integration.queue, "Arn"));
  const deadLetterQueues = integrations.map((integration) => getAtt(integration.deadLetterQueue, "Arn"));
  const deadLetterQueueNames = [
    ...integrations.map((integration) => integration.deadLetterQueue),
    SHARED_DEAD_LETTER_QUEUE,
  ];
  if (deadLetterQueueNames.length > ALARM_METRICS_LIMIT) {
    throw new Error(
      `DeadLetterDepthAlarm would watch ${deadLetterQueueNames.length} dead-letter queues; a metric math alarm takes at most ${ALARM_METRICS_LIMIT} metrics: split it (infra/integrations.cjs)`,
    );
  }
  return {
    integrations,
    /** Merged into serverless.yml `functions`. */
    functions: Object.fromEntries(
      integrations.map((integration) => [integration.workerFunction, workerFunction(integration)]),
    ),
    /** Merged into serverless.yml `resources`: each queue pair and worker role, the queues' URLs. */
    resources: {
      Resources: Object.assign(
        {},
        ...integrations.map((integration) => ({
          ...queuePair(integration),
          [integration.workerRole]: workerRole(integration),
        })),
      ),
      Outputs: Object.fromEntries(
        integrations.flatMap((integration) => [
          [`${integration.queue}Url`, { Value: { Ref: integration.queue } }],
          [`${integration.deadLetterQueue}Url`, { Value: { Ref: integration.deadLetterQueue } }],
        ]),
      ),
    },
    /** JOB_QUEUES (lib/jobs/queue.ts, parseIntegrationQueues): each integration's pair of URLs by id. */
    jobQueues: {
      "Fn::Sub": JSON.stringify(
        Object.fromEntries(
          integrations.map((integration) => [
            integration.id,
            { jobs: `\${${integration.queue}}`, deadLetters: `\${${integration.deadLetterQueue}}` },
          ]),
        ),
      ),
    },
    /** The queues' ARNs, for the roles of infra/iam.yml that reach every integration's queues. */
    queueArns: {
      jobs: queues,
      jobsAndShared: [...queues, getAtt(SHARED_QUEUE, "Arn")],
      deadLettersAndShared: [...deadLetterQueues, getAtt(SHARED_DEAD_LETTER_QUEUE, "Arn")],
      /** Where the drain sends: each integration's jobs queue, and the shared dead-letter queue. */
      drainTargets: [...queues, getAtt(SHARED_DEAD_LETTER_QUEUE, "Arn")],
      all: [
        ...queues,
        ...deadLetterQueues,
        getAtt(SHARED_QUEUE, "Arn"),
        getAtt(SHARED_DEAD_LETTER_QUEUE, "Arn"),
      ],
    },
    /** The alarms, the dashboard, the Tracing condition and the API stage's throttling (serverless.yml `resources`). */
    operations: operationsStack(integrations, listSystems(root)),
    /** DeadLetterDepthAlarm's metrics: the most messages any dead-letter queue holds. */
    deadLetterAlarmMetrics: [
      {
        Id: "deepest",
        Expression: "MAX(METRICS())",
        Label: "dead letters in the deepest dead-letter queue",
        ReturnData: true,
      },
      ...deadLetterQueueNames.map((queue, i) => ({
        Id: `q${i}`,
        ReturnData: false,
        MetricStat: {
          Stat: "Maximum",
          Period: 300,
          Metric: {
            Namespace: "AWS/SQS",
            MetricName: "ApproximateNumberOfMessagesVisible",
            Dimensions: [{ Name: "QueueName", Value: getAtt(queue, "QueueName") }],
          },
        },
      })),
    ],
  };
}

// ---- operations: alarms, the dashboard, the API stage's throttling (README "Operating deskbridge") ----

/** A setting of the stage's config file (`monitoring.*`, `http.*`), with its default: osls resolves it. */
const setting = (path, fallback) => `\${self:custom.stageConfig.${path}, ${fallback}}`;

/**
 * The `monitoring` and `http` settings' defaults, as lib/core/config-schema.ts has them (DEFAULT_MONITORING,
 * DEFAULT_THROTTLE, DEFAULT_FORM_THROTTLE; test/unit/cloudformation-template.test.ts holds them equal).
 */
const DEFAULTS = {
  pollerLagSeconds: 900,
  queueAgeSeconds: 900,
  workerErrorRatePercent: 10,
  throttles: 0,
  tracing: false,
  throttle: { rateLimit: 50, burstLimit: 100 },
  formThrottle: { rateLimit: 5, burstLimit: 20 },
};

/** The form submission routes: a sender can burst (a form posted by many at once), so they get their own limit. */
const FORM_ROUTES = ["POST /glpi/tickets", "POST /criar-chamado"];

/** The bridge's own metrics' namespace (lib/core/metrics.ts; serverless.yml POWERTOOLS_METRICS_NAMESPACE). */
const NAMESPACE = `deskbridge-\${sls:stage}`;
/** Every bridge metric's `service` dimension (lib/core/metrics.ts SERVICE). */
const SERVICE = "deskbridge";
/** What the alarms' texts tell an operator to run (infra/cli: `npx deskbridge …`). */
const CLI = `npx deskbridge --stage \${sls:stage}`;

/** The systems the bridge calls (lib/systems/<system>/ with a client.ts): one latency/error line each. */
function listSystems(root = ROOT) {
  const systems = join(root, "lib/systems");
  if (!existsSync(systems)) return [];
  return readdirSync(systems, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(systems, entry.name, "client.ts")))
    .map((entry) => entry.name)
    .sort();
}

/** osls's logical id of a function (`rtKanbanWorker` → `RtKanbanWorkerLambdaFunction`). */
const lambdaLogicalId = (name) =>
  `${name.charAt(0).toUpperCase()}${name.slice(1).replace(/-/g, "Dash").replace(/_/g, "Underscore")}LambdaFunction`;

/** osls's logical id of an HTTP API route (`POST /criar-chamado` → `HttpApiRoutePostCriarDashchamado`). */
const httpApiRouteLogicalId = (routeKey) =>
  `HttpApiRoute${routeKey
    .split("/")
    .map((part) => {
      const normal = part
        .toLowerCase()
        .replace(/-/g, "Dash")
        .replace(/\{(.*)\}/g, "$1Var")
        .replace(/[^0-9A-Za-z]/g, "");
      return normal.charAt(0).toUpperCase() + normal.slice(1);
    })
    .join("")}`;

const alarmActions = () => ({
  AlarmActions: [{ Ref: "DeadLetterAlarmTopic" }],
  OKActions: [{ Ref: "DeadLetterAlarmTopic" }],
});

/** Its oldest queued job is older than `monitoring.queueAgeSeconds`. */
function queueAgeAlarm(integration) {
  return {
    Type: "AWS::CloudWatch::Alarm",
    Properties: {
      AlarmName: `deskbridge-\${sls:stage}-${integration.id}-queue-age`,
      AlarmDescription:
        `A ${integration.id} job has waited on its queue longer than monitoring.queueAgeSeconds: its worker is ` +
        `not keeping up, failing, or held back by a capped system. Run \`${CLI} status\` and read the ` +
        `${integration.workerFunction} function's logs.`,
      Namespace: "AWS/SQS",
      MetricName: "ApproximateAgeOfOldestMessage",
      Dimensions: [{ Name: "QueueName", Value: getAtt(integration.queue, "QueueName") }],
      Statistic: "Maximum",
      Period: 300,
      EvaluationPeriods: 1,
      Threshold: setting("monitoring.queueAgeSeconds", DEFAULTS.queueAgeSeconds),
      ComparisonOperator: "GreaterThanThreshold",
      TreatMissingData: "notBreaching",
      ...alarmActions(),
    },
  };
}

/** Its worker's errors per invocation over 5 minutes, in percent, above `monitoring.workerErrorRatePercent`. */
function workerErrorRateAlarm(integration) {
  const fn = { Name: "FunctionName", Value: { Ref: lambdaLogicalId(integration.workerFunction) } };
  const stat = (id, metric) => ({
    Id: id,
    ReturnData: false,
    MetricStat: {
      Stat: "Sum",
      Period: 300,
      Metric: { Namespace: "AWS/Lambda", MetricName: metric, Dimensions: [fn] },
    },
  });
  return {
    Type: "AWS::CloudWatch::Alarm",
    Properties: {
      AlarmName: `deskbridge-\${sls:stage}-${integration.id}-worker-errors`,
      AlarmDescription:
        `The ${integration.workerFunction} function fails more than monitoring.workerErrorRatePercent of its ` +
        `invocations (a crash or a timeout, not a job's own failure, which is retried and counted apart). ` +
        `Read its logs; jobs stay on the queue and are retried.`,
      Metrics: [
        {
          Id: "rate",
          Expression: "IF(invocations > 0, 100 * errors / invocations, 0)",
          Label: "worker errors per invocation (%)",
          ReturnData: true,
        },
        stat("errors", "Errors"),
        stat("invocations", "Invocations"),
      ],
      EvaluationPeriods: 1,
      Threshold: setting("monitoring.workerErrorRatePercent", DEFAULTS.workerErrorRatePercent),
      ComparisonOperator: "GreaterThanThreshold",
      TreatMissingData: "notBreaching",
      ...alarmActions(),
    },
  };
}

/** Its poller has fallen more than `monitoring.pollerLagSeconds` behind (or has had no successful run since). */
function pollerLagAlarm(integration) {
  return {
    Type: "AWS::CloudWatch::Alarm",
    Properties: {
      AlarmName: `deskbridge-\${sls:stage}-${integration.id}-poller-lag`,
      AlarmDescription:
        `The ${integration.id} poller has read nothing new for longer than monitoring.pollerLagSeconds: its ` +
        `system is down or refuses it, or its runs fail. Changes made meanwhile are not lost (the next ` +
        `successful run reads them). Run \`${CLI} status\` and read the poller's logs.`,
      Namespace: NAMESPACE,
      MetricName: "PollerLagSeconds",
      Dimensions: [
        { Name: "service", Value: SERVICE },
        { Name: "integration", Value: integration.id },
      ],
      Statistic: "Maximum",
      Period: 300,
      EvaluationPeriods: 1,
      Threshold: setting("monitoring.pollerLagSeconds", DEFAULTS.pollerLagSeconds),
      ComparisonOperator: "GreaterThanThreshold",
      TreatMissingData: "notBreaching",
      ...alarmActions(),
    },
  };
}

/** Lambda throttled invocations in the account and region, above `monitoring.throttles` in 5 minutes. */
function throttlesAlarm() {
  return {
    Type: "AWS::CloudWatch::Alarm",
    Properties: {
      AlarmName: `deskbridge-\${sls:stage}-throttles`,
      AlarmDescription:
        "Lambda refused invocations for lack of concurrency (the account's limit in this region, all " +
        "functions): webhooks may have been answered 429/503 and retried by their senders, jobs wait on " +
        "their queues. Ask AWS for a higher concurrency limit, or lower the workers' maxConcurrency.",
      Namespace: "AWS/Lambda",
      MetricName: "Throttles",
      Statistic: "Sum",
      Period: 300,
      EvaluationPeriods: 1,
      Threshold: setting("monitoring.throttles", DEFAULTS.throttles),
      ComparisonOperator: "GreaterThanThreshold",
      TreatMissingData: "notBreaching",
      ...alarmActions(),
    },
  };
}

/**
 * The CloudWatch dashboard: a row for the systems the bridge calls (latency, errors), then one row per
 * integration: its events, its queue's oldest job and depth, its poller's lag, its worker's errors.
 * Its body is one Fn::Sub text, so the queues' and functions' names are the deployed ones.
 */
function dashboard(integrations, systems) {
  const ns = NAMESPACE;
  const widget = (x, y, width, title, metrics, extra = {}) => ({
    type: "metric",
    x,
    y,
    width,
    height: 6,
    properties: {
      title,
      region: `\${AWS::Region}`,
      view: "timeSeries",
      stat: "Sum",
      period: 300,
      metrics,
      ...extra,
    },
  });
  const widgets = [
    widget(
      0,
      0,
      12,
      "Upstream latency (p90, ms)",
      systems.map((system) => [ns, "UpstreamLatency", "service", SERVICE, "system", system, { stat: "p90" }]),
    ),
    widget(
      12,
      0,
      12,
      "Upstream errors (no answer, 5xx, 429) and calls",
      systems.flatMap((system) => [
        [ns, "UpstreamErrors", "service", SERVICE, "system", system],
        [
          ns,
          "UpstreamLatency",
          "service",
          SERVICE,
          "system",
          system,
          { stat: "SampleCount", label: `${system} calls` },
        ],
      ]),
    ),
  ];
  integrations.forEach((integration, i) => {
    const y = 6 * (i + 1);
    const events = ["EventsReceived", "EventsSynced", "EventsRetried", "EventsDeadLettered"].map((name) => [
      ns,
      name,
      "service",
      SERVICE,
      "integration",
      integration.id,
    ]);
    const queueName = `\${${integration.queue}.QueueName}`;
    const dlqName = `\${${integration.deadLetterQueue}.QueueName}`;
    const worker = `\${${lambdaLogicalId(integration.workerFunction)}}`;
    widgets.push(
      widget(0, y, 6, `${integration.id}: events`, events),
      widget(6, y, 6, `${integration.id}: queue (oldest job s, depth, dead letters)`, [
        ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", queueName, { stat: "Maximum" }],
        [
          "AWS/SQS",
          "ApproximateNumberOfMessagesVisible",
          "QueueName",
          queueName,
          { stat: "Maximum", yAxis: "right" },
        ],
        [
          "AWS/SQS",
          "ApproximateNumberOfMessagesVisible",
          "QueueName",
          dlqName,
          { stat: "Maximum", yAxis: "right" },
        ],
      ]),
      integration.hasPoller
        ? widget(12, y, 6, `${integration.id}: poller lag (s)`, [
            [ns, "PollerLagSeconds", "service", SERVICE, "integration", integration.id, { stat: "Maximum" }],
          ])
        : {
            type: "text",
            x: 12,
            y,
            width: 6,
            height: 6,
            properties: { markdown: `${integration.id}: no poller` },
          },
      widget(18, y, 6, `${integration.id}: worker (errors, invocations, throttles)`, [
        ["AWS/Lambda", "Errors", "FunctionName", worker],
        ["AWS/Lambda", "Invocations", "FunctionName", worker, { yAxis: "right" }],
        ["AWS/Lambda", "Throttles", "FunctionName", worker],
      ]),
    );
  });
  return {
    Type: "AWS::CloudWatch::Dashboard",
    Properties: {
      DashboardName: `deskbridge-\${sls:stage}`,
      DashboardBody: { "Fn::Sub": JSON.stringify({ widgets }) },
    },
  };
}

/**
 * The operations part of the stack: an alarm per jobs queue's age, per worker's error rate and per
 * poller's lag, the throttles alarm (the dead letters' is in infra/resources.yml), all on the one
 * topic DeadLetterAlarmTopic; the dashboard; the Tracing condition; and the HTTP API stage's default
 * and per-route throttling (osls v4 has no setting for an HTTP API's throttling: an extension of the
 * stage it compiles, HttpApiStage).
 */
function operationsStack(integrations, systems) {
  const resources = {};
  for (const integration of integrations) {
    const pascal = pascalCase(integration.id);
    resources[`${pascal}QueueAgeAlarm`] = queueAgeAlarm(integration);
    resources[`${pascal}WorkerErrorRateAlarm`] = workerErrorRateAlarm(integration);
    if (integration.hasPoller) resources[`${pascal}PollerLagAlarm`] = pollerLagAlarm(integration);
  }
  resources.ThrottlesAlarm = throttlesAlarm();
  resources.OperationsDashboard = dashboard(integrations, systems);
  const throttle = (key) => ({
    ThrottlingRateLimit: setting(`http.${key}.rateLimit`, DEFAULTS[key].rateLimit),
    ThrottlingBurstLimit: setting(`http.${key}.burstLimit`, DEFAULTS[key].burstLimit),
  });
  return {
    Conditions: {
      // Compared as text: osls puts a setting inside a longer string as its text.
      Tracing: {
        "Fn::Equals": [`tracing-${setting("monitoring.tracing", DEFAULTS.tracing)}`, "tracing-true"],
      },
    },
    Resources: resources,
    Outputs: {
      DashboardUrl: {
        Description: "The operations dashboard (a row per integration).",
        Value: {
          "Fn::Sub": `https://\${AWS::Region}.console.aws.amazon.com/cloudwatch/home?region=\${AWS::Region}#dashboards:name=deskbridge-\${sls:stage}`,
        },
      },
    },
    extensions: {
      HttpApiStage: {
        Properties: {
          DefaultRouteSettings: { DetailedMetricsEnabled: false, ...throttle("throttle") },
          RouteSettings: Object.fromEntries(FORM_ROUTES.map((route) => [route, throttle("formThrottle")])),
        },
        // A route's settings name a route the stage must find: create the routes first.
        DependsOn: FORM_ROUTES.map(httpApiRouteLogicalId),
      },
    },
  };
}

const REFERENCE = /^\$\{file\(\.\/infra\/integrations\.cjs\):([\w.]+)\}$/;

/**
 * `value` (as parsed from serverless.yml or infra/*.yml) with each `${file(./infra/integrations.cjs):x.y}`
 * replaced by what osls puts there, for the tools and tests that read those files without osls.
 */
function resolveGenerated(value, root = ROOT) {
  const stack = integrationStack(root);
  const resolve = (item) => {
    if (Array.isArray(item)) return item.map(resolve);
    if (typeof item === "object" && item !== null) {
      return Object.fromEntries(Object.entries(item).map(([key, nested]) => [key, resolve(nested)]));
    }
    const match = typeof item === "string" ? REFERENCE.exec(item) : null;
    if (!match) return item;
    const resolved = match[1].split(".").reduce((part, key) => part?.[key], stack);
    if (resolved === undefined) throw new Error(`${item}: infra/integrations.cjs generates no ${match[1]}`);
    return structuredClone(resolved);
  };
  return resolve(value);
}

/**
 * Validates the stage's configuration file at packaging and writes its checked form
 * (infra/tools/check-config.ts) to `config/checked/<stage>.json`, which every function's package
 * holds and reads instead of validating the file at each cold start (DESKBRIDGE_CONFIG_CHECKED).
 * A mistake in the file fails the packaging here, naming the JSON path. The local stage (`npm start`,
 * whose file a developer edits as it runs) gets none: its functions validate the file as they start.
 */
async function checkedConfig({ resolveVariable }) {
  const stage = await resolveVariable("sls:stage");
  if (stage === "local") return "";
  const configFile = await resolveVariable("param:configFile");
  // Relative to the service (osls's working directory), as the package's patterns and the functions read it.
  const out = `config/checked/${stage}.json`;
  const tool = join(ROOT, "infra/tools/check-config.ts");
  try {
    execFileSync(process.execPath, ["--import", "tsx", tool, resolve(configFile), resolve(out)], {
      cwd: ROOT,
      stdio: ["ignore", "ignore", "pipe"],
    });
  } catch (error) {
    const said = error?.stderr ? String(error.stderr).trim() : String(error);
    throw new Error(`the configuration file ${configFile} is not valid: ${said}`);
  }
  return out;
}

// What serverless.yml and infra/*.yml name; osls calls each with its own arguments, ignored here
// (but by checkedConfig).
module.exports = {
  OPERATION_DEFAULTS: DEFAULTS,
  FORM_ROUTES,
  listIntegrations,
  integrationStack,
  resolveGenerated,
  functions: () => integrationStack().functions,
  resources: () => integrationStack().resources,
  jobQueues: () => integrationStack().jobQueues,
  queueArns: () => integrationStack().queueArns,
  deadLetterAlarmMetrics: () => integrationStack().deadLetterAlarmMetrics,
  operations: () => integrationStack().operations,
  checkedConfig,
};
