import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { LambdaHttpHandler } from "../../lib/core/http.ts";
import { httpEvent, SECRETS, type Stack, setupStack } from "../helpers/stack.ts";

let stack: Stack;
let ticketEvents: LambdaHttpHandler;
let issueEvents: LambdaHttpHandler;
let poll: () => Promise<unknown>;

const CF = 5;
const MAX_BYTES = 64 * 1024;

beforeAll(async () => {
  stack = await setupStack({
    configure: (config) => {
      const settings = config.integrations.otrsRedmine as Record<string, unknown>;
      settings.conversation = { maxAttachmentBytes: MAX_BYTES };
    },
  });
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
const sendTicketEvent = (body: unknown) =>
  ticketEvents(httpEvent({ method: "POST", path: "/otrs/ticket-events", body, headers: auth }));
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

/** A ticket escalated to Redmine: the issue the bridge made for it. */
async function linkedPair() {
  const ticket = stack.otrs.addTicket({
    Title: "Relatório de vendas não abre",
    Queue: "Desenvolvimento",
    State: "Em Atendimento",
    CustomerUserID: "maria.souza",
    CustomerName: "Maria Souza",
    Articles: [{ Subject: "Erro ao abrir relatório", Body: "O relatório de vendas mostra erro 500." }],
  });
  const event = stack.otrs.agentSetState(ticket.TicketID, "Em Desenvolvimento", "agent1");
  expect((await sendTicketEvent(event)).statusCode).toBe(200);
  const issue = stack.redmine.issues.find((i) => i.custom_fields[CF] === ticket.TicketNumber);
  if (!issue) throw new Error("no issue was created");
  return { ticket, issue };
}

const articlesOf = (ticketId: string) =>
  stack.otrs.tickets.find((t) => t.TicketID === ticketId)?.Articles ?? [];
const notesOf = (issueId: number) =>
  stack.redmine.issues.find((i) => i.id === issueId)?.journals.filter((j) => j.notes.trim() !== "") ?? [];
const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff, 0xfe, 0x10, 0x80]);

describe("Redmine → OTRS: journals become articles", () => {
  it("brings a developer's note to the ticket once, as an internal note naming its author, however often it is reported", async () => {
    const { ticket, issue } = await linkedPair();
    const before = articlesOf(ticket.TicketID).length;
    const payload = stack.redmine.personUpdates(issue.id, {
      notes: "Consegue mandar um print da tela de erro?",
      userId: 7,
    });
    const answers = await Promise.all(Array.from({ length: 5 }, () => sendIssueEvent(payload)));
    expect(answers.every((a) => a.statusCode === 200 || a.statusCode === 202)).toBe(true);
    await poll();
    await stack.drainJobs({ timeoutMs: 30_000 });
    const added = articlesOf(ticket.TicketID).slice(before);
    expect(added).toHaveLength(1);
    expect(added[0]).toMatchObject({
      IsVisibleForCustomer: 0,
      CommunicationChannel: "Internal",
      SenderType: "agent",
    });
    expect(added[0]?.Body).toContain("Jane Dev wrote in Redmine");
    expect(added[0]?.Body).toContain("Consegue mandar um print da tela de erro?");
    // OTRS reports the bridge's article (ArticleCreate): it does not come back as a journal.
    const puts = stack.redmine.count("PUT", /^\/issues\//);
    expect(
      (await sendTicketEvent({ TicketID: ticket.TicketID, ArticleID: added[0]?.ArticleID })).statusCode,
    ).toBe(200);
    expect(stack.redmine.count("PUT", /^\/issues\//)).toBe(puts);
    expect(notesOf(issue.id)).toHaveLength(1);
  }, 60_000);

  it("keeps a private note in Redmine, and leaves it out of the done note", async () => {
    const { ticket, issue } = await linkedPair();
    const before = articlesOf(ticket.TicketID).length;
    const secret = "senha do banco: hunter2";
    await sendIssueEvent(
      stack.redmine.personUpdates(issue.id, { notes: secret, private_notes: true, userId: 7 }),
    );
    await sendIssueEvent(
      stack.redmine.personUpdates(issue.id, {
        status_id: 4,
        notes: "interno",
        private_notes: true,
        userId: 7,
      }),
    );
    const added = articlesOf(ticket.TicketID).slice(before);
    expect(added.map((a) => a.Subject)).toEqual(["Retorno do Desenvolvimento"]);
    expect(added.some((a) => a.Body.includes(secret) || a.Body.includes("interno"))).toBe(false);
  });

  it("copies the files a developer adds as article attachments, and names those over the size limit instead", async () => {
    const { ticket, issue } = await linkedPair();
    const before = articlesOf(ticket.TicketID).length;
    const big = Buffer.alloc(MAX_BYTES + 1, 7);
    await sendIssueEvent(
      stack.redmine.personUpdates(issue.id, {
        notes: "Segue o log e o dump.",
        files: [
          { filename: "erro.png", content_type: "image/png", content: png },
          { filename: "dump.bin", content_type: "application/octet-stream", content: big },
        ],
        userId: 7,
      }),
    );
    const added = articlesOf(ticket.TicketID).slice(before);
    expect(added).toHaveLength(1);
    expect(added[0]?.Attachments.map((a) => [a.Filename, a.ContentType])).toEqual([
      ["erro.png", "image/png"],
    ]);
    expect(added[0]?.Attachments[0]?.Content.equals(png)).toBe(true);
    expect(added[0]?.Body).toContain("dump.bin");
    expect(added[0]?.Body).toContain("not copied");
  });
});

describe("OTRS → Redmine: articles become notes", () => {
  it("brings the customer's reply with its attachment to the issue once, quoting trimmed, naming the customer; nothing echoes back", async () => {
    const { ticket, issue } = await linkedPair();
    const { article, event } = stack.otrs.addArticle(ticket.TicketID, {
      Body: "Segue o print.\n\nEm 03/12/2026 10:00, Suporte escreveu:\n> Consegue mandar um print?\n> obrigado",
      Attachments: [{ Filename: "tela.png", ContentType: "image/png", Content: png }],
    });
    const answers = await Promise.all(Array.from({ length: 5 }, () => sendTicketEvent(event)));
    expect(answers.every((a) => a.statusCode === 200 || a.statusCode === 202)).toBe(true);
    await stack.drainJobs({ timeoutMs: 30_000 });
    const notes = notesOf(issue.id);
    expect(notes).toHaveLength(1);
    expect(notes[0]?.notes).toContain("Maria Souza (customer) wrote in OTRS ticket");
    expect(notes[0]?.notes).toContain("Segue o print.");
    expect(notes[0]?.notes).not.toContain("Consegue mandar");
    expect(notes[0]?.notes).toContain(`[deskbridge: OTRS article ${article.ArticleID}]`);
    const files = stack.redmine.attachments.filter((a) => a.issue_id === issue.id);
    expect(files.map((f) => [f.filename, f.content_type])).toEqual([["tela.png", "image/png"]]);
    expect(files[0]?.content.equals(png)).toBe(true);
    expect(notes[0]?.details).toEqual([
      { property: "attachment", name: String(files[0]?.id), old_value: null, new_value: "tela.png" },
    ]);
    // Redmine's webhook for the bridge's note (and the poller) bring nothing back to OTRS.
    const count = articlesOf(ticket.TicketID).length;
    await sendIssueEvent({ payload: { action: "updated", issue: { id: issue.id } } });
    await poll();
    await stack.drainJobs({ timeoutMs: 30_000 });
    expect(articlesOf(ticket.TicketID)).toHaveLength(count);
    expect(stack.redmine.count("POST", "/uploads.json")).toBe(1);
  }, 60_000);

  it("copies agent notes and leaves system notifications out", async () => {
    const { ticket, issue } = await linkedPair();
    stack.otrs.addArticle(ticket.TicketID, {
      Body: "Cliente confirmou o horário.",
      SenderType: "agent",
      CreatedBy: "agent1",
    });
    const { event } = stack.otrs.addArticle(ticket.TicketID, {
      Body: "Notificação automática: prazo de SLA próximo.",
      SenderType: "system",
    });
    expect((await sendTicketEvent(event)).statusCode).toBe(200);
    expect(notesOf(issue.id).map((j) => j.notes.split("\n")[2])).toEqual(["Cliente confirmou o horário."]);
  });

  it("writes one note when Redmine's answer to the note is lost, finding it by its marker on the retry", async () => {
    const { ticket, issue } = await linkedPair();
    stack.redmine.failNext(1, { kind: "drop-response" }, { method: "PUT" });
    const { event } = stack.otrs.addArticle(ticket.TicketID, { Body: "Funcionou depois da atualização?" });
    const answer = await sendTicketEvent(event);
    expect([200, 202]).toContain(answer.statusCode);
    await stack.drainJobs({ timeoutMs: 30_000 });
    expect(stack.redmine.faultsInjected().total).toBe(1);
    expect(notesOf(issue.id)).toHaveLength(1);
  }, 60_000);

  it("writes one article when OTRS's answer is lost, finding it by its marker on the retry", async () => {
    const { ticket, issue } = await linkedPair();
    const before = articlesOf(ticket.TicketID).length;
    stack.otrs.failNext(1, { kind: "drop-response" }, { operation: "TicketUpdate" });
    const answer = await sendIssueEvent(
      stack.redmine.personUpdates(issue.id, { notes: "Corrigido?", userId: 7 }),
    );
    expect([200, 202]).toContain(answer.statusCode);
    await stack.drainJobs({ timeoutMs: 30_000 });
    expect(stack.otrs.faultsInjected().total).toBe(1);
    expect(articlesOf(ticket.TicketID).slice(before)).toHaveLength(1);
  }, 60_000);

  it("does not copy the ticket's history from before the escalation", async () => {
    const { issue } = await linkedPair();
    await sendIssueEvent({ payload: { action: "updated", issue: { id: issue.id } } });
    expect(notesOf(issue.id)).toHaveLength(0);
  });
});

describe("the link lookup", () => {
  it("shows how many entries went each way, and the last one", async () => {
    const { ticket, issue } = await linkedPair();
    await sendIssueEvent(stack.redmine.personUpdates(issue.id, { notes: "Pergunta do dev", userId: 7 }));
    const { article, event } = stack.otrs.addArticle(ticket.TicketID, { Body: "Resposta do cliente" });
    await sendTicketEvent(event);
    const journal = notesOf(issue.id).at(-1);
    const { opsDeps } = await import("../../lib/ops/deps.ts");
    const { lookupLinks } = await import("../../lib/ops/lookup.ts");
    const found = await lookupLinks(opsDeps(), "redmine", String(issue.id));
    const conversation = found.links[0]?.aspects.find((a) => a.name === "conversation");
    expect(conversation?.summary).toEqual({
      toOtrs: 1,
      toRedmine: 1,
      last: `OTRS article ${article.ArticleID} → Redmine journal ${journal?.id}`,
    });
  });
});
