import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LambdaHttpHandler } from "../../lib/core/http.ts";
import { httpEvent, SECRETS, type Stack, setupStack } from "../helpers/stack.ts";

const VALID = {
  nome_cliente: "Fulano",
  telefone_cliente: "11 99999-0000",
  cnpj_cliente: "11.222.333/0001-81",
  anydesk_cliente: "1",
  descricao_problema: "Sem acesso",
};

let stack: Stack;
let createTicket: LambdaHttpHandler;
const captured: string[] = [];
const originalStdout = process.stdout.write.bind(process.stdout);
const originalStderr = process.stderr.write.bind(process.stderr);

beforeAll(async () => {
  stack = await setupStack();
  // Everything the functions log, at the most verbose level, from here on.
  process.env.POWERTOOLS_LOG_LEVEL = "DEBUG";
  const capture = (chunk: unknown) => {
    captured.push(String(chunk));
    return true;
  };
  process.stdout.write = capture as typeof process.stdout.write;
  process.stderr.write = capture as typeof process.stderr.write;
  createTicket = (await import("../../functions/glpi-forms/create-ticket.ts")).handler;
});
afterAll(async () => {
  process.stdout.write = originalStdout;
  process.stderr.write = originalStderr;
  await stack.close();
});

const post = (headers: Record<string, string>, body: unknown = VALID) =>
  createTicket(
    httpEvent({
      method: "POST",
      path: "/glpi/tickets",
      body,
      headers: { "content-type": "application/json", ...headers },
    }),
  );

describe("secrets", () => {
  it("never appear in logs or responses, whatever happens", async () => {
    const responses: string[] = [];
    const auth = { "x-deskbridge-token": SECRETS.FORMS_TOKEN };
    responses.push((await post(auth)).body ?? "");
    responses.push((await post({ "x-deskbridge-token": `${SECRETS.FORMS_TOKEN}x` })).body ?? "");
    responses.push((await post(auth, { ...VALID, cnpj_cliente: SECRETS.GLPI_USER_TOKEN })).body ?? "");
    stack.glpi.expireSessions();
    stack.glpi.failNext(
      1,
      { kind: "status", status: 401, body: ["ERROR_GLPI_LOGIN_USER_TOKEN", "bad"] },
      { path: "/initSession" },
    );
    responses.push((await post(auth)).body ?? "");
    stack.glpi.failNext(
      1,
      { kind: "status", status: 400, body: ["ERROR_GLPI_ADD", "refused"] },
      { method: "POST", path: "/Ticket" },
    );
    responses.push((await post(auth)).body ?? "");
    stack.glpi.setDown(true);
    responses.push((await post(auth)).body ?? "");
    stack.glpi.setDown(false);
    await stack.drainJobs();

    const logs = captured.join("");
    // The capture works: the run logged its requests and its job.
    expect(logs).toContain('"route":"glpi.create-ticket"');
    expect(logs).toContain('"message":"job done"');
    for (const value of Object.values(SECRETS)) {
      expect(logs).not.toContain(value);
      for (const body of responses) expect(body).not.toContain(value);
    }
  });

  it("never show the Rocket.Chat bot's token or a hook's URL, whatever the bot and the hooks answer", async () => {
    const notify = (await import("../../functions/rocketchat-otrs/otrs-notifications.ts")).handler;
    const { otrs, rocketchat } = stack;
    const responses: string[] = [];
    const send = async (queue: string) => {
      const ticket = otrs.addTicket({
        Title: "t",
        Queue: queue,
        State: "new",
        Articles: [{ Subject: "s", Body: "b" }],
      });
      const answer = await notify(
        httpEvent({
          method: "POST",
          path: "/otrs/notifications",
          body: otrs.eventPayload(ticket.TicketID, "TicketCreate", "Ticket::Generic"),
          headers: { "content-type": "application/json", "x-deskbridge-token": SECRETS.OTRS_NOTIFY_TOKEN },
        }),
      );
      responses.push(answer.body ?? "");
    };
    rocketchat.failNext(
      1,
      { kind: "status", status: 401, body: { success: false, error: "You must be logged in to do this." } },
      { path: /chat\.sendMessage/ },
    );
    await send("Suporte");
    rocketchat.failNext(1, { kind: "drop-response" }, { path: /chat\.sendMessage/ });
    await send("Suporte");
    rocketchat.failNext(1, { kind: "status", status: 404, body: "Not Found" }, { path: /^\/hooks\// });
    await send("Desenvolvimento");
    rocketchat.setDown(true);
    await send("Suporte");
    await send("Desenvolvimento");
    rocketchat.setDown(false);
    await stack.drainJobs();

    const logs = captured.join("");
    expect(logs).toContain("OTRS event posted to Rocket.Chat");
    for (const value of [SECRETS.ROCKETCHAT_BOT_TOKEN, "servicedesk-hook-token", "vip-hook-token"]) {
      expect(logs).not.toContain(value);
      for (const body of responses) expect(body).not.toContain(value);
    }
  });
});
