import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LambdaHttpHandler } from "../../lib/core/http.ts";
import { type ItopBridge, itopBridge } from "../helpers/itop.ts";
import { httpEvent, SECRETS, type Stack, setupStack } from "../helpers/stack.ts";

/**
 * What the bridge refuses to do whatever it is sent: fetch a URL that came in a payload (outbound
 * URLs come from the configuration only), or copy an attachment larger than the configured limit.
 */
let stack: Stack;
let itop: ItopBridge;
let trap: Server;
let trapUrl = "";
const trapped: string[] = [];

beforeAll(async () => {
  stack = await setupStack({ itopPair: { maxAttachmentBytes: 1024 } });
  itop = await itopBridge(stack.itop.external, stack.itop.internal);
  trap = createServer((req, res) => {
    trapped.push(`${req.method} ${req.url}`);
    res.end("trapped");
  });
  await new Promise<void>((resolve) => trap.listen(0, "127.0.0.1", () => resolve()));
  trapUrl = `http://127.0.0.1:${(trap.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => trap.close(() => resolve()));
  await stack.close();
});

const json = { "content-type": "application/json" };
async function route(file: string): Promise<LambdaHttpHandler> {
  const modules: Record<string, () => Promise<{ handler: LambdaHttpHandler }>> = {
    glpi: () => import("../../functions/glpi-forms/create-ticket.ts"),
    redmine: () => import("../../functions/otrs-redmine/issue-events.ts"),
    rt: () => import("../../functions/rt-kanban/ticket-events.ts"),
    livechat: () => import("../../functions/rocketchat-otrs/livechat.ts"),
    notify: () => import("../../functions/rocketchat-otrs/otrs-notifications.ts"),
  };
  const load = modules[file];
  if (!load) throw new Error(`no route ${file}`);
  return (await load()).handler;
}

describe("outbound URLs come only from the configuration", () => {
  it("fetches none of the URLs every route's payload carries", async () => {
    const url = (what: string) => `${trapUrl}/${what}`;
    await (await route("glpi"))(
      httpEvent({
        method: "POST",
        path: "/glpi/tickets",
        headers: { ...json, "x-deskbridge-token": SECRETS.FORMS_TOKEN },
        body: {
          nome_cliente: url("name"),
          telefone_cliente: "+55 11 3333-4444",
          cnpj_cliente: "11222333000181",
          anydesk_cliente: url("anydesk"),
          descricao_problema: `veja ${url("glpi")} e <img src="${url("glpi-img")}">`,
        },
      }),
    );
    await (await route("redmine"))(
      httpEvent({
        method: "POST",
        path: "/redmine/issue-events",
        headers: { ...json, "x-deskbridge-token": SECRETS.OTRS_REDMINE_TOKEN },
        body: {
          payload: {
            action: "opened",
            url: url("redmine"),
            issue: { id: 999, project: { homepage: url("home") } },
          },
        },
      }),
    );
    const ticket = stack.rt.personCreates({ queue: "General", subject: url("rt-subject") });
    await (await route("rt"))(
      httpEvent({
        method: "POST",
        path: "/rt/ticket-events",
        headers: { ...json, "x-deskbridge-token": SECRETS.RT_WEBHOOK_TOKEN },
        body: { ticket_id: String(ticket.id), _url: url("rt"), callback: url("rt-callback") },
      }),
    );
    const room = stack.rocketchat.openRoom({ visitor: { name: "Trap", email: "trap@cliente.example" } });
    stack.rocketchat.sendsFile(room._id, "visitor", { name: "evil.png", type: "image/png" });
    stack.rocketchat.close(room._id);
    const close = stack.rocketchat.takeWebhooks().find((payload) => payload.type === "LivechatSession") ?? {};
    await (await route("livechat"))(
      httpEvent({
        method: "POST",
        path: "/rocketchat/livechat",
        headers: { ...json, "x-rocketchat-livechat-token": SECRETS.ROCKETCHAT_LIVECHAT_TOKEN },
        body: {
          ...close,
          crmData: url("crm"),
          visitor: { ...(close.visitor as object), customFields: { site: url("site") } },
        },
      }),
    );
    const otrsTicket = stack.otrs.addTicket({
      Title: url("otrs"),
      Queue: "Suporte",
      State: "new",
      Articles: [{ Subject: "s", Body: url("body") }],
    });
    const payload = stack.otrs.eventPayload(otrsTicket.TicketID, "TicketCreate", "Ticket::Generic");
    await (await route("notify"))(
      httpEvent({
        method: "POST",
        path: "/otrs/notifications",
        headers: { ...json, "x-deskbridge-token": SECRETS.OTRS_NOTIFY_TOKEN },
        body: { ...payload, CallbackURL: url("otrs-callback") },
      }),
    );
    // An iTop log entry whose image points outside both iTops: noted, never downloaded.
    const { ticket: shared, twin } = await itop.sharedTicket();
    stack.itop.internal.agentAddsLog(
      twin.id,
      "private_log",
      `<p>lihat</p><img src="${url("itop-img")}">`,
      "rina",
    );
    await itop.deliverWebhooks();
    await stack.drainJobs({ timeoutMs: 30_000 });
    expect(trapped).toEqual([]);
    expect(stack.itop.external.ticket(shared.id)?.private_log.entries.at(-1)?.message_html).toContain(
      "[image not available]",
    );
  }, 60_000);
});

describe("attachment sizes are bounded", () => {
  const file = (bytes: number, name: string) => ({
    filename: name,
    mimetype: "application/octet-stream",
    data: Buffer.alloc(bytes, 7).toString("base64"),
  });

  it("does not copy an attachment over the limit, nor try again, and copies one within it", async () => {
    const { ticket, twin } = await itop.sharedTicket("Lampiran besar");
    stack.itop.external.agentAttaches("UserRequest", ticket.id, file(4096, "big.bin"));
    stack.itop.external.agentAttaches("UserRequest", ticket.id, file(512, "small.bin"));
    await itop.deliverWebhooks();
    expect(stack.itop.internal.attachments("UserRequest", twin.id).map((a) => a.contents.filename)).toEqual([
      "small.bin",
    ]);
    const creates = () => stack.itop.internal.calls.filter((call) => call.operation === "core/create").length;
    const before = creates();
    await itop.send("/api/v1/update-ticket", { class: "UserRequest", id: String(ticket.id) });
    expect(creates()).toBe(before);
  });

  it("notes an image over the limit in a log entry instead of copying it", async () => {
    const { ticket, twin } = await itop.sharedTicket("Gambar besar");
    const img = stack.itop.internal.pasteImage("UserRequest", twin.id, {
      mimetype: "image/png",
      data: Buffer.alloc(4096, 1).toString("base64"),
    });
    stack.itop.internal.agentAddsLog(twin.id, "private_log", `<p>screenshot</p>${img}`, "rina");
    await itop.deliverWebhooks();
    expect(stack.itop.external.ticket(ticket.id)?.private_log.entries.at(-1)?.message_html).toContain(
      "[image too large to copy",
    );
    expect(stack.itop.external.attachments("UserRequest", ticket.id)).toHaveLength(0);
  });
});
