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
const { existsSync, readdirSync } = require("node:fs");
const { join } = require("node:path");

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
      };
    });
}

// The statements every worker role shares with the drain's WorkerRole (infra/iam.yml, whose anchors
// `assume`, `logs`, `workerTable`, `workerSlots` and `secrets` they copy: anchors do not cross files).
const assumeRolePolicy = () => ({
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" }],
});
const logsPolicies = () => [
  { "Fn::Sub": `arn:\${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole` },
];
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
 * Its worker's role: links, job records, backoff and the systems' slots as the drain; reads its own
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
      all: [
        ...queues,
        ...deadLetterQueues,
        getAtt(SHARED_QUEUE, "Arn"),
        getAtt(SHARED_DEAD_LETTER_QUEUE, "Arn"),
      ],
    },
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

// What serverless.yml and infra/*.yml name; osls calls each with its own arguments, ignored here.
module.exports = {
  listIntegrations,
  integrationStack,
  resolveGenerated,
  functions: () => integrationStack().functions,
  resources: () => integrationStack().resources,
  jobQueues: () => integrationStack().jobQueues,
  queueArns: () => integrationStack().queueArns,
  deadLetterAlarmMetrics: () => integrationStack().deadLetterAlarmMetrics,
};
