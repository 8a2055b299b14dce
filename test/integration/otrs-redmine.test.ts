import { createHmac } from "node:crypto";
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { LambdaHttpHandler } from "../../lib/core/http.ts";
import { readDeadLetters } from "../../lib/jobs/replay.ts";
import {
  DEVELOPER_KEY,
  httpEvent,
  lambdaContext,
  SECRETS,
  type Stack,
  setupStack,
} from "../helpers/stack.ts";

let stack: Stack;
let ticketEvents: LambdaHttpHandler;
let issueEvents: LambdaHttpHandler;
let poll: () => Promise<unknown>;

const CF = 5;
const DONE = 4;

beforeAll(async () => {
  stack = await setupStack();
  ticketEvents = (await import("../../functions/otrs-redmine/ticket-events.ts")).handler;
  issueEvents = (await import("../../functions/otrs-redmine/issue-events.ts")).handler;
  const poller = (await import("../../functions/otrs-redmine/poll-redmine.ts")).handler;
  poll = () => poller();
});
afterAll(() => stack.close());
beforeEach(() => {
  stack.otrs.reset();
  stack.redmine.reset();
});

const auth = { "content-type": "application/json", "x-deskbridge-token": SECRETS.OTRS_REDMINE_TOKEN };
const sendTicketEvent = (body: unknown, headers: Record<string, string> = auth) =>
  ticketEvents(httpEvent({ method: "POST", path: "/otrs/ticket-events", body, headers }));
/**
 * What OTRS's HTTP::REST requester sends through the invoker controller `/otrs/ticket-events/:TicketID`
 * (the fake's model of REST.pm), as API Gateway hands it to `POST /otrs/ticket-events/{ticketId}`.
 */
function sendThroughController(data: Record<string, unknown>, headers: Record<string, string> = auth) {
  const call = stack.otrs.requesterRequest("/otrs/ticket-events/:TicketID", data);
  const ticketId = /^\/otrs\/ticket-events\/([^/]+)$/.exec(call.path)?.[1];
  return ticketEvents(
    httpEvent({
      method: "POST",
      path: call.path,
      ...(call.body === undefined ? {} : { rawBody: call.body }),
      ...(ticketId === undefined ? {} : { pathParameters: { ticketId: decodeURIComponent(ticketId) } }),
      headers,
    }),
  );
}
const sendIssueEvent = (body: unknown) =>
  issueEvents(
    httpEvent({
      method: "POST",
      path: "/redmine/issue-events",
      body,
      query: { token: SECRETS.OTRS_REDMINE_TOKEN },
      headers: { "content-type": "application/json" },
    }),
  );

function devTicket(extra: { Queue?: string } = {}) {
  return stack.otrs.addTicket({
    Title: "Relatório de vendas não abre",
    Queue: extra.Queue ?? "Desenvolvimento",
    State: "Em Atendimento",
    Articles: [
      { Subject: "Erro ao abrir relatório", Body: "O relatório de vendas mostra erro 500 desde ontem." },
    ],
  });
}

/** A ticket moved into the trigger state by an agent, with the event OTRS would POST, sent once. */
async function ticketInDevelopment() {
  const ticket = devTicket();
  const event = stack.otrs.agentSetState(ticket.TicketID, "Em Desenvolvimento", "agent1");
  const answer = await sendTicketEvent(event);
  expect(answer.statusCode).toBe(200);
  const issue = stack.redmine.issues.find((i) => i.custom_fields[CF] === ticket.TicketNumber);
  if (!issue) throw new Error("no issue was created");
  return { ticket, issue, event };
}

/** A developer changes the issue in Redmine (not the bridge); the plugin payload is sent to the route. */
async function developerSets(issueId: number, change: { status_id?: number; notes?: string }) {
  const payload = stack.redmine.personUpdates(issueId, { ...change, userId: 7 });
  return sendIssueEvent(payload);
}

const internalNotes = (ticketId: string) =>
  stack.otrs.tickets
    .find((t) => t.TicketID === ticketId)
    ?.Articles.filter((a) => a.Subject === "Retorno do Desenvolvimento") ?? [];

describe("OTRS → Redmine: create", () => {
  it("creates the Redmine issue from the latest article when a ticket moves into the trigger state, and writes its id back", async () => {
    const { ticket, issue } = await ticketInDevelopment();
    expect(issue).toMatchObject({
      project_id: 1,
      tracker_id: 1,
      status_id: 1,
      assigned_to_id: 7,
      subject: "Erro ao abrir relatório",
      description: "O relatório de vendas mostra erro 500 desde ontem.",
    });
    expect(stack.otrs.tickets.find((t) => t.TicketID === ticket.TicketID)?.DynamicFields.RedmineID).toBe(
      String(issue.id),
    );
    // The bridge's own Redmine writes must not fire the webhook plugin.
    expect(
      stack.redmine.calls
        .filter((c) => c.method !== "GET")
        .every((c) => c.headers["x-skip-webhooks"] !== undefined),
    ).toBe(true);
  });

  it("creates one issue when the same event arrives ten times at once", async () => {
    const ticket = devTicket();
    const event = stack.otrs.agentSetState(ticket.TicketID, "Em Desenvolvimento", "agent1");
    const answers = await Promise.all(Array.from({ length: 10 }, () => sendTicketEvent(event)));
    expect(answers.every((a) => a.statusCode === 200 || a.statusCode === 202)).toBe(true);
    await stack.drainJobs({ timeoutMs: 20_000 });
    expect(stack.redmine.issues).toHaveLength(1);
    expect(stack.redmine.count("POST", "/issues.json")).toBe(1);
  });

  it("creates nothing for a note or an owner change without a state change", async () => {
    const ticket = devTicket();
    stack.otrs.agentSetState(ticket.TicketID, "Em Desenvolvimento", "agent1");
    // An ArticleCreate or owner event: no OldTicketData.State, or the same state as now.
    expect((await sendTicketEvent({ TicketID: ticket.TicketID })).statusCode).toBe(200);
    expect(
      (
        await sendTicketEvent({
          TicketID: ticket.TicketID,
          OldTicketData: { State: "Em Desenvolvimento", Owner: "x" },
        })
      ).statusCode,
    ).toBe(200);
    expect(stack.redmine.issues).toHaveLength(0);
  });

  it("skips a ticket whose queue has no project mapping, with a reason and no retry loop", async () => {
    const ticket = devTicket({ Queue: "Suporte" });
    const event = stack.otrs.agentSetState(ticket.TicketID, "Em Desenvolvimento", "agent1");
    expect((await sendTicketEvent(event)).statusCode).toBe(200);
    expect(stack.redmine.issues).toHaveLength(0);
    expect(await stack.queueDepth(stack.resources.jobsQueueUrl)).toBe(0);
  });

  it("links an existing issue that already carries the ticket number instead of creating a second one", async () => {
    const ticket = devTicket();
    const { issue } = stack.redmine.personCreates({
      project_id: 1,
      subject: "Feito à mão",
      custom_fields: { [CF]: ticket.TicketNumber },
      userId: 7,
    });
    const event = stack.otrs.agentSetState(ticket.TicketID, "Em Desenvolvimento", "agent1");
    expect((await sendTicketEvent(event)).statusCode).toBe(200);
    expect(stack.redmine.issues).toHaveLength(1);
    expect(stack.otrs.tickets.find((t) => t.TicketID === ticket.TicketID)?.DynamicFields.RedmineID).toBe(
      String(issue.id),
    );
  });

  it("queues the job when Redmine is down, and creates the issue exactly once when it returns", async () => {
    const ticket = devTicket();
    const event = stack.otrs.agentSetState(ticket.TicketID, "Em Desenvolvimento", "agent1");
    stack.redmine.setDown(true);
    const answer = await sendTicketEvent(event);
    expect(answer.statusCode).toBe(202);
    expect(JSON.parse(answer.body ?? "{}").job_id).toBeTruthy();
    stack.redmine.setDown(false);
    await stack.drainJobs({ timeoutMs: 90_000 });
    expect(stack.redmine.issues).toHaveLength(1);
    expect(stack.otrs.tickets.find((t) => t.TicketID === ticket.TicketID)?.DynamicFields.RedmineID).toBe(
      String(stack.redmine.issues[0]!.id),
    );
  }, 120_000);
});

describe("OTRS → Redmine: state", () => {
  it("sets the issue back to the initial status when the linked ticket is reopened", async () => {
    const { ticket, issue } = await ticketInDevelopment();
    await developerSets(issue.id, { status_id: 2 });
    const event = stack.otrs.agentSetState(ticket.TicketID, "Aberto", "agent1");
    expect((await sendTicketEvent(event)).statusCode).toBe(200);
    expect(stack.redmine.issues.find((i) => i.id === issue.id)?.status_id).toBe(1);
  });

  it("gives back its claim when a refused change is dead-lettered: the next job for the ticket runs at once", async () => {
    const { ticket, issue } = await ticketInDevelopment();
    await developerSets(issue.id, { status_id: 2 });
    // The bridge's workflow refuses "back to the initial status": Redmine drops it silently.
    stack.redmine.setAllowedStatusIds([2, 3, 4, 5]);
    const event = stack.otrs.agentSetState(ticket.TicketID, "Aberto", "agent1");
    expect((await sendTicketEvent(event)).statusCode).toBe(202);
    const letters = (await readDeadLetters(stack.sqs, stack.resources.deadLetterQueueUrl)).flatMap(
      (letter) => (letter.kind === "letter" ? [letter.letter] : []),
    );
    expect(letters.at(-1)?.lastError.message).toMatch(/workflow did not let the bridge user set status 1/);
    // Within the claim's minute, the issue's own job (a poll, a backfill) is not told to wait.
    const issueRun = await issueEvents(
      httpEvent({
        method: "POST",
        path: "/redmine/issue-events",
        body: { payload: { action: "updated", issue: { id: issue.id } } },
        query: { token: SECRETS.OTRS_REDMINE_TOKEN },
        headers: { "content-type": "application/json" },
      }),
    );
    expect(issueRun.statusCode, issueRun.body).toBe(200);
    // Once the workflow allows it, the same reopen goes through at once: the failed change was not taken for synced.
    stack.redmine.setAllowedStatusIds(undefined);
    expect((await sendTicketEvent(event)).statusCode).toBe(200);
    expect(stack.redmine.issues.find((i) => i.id === issue.id)?.status_id).toBe(1);
  });

  it("carries on from a link an earlier version stored (hash, ids, an applying mark): the change it was applying is not taken for synced, and the link is rewritten in the new shape", async () => {
    const { ticket, issue } = await ticketInDevelopment();
    await developerSets(issue.id, { status_id: 2 });
    const db = DynamoDBDocumentClient.from(stack.dynamo);
    const Key = { pk: `link#otrs:main:ticket:${ticket.TicketID}` };
    const TableName = stack.resources.table;
    // An earlier version was reopening the ticket (Aberto → status 1) and died before writing Redmine.
    const event = stack.otrs.agentSetState(ticket.TicketID, "Aberto", "agent1");
    const longAgo = new Date(Date.now() - 5 * 60_000).toISOString();
    await db.send(
      new UpdateCommand({
        TableName,
        Key,
        UpdateExpression: "SET aspects = :a",
        ExpressionAttributeValues: {
          ":a": {
            claim: { ids: ["job:first"], syncedAt: longAgo },
            status: {
              hash: JSON.stringify({
                otrs: "Aberto",
                redmine: 1,
                was: { otrs: "Em Desenvolvimento", redmine: 2 },
              }),
              ids: ["applying", "job:gone"],
              syncedAt: longAgo,
            },
          },
        },
      }),
    );
    expect((await sendTicketEvent(event)).statusCode).toBe(200);
    expect(stack.redmine.issues.find((i) => i.id === issue.id)?.status_id).toBe(1);
    const item = (await db.send(new GetCommand({ TableName, Key, ConsistentRead: true }))).Item;
    expect(JSON.parse(item?.aspects.status.state)).toEqual({ otrs: "Aberto", redmine: 1 });
    expect(JSON.stringify(item?.aspects)).not.toMatch(/"hash"|"ids"|applying/);
    // The echo of that write finds the pair in sync.
    const puts = stack.redmine.count("PUT", /^\/issues\//);
    expect((await sendTicketEvent(event)).statusCode).toBe(200);
    expect(stack.redmine.count("PUT", /^\/issues\//)).toBe(puts);
  });

  it("takes no action for a state mapped to null", async () => {
    const { ticket, issue } = await ticketInDevelopment();
    const puts = stack.redmine.count("PUT", /^\/issues\//);
    const event = stack.otrs.agentSetState(ticket.TicketID, "Fechado com sucesso", "agent1");
    expect((await sendTicketEvent(event)).statusCode).toBe(200);
    expect(stack.redmine.count("PUT", /^\/issues\//)).toBe(puts);
    expect(stack.redmine.issues.find((i) => i.id === issue.id)?.status_id).toBe(1);
  });
});

describe("Redmine → OTRS", () => {
  it("links a hand-made issue that names a ticket: the ticket gets the issue id", async () => {
    const ticket = devTicket();
    const { issue, payload } = stack.redmine.personCreates({
      project_id: 1,
      subject: "Novo",
      custom_fields: { [CF]: ticket.TicketNumber },
      userId: 7,
    });
    expect((await sendIssueEvent(payload)).statusCode).toBe(200);
    expect(stack.otrs.tickets.find((t) => t.TicketID === ticket.TicketID)?.DynamicFields.RedmineID).toBe(
      String(issue.id),
    );
    expect(stack.otrs.tickets.find((t) => t.TicketID === ticket.TicketID)?.State).toBe("Em Atendimento");
  });

  it("moves the ticket to the done state with one internal note holding the developer's notes", async () => {
    const { ticket, issue } = await ticketInDevelopment();
    expect(
      (await developerSets(issue.id, { status_id: DONE, notes: "Corrigido na versão 2.3.1" })).statusCode,
    ).toBe(200);
    const current = stack.otrs.tickets.find((t) => t.TicketID === ticket.TicketID)!;
    expect(current.State).toBe("Aguardando deploy");
    const notes = internalNotes(ticket.TicketID);
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatchObject({ IsVisibleForCustomer: 0, CommunicationChannel: "Internal" });
    expect(notes[0]!.Body).toContain("Corrigido na versão 2.3.1");
  });

  it("adds no second note and no Redmine write for redeliveries, poller hits and the OTRS echo", async () => {
    const { ticket, issue } = await ticketInDevelopment();
    const payload = stack.redmine.personUpdates(issue.id, { status_id: DONE, notes: "Pronto", userId: 7 });
    const answers = await Promise.all(Array.from({ length: 10 }, () => sendIssueEvent(payload)));
    expect(answers.every((a) => a.statusCode === 200 || a.statusCode === 202)).toBe(true);
    await poll();
    // OTRS reports the bridge's own state change back.
    const echo = { TicketID: ticket.TicketID, OldTicketData: { State: "Em Desenvolvimento" } };
    const redminePuts = stack.redmine.count("PUT", /^\/issues\//);
    expect((await sendTicketEvent(echo)).statusCode).toBeLessThan(300);
    await stack.drainJobs({ timeoutMs: 60_000 });
    expect(internalNotes(ticket.TicketID)).toHaveLength(1);
    expect(stack.redmine.count("PUT", /^\/issues\//)).toBe(redminePuts);
    expect(stack.otrs.tickets.find((t) => t.TicketID === ticket.TicketID)?.State).toBe("Aguardando deploy");
  }, 90_000);

  it("maps further statuses from the table, and takes no action for a status without mapping", async () => {
    const { ticket, issue } = await ticketInDevelopment();
    const otrsWrites = stack.otrs.count("TicketUpdate");
    await developerSets(issue.id, { status_id: 2 });
    expect(stack.otrs.count("TicketUpdate")).toBe(otrsWrites);
    await developerSets(issue.id, { status_id: 5 });
    expect(stack.otrs.tickets.find((t) => t.TicketID === ticket.TicketID)?.State).toBe("Aberto");
    // The reopen that the bridge itself caused in OTRS does not bounce back to Redmine.
    const echo = { TicketID: ticket.TicketID, OldTicketData: { State: "Em Desenvolvimento" } };
    expect((await sendTicketEvent(echo)).statusCode).toBe(200);
    expect(stack.redmine.issues.find((i) => i.id === issue.id)?.status_id).toBe(5);
  });

  it("finds changes by polling when the webhook never came, and moves its cursor", async () => {
    const { ticket, issue } = await ticketInDevelopment();
    stack.redmine.personUpdates(issue.id, { status_id: DONE, notes: "Via poller", userId: 7 });
    const first = (await poll()) as { queued: number };
    expect(first.queued).toBeGreaterThanOrEqual(1);
    await stack.drainJobs();
    expect(stack.otrs.tickets.find((t) => t.TicketID === ticket.TicketID)?.State).toBe("Aguardando deploy");
    expect(internalNotes(ticket.TicketID)).toHaveLength(1);
    await poll();
    await stack.drainJobs();
    expect(internalNotes(ticket.TicketID)).toHaveLength(1);
  });
});

describe("Redmine quirks", () => {
  it("takes an issue whose custom field and description were never set (null in Redmine 5) for one naming no ticket", async () => {
    const { issue, payload } = stack.redmine.personCreates({
      project_id: 1,
      subject: "Sem chamado",
      userId: 7,
    });
    expect(issue.description).toBeNull();
    expect((await sendIssueEvent(payload)).statusCode).toBe(200);
    expect(stack.redmine.count("GET", `/issues/${issue.id}.json`)).toBe(1);
    expect(stack.otrs.count("TicketSearch") + stack.otrs.count("TicketUpdate")).toBe(0);
  });

  it("fails the poll while Redmine does not know the API key (it lists as the anonymous user: 200, no issues), and finds the change once the key works again", async () => {
    const { ticket, issue } = await ticketInDevelopment();
    await poll();
    await stack.drainJobs();
    stack.redmine.personUpdates(issue.id, { status_id: DONE, notes: "Durante a troca da chave", userId: 7 });
    stack.redmine.revokeApiKey(SECRETS.REDMINE_API_KEY);
    try {
      await expect(poll()).rejects.toThrow(/API key/);
    } finally {
      stack.redmine.restoreApiKey(SECRETS.REDMINE_API_KEY);
    }
    expect((await poll()) as { queued: number }).toMatchObject({ queued: 1 });
    await stack.drainJobs();
    expect(stack.otrs.tickets.find((t) => t.TicketID === ticket.TicketID)?.State).toBe("Aguardando deploy");
  });
});

describe("OTRS quirks and bad input", () => {
  it("treats OTRS's HTTP 200 with an Error object as a failure, naming OTRS's error code", async () => {
    const ticket = devTicket();
    const event = stack.otrs.agentSetState(ticket.TicketID, "Em Desenvolvimento", "agent1");
    stack.otrs.failNext(
      1,
      {
        kind: "error200",
        code: "TicketGet.AccessDenied",
        message: "TicketGet: User does not have access to the ticket!",
      },
      { operation: "TicketGet" },
    );
    // OTRS cannot fix this by sending again: the job waits in the dead-letter queue with the reason.
    const answer = await sendTicketEvent(event);
    expect(answer.statusCode).toBe(202);
    expect(JSON.parse(answer.body ?? "{}")).toMatchObject({ status: "failed", error: { code: "not_found" } });
    expect(stack.redmine.issues).toHaveLength(0);
    stack.otrs.failNext(
      1,
      {
        kind: "error200",
        code: "TicketUpdate.InvalidParameter",
        message: "TicketUpdate: DynamicField->Name parameter is invalid!",
      },
      { operation: "TicketUpdate" },
    );
    const refused = await sendTicketEvent(event);
    expect(refused.statusCode).toBe(202);
    expect(JSON.parse(refused.body ?? "{}").error.upstream.code).toBe("TicketUpdate.InvalidParameter");
    const letters = await readDeadLetters(stack.sqs, stack.resources.deadLetterQueueUrl);
    const reasons = letters.flatMap((l) => (l.kind === "letter" ? [JSON.stringify(l.letter.lastError)] : []));
    expect(reasons.some((reason) => reason.includes("TicketUpdate.InvalidParameter"))).toBe(true);
  });

  it("dead-letters at once, in OTRS's words, what OTRS's operation fails with a fault; a plain 500 is retried", async () => {
    const message = "Ticket could not be updated, please contact the system administrator";
    const ticket = devTicket();
    const event = stack.otrs.agentSetState(ticket.TicketID, "Em Desenvolvimento", "agent1");
    stack.otrs.failNext(1, { kind: "fault", message }, { operation: "TicketUpdate" });
    const refused = await sendTicketEvent(event);
    expect(refused.statusCode).toBe(202);
    const answer = JSON.parse(refused.body ?? "{}");
    expect(answer).toMatchObject({
      status: "failed",
      error: {
        code: "upstream_refused",
        upstream: { system: "otrs:main", status: 500, code: "Server", message },
      },
    });
    expect(stack.otrs.count("TicketUpdate")).toBe(1);
    const letters = await readDeadLetters(stack.sqs, stack.resources.deadLetterQueueUrl);
    const letter = letters.find((l) => l.kind === "letter" && l.letter.job.id === answer.job_id);
    if (letter?.kind !== "letter") throw new Error("the refused job is not in the dead-letter queue");
    expect(letter.letter.attempts).toBe(1);
    expect(letter.letter.lastError.message).toContain(message);

    // The same 500 without OTRS's fault is an outage: queued, retried, done once OTRS answers.
    const other = devTicket();
    const next = stack.otrs.agentSetState(other.TicketID, "Em Desenvolvimento", "agent1");
    stack.otrs.failNext(1, { kind: "status", status: 500 }, { operation: "TicketUpdate" });
    const queued = await sendTicketEvent(next);
    expect(queued.statusCode).toBe(202);
    expect(JSON.parse(queued.body ?? "{}")).not.toHaveProperty("status");
    await stack.drainJobs({ timeoutMs: 30_000 });
    expect(stack.otrs.tickets.find((t) => t.TicketID === other.TicketID)?.DynamicFields.RedmineID).toMatch(
      /^\d+$/,
    );
  }, 60_000);

  it("logs in again once when OTRS has expired the session", async () => {
    await ticketInDevelopment();
    const logins = stack.otrs.count("SessionCreate");
    stack.otrs.expireSessions();
    const ticket = devTicket();
    const event = stack.otrs.agentSetState(ticket.TicketID, "Em Desenvolvimento", "agent1");
    expect((await sendTicketEvent(event)).statusCode).toBe(200);
    expect(stack.otrs.count("SessionCreate")).toBe(logins + 1);
  });

  it("answers 400 naming TicketID for a payload without it, and 401 without the secret", async () => {
    const bad = await sendTicketEvent({ Event: "TicketStateUpdate" });
    expect(bad.statusCode).toBe(400);
    expect(JSON.parse(bad.body ?? "{}").error.fields[0].path).toBe("TicketID");
    const anonymous = await sendTicketEvent({ TicketID: "1" }, { "content-type": "application/json" });
    expect(anonymous.statusCode).toBe(401);
    const badIssue = await sendIssueEvent({ payload: { action: "updated" } });
    expect(badIssue.statusCode).toBe(400);
  });

  it("takes Redmine's own webhook, signed with the signing secret (X-Redmine-Signature-256), without a token", async () => {
    const ticket = devTicket();
    const { issue } = stack.redmine.personCreates({
      project_id: 1,
      subject: "Assinado",
      custom_fields: { [CF]: ticket.TicketNumber },
      userId: 7,
    });
    const raw = JSON.stringify({
      type: "issue.created",
      timestamp: new Date().toISOString(),
      data: { issue: { id: issue.id, subject: "Assinado" } },
    });
    const sign = (body: string, key: string = SECRETS.REDMINE_WEBHOOK_SECRET) =>
      `sha256=${createHmac("sha256", key).update(body).digest("hex")}`;
    const send = (signature: string | undefined, body = raw, extra: Record<string, string> = {}) =>
      issueEvents(
        httpEvent({
          method: "POST",
          path: "/redmine/issue-events",
          rawBody: body,
          headers: {
            "content-type": "application/json",
            "user-agent": "Redmine",
            ...(signature === undefined ? {} : { "x-redmine-signature-256": signature }),
            ...extra,
          },
        }),
      );
    const anonymous = await send(undefined);
    expect(anonymous.statusCode).toBe(401);
    const refusal = (answer: { body?: string }) => {
      const { request_id: _, ...rest } = JSON.parse(answer.body ?? "{}");
      return rest;
    };
    for (const bad of [
      sign(raw, SECRETS.OTRS_REDMINE_TOKEN),
      sign(`${raw} `),
      sign(raw).slice("sha256=".length),
      sign(raw).slice(0, -1),
      "sha256=",
    ]) {
      const answer = await send(bad);
      expect(answer.statusCode, bad).toBe(401);
      expect(refusal(answer), bad).toEqual(refusal(anonymous));
    }
    // A bad signature is refused even beside the right token: what is presented must be right.
    expect(
      (await send(sign(raw, "wrong"), raw, { "x-deskbridge-token": SECRETS.OTRS_REDMINE_TOKEN })).statusCode,
    ).toBe(401);
    expect(stack.redmine.issues.find((i) => i.id === issue.id)).toBeDefined();
    expect(
      stack.otrs.tickets.find((t) => t.TicketID === ticket.TicketID)?.DynamicFields.RedmineID,
    ).toBeFalsy();

    const signed = await send(sign(raw));
    expect(signed.statusCode).toBe(200);
    expect(stack.otrs.tickets.find((t) => t.TicketID === ticket.TicketID)?.DynamicFields.RedmineID).toBe(
      String(issue.id),
    );
  });

  it("accepts the secret as the password of HTTP Basic auth, as OTRS's requester sends it", async () => {
    const ticket = devTicket();
    const basic = `Basic ${Buffer.from(`otrs:${SECRETS.OTRS_REDMINE_TOKEN}`).toString("base64")}`;
    const answer = await sendTicketEvent(
      { TicketID: ticket.TicketID },
      { "content-type": "application/json", authorization: basic },
    );
    expect(answer.statusCode).toBe(200);
  });

  it("takes the ticket id from the path of a controller /otrs/ticket-events/:TicketID, which takes it out of the body", async () => {
    const ticket = devTicket();
    const event = stack.otrs.agentSetState(ticket.TicketID, "Em Desenvolvimento", "agent1");
    const body = stack.otrs.requesterRequest("/otrs/ticket-events/:TicketID", event).body ?? "{}";
    expect(JSON.parse(body)).not.toHaveProperty("TicketID");
    const answer = await sendThroughController(event);
    expect(answer.statusCode).toBe(200);
    expect(stack.redmine.issues.map((i) => i.custom_fields[CF])).toEqual([ticket.TicketNumber]);
    // An event whose only field was TicketID comes with no body at all: accepted (it names no previous
    // state, so it is no change into the trigger state).
    const other = devTicket();
    stack.otrs.agentSetState(other.TicketID, "Em Desenvolvimento", "agent1");
    expect((await sendThroughController({ TicketID: other.TicketID })).statusCode).toBe(200);
    expect(stack.otrs.calls.some((call) => call.path === `/Ticket/${other.TicketID}`)).toBe(true);
  });

  it("validates the path's ticket id as it validates TicketID, and lets it win over the body's", async () => {
    const post = (ticketId: string, body: unknown) =>
      ticketEvents(
        httpEvent({
          method: "POST",
          path: `/otrs/ticket-events/${encodeURIComponent(ticketId)}`,
          pathParameters: { ticketId },
          body,
          headers: auth,
        }),
      );
    const fields = async (ticketId: string, body: unknown = {}) => {
      const answer = await post(ticketId, body);
      expect(answer.statusCode, ticketId).toBe(400);
      return JSON.parse(answer.body ?? "{}").error.fields;
    };
    for (const bad of ["abc", "0", "-1", "1.5", "9007199254740993", " "]) {
      expect(await fields(bad)).toEqual([{ path: "ticketId", message: "must be a numeric TicketID" }]);
    }
    // Ticket::Generic's data has no top-level TicketID: REST.pm leaves the placeholder as it is.
    expect(await fields(":TicketID")).toEqual([
      { path: "ticketId", message: expect.stringContaining("placeholder") },
    ]);
    // Both the path and the body wrong: both named.
    expect(await fields("abc", { OldTicketData: "open" })).toEqual([
      { path: "ticketId", message: "must be a numeric TicketID" },
      { path: "OldTicketData", message: expect.any(String) },
    ]);
    expect(stack.redmine.issues).toHaveLength(0);

    const ticket = devTicket();
    const event = stack.otrs.agentSetState(ticket.TicketID, "Em Desenvolvimento", "agent1");
    const unrelated = stack.otrs.addTicket({ Title: "Outro", Queue: "Raw", State: "new" });
    expect((await post(ticket.TicketID, { ...event, TicketID: unrelated.TicketID })).statusCode).toBe(200);
    expect(stack.redmine.issues.map((i) => i.custom_fields[CF])).toEqual([ticket.TicketNumber]);
  });

  it("accepts Znuny's Ticket::Generic payload", async () => {
    const ticket = devTicket();
    stack.otrs.agentSetState(ticket.TicketID, "Em Desenvolvimento", "agent1");
    const generic = {
      Event: {
        Event: "TicketStateUpdate",
        TicketID: ticket.TicketID,
        OldTicketData: { State: "Em Atendimento" },
      },
      Ticket: {
        TicketID: Number(ticket.TicketID),
        TicketNumber: ticket.TicketNumber,
        State: "Em Desenvolvimento",
      },
    };
    expect((await sendTicketEvent(generic)).statusCode).toBe(200);
    expect(stack.redmine.issues).toHaveLength(1);
  });
});

void DEVELOPER_KEY;
void lambdaContext;
