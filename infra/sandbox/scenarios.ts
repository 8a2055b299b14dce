import { randomUUID } from "node:crypto";
import type { LambdaHttpHandler } from "../../lib/core/http.ts";
import { jobRuntime } from "../../lib/jobs/runtime.ts";
import type { Ref } from "../../lib/links/refs.ts";
import { CONVERSATION, conversationAspect } from "../../lib/sync/otrs-redmine/conversation.ts";
import { issueRef, statusAspect, ticketRef } from "../../lib/sync/otrs-redmine/link-state.ts";
import { httpEvent } from "../local/events.ts";
import { type DynamoFault, dynamoFailures, failDynamoWrite } from "./dynamo-faults.ts";
import type { NetworkFault } from "./faults.ts";
import { SECRETS, type Stack } from "./stack.ts";

/**
 * The faults every step of every job is put through: a target that errs and recovers (503, 429 with
 * Retry-After, a reset connection, a hang past the client's timeout, a slow answer), one that does the
 * work but whose answer is lost, and one that refuses for good (each system's own way of saying so:
 * OTRS's 200 with `Error`, iTop's code 100, RT's 200 with failure sentences, Kanboard's `false`…).
 */
export const FAULTS = ["503", "429", "reset", "hang", "slow", "lost-answer", "refused"] as const;
export type FaultName = (typeof FAULTS)[number];

/** The network form of a fault; `refused` is each system's own. */
export function networkFault(fault: Exclude<FaultName, "refused">): NetworkFault {
  switch (fault) {
    case "503":
      return { kind: "status", status: 503, body: "Service Unavailable" };
    case "429":
      return { kind: "status", status: 429, headers: { "retry-after": "1" }, body: "Too Many Requests" };
    case "reset":
      return { kind: "reset" };
    case "hang":
      return { kind: "hang" };
    case "slow":
      return { kind: "delay", ms: 400 };
    case "lost-answer":
      return { kind: "drop-response" };
  }
}

/**
 * The steps of each scenario's job, in order, as the matrix names them (declared here, before any
 * stack exists, so that every cell is its own test); `link` steps are link-store writes.
 */
export const STEP_PLANS = {
  glpiForms: [
    { name: "open a session" },
    { name: "create the ticket" },
    { name: "save the link", link: true },
  ],
  otrsRedmine: [
    { name: "read the OTRS ticket" },
    { name: "search Redmine", search: true },
    { name: "create the issue" },
    { name: "write the issue id back to OTRS" },
    { name: "save the link", link: true },
  ],
  otrsRedmineConversation: [
    { name: "read the issue" },
    { name: "read the ticket" },
    { name: "download the developer's file" },
    { name: "add the article" },
    { name: "upload the customer's file" },
    { name: "add the note" },
    { name: "record the entry", link: true },
  ],
  itopPair: [
    { name: "read the external ticket" },
    { name: "search the internal iTop by external ref", search: true },
    { name: "create the internal ticket" },
    { name: "save the link", link: true },
  ],
  rtKanban: [
    { name: "read the RT ticket" },
    { name: "search the board by reference", search: true },
    { name: "create the card" },
    { name: "save the link", link: true },
    { name: "write the card id back to RT" },
  ],
  livechat: [
    { name: "search OTRS by the room's field", search: true },
    { name: "create the ticket" },
    { name: "save the chat's tickets", link: true },
  ],
  notifications: [
    { name: "read the OTRS ticket" },
    { name: "post to Rocket.Chat" },
    { name: "mark the message posted", link: true },
  ],
  notificationsHooks: [
    { name: "read the OTRS ticket" },
    { name: "post to Rocket.Chat" },
    { name: "mark the message posted", link: true },
  ],
} as const satisfies Record<string, readonly { name: string; link?: boolean; search?: boolean }[]>;
export type ScenarioKey = keyof typeof STEP_PLANS;

/**
 * The faults a planned step is put through: a link-store write only fails (a vendor never "refuses"
 * it); a search that finds nothing has no answer whose loss differs from a reset.
 */
export const faultsOf = (step: { name: string; link?: boolean; search?: boolean }): readonly FaultName[] =>
  step.link ? ["503"] : step.search ? FAULTS.filter((fault) => fault !== "lost-answer") : FAULTS;

/** One step of a job (read the source, search the target, create, write back, save the link). */
export interface Step {
  name: string;
  /** The faults that make sense here (a link-store write is never "refused" by a vendor). */
  faults: readonly FaultName[];
  /** Makes the next call of this step fail with `fault`, once. */
  inject(fault: FaultName): void;
  /** The same with any network fault (a crash of the caller, for one); link-store steps have none. */
  raw?: (fault: NetworkFault) => void;
  /** How many faults were applied since reset (the case is void if 0: the step never ran). */
  injected(): number;
}

export interface Outcome {
  /** Target objects made for the event: exactly 1 is converged, more is a duplicate. */
  objects: number;
  /** The back-references and the link are there. */
  complete: boolean;
  detail: string;
}

/** One integration's event, the steps of its job, and how to tell that it converged. */
export interface Scenario {
  name: string;
  jobType: string;
  /**
   * A refusal is answered to the caller instead of being dead-lettered (a form: its sender sees the
   * error and can correct and resend); the event then ends with no object, and nothing queued.
   */
  refusalAnswered?: boolean;
  /** Cells where the event is delivered at least once, by design, with the reason (docs/reliability.md). */
  atLeastOnce?: Partial<Record<string, string>>;
  steps: Step[];
  reset(): void;
  /** Makes one event in its system, and the call that sends it to the bridge (as often as a test likes). */
  prepare(): Promise<{ handle: string; send(): Promise<number> }>;
  converged(handle: string): Promise<Outcome>;
}

async function linkTarget(ref: Ref): Promise<string | undefined> {
  const link = await jobRuntime().links.get(ref);
  return link && link.target.id !== "pending" ? link.target.id : undefined;
}

/** A link-store write as a step: the table fails it once (a vendor never "refuses" it). */
function dynamoStep(name: string, fault: Omit<DynamoFault, "times">): Step {
  return {
    name,
    faults: ["503"],
    inject: () => failDynamoWrite({ ...fault, times: 1 }),
    injected: dynamoFailures,
  };
}

const post = (handler: LambdaHttpHandler, path: string, body: unknown, headers: Record<string, string>) =>
  handler(
    httpEvent({ method: "POST", path, body, headers: { "content-type": "application/json", ...headers } }),
  );

/** Loads the scenarios of every integration (after setupStack: the handlers read its environment). */
export async function scenarios(stack: Stack): Promise<Record<ScenarioKey, Scenario>> {
  const glpiRoute = (await import("../../functions/glpi-forms/create-ticket.ts")).handler;
  const otrsRoute = (await import("../../functions/otrs-redmine/ticket-events.ts")).handler;
  const itopRoute = (await import("../../functions/itop-pair/create-ticket.ts")).handler;
  const rtRoute = (await import("../../functions/rt-kanban/ticket-events.ts")).handler;
  const livechatRoute = (await import("../../functions/rocketchat-otrs/livechat.ts")).handler;
  const notifyRoute = (await import("../../functions/rocketchat-otrs/otrs-notifications.ts")).handler;
  const { glpi, otrs, redmine, rt, kanboard, rocketchat } = stack;
  const external = stack.itop.external;
  const internal = stack.itop.internal;

  const glpiForms: Scenario = {
    name: "glpi-forms",
    jobType: "glpi-forms.create-ticket",
    refusalAnswered: true,
    reset: () => glpi.reset(),
    steps: [
      {
        name: "open a session",
        faults: FAULTS,
        inject: (fault) =>
          glpi.failNext(
            1,
            fault === "refused"
              ? { kind: "status", status: 401, body: ["ERROR_GLPI_LOGIN", "refused"] }
              : networkFault(fault),
            { method: "GET", path: "/initSession" },
          ),
        raw: (fault) => glpi.failNext(1, fault, { method: "GET", path: "/initSession" }),
        injected: () => glpi.faultsInjected().total,
      },
      {
        name: "create the ticket",
        faults: FAULTS,
        inject: (fault) =>
          glpi.failNext(
            1,
            fault === "refused"
              ? { kind: "status", status: 400, body: ["ERROR_GLPI_ADD", "refused by a rule"] }
              : networkFault(fault),
            { method: "POST", path: "/Ticket" },
          ),
        raw: (fault) => glpi.failNext(1, fault, { method: "POST", path: "/Ticket" }),
        injected: () => glpi.faultsInjected().total,
      },
      dynamoStep("save the link", { command: "PutItemCommand", keyPrefix: "link#forms:" }),
    ],
    async prepare() {
      const description = `Reliability ${randomUUID()}`;

      const send = async () =>
        (
          await post(
            glpiRoute,
            "/glpi/tickets",
            {
              nome_cliente: "Ciclana",
              telefone_cliente: "+55 11 3333-4444",
              cnpj_cliente: "11222333000181",
              anydesk_cliente: "987654321",
              descricao_problema: description,
            },
            { "x-deskbridge-token": SECRETS.FORMS_TOKEN },
          )
        ).statusCode ?? 0;
      return { handle: description, send };
    },
    async converged(description) {
      const tickets = glpi.tickets.filter((ticket) =>
        String(ticket.input.content ?? "").includes(description),
      );
      return {
        objects: tickets.length,
        complete: tickets.length === 1,
        detail: `${tickets.length} GLPI ticket(s)`,
      };
    },
  };

  /** A step whose fault lands on one Redmine request; `refused` is Redmine's refusal of it. */
  const redmineStep = (name: string, method: string, path: string | RegExp, refused: NetworkFault): Step => ({
    name,
    faults: FAULTS,
    inject: (fault) =>
      redmine.failNext(1, fault === "refused" ? refused : networkFault(fault), { method, path }),
    raw: (fault) => redmine.failNext(1, fault, { method, path }),
    injected: () => redmine.faultsInjected().total,
  });
  /** A step whose fault lands on one OTRS operation; refused, OTRS's AccessDenied in an HTTP 200. */
  const otrsStep = (name: string, operation: string, code: string): Step => ({
    name,
    faults: FAULTS,
    inject: (fault) =>
      otrs.failNext(
        1,
        fault === "refused"
          ? { kind: "error200", code, message: `${operation}: User does not have access to the ticket!` }
          : networkFault(fault),
        { operation },
      ),
    raw: (fault) => otrs.failNext(1, fault, { operation }),
    injected: () => otrs.faultsInjected().total,
  });
  const forbidden: NetworkFault = { kind: "status", status: 403 };

  const otrsRedmine: Scenario = {
    name: "otrs-redmine",
    jobType: "otrs-redmine.ticket",
    reset: () => {
      otrs.reset();
      redmine.reset();
    },
    steps: [
      otrsStep("read the OTRS ticket", "TicketGet", "TicketGet.AccessDenied"),
      redmineStep("search Redmine", "GET", "/issues.json", forbidden),
      redmineStep("create the issue", "POST", "/issues.json", {
        kind: "status",
        status: 422,
        body: { errors: ["Tracker is not included in the list"] },
      }),
      otrsStep("write the issue id back to OTRS", "TicketUpdate", "TicketUpdate.AccessDenied"),
      dynamoStep("save the link", { command: "UpdateItemCommand", keyPrefix: "link#otrs:" }),
    ],
    async prepare() {
      const ticket = otrs.addTicket({
        Title: `Reliability ${randomUUID()}`,
        Queue: "Desenvolvimento",
        State: "Em Atendimento",
      });
      const event = otrs.agentSetState(ticket.TicketID, "Em Desenvolvimento", "agent1");

      const send = async () =>
        (
          await post(otrsRoute, "/otrs/ticket-events", event, {
            "x-deskbridge-token": SECRETS.OTRS_REDMINE_TOKEN,
          })
        ).statusCode ?? 0;
      return { handle: ticket.TicketID, send };
    },
    async converged(ticketId) {
      const ticket = otrs.tickets.find((t) => t.TicketID === ticketId);
      const issues = redmine.issues.filter((issue) => issue.custom_fields[5] === ticket?.TicketNumber);
      const linked = await linkTarget({ system: "otrs", instance: "main", type: "ticket", id: ticketId });
      const backReference = ticket?.DynamicFields.RedmineID;
      return {
        objects: issues.length,
        complete:
          issues.length === 1 && backReference === String(issues[0]?.id) && linked === String(issues[0]?.id),
        detail: `${issues.length} issue(s), OTRS field ${backReference ?? "-"}, link ${linked ?? "-"}`,
      };
    },
  };

  /** A string of bytes that is not UTF-8, so that a file copied as text would be caught. */
  const screenshot = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff, 0xfe, 0x80]);

  /**
   * A linked pair where both sides have spoken: a developer's note with a file on the issue, a
   * customer's reply with a screenshot on the ticket; OTRS reports the reply (ArticleCreate). One job
   * reconciles both lists: one article for the note, one note for the reply, each with its file.
   */
  const otrsRedmineConversation: Scenario = {
    name: "otrs-redmine-conversation",
    jobType: "otrs-redmine.ticket",
    reset: () => {
      otrs.reset();
      redmine.reset();
    },
    steps: [
      redmineStep("read the issue", "GET", /^\/issues\/\d+\.json$/, forbidden),
      otrsStep("read the ticket", "TicketGet", "TicketGet.AccessDenied"),
      redmineStep("download the developer's file", "GET", /^\/attachments\/download\//, forbidden),
      otrsStep("add the article", "TicketUpdate", "TicketUpdate.AccessDenied"),
      // Refused here: 403 (the role may not add files). A 422 (too large for Redmine) is not a refusal of
      // the note: the note is written, saying the file was not copied.
      redmineStep("upload the customer's file", "POST", /^\/uploads\.json$/, forbidden),
      redmineStep("add the note", "PUT", /^\/issues\/\d+\.json$/, {
        kind: "status",
        status: 422,
        body: { errors: ["Notes is too long"] },
      }),
      // The first write is the lease; the second records the first entry.
      {
        name: "record the entry",
        faults: ["503"],
        inject: () =>
          failDynamoWrite({ command: "UpdateItemCommand", keyPrefix: "link#otrs:", after: 1, times: 1 }),
        injected: dynamoFailures,
      },
    ],
    async prepare() {
      const marker = randomUUID();
      const ticket = otrs.addTicket({
        Title: `Conversation ${marker}`,
        Queue: "Desenvolvimento",
        State: "Em Desenvolvimento",
        CustomerUserID: "maria.souza",
        CustomerName: "Maria Souza",
        Articles: [{ Subject: "Erro", Body: "O relatório não abre." }],
      });
      const { issue } = redmine.personCreates({
        project_id: 1,
        subject: ticket.Title,
        custom_fields: { 5: ticket.TicketNumber },
        userId: 7,
      });
      ticket.DynamicFields.RedmineID = String(issue.id);
      // Linked as the bridge links an escalated ticket (made directly: no call a fault could take).
      await jobRuntime().links.create(ticketRef("main", ticket.TicketID), issueRef("main", issue.id), {
        status: statusAspect({ otrs: ticket.State, redmine: issue.status_id }),
        [CONVERSATION]: conversationAspect({
          article: Number(ticket.Articles.at(-1)?.ArticleID),
          journal: 0,
        }),
      });
      redmine.personUpdates(issue.id, {
        notes: `Pode mandar o log? ${marker}`,
        files: [{ filename: "trace.txt", content_type: "text/plain", content: `trace ${marker}` }],
        userId: 7,
      });
      const { event } = otrs.addArticle(ticket.TicketID, {
        Body: `Segue o print. ${marker}`,
        Attachments: [{ Filename: "tela.png", ContentType: "image/png", Content: screenshot }],
      });
      const send = async () =>
        (
          await post(otrsRoute, "/otrs/ticket-events", event, {
            "x-deskbridge-token": SECRETS.OTRS_REDMINE_TOKEN,
          })
        ).statusCode ?? 0;
      return { handle: `${ticket.TicketID}|${marker}`, send };
    },
    async converged(handle) {
      const [ticketId = "", marker = ""] = handle.split("|");
      const ticket = otrs.tickets.find((t) => t.TicketID === ticketId);
      const issue = redmine.issues.find((i) => String(i.id) === ticket?.DynamicFields.RedmineID);
      const articles = (ticket?.Articles ?? []).filter((a) =>
        a.Body.includes(`Pode mandar o log? ${marker}`),
      );
      const notes = (issue?.journals ?? []).filter((j) => j.notes.includes(`Segue o print. ${marker}`));
      const link = await jobRuntime().links.get(ticketRef("main", ticketId));
      const entries = link?.aspects[CONVERSATION]?.entries ?? [];
      const uploaded = notes[0]?.details.find((d) => d.property === "attachment");
      const file = redmine.attachments.find((a) => String(a.id) === uploaded?.name);
      const copied = articles[0]?.Attachments[0];
      const objects =
        articles.length === 1 && notes.length === 1 ? 1 : Math.max(articles.length, notes.length) > 1 ? 2 : 0;
      return {
        objects,
        complete:
          objects === 1 &&
          entries.length === 2 &&
          copied?.Filename === "trace.txt" &&
          copied.Content.toString() === `trace ${marker}` &&
          file?.content.equals(screenshot) === true,
        detail: `${articles.length} article(s) for the note, ${notes.length} note(s) for the reply, ${entries.length} entries, files ${copied?.Filename ?? "-"} / ${file?.filename ?? "-"}`,
      };
    },
  };

  const itopPair: Scenario = {
    name: "itop-pair",
    jobType: "itop-pair.sync",
    reset: () => {
      external.reset();
      internal.reset();
    },
    steps: [
      {
        name: "read the external ticket",
        faults: FAULTS,
        inject: (fault) =>
          external.failNext(
            1,
            fault === "refused"
              ? { kind: "code", code: 1, message: "Error: Invalid login" }
              : networkFault(fault),
            { operation: "core/get" },
          ),
        raw: (fault) => external.failNext(1, fault, { operation: "core/get" }),
        injected: () => external.faultsInjected().total,
      },
      {
        name: "search the internal iTop by external ref",
        faults: FAULTS,
        inject: (fault) =>
          internal.failNext(
            1,
            fault === "refused"
              ? { kind: "code", code: 100, message: "Error: Unknown attribute external_ref" }
              : networkFault(fault),
            { operation: "core/get" },
          ),
        raw: (fault) => internal.failNext(1, fault, { operation: "core/get" }),
        injected: () => internal.faultsInjected().total,
      },
      {
        name: "create the internal ticket",
        faults: FAULTS,
        inject: (fault) =>
          internal.failNext(
            1,
            fault === "refused"
              ? { kind: "code", code: 100, message: "Error: Missing mandatory attribute(s): caller_id" }
              : networkFault(fault),
            { operation: "core/create" },
          ),
        raw: (fault) => internal.failNext(1, fault, { operation: "core/create" }),
        injected: () => internal.faultsInjected().total,
      },
      dynamoStep("save the link", { command: "UpdateItemCommand", keyPrefix: "link#itop:" }),
    ],
    async prepare() {
      const ticket = external.agentCreatesTicket({
        title: `Reliability ${randomUUID()}`,
        description: "<p>x</p>",
        org_id: 1,
        caller_id: 1,
      });
      const create = external.takeWebhooks().find((call) => call.path === "/api/v1/create-ticket");

      const send = async () =>
        (
          await post(itopRoute, "/api/v1/create-ticket", create?.payload, {
            "x-deskbridge-token": SECRETS.ITOP_WEBHOOK_TOKEN,
          })
        ).statusCode ?? 0;
      return { handle: `${ticket.id}|${ticket.ref}`, send };
    },
    async converged(handle) {
      const [id = "", ref] = handle.split("|");
      const twins = internal.tickets().filter((t) => t.external_ref === ref);
      const linked = await linkTarget({ system: "itop", instance: "customer", type: "ticket", id });
      return {
        objects: twins.length,
        complete: twins.length === 1 && linked === String(twins[0]?.id),
        detail: `${twins.length} internal ticket(s), link ${linked ?? "-"}`,
      };
    },
  };

  const rtKanban: Scenario = {
    name: "rt-kanban",
    jobType: "rt-kanban.ticket",
    reset: () => {
      rt.reset();
      kanboard.reset();
    },
    steps: [
      {
        name: "read the RT ticket",
        faults: FAULTS,
        inject: (fault) =>
          rt.failNext(
            1,
            fault === "refused"
              ? { kind: "status", status: 401, body: { message: "Unauthorized" } }
              : networkFault(fault),
            {
              method: "GET",
              path: /^\/ticket\/\d+$/,
            },
          ),
        raw: (fault) =>
          rt.failNext(1, fault, {
            method: "GET",
            path: /^\/ticket\/\d+$/,
          }),
        injected: () => rt.faultsInjected().total,
      },
      {
        name: "search the board by reference",
        faults: FAULTS,
        inject: (fault) =>
          kanboard.failNext(
            1,
            fault === "refused"
              ? { kind: "rpc-error", code: -32601, message: "Method not found" }
              : networkFault(fault),
            { method: "getTaskByReference" },
          ),
        raw: (fault) => kanboard.failNext(1, fault, { method: "getTaskByReference" }),
        injected: () => kanboard.faultsInjected().total,
      },
      {
        name: "create the card",
        faults: FAULTS,
        inject: (fault) =>
          kanboard.failNext(1, fault === "refused" ? { kind: "result", value: false } : networkFault(fault), {
            method: "createTask",
          }),
        raw: (fault) =>
          kanboard.failNext(1, fault, {
            method: "createTask",
          }),
        injected: () => kanboard.faultsInjected().total,
      },
      dynamoStep("save the link", { command: "UpdateItemCommand", keyPrefix: "link#rt:" }),
      {
        name: "write the card id back to RT",
        faults: FAULTS,
        inject: (fault) =>
          rt.failNext(
            1,
            fault === "refused" ? { kind: "messages", messages: ["Permission Denied"] } : networkFault(fault),
            {
              method: "PUT",
            },
          ),
        raw: (fault) =>
          rt.failNext(1, fault, {
            method: "PUT",
          }),
        injected: () => rt.faultsInjected().total,
      },
    ],
    async prepare() {
      const ticket = rt.personCreates({ queue: "General", subject: `Reliability ${randomUUID()}` });
      rt.takeScripCalls();

      const send = async () =>
        (
          await post(
            rtRoute,
            "/rt/ticket-events",
            { ticket_id: String(ticket.id) },
            { "x-deskbridge-token": SECRETS.RT_WEBHOOK_TOKEN },
          )
        ).statusCode ?? 0;
      return { handle: String(ticket.id), send };
    },
    async converged(id) {
      const cards = kanboard.tasks().filter((task) => task.reference === `RT#${id}`);
      const written = rt.ticket(Number(id))?.customFields["FlowIO-id"];
      const linked = await linkTarget({ system: "rt", instance: "main", type: "ticket", id });
      return {
        objects: cards.length,
        complete: cards.length === 1 && written === String(cards[0]?.id) && linked === String(cards[0]?.id),
        detail: `${cards.length} card(s), FlowIO-id ${written ?? "-"}, link ${linked ?? "-"}`,
      };
    },
  };

  const livechat: Scenario = {
    name: "rocketchat-livechat",
    jobType: "rocketchat-otrs.livechat",
    reset: () => {
      otrs.reset();
      rocketchat.reset();
    },
    steps: [
      {
        name: "search OTRS by the room's field",
        faults: FAULTS,
        inject: (fault) =>
          otrs.failNext(
            1,
            fault === "refused"
              ? {
                  kind: "error200",
                  code: "TicketSearch.InvalidParameter",
                  message: "TicketSearch: DynamicField_RocketChatRoom is invalid!",
                }
              : networkFault(fault),
            { operation: "TicketSearch" },
          ),
        raw: (fault) => otrs.failNext(1, fault, { operation: "TicketSearch" }),
        injected: () => otrs.faultsInjected().total,
      },
      {
        name: "create the ticket",
        faults: FAULTS,
        inject: (fault) =>
          otrs.failNext(
            1,
            fault === "refused"
              ? {
                  kind: "error200",
                  code: "TicketCreate.InvalidParameter",
                  message: "TicketCreate: Ticket->Queue parameter is invalid!",
                }
              : networkFault(fault),
            { operation: "TicketCreate" },
          ),
        raw: (fault) => otrs.failNext(1, fault, { operation: "TicketCreate" }),
        injected: () => otrs.faultsInjected().total,
      },
      dynamoStep("save the chat's tickets", { command: "UpdateItemCommand", keyPrefix: "link#rocketchat:" }),
    ],
    async prepare() {
      const room = rocketchat.openRoom({
        visitor: { name: "Visitante", email: "v@cliente.example" },
        topic: `Reliability ${randomUUID()}`,
      });
      rocketchat.visitorSays(room._id, "olá");
      rocketchat.close(room._id);
      const close = rocketchat.takeWebhooks().find((payload) => payload.type === "LivechatSession");

      const send = async () =>
        (
          await post(livechatRoute, "/rocketchat/livechat", close, {
            "x-rocketchat-livechat-token": SECRETS.ROCKETCHAT_LIVECHAT_TOKEN,
          })
        ).statusCode ?? 0;
      return { handle: room._id, send };
    },
    async converged(room) {
      const tickets = otrs.tickets.filter((t) => t.DynamicFields.RocketChatRoom === `room:${room}`);
      const linked = await linkTarget({
        system: "rocketchat",
        instance: "livechat",
        type: "chat",
        id: `room:${room}`,
      });
      return {
        objects: tickets.length,
        complete: tickets.length === 1 && linked === tickets[0]?.TicketID,
        detail: `${tickets.length} ticket(s), link ${linked ?? "-"}`,
      };
    },
  };

  /**
   * An OTRS event posted to Rocket.Chat: through the bot user (queue Suporte → #servicedesk, exactly
   * once), or through an Incoming WebHook (queue Desenvolvimento → the servicedesk hook, at least once).
   */
  const notificationScenario = (transport: "bot" | "hooks"): Scenario => {
    const path = transport === "bot" ? /^\/api\/v1\/chat\.sendMessage$/ : /^\/hooks\//;
    return {
      name: transport === "bot" ? "otrs-notifications" : "otrs-notifications-hooks",
      jobType: "rocketchat-otrs.notify",
      ...(transport === "hooks"
        ? {
            atLeastOnce: {
              "post to Rocket.Chat: lost-answer":
                "Rocket.Chat posted the message but its answer was lost; an Incoming WebHook takes no message id and cannot be asked what it posted, so the retry posts again",
            },
          }
        : {}),
      reset: () => {
        otrs.reset();
        rocketchat.reset();
      },
      steps: [
        otrsStep("read the OTRS ticket", "TicketGet", "TicketGet.AccessDenied"),
        {
          name: "post to Rocket.Chat",
          faults: FAULTS,
          inject: (fault) =>
            rocketchat.failNext(
              1,
              fault !== "refused"
                ? networkFault(fault)
                : transport === "bot"
                  ? // chat.sendMessage's Meteor.Error (methods/sendMessage.ts) through ApiClass.ts#failure.
                    {
                      kind: "status",
                      status: 400,
                      body: {
                        success: false,
                        error: "Message size exceeds Message_MaxAllowedSize [error-message-size-exceeded]",
                        errorType: "error-message-size-exceeded",
                        details: { method: "sendMessage" },
                      },
                    }
                  : {
                      kind: "status",
                      status: 400,
                      body: { success: false, error: "error-message-size-exceeded" },
                    },
              { path },
            ),
          raw: (fault) => rocketchat.failNext(1, fault, { path }),
          injected: () => rocketchat.faultsInjected().total,
        },
        dynamoStep("mark the message posted", {
          command: "UpdateItemCommand",
          keyPrefix: "link#otrs:main:notification:",
        }),
      ],
      async prepare() {
        const ticket = otrs.addTicket({
          Title: `Reliability ${randomUUID()}`,
          Queue: transport === "bot" ? "Suporte" : "Desenvolvimento",
          State: "new",
          Articles: [{ Subject: "s", Body: "b" }],
        });

        const send = async () =>
          (
            await post(
              notifyRoute,
              "/otrs/notifications",
              otrs.eventPayload(ticket.TicketID, "TicketCreate", "Ticket::Generic"),
              {
                "x-deskbridge-token": SECRETS.OTRS_NOTIFY_TOKEN,
              },
            )
          ).statusCode ?? 0;
        return { handle: ticket.TicketNumber, send };
      },
      async converged(number) {
        const posted = rocketchat.messages.filter((message) => message.text.includes(number));
        const wrongWay = posted.filter((message) => message.via !== (transport === "bot" ? "bot" : "hook"));
        // A post of an id Rocket.Chat already had posts nothing, but it is a re-post all the same.
        const reposts = rocketchat.reusedIds.filter((id) => posted.some((message) => message.id === id));
        return {
          objects: posted.length,
          complete: posted.length === 1 && wrongWay.length === 0 && reposts.length === 0,
          detail: `${posted.length} message(s)${wrongWay.length > 0 ? `, ${wrongWay.length} by the other transport` : ""}${reposts.length > 0 ? `, ${reposts.length} re-post(s) refused as a reused id` : ""}`,
        };
      },
    };
  };
  const notifications = notificationScenario("bot");
  const notificationsHooks = notificationScenario("hooks");

  return {
    glpiForms,
    otrsRedmine,
    otrsRedmineConversation,
    itopPair,
    rtKanban,
    livechat,
    notifications,
    notificationsHooks,
  };
}
