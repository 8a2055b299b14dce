import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { LambdaHttpHandler } from "../../lib/core/http.ts";
import { httpEvent, SECRETS, type Stack, setupStack } from "../helpers/stack.ts";

/** The conversation with every option turned the other way from its default. */
let stack: Stack;
let ticketEvents: LambdaHttpHandler;
let issueEvents: LambdaHttpHandler;

beforeAll(async () => {
  stack = await setupStack({
    configure: (config) => {
      const settings = config.integrations.otrsRedmine as Record<string, unknown>;
      settings.conversation = {
        redmineToOtrs: { publicVisibleForCustomer: true, privateNotes: true },
        otrsToRedmine: {
          senderTypes: ["customer"],
          channels: ["Email"],
          visibility: "customer",
          privateNotes: true,
          trimQuotes: { quotedLines: false, cutFrom: ["^--\\s*$"] },
        },
      };
    },
  });
  ticketEvents = (await import("../../functions/otrs-redmine/ticket-events.ts")).handler;
  issueEvents = (await import("../../functions/otrs-redmine/issue-events.ts")).handler;
});
afterAll(() => stack.close());
beforeEach(() => {
  stack.otrs.reset();
  stack.redmine.reset();
});

const auth = { "content-type": "application/json", "x-deskbridge-token": SECRETS.OTRS_REDMINE_TOKEN };
const sendTicketEvent = (body: unknown) =>
  ticketEvents(httpEvent({ method: "POST", path: "/otrs/ticket-events", body, headers: auth }));
const sendIssueEvent = (issueId: number) =>
  issueEvents(
    httpEvent({
      method: "POST",
      path: "/redmine/issue-events",
      body: { payload: { action: "updated", issue: { id: issueId } } },
      query: { token: SECRETS.OTRS_REDMINE_TOKEN },
      headers: { "content-type": "application/json" },
    }),
  );

async function linkedPair() {
  const ticket = stack.otrs.addTicket({
    Title: "Opções",
    Queue: "Desenvolvimento",
    State: "Em Atendimento",
    Articles: [{ Subject: "Erro", Body: "Erro 500." }],
  });
  expect(
    (await sendTicketEvent(stack.otrs.agentSetState(ticket.TicketID, "Em Desenvolvimento"))).statusCode,
  ).toBe(200);
  const issue = stack.redmine.issues.find((i) => i.custom_fields[5] === ticket.TicketNumber);
  if (!issue) throw new Error("no issue was created");
  return { ticket, issue };
}

describe("conversation options", () => {
  it("makes a public journal a customer-visible article, and a private one an internal note, when configured", async () => {
    const { ticket, issue } = await linkedPair();
    const before = ticket.Articles.length;
    stack.redmine.personUpdates(issue.id, { notes: "Resposta pública", userId: 7 });
    stack.redmine.personUpdates(issue.id, { notes: "Nota privada", private_notes: true, userId: 7 });
    expect((await sendIssueEvent(issue.id)).statusCode).toBe(200);
    const added = ticket.Articles.slice(before);
    expect(added.map((a) => [a.Body.split("\n")[2], a.IsVisibleForCustomer])).toEqual([
      ["Resposta pública", 1],
      ["Nota privada", 0],
    ]);
  });

  it("copies only customer-visible e-mails of customers, as private notes, cut at the configured pattern only", async () => {
    const { ticket, issue } = await linkedPair();
    stack.otrs.addArticle(ticket.TicketID, { Body: "Nota do agente", SenderType: "agent" });
    stack.otrs.addArticle(ticket.TicketID, { Body: "Pelo telefone", CommunicationChannel: "Phone" });
    stack.otrs.addArticle(ticket.TicketID, { Body: "Interno", IsVisibleForCustomer: 0 });
    const { event } = stack.otrs.addArticle(ticket.TicketID, { Body: "Segue.\n> citado\n--\nassinatura" });
    expect((await sendTicketEvent(event)).statusCode).toBe(200);
    const notes = issue.journals.filter((j) => j.notes.trim() !== "");
    expect(notes).toHaveLength(1);
    expect(notes[0]?.private_notes).toBe(true);
    expect(notes[0]?.notes.split("\n\n")[1]).toBe("Segue.\n> citado");
  });

  it("notes a file Redmine refuses (over its own size limit) and copies the reply without it", async () => {
    const { ticket, issue } = await linkedPair();
    const { event } = stack.otrs.addArticle(ticket.TicketID, {
      Body: "Segue o vídeo.",
      Attachments: [
        { Filename: "video.mp4", ContentType: "video/mp4", Content: Buffer.alloc(5120 * 1024 + 1) },
      ],
    });
    expect((await sendTicketEvent(event)).statusCode).toBe(200);
    const notes = issue.journals.filter((j) => j.notes.trim() !== "");
    expect(notes).toHaveLength(1);
    expect(notes[0]?.notes).toContain("video.mp4: not copied, Redmine refused it");
    expect(notes[0]?.details).toEqual([]);
  });
});
