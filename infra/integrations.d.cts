// The types of infra/integrations.cjs, for the TypeScript that reads what it generates.

/** One integration found in the repository, and the names its generated parts take. */
export interface GeneratedIntegration {
  /** `otrs-redmine`: its folder under functions/ (and lib/sync/). */
  readonly id: string;
  /** `otrsRedmine`: its key in the configuration file's `integrations`. */
  readonly configKey: string;
  /** `OtrsRedmineQueue`. */
  readonly queue: string;
  /** `OtrsRedmineDeadLetterQueue`. */
  readonly deadLetterQueue: string;
  /** `OtrsRedmineWorkerRole`. */
  readonly workerRole: string;
  /** `otrsRedmineWorker`. */
  readonly workerFunction: string;
  /** It has a scheduled poller (functions/<id>/poll-*.ts), whose lag an alarm watches. */
  readonly hasPoller: boolean;
}

/** The defaults of the `monitoring` and `http` settings the stack reads (lib/core/config-schema.ts has the same). */
export const OPERATION_DEFAULTS: {
  readonly pollerLagSeconds: number;
  readonly queueAgeSeconds: number;
  readonly workerErrorRatePercent: number;
  readonly throttles: number;
  readonly tracing: boolean;
  readonly throttle: { readonly rateLimit: number; readonly burstLimit: number };
  readonly formThrottle: { readonly rateLimit: number; readonly burstLimit: number };
};
/** The routes with the form throttling (`http.formThrottle`). */
export const FORM_ROUTES: readonly string[];

type GetAtt = { readonly "Fn::GetAtt": readonly [string, string] };

/** Every part infra/integrations.cjs generates for the integrations under a folder. */
export interface IntegrationStack {
  readonly integrations: readonly GeneratedIntegration[];
  /** serverless.yml `functions`: each worker by its function name. */
  readonly functions: Readonly<Record<string, Record<string, unknown>>>;
  /** serverless.yml `resources`: the queue pairs and worker roles, and the queues' URLs. */
  readonly resources: {
    readonly Resources: Readonly<Record<string, { readonly Type: string; readonly Properties: unknown }>>;
    readonly Outputs: Readonly<Record<string, { readonly Value: unknown }>>;
  };
  /** The `jobQueues` param (JOB_QUEUES). */
  readonly jobQueues: { readonly "Fn::Sub": string };
  readonly queueArns: {
    readonly jobs: readonly GetAtt[];
    readonly jobsAndShared: readonly GetAtt[];
    readonly deadLettersAndShared: readonly GetAtt[];
    readonly all: readonly GetAtt[];
  };
  readonly deadLetterAlarmMetrics: readonly Record<string, unknown>[];
  /** serverless.yml `resources`: the alarms, the dashboard, the Tracing condition, the API stage's throttling. */
  readonly operations: {
    readonly Conditions: Readonly<Record<string, unknown>>;
    readonly Resources: Readonly<Record<string, { readonly Type: string; readonly Properties: unknown }>>;
    readonly Outputs: Readonly<Record<string, { readonly Value: unknown }>>;
    readonly extensions: Readonly<Record<string, unknown>>;
  };
}

/** The integrations under `root` (default: the repository), by id in name order. */
export function listIntegrations(root?: string): GeneratedIntegration[];
/** Every generated part for the integrations under `root` (default: the repository). */
export function integrationStack(root?: string): IntegrationStack;
/**
 * `value` (as parsed from serverless.yml or infra/*.yml) with each `${file(./infra/integrations.cjs):x.y}`
 * replaced by what osls puts there, for the tools and tests that read those files without osls.
 */
export function resolveGenerated(value: unknown, root?: string): unknown;
