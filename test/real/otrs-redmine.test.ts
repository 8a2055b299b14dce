import { execFile } from "node:child_process";
import { promisify } from "node:util";
import * as v from "valibot";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LambdaHttpHandler } from "../../lib/core/http.ts";
import { httpEvent, SECRETS, type Stack, setupStack } from "../helpers/stack.ts";
import { type RealRedmine, startRealRedmine } from "./servers/redmine.ts";

const run = promisify(execFile);

/**
 * The README's OTRS/Znuny ↔ Redmine walk-through against Redmine 5.0.4 (Debian's), with the OTRS fake
 * (no OTRS runs here): webhooks answered from the queue as in production, the worker in-process, and
 * the Redmine webhook plugin's call made from the real issue (the route reads only its id).
 */
let redmine: RealRedmine;
let stack: Stack;
let ticketEvents: LambdaHttpHandler;
let issueEvents: LambdaHttpHandler;

const IssueSchema = v.object({
  id: v.number(),
  subject: v.string(),
  status: v.object({ id: v.number() }),
  project: v.object({ id: v.number() }),
  assigned_to: v.optional(v.object({ id: v.number() })),
  custom_fields: v.array(v.object({ id: v.number(), value: v.nullable(v.string()) })),
});

beforeAll(async () => {
  redmine = await startRealRedmine();
  const { statuses, users, trackers, customField } = redmine;
  stack = await setupStack({
    jobs: { webhookAck: "queue", maxAttempts: 2 },
    configure(config) {
      config.systems.redmine.main.url = redmine.url;
      config.systems.redmine.main.timeoutMs = 10_000;
      Object.assign(config.integrations.otrsRedmine, {
        redmineCustomFieldId: customField,
        queueProjects: { Desenvolvimento: "devteam", Suporte: "ops" },
        issue: { trackerId: trackers.Bug, initialStatusId: statuses.New, assigneeId: users.jane },
        done: {
          redmineStatusId: statuses.Resolved,
          otrsState: "Aguardando deploy",
          noteSubject: "Retorno do Desenvolvimento",
        },
        stateMap: {
          otrsToRedmine: { "Fechado com sucesso": null },
          redmineToOtrs: { [String(statuses.Closed)]: "Aberto" },
        },
        poller: { overlapSeconds: 120, initialLookbackHours: 24 },
      });
    },
  });
  process.env.REDMINE_API_KEY = redmine.keys.deskbridge;
  ticketEvents = (await import("../../functions/otrs-redmine/ticket-events.ts")).handler;
  issueEvents = (await import("../../functions/otrs-redmine/issue-events.ts")).handler;
}, 600_000);

afterAll(async () => {
  await stack?.close();
  await redmine?.stop();
});

const auth = { "content-type": "application/json", "x-deskbridge-token": SECRETS.OTRS_REDMINE_TOKEN };
const drain = () => stack.drainJobs({ idleMs: 1000, timeoutMs: 120_000 });
const pollRedmine = async () => (await import("../../functions/otrs-redmine/poll-redmine.ts")).handler();

async function sendTicketEvent(body: unknown): Promise<void> {
  const answer = await ticketEvents(
    httpEvent({ method: "POST", path: "/otrs/ticket-events", body, headers: auth }),
  );
  expect(answer.statusCode, answer.body).toBeLessThan(300);
  await drain();
}
/** What the redmine_webhook plugin posts for an issue (the route reads only the id; the job reads Redmine). */
async function sendIssueEvent(issueId: number): Promise<void> {
  const answer = await issueEvents(
    httpEvent({
      method: "POST",
      path: "/redmine/issue-events",
      body: {
        payload: { action: "updated", url: `${redmine.url}/issues/${issueId}`, issue: { id: issueId } },
      },
      query: { token: SECRETS.OTRS_REDMINE_TOKEN },
      headers: { "content-type": "application/json" },
    }),
  );
  expect(answer.statusCode, answer.body).toBeLessThan(300);
  await drain();
}
async function issue(id: number) {
  const read = await redmine.as("deskbridge", "GET", `issues/${id}.json`);
  return v.parse(v.object({ issue: IssueSchema }), read.body).issue;
}
async function issuesNaming(ticketNumber: string) {
  const read = await redmine.as(
    "deskbridge",
    "GET",
    `issues.json?status_id=*&cf_${redmine.customField}=${encodeURIComponent(ticketNumber)}`,
  );
  return v.parse(v.object({ issues: v.array(IssueSchema) }), read.body).issues;
}
const otrsTicket = (id: string) => stack.otrs.tickets.find((ticket) => ticket.TicketID === id);
const notes = (id: string) =>
  otrsTicket(id)?.Articles.filter((article) => article.Subject === "Retorno do Desenvolvimento") ?? [];

/** A ticket an agent moves into the trigger state: the bridge opens its issue. */
async function ticketInDevelopment(queue = "Desenvolvimento") {
  const ticket = stack.otrs.addTicket({
    Title: "Relatório de vendas não abre",
    Queue: queue,
    State: "Em Atendimento",
    Articles: [
      { Subject: "Erro ao abrir relatório", Body: "O relatório de vendas mostra erro 500 desde ontem." },
    ],
  });
  await sendTicketEvent(stack.otrs.agentSetState(ticket.TicketID, "Em Desenvolvimento", "agent1"));
  const [made] = await issuesNaming(ticket.TicketNumber);
  if (!made) throw new Error(`no Redmine issue names ${ticket.TicketNumber}`);
  return { ticket, issue: made };
}
/** Jane changes the issue in Redmine. */
async function janeSets(
  issueId: number,
  change: { status_id?: number; notes?: string; private_notes?: boolean },
) {
  const put = await redmine.as("jane", "PUT", `issues/${issueId}.json`, { issue: change });
  expect(put.status, JSON.stringify(put.body)).toBe(204);
}

describe("OTRS → Redmine 5, real", () => {
  it("opens the issue with the OTRS ticket number in its custom field, assigned as configured, and writes its id back", async () => {
    const { ticket, issue: made } = await ticketInDevelopment();
    expect(made).toMatchObject({
      subject: "Erro ao abrir relatório",
      project: { id: redmine.projects.devteam },
      status: { id: redmine.statuses.New },
      assigned_to: { id: redmine.users.jane },
    });
    expect(made.custom_fields.find((field) => field.id === redmine.customField)?.value).toBe(
      ticket.TicketNumber,
    );
    expect(otrsTicket(ticket.TicketID)?.DynamicFields.RedmineID).toBe(String(made.id));
    // The same event again opens nothing more.
    await sendTicketEvent({ TicketID: ticket.TicketID, OldTicketData: { State: "Em Atendimento" } });
    expect(await issuesNaming(ticket.TicketNumber)).toHaveLength(1);
  });

  it("brings the done status back by the poller alone: the done state and one internal note, once", async () => {
    const { ticket, issue: made } = await ticketInDevelopment();
    await janeSets(made.id, { status_id: redmine.statuses.Resolved, notes: "Corrigido na versão 2.3.1" });
    await pollRedmine();
    await drain();
    expect(otrsTicket(ticket.TicketID)?.State).toBe("Aguardando deploy");
    expect(notes(ticket.TicketID)).toHaveLength(1);
    expect(notes(ticket.TicketID)[0]?.Body).toContain("Corrigido na versão 2.3.1");
    await pollRedmine();
    await drain();
    expect(notes(ticket.TicketID)).toHaveLength(1);
  });

  it("brings it back by the webhook too, and a repeated webhook adds no second note", async () => {
    const { ticket, issue: made } = await ticketInDevelopment();
    await janeSets(made.id, { status_id: redmine.statuses.Resolved, notes: "Pronto" });
    await sendIssueEvent(made.id);
    await sendIssueEvent(made.id);
    expect(otrsTicket(ticket.TicketID)?.State).toBe("Aguardando deploy");
    expect(notes(ticket.TicketID)).toHaveLength(1);
  });

  it("sends the issue back to New when the ticket is reopened", async () => {
    const { ticket, issue: made } = await ticketInDevelopment();
    await janeSets(made.id, { status_id: redmine.statuses["In Progress"] });
    await sendTicketEvent(stack.otrs.agentSetState(ticket.TicketID, "Aberto", "agent1"));
    expect((await issue(made.id)).status.id).toBe(redmine.statuses.New);
  });

  it("links an issue a developer made that names a ticket, found by the poller's updated_on filter", async () => {
    const ticket = stack.otrs.addTicket({
      Title: "Feito à mão",
      Queue: "Desenvolvimento",
      State: "Em Atendimento",
    });
    const made = await redmine.as("jane", "POST", "issues.json", {
      issue: {
        project_id: redmine.projects.devteam,
        tracker_id: redmine.trackers.Bug,
        subject: "Feito à mão",
        custom_fields: [{ id: redmine.customField, value: ticket.TicketNumber }],
      },
    });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    const id = v.parse(v.object({ issue: v.object({ id: v.number() }) }), made.body).issue.id;
    await pollRedmine();
    await drain();
    expect(otrsTicket(ticket.TicketID)?.DynamicFields.RedmineID).toBe(String(id));
  });

  it("dead-letters a reopen the workflow refuses, naming why, and changes nothing", async () => {
    // In "ops" the bridge is a Developer: Redmine's default workflow never lets it back to New.
    const { ticket, issue: made } = await ticketInDevelopment("Suporte");
    await janeSets(made.id, { status_id: redmine.statuses["In Progress"] });
    const answer = await ticketEvents(
      httpEvent({
        method: "POST",
        path: "/otrs/ticket-events",
        body: stack.otrs.agentSetState(ticket.TicketID, "Aberto", "agent1"),
        headers: auth,
      }),
    );
    expect(answer.statusCode).toBeLessThan(300);
    await drain();
    expect((await issue(made.id)).status.id).toBe(redmine.statuses["In Progress"]);
    const letters = (await stack.deadLetters()) as { lastError: { message: string } }[];
    expect(letters.map((letter) => letter.lastError.message).join("\n")).toMatch(/status/i);
  });

  it("carries the conversation both ways once: Jane's note with its file to the ticket, her private note nowhere, the customer's reply with a screenshot to the issue; nothing echoes", async () => {
    const { ticket, issue: made } = await ticketInDevelopment();
    const before = otrsTicket(ticket.TicketID)?.Articles.length ?? 0;
    // Jane uploads a file and adds it with her question (POST /uploads.json, then the token on the PUT).
    const uploaded = await fetch(`${redmine.url}/uploads.json?filename=trace.txt`, {
      method: "POST",
      headers: { "X-Redmine-API-Key": redmine.keys.jane ?? "", "Content-Type": "application/octet-stream" },
      body: "NullPointerException at Relatorio.java:42\n",
    });
    expect(uploaded.status).toBe(201);
    const { upload } = v.parse(v.object({ upload: v.object({ token: v.string() }) }), await uploaded.json());
    const put = await redmine.as("jane", "PUT", `issues/${made.id}.json`, {
      issue: {
        notes: "Consegue mandar um print da tela?",
        uploads: [{ token: upload.token, filename: "trace.txt" }],
      },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(204);
    await janeSets(made.id, { notes: "senha do banco de testes: hunter2", private_notes: true });
    await sendIssueEvent(made.id);
    await sendIssueEvent(made.id);
    await pollRedmine();
    await drain();
    const copied = otrsTicket(ticket.TicketID)?.Articles.slice(before) ?? [];
    expect(copied).toHaveLength(1);
    expect(copied[0]).toMatchObject({ IsVisibleForCustomer: 0, CommunicationChannel: "Internal" });
    expect(copied[0]?.Body).toContain("Jane Dev wrote in Redmine");
    expect(copied[0]?.Body).toContain("Consegue mandar um print da tela?");
    expect(copied[0]?.Attachments.map((a) => [a.Filename, a.Content.toString()])).toEqual([
      ["trace.txt", "NullPointerException at Relatorio.java:42\n"],
    ]);
    expect(otrsTicket(ticket.TicketID)?.Articles.some((a) => a.Body.includes("hunter2"))).toBe(false);

    // The customer answers by e-mail with a screenshot; OTRS reports the article (twice).
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff, 0xfe, 0x80]);
    const { article, event } = stack.otrs.addArticle(ticket.TicketID, {
      Body: "Segue o print.\n\nOn Tue, Dec 1, 2026 at 10:00 Suporte wrote:\n> Consegue mandar um print?",
      Attachments: [{ Filename: "tela.png", ContentType: "image/png", Content: png }],
    });
    await sendTicketEvent(event);
    await sendTicketEvent(event);
    const read = await redmine.as("deskbridge", "GET", `issues/${made.id}.json?include=journals,attachments`);
    const shown = v.parse(
      v.object({
        issue: v.object({
          journals: v.array(
            v.object({ id: v.number(), notes: v.nullable(v.string()), private_notes: v.boolean() }),
          ),
          attachments: v.array(
            v.object({ id: v.number(), filename: v.string(), content_type: v.nullable(v.string()) }),
          ),
        }),
      }),
      read.body,
    ).issue;
    const replies = shown.journals.filter((j) =>
      (j.notes ?? "").includes(`[deskbridge: OTRS article ${article.ArticleID}]`),
    );
    expect(replies).toHaveLength(1);
    expect(replies[0]?.notes).toContain("Segue o print.");
    expect(replies[0]?.notes).not.toContain("Consegue mandar um print?");
    const screenshot = shown.attachments.find((a) => a.filename === "tela.png");
    expect(screenshot?.content_type).toBe("image/png");
    const download = await fetch(`${redmine.url}/attachments/download/${screenshot?.id}`, {
      headers: { "X-Redmine-API-Key": redmine.keys.deskbridge ?? "" },
    });
    expect(Buffer.from(await download.arrayBuffer()).equals(png)).toBe(true);

    // Nothing comes back: Redmine's webhook and the poller for the bridge's note, OTRS's for its article.
    const articles = otrsTicket(ticket.TicketID)?.Articles.length;
    const journals = shown.journals.length;
    await sendIssueEvent(made.id);
    await pollRedmine();
    await drain();
    await sendTicketEvent({ TicketID: ticket.TicketID, ArticleID: copied[0]?.ArticleID });
    expect(otrsTicket(ticket.TicketID)?.Articles.length).toBe(articles);
    const after = await redmine.as("deskbridge", "GET", `issues/${made.id}.json?include=journals`);
    expect((after.body as { issue: { journals: unknown[] } }).issue.journals).toHaveLength(journals);
  });

  it("backfills with the CLI: issues naming tickets are linked once, and a second run changes nothing", async () => {
    const ticket = stack.otrs.addTicket({
      Title: "Backfill",
      Queue: "Desenvolvimento",
      State: "Em Atendimento",
    });
    const made = await redmine.as("jane", "POST", "issues.json", {
      issue: {
        project_id: redmine.projects.devteam,
        tracker_id: redmine.trackers.Bug,
        subject: "Backfill",
        custom_fields: [{ id: redmine.customField, value: ticket.TicketNumber }],
      },
    });
    const id = v.parse(v.object({ issue: v.object({ id: v.number() }) }), made.body).issue.id;
    const since = new Date(Date.now() - 3600_000).toISOString().slice(0, 10);
    const backfill = () =>
      run(process.execPath, ["infra/cli/bin.mjs", "backfill", "otrs-redmine", "--since", since], {
        env: process.env,
        timeout: 120_000,
      }).catch((error: { stdout?: string; stderr?: string }) => {
        throw new Error(`backfill failed:\n${error.stdout ?? ""}${error.stderr ?? ""}`);
      });
    const first = await backfill();
    expect(first.stdout).toMatch(/issue\(s\) naming an OTRS ticket: [1-9]\d* linked/);
    expect(otrsTicket(ticket.TicketID)?.DynamicFields.RedmineID).toBe(String(id));
    const second = await backfill();
    expect(second.stdout).toMatch(/: 0 linked, 0 state\(s\) applied, \d+ unchanged, 0 failed/);
  });
});
