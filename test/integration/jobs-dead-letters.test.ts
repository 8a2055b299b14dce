import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { sqsRecord } from "../../infra/local/events.ts";
import type { LambdaHttpHandler } from "../../lib/core/http.ts";
import { JobQueue } from "../../lib/jobs/queue.ts";
import { readDeadLetters, replayDeadLetters } from "../../lib/jobs/replay.ts";
import { httpEvent, lambdaContext, SECRETS, type Stack, setupStack } from "../helpers/stack.ts";

const VALID = {
  nome_cliente: "Ciclana",
  telefone_cliente: "+55 11 3333-4444",
  cnpj_cliente: "11222333000181",
  anydesk_cliente: "987654321",
  descricao_problema: "Impressora não imprime",
};

let stack: Stack;
let createTicket: LambdaHttpHandler;

beforeAll(async () => {
  // An outage is retried for the horizon, not for maxAttempts: on this clock (36 000×) its hour
  // is a tenth of a second, so a job meeting a down GLPI outlives it on its first delivery.
  stack = await setupStack({ jobs: { maxAttempts: 3, outageHorizonHours: 1, timeScale: 36_000 } });
  createTicket = (await import("../../functions/glpi-forms/create-ticket.ts")).handler;
});
afterAll(() => stack.close());
beforeEach(() => stack.glpi.reset());

const post = (body: unknown) =>
  createTicket(
    httpEvent({
      method: "POST",
      path: "/glpi/tickets",
      body,
      headers: { "content-type": "application/json", "x-deskbridge-token": SECRETS.FORMS_TOKEN },
    }),
  );

describe("dead letters", () => {
  it("keeps a job whose outage outlasts the horizon in the DLQ with its last error, and a replay creates one ticket", async () => {
    stack.glpi.setDown(true);
    const answer = await post(VALID);
    expect(answer.statusCode).toBe(202);
    const jobId = JSON.parse(answer.body ?? "{}").job_id;
    await stack.drainJobs({ timeoutMs: 20_000 });

    const letters = await readDeadLetters(stack.sqs, stack.resources.deadLetterQueueUrl);
    expect(letters).toHaveLength(1);
    const [letter] = letters;
    if (letter?.kind !== "letter") throw new Error("expected a readable dead letter");
    expect(letter.letter.job.id).toBe(jobId);
    // The outage used no attempt: the dead letter counts the one that met the expired horizon.
    expect(letter.letter.attempts).toBe(1);
    expect(letter.letter.lastError).toMatchObject({ code: "upstream_unavailable" });
    // Reading the DLQ changes nothing.
    expect(await readDeadLetters(stack.sqs, stack.resources.deadLetterQueueUrl)).toHaveLength(1);

    const { JobRecords } = await import("../../lib/jobs/records.ts");
    const { DynamoDBDocumentClient } = await import("@aws-sdk/lib-dynamodb");
    const records = new JobRecords(DynamoDBDocumentClient.from(stack.dynamo), stack.resources.table, 1);
    expect(await records.get(jobId)).toMatchObject({
      status: "failed",
      attempts: 1,
      lastError: { code: "upstream_unavailable" },
    });
    expect(stack.glpi.tickets).toHaveLength(0);

    stack.glpi.setDown(false);
    const queue = new JobQueue(stack.sqs, stack.resources.jobsQueueUrl, stack.resources.deadLetterQueueUrl);
    const replayed = await replayDeadLetters(stack.sqs, queue, stack.resources.deadLetterQueueUrl, {
      records,
    });
    expect(replayed.map((l) => l.job.id)).toEqual([jobId]);
    expect(await records.get(jobId)).toMatchObject({ status: "pending" });
    await stack.drainJobs();
    expect(stack.glpi.tickets).toHaveLength(1);
    expect(await records.get(jobId)).toMatchObject({
      status: "done",
      result: { ticket_id: stack.glpi.tickets[0]!.id },
    });
    expect(await readDeadLetters(stack.sqs, stack.resources.deadLetterQueueUrl)).toHaveLength(0);

    // Replaying an already converged job creates nothing more.
    await queue.send({ ...replayed[0]!.job, priorAttempts: 0, maybeRan: true, origin: "replay" });
    await stack.drainJobs();
    expect(stack.glpi.tickets).toHaveLength(1);
  });

  it("sends a job GLPI refuses for good straight to the DLQ without retrying it", async () => {
    stack.glpi.setDown(true);
    const answer = await post({ ...VALID, descricao_problema: "refused later" });
    expect(answer.statusCode).toBe(202);
    stack.glpi.setDown(false);
    stack.glpi.failNext(
      5,
      { kind: "status", status: 400, body: ["ERROR_GLPI_ADD", "Refused by a business rule"] },
      { method: "POST", path: "/Ticket" },
    );
    const before = stack.glpi.count("POST", "/Ticket");
    await stack.drainJobs();
    expect(stack.glpi.count("POST", "/Ticket") - before).toBe(1);
    const letters = await readDeadLetters(stack.sqs, stack.resources.deadLetterQueueUrl);
    const refused = letters.find(
      (l) => l.kind === "letter" && l.letter.lastError.code === "upstream_refused",
    );
    expect(refused).toBeDefined();
    // Clean up for the next test.
    const queue = new JobQueue(stack.sqs, stack.resources.jobsQueueUrl, stack.resources.deadLetterQueueUrl);
    await replayDeadLetters(stack.sqs, queue, stack.resources.deadLetterQueueUrl);
    await stack.drainJobs();
  });

  it("reports only the failing record of a batch, so the good ones are not run again", async () => {
    const { handler } = await import("../../infra/sandbox/every-job-worker.ts");
    const good = {
      v: 1,
      id: "good-job",
      type: "glpi-forms.create-ticket",
      input: { submission: { ...VALID, cnpj_cliente: "11222333000181" } },
      priorAttempts: 0,
      maybeRan: false,
      enqueuedAt: new Date().toISOString(),
      origin: "route",
    };
    // An answer GLPI's client cannot read: neither an outage nor a refusal, it uses an attempt and
    // stays on the queue (an outage would be sent back as a new message, reporting no failure).
    stack.glpi.failNext(
      1,
      { kind: "status", status: 200, body: "<html>maintenance</html>" },
      { method: "POST", path: "/Ticket" },
    );
    // Two records, run side by side: the first POST /Ticket to reach GLPI fails (unreadable), the
    // other succeeds.
    const records = ["job-a", "job-b"].map((id, i) =>
      sqsRecord({ messageId: `m-${i}`, body: JSON.stringify({ ...good, id }) }),
    );
    // The retry path changes the failing message's visibility: give each a real receipt handle.
    const { ReceiveMessageCommand } = await import("@aws-sdk/client-sqs");
    for (const record of records) {
      await stack.sqs.send(
        new SendMessageCommand({ QueueUrl: stack.resources.jobsQueueUrl, MessageBody: "{}" }),
      );
      const received = await stack.sqs.send(
        new ReceiveMessageCommand({ QueueUrl: stack.resources.jobsQueueUrl, MaxNumberOfMessages: 1 }),
      );
      record.receiptHandle = received.Messages?.[0]?.ReceiptHandle ?? "";
    }
    const response = await handler({ Records: records }, lambdaContext());
    expect(stack.glpi.tickets).toHaveLength(1);
    const created = String(stack.glpi.tickets[0]?.input.externalid);
    const failed = records.filter((record) => !created.endsWith(`:${JSON.parse(record.body).id}`));
    expect(failed).toHaveLength(1);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: failed[0]?.messageId }]);
  });
});
