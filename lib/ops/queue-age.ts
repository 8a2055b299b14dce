import * as v from "valibot";

/**
 * The age of the oldest message on a queue, in seconds (0: empty), or undefined when it cannot be known.
 *
 * SQS has no queue attribute for it: GetQueueAttributes gives counts only. In AWS the number is the
 * queue's CloudWatch metric AWS/SQS ApproximateAgeOfOldestMessage, read with GetMetricData (SQS
 * publishes it each minute, a few minutes late; a queue idle for hours publishes none: undefined).
 * Against fauxqs (the local stack, the tests: AWS_ENDPOINT_URL_SQS set) it is worked out from the
 * emulator's inspection endpoint (GET /_fauxqs/queues/<name>), which lists every message, ready,
 * delayed or in flight, with the time it was sent, without receiving any.
 */
export interface QueueAgeReader {
  /** The oldest message's age of each queue URL given. */
  oldestAges(queueUrls: readonly string[], now: Date): Promise<Map<string, number | undefined>>;
}

/** A queue's name: the last segment of its URL. */
export const queueNameOf = (url: string): string => url.slice(url.lastIndexOf("/") + 1);

/** The reader for where the SQS client points: fauxqs when AWS_ENDPOINT_URL_SQS is set, else CloudWatch. */
export function queueAgeReader(env: NodeJS.ProcessEnv = process.env): QueueAgeReader {
  const endpoint = env.AWS_ENDPOINT_URL_SQS;
  return endpoint ? fauxqsQueueAges(endpoint) : cloudWatchQueueAges();
}

const SentMessage = v.object({ sentTimestamp: v.number() });
const Inspection = v.object({
  messages: v.object({
    ready: v.array(SentMessage),
    delayed: v.array(SentMessage),
    inflight: v.array(v.object({ message: SentMessage })),
  }),
});

/** The oldest message's age from fauxqs's inspection endpoint (it never changes the queue). */
export function fauxqsQueueAges(endpoint: string, fetcher: typeof fetch = fetch): QueueAgeReader {
  return {
    async oldestAges(queueUrls, now) {
      const ages = await Promise.all(
        queueUrls.map(async (url) => {
          try {
            const answer = await fetcher(
              new URL(`/_fauxqs/queues/${encodeURIComponent(queueNameOf(url))}`, endpoint),
            );
            if (!answer.ok) return [url, undefined] as const;
            const { messages } = v.parse(Inspection, await answer.json());
            const sent = [
              ...messages.ready,
              ...messages.delayed,
              ...messages.inflight.map((m) => m.message),
            ].map((message) => message.sentTimestamp);
            if (sent.length === 0) return [url, 0] as const;
            return [url, Math.max(0, Math.floor((now.getTime() - Math.min(...sent)) / 1000))] as const;
          } catch {
            return [url, undefined] as const;
          }
        }),
      );
      return new Map(ages);
    },
  };
}

/** How far back GetMetricData looks for the latest datapoint (SQS's metrics come a few minutes late). */
const LOOKBACK_MS = 15 * 60_000;

/** What the CloudWatch reader sends GetMetricData with (the SDK's client, or a test's stand-in). */
export interface MetricDataSender {
  send(
    command: import("@aws-sdk/client-cloudwatch").GetMetricDataCommand,
  ): Promise<Pick<import("@aws-sdk/client-cloudwatch").GetMetricDataCommandOutput, "MetricDataResults">>;
}

/**
 * The oldest message's age from CloudWatch (AWS/SQS ApproximateAgeOfOldestMessage), the newest
 * datapoint of the last 15 minutes. `sender`: the CloudWatch client, created at first use.
 */
export function cloudWatchQueueAges(sender?: MetricDataSender): QueueAgeReader {
  return {
    async oldestAges(queueUrls, now) {
      const result = new Map<string, number | undefined>(queueUrls.map((url) => [url, undefined]));
      if (queueUrls.length === 0) return result;
      // Loaded at first use: only the status page and the CLI read it.
      const { CloudWatchClient, GetMetricDataCommand } = await import("@aws-sdk/client-cloudwatch");
      if (!sender) defaultClient ??= new CloudWatchClient({});
      const target = sender ?? defaultClient;
      if (!target) return result;
      const out = await target.send(
        new GetMetricDataCommand({
          StartTime: new Date(now.getTime() - LOOKBACK_MS),
          EndTime: now,
          ScanBy: "TimestampDescending",
          MetricDataQueries: queueUrls.map((url, i) => ({
            Id: `q${i}`,
            MetricStat: {
              Metric: {
                Namespace: "AWS/SQS",
                MetricName: "ApproximateAgeOfOldestMessage",
                Dimensions: [{ Name: "QueueName", Value: queueNameOf(url) }],
              },
              Period: 60,
              Stat: "Maximum",
            },
          })),
        }),
      );
      for (const series of out.MetricDataResults ?? []) {
        const url = queueUrls[Number(series.Id?.slice(1))];
        const newest = series.Values?.[0];
        if (url !== undefined && newest !== undefined) result.set(url, Math.round(newest));
      }
      return result;
    },
  };
}
/** The function's one CloudWatch client, built at the first read. */
let defaultClient: MetricDataSender | undefined;
