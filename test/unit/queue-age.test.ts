import type { GetMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { describe, expect, it } from "vitest";
import { cloudWatchQueueAges, fauxqsQueueAges } from "../../lib/ops/queue-age.ts";

const QUEUE = "https://sqs.us-east-1.amazonaws.com/123456789012/deskbridge-prod-rt-kanban";
const IDLE = "https://sqs.us-east-1.amazonaws.com/123456789012/deskbridge-prod-glpi-forms";
const NOW = new Date("2026-12-03T14:00:00Z");

describe("the queues' oldest message age", () => {
  it("reads AWS/SQS ApproximateAgeOfOldestMessage of each queue by name, newest datapoint first", async () => {
    const sent: GetMetricDataCommand[] = [];
    const reader = cloudWatchQueueAges({
      async send(command) {
        sent.push(command);
        return {
          MetricDataResults: [
            { Id: "q0", Values: [420, 360] },
            { Id: "q1", Values: [] },
          ],
        };
      },
    });
    expect(await reader.oldestAges([QUEUE, IDLE], NOW)).toEqual(
      new Map([
        [QUEUE, 420],
        [IDLE, undefined],
      ]),
    );
    expect(sent[0]?.input).toMatchObject({
      StartTime: new Date("2026-12-03T13:45:00Z"),
      EndTime: NOW,
      ScanBy: "TimestampDescending",
      MetricDataQueries: [
        {
          Id: "q0",
          MetricStat: {
            Metric: {
              Namespace: "AWS/SQS",
              MetricName: "ApproximateAgeOfOldestMessage",
              Dimensions: [{ Name: "QueueName", Value: "deskbridge-prod-rt-kanban" }],
            },
            Period: 60,
            Stat: "Maximum",
          },
        },
        { Id: "q1" },
      ],
    });
  });

  it("works out the age from fauxqs's inspection of ready, delayed and in-flight messages", async () => {
    const sentAt = (secondsAgo: number) => ({ sentTimestamp: NOW.getTime() - secondsAgo * 1000 });
    const asked: string[] = [];
    const reader = fauxqsQueueAges("http://127.0.0.1:9324", async (input) => {
      asked.push(String(input));
      return String(input).endsWith("glpi-forms")
        ? Response.json({ messages: { ready: [], delayed: [], inflight: [] } })
        : Response.json({
            messages: { ready: [sentAt(5)], delayed: [sentAt(30)], inflight: [{ message: sentAt(90) }] },
          });
    });
    expect(await reader.oldestAges([QUEUE, IDLE], NOW)).toEqual(
      new Map([
        [QUEUE, 90],
        [IDLE, 0],
      ]),
    );
    expect(asked).toEqual([
      "http://127.0.0.1:9324/_fauxqs/queues/deskbridge-prod-rt-kanban",
      "http://127.0.0.1:9324/_fauxqs/queues/deskbridge-prod-glpi-forms",
    ]);
  });
});
