import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../infra/local/free-port.ts";
import { listHttpRoutes } from "../../infra/local/routes.ts";

const run = promisify(execFile);

/**
 * `npm start` end to end: the real start script (emulators, sandbox GLPI, serverless-offline, the
 * worker's event source) on free ports, and the curl commands it prints, run exactly as printed.
 */
let stack: ChildProcess;
let output = "";
let httpPort: number;
let sqsPort = 0;
let dynamoPort = 0;
let externalItop = "";
let internalItop = "";
let rtUrl = "";
let configFile = "";
let stackFile = "";
let kanboardUrl = "";

beforeAll(async () => {
  const [glpiPort, lambdaPort] = [await freePort(), await freePort()];
  [dynamoPort, sqsPort, httpPort] = [await freePort(), await freePort(), await freePort()];
  const config = JSON.parse(readFileSync("config/sandbox.json", "utf8"));
  config.systems.glpi.main.url = `http://127.0.0.1:${glpiPort}/apirest.php`;
  config.systems.otrs.main.url = `http://127.0.0.1:${await freePort()}/otrs/nph-genericinterface.pl/Webservice/deskbridge`;
  config.systems.redmine.main.url = `http://127.0.0.1:${await freePort()}`;
  externalItop = `http://127.0.0.1:${await freePort()}/webservices/rest.php`;
  internalItop = `http://127.0.0.1:${await freePort()}/webservices/rest.php`;
  config.systems.itop.customer.url = externalItop;
  config.systems.itop.elitery.url = internalItop;
  rtUrl = `http://127.0.0.1:${await freePort()}/REST/2.0`;
  kanboardUrl = `http://127.0.0.1:${await freePort()}/jsonrpc.php`;
  // The sandbox Rocket.Chat serves the bot's REST API and the Incoming WebHooks on one port.
  const rocketchatPort = await freePort();
  config.integrations.rocketchatOtrs.notifications.bot.url = `http://127.0.0.1:${rocketchatPort}`;
  config.systems.rt.main.url = rtUrl;
  config.systems.rt.main.webUrl = rtUrl.replace("/REST/2.0", "");
  config.systems.kanboard.main.url = kanboardUrl;
  const folder = mkdtempSync(join(tmpdir(), "deskbridge-e2e-"));
  const configPath = join(folder, "config.json");
  stackFile = join(folder, "stack.json");
  writeFileSync(configPath, JSON.stringify(config));
  configFile = configPath;
  const env: Record<string, string | undefined> = {
    ...process.env,
    DESKBRIDGE_CONFIG: configPath,
    HTTP_PORT: String(httpPort),
    LAMBDA_PORT: String(lambdaPort),
    DYNAMODB_PORT: String(dynamoPort),
    SQS_PORT: String(sqsPort),
    LOG_LEVEL: "WARN",
    // Where the CLI finds this stack (a developer's own stack keeps .local/stack.json).
    DESKBRIDGE_STACK_FILE: stackFile,
    // The sandbox Rocket.Chat listens where its Incoming WebHook URL (a secret) points.
    ROCKETCHAT_HOOK_SERVICEDESK: `http://127.0.0.1:${rocketchatPort}/hooks/ServiceDeskHook01/sandbox-servicedesk-token`,
  };
  for (const name of [
    "FORMS_TOKEN",
    "GLPI_APP_TOKEN",
    "GLPI_USER_TOKEN",
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_ENDPOINT_URL_SQS",
  ])
    delete env[name];
  stack = spawn(process.execPath, ["node_modules/tsx/dist/cli.mjs", "infra/local/start.ts"], {
    env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  stack.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  stack.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const deadline = Date.now() + 150_000;
  while (!output.includes("The bridge is running")) {
    if (stack.exitCode !== null) throw new Error(`npm start exited early:\n${output}`);
    if (Date.now() > deadline) throw new Error(`npm start did not come up:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
});

afterAll(async () => {
  if (stack.pid !== undefined && stack.exitCode === null) {
    const exited = new Promise((resolve) => stack.once("exit", resolve));
    process.kill(-stack.pid, "SIGINT");
    await exited;
  }
});

/**
 * The environment of a developer's second terminal: none of this stack's names (config, ports, queues),
 * only where state files are (a developer's own would be .local/stack.json).
 */
function cliEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, DESKBRIDGE_STACK_FILE: stackFile };
  for (const name of [
    "DESKBRIDGE_CONFIG",
    "JOBS_QUEUE_URL",
    "DEAD_LETTER_QUEUE_URL",
    "JOB_QUEUES",
    "LINKS_TABLE",
    "AWS_ENDPOINT_URL_SQS",
    "AWS_ENDPOINT_URL_DYNAMODB",
    "SQS_PORT",
    "DYNAMODB_PORT",
  ])
    delete env[name];
  return env;
}

/** The curl command printed under a route. */
function printedCurl(route: string): string {
  const lines = output.split("\n");
  const at = lines.findIndex(
    (line) => line.trim().startsWith(`${route} `) && line.includes(`http://127.0.0.1:${httpPort}`),
  );
  const command = lines[at + 1]?.trim() ?? "";
  expect(command.startsWith("curl ")).toBe(true);
  return command;
}

const sh = async (command: string) => (await run("bash", ["-c", command], { timeout: 30_000 })).stdout;

/** A webhook's answer with `jobs.webhookAck: "queue"` (the sandbox's default): the job is queued. */
const QUEUED = { job_id: expect.stringMatching(/^[\w-]+$/) };

/** Polls until `read` returns something `done` accepts (the worker runs queued jobs within a second or two). */
async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  let value = await read();
  for (let i = 0; i < 60 && !done(value); i++) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    value = await read();
  }
  return value;
}

describe("npm start", () => {
  it("prints every route of serverless.yml with its URL and a curl command", () => {
    for (const route of listHttpRoutes()) {
      expect(output).toContain(`${route.method} ${route.path}`);
      expect(output).toContain(`http://127.0.0.1:${httpPort}${route.path}`);
    }
  });

  it("opens a GLPI ticket in the sandbox with the printed curl for POST /glpi/tickets", async () => {
    const answer = JSON.parse(await sh(printedCurl("POST /glpi/tickets")));
    expect(answer).toEqual({ ticket_id: expect.any(Number) });
  });

  it("answers the legacy path and the health check as printed", async () => {
    expect(JSON.parse(await sh(printedCurl("POST /criar-chamado")))).toEqual({
      ticket_id: expect.any(Number),
    });
    expect(await sh(printedCurl("GET /ping"))).toBe("App Flask está ativo!");
  });

  it("shows the start-up job done by the worker Lambda through the local SQS event source", async () => {
    const command = printedCurl("GET /glpi/tickets/jobs/{id}");
    let status: { status?: string; ticket_id?: number } = {};
    for (let i = 0; i < 60 && status.status !== "done"; i++) {
      status = JSON.parse(await sh(command));
      if (status.status !== "done") await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(status).toMatchObject({ status: "done", ticket_id: expect.any(Number) });
  });

  it("creates the sandbox's Redmine issue and links the hand-made one with the printed webhook calls", async () => {
    expect(JSON.parse(await sh(printedCurl("POST /otrs/ticket-events")))).toEqual(QUEUED);
    expect(JSON.parse(await sh(printedCurl("POST /redmine/issue-events")))).toEqual(QUEUED);
    // The worker syncs both: the development ticket gets a new issue, the other one the hand-made one.
    const config = JSON.parse(readFileSync(configFile, "utf8"));
    const otrsUrl: string = config.systems.otrs.main.url;
    const redmineIds = async () => {
      const response = await fetch(
        `${otrsUrl}/Ticket/1,2?UserLogin=deskbridge&Password=sandbox-otrs-password&DynamicFields=1`,
      );
      const body = (await response.json()) as {
        Ticket?: { DynamicField?: { Name: string; Value: unknown }[] }[];
      };
      return (body.Ticket ?? []).map(
        (ticket) => ticket.DynamicField?.find((field) => field.Name === "RedmineID")?.Value ?? "",
      );
    };
    const ids = await eventually(
      redmineIds,
      (values) => values.length === 2 && values.every((id) => id !== ""),
    );
    expect(new Set(ids).size).toBe(2);
    const issues = await fetch(`${config.systems.redmine.main.url}/issues.json?status_id=*`, {
      headers: { "x-redmine-api-key": "sandbox-redmine-api-key" },
    });
    expect(((await issues.json()) as { total_count: number }).total_count).toBe(2);
    // The same event through a controller /otrs/ticket-events/:TicketID (the id in the path): no second issue.
    expect(JSON.parse(await sh(printedCurl("POST /otrs/ticket-events/{ticketId}")))).toEqual(QUEUED);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const again = await fetch(`${config.systems.redmine.main.url}/issues.json?status_id=*`, {
      headers: { "x-redmine-api-key": "sandbox-redmine-api-key" },
    });
    expect(((await again.json()) as { total_count: number }).total_count).toBe(2);
  });

  it("shares the sandbox's iTop ticket with the printed curl, and an internal change comes back", async () => {
    expect(JSON.parse(await sh(printedCurl("POST /api/v1/create-ticket")))).toEqual(QUEUED);
    const rest = async (url: string, user: string, password: string, operation: unknown) => {
      const form = new URLSearchParams({
        json_data: JSON.stringify(operation),
        auth_user: user,
        auth_pwd: password,
      });
      const response = await fetch(`${url}?version=1.3`, { method: "POST", body: form });
      return (await response.json()) as {
        code: number;
        objects: Record<string, { fields: Record<string, unknown> }> | null;
      };
    };
    const asRina = (operation: unknown) => rest(internalItop, "rina", "sandbox-rina-password", operation);
    const asBudi = (operation: unknown) => rest(externalItop, "budi", "sandbox-budi-password", operation);
    const twins = await eventually(
      () =>
        asRina({
          operation: "core/get",
          class: "UserRequest",
          key: "SELECT UserRequest",
          output_fields: "ref,external_ref,org_id",
        }),
      (answer) => Object.keys(answer.objects ?? {}).length > 0,
    );
    expect(Object.values(twins.objects ?? {}).map((o) => o.fields)).toEqual([
      { ref: "R-000001", external_ref: "R-000001", org_id: "2" },
    ]);
    // The README's walk-through: rina assigns the twin; the sandbox delivers the state webhook.
    const assigned = await asRina({
      operation: "core/apply_stimulus",
      comment: "rina",
      class: "UserRequest",
      key: 1,
      stimulus: "ev_assign",
      fields: { team_id: 1, agent_id: 1 },
      output_fields: "status",
    });
    expect(assigned.code).toBe(0);
    let status: unknown;
    for (let i = 0; i < 40 && status !== "assigned"; i++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      const ticket = await asBudi({
        operation: "core/get",
        class: "UserRequest",
        key: 1,
        output_fields: "status",
      });
      status = ticket.objects?.["UserRequest::1"]?.fields.status;
    }
    expect(status).toBe("assigned");
  });

  it("projects the sandbox's RT ticket with the printed curl, follows RT, and backfills the rest twice", async () => {
    expect(JSON.parse(await sh(printedCurl("POST /rt/ticket-events")))).toEqual(QUEUED);
    const rpc = async (method: string, params: Record<string, unknown>) => {
      const response = await fetch(kanboardUrl, {
        method: "POST",
        headers: {
          authorization: `Basic ${Buffer.from("jsonrpc:sandbox-kanboard-token").toString("base64")}`,
        },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
      });
      return ((await response.json()) as { result: unknown }).result;
    };
    const card = (await eventually(
      () => rpc("getTaskByReference", { project_id: 1, reference: "RT#1" }),
      (task) => Boolean(task),
    )) as { id: string; column_id: string };
    expect(card.column_id).toBe("1");
    // The README's walk-through: alice resolves ticket 1; the sandbox delivers the Scrip call.
    const put = await fetch(`${rtUrl}/ticket/1`, {
      method: "PUT",
      headers: { authorization: "token sandbox-alice-token", "content-type": "application/json" },
      body: JSON.stringify({ Status: "resolved" }),
    });
    expect(put.status).toBe(200);
    let column = "1";
    for (let i = 0; i < 40 && column !== "4"; i++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      column = ((await rpc("getTask", { task_id: Number(card.id) })) as { column_id: string }).column_id;
    }
    expect(column).toBe("4");
    const backfill = () =>
      run(process.execPath, ["node_modules/tsx/dist/cli.mjs", "infra/tools/backfill.ts", "rt-kanban"], {
        env: cliEnv(),
        timeout: 60_000,
      });
    // The stack's RT poller (every minute, two minutes of overlap) may have made a card first.
    const first =
      /2 ticket\(s\): (\d) card\(s\) created, 0 updated, 0 removed, (\d) unchanged, 0 failed\./.exec(
        (await backfill()).stdout,
      );
    expect(first, "the first backfill's summary").not.toBeNull();
    expect(Number(first?.[1]) + Number(first?.[2])).toBe(2);
    expect((await backfill()).stdout).toContain(
      "2 ticket(s): 0 card(s) created, 0 updated, 0 removed, 2 unchanged, 0 failed.",
    );
  });

  it("puts the sandbox's closed chat on record and posts an OTRS event to #servicedesk through the bot, as printed", async () => {
    const answer = JSON.parse(await sh(printedCurl("POST /rocketchat/livechat"))) as {
      ticketNumbers: string[];
    };
    expect(answer.ticketNumbers).toHaveLength(1);
    expect(JSON.parse(await sh(printedCurl("POST /rocketchat/livechat")))).toMatchObject({
      ticketNumbers: answer.ticketNumbers,
    });
    expect(JSON.parse(await sh(printedCurl("POST /otrs/notifications")))).toEqual(QUEUED);
    for (let i = 0; i < 20 && !output.includes("Rocket.Chat #servicedesk ←"); i++)
      await new Promise((resolve) => setTimeout(resolve, 250));
    expect(output).toMatch(/Rocket\.Chat #servicedesk ← \*New ticket\* \[Ticket#\d+\]/);
    // Test::TestSimple's body names no event: the controller's path does.
    const posted = output.split("Rocket.Chat #servicedesk ←").length;
    expect(JSON.parse(await sh(printedCurl("POST /otrs/notifications/{event}")))).toEqual(QUEUED);
    for (let i = 0; i < 20 && output.split("Rocket.Chat #servicedesk ←").length === posted; i++)
      await new Promise((resolve) => setTimeout(resolve, 250));
    expect(output.split("Rocket.Chat #servicedesk ←").length).toBe(posted + 1);
  });

  it("posts the write-up's VIP and escalation notifications to #vip, @carla and #servicedesk, as printed", async () => {
    const printed = (title: string) => {
      const lines = output.split("\n");
      const command = lines[lines.findIndex((line) => line.trim().startsWith(title)) + 1]?.trim() ?? "";
      expect(command.startsWith("curl ")).toBe(true);
      return command;
    };
    const waitFor = async (pattern: RegExp) => {
      for (let i = 0; i < 40 && !pattern.test(output); i++)
        await new Promise((resolve) => setTimeout(resolve, 250));
      expect(output).toMatch(pattern);
    };
    expect(JSON.parse(await sh(printed("New VIP ticket")))).toEqual(QUEUED);
    await waitFor(/Rocket\.Chat #vip ← \*New VIP ticket\* \[Ticket#\d+\]/);
    await waitFor(/Rocket\.Chat @carla ← \*New VIP ticket\* \[Ticket#\d+\]/);
    expect(JSON.parse(await sh(printed("Solution time about to expire")))).toEqual(QUEUED);
    await waitFor(/Rocket\.Chat #servicedesk ← :warning: \*Solution time about to expire\* \[Ticket#\d+\]/);
  });

  it("answers 400 naming the fields over HTTP, through serverless-offline", async () => {
    const response = await fetch(`http://127.0.0.1:${httpPort}/glpi/tickets`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-deskbridge-token": "sandbox-forms-token" },
      body: JSON.stringify({ cnpj_cliente: "123" }),
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { fields: { path: string }[] } };
    expect(body.error.fields.map((f) => f.path)).toContain("cnpj_cliente");
    expect(response.headers.get("x-request-id")).toBeTruthy();
  });

  it("shows the parked demo request on the status page and assigns it with the printed curls", async () => {
    const status = () => sh(printedCurl("GET /status")).then((text) => JSON.parse(text));
    const before = await status();
    expect(before.integrations.map((i: { integration: string }) => i.integration)).toContain("glpi-forms");
    expect(before.parked).toEqual([
      expect.objectContaining({ cnpj: expect.stringMatching(/45\.?723\.?174/), reason: expect.any(String) }),
    ]);
    const assigned = JSON.parse(await sh(printedCurl("POST /status/parked/{id}/replay")));
    expect(assigned).toEqual({ job_id: before.parked[0].id, entity_id: 1 });
    const after = await eventually(status, (overview) => overview.parked.length === 0);
    expect(after.parked).toEqual([]);
    const spec = JSON.parse(await sh(printedCurl("GET /openapi.json")));
    expect(spec.openapi).toBe("3.1.0");
    expect(Object.keys(spec.paths)).toEqual(expect.arrayContaining(["/status", "/glpi/tickets"]));
  });

  it("lists the dead-letter queue of the running stack with npx deskbridge dlq list and npm run replay -- --dry-run", async () => {
    for (const args of [
      ["infra/cli/bin.mjs", "dlq", "list"],
      ["node_modules/tsx/dist/cli.mjs", "infra/tools/replay.ts", "--dry-run"],
    ]) {
      const { stdout } = await run(process.execPath, args, {
        env: cliEnv(),
        timeout: 30_000,
      });
      expect(stdout).toContain("The dead-letter queue is empty.");
      expect(stdout).toContain("0 dead letter(s), 0 unreadable.");
    }
  });

  it("shows this stack (its own config and ports) with npx deskbridge status from a shell that names neither", async () => {
    const { stdout, stderr } = await run(process.execPath, ["infra/cli/bin.mjs", "status"], {
      env: cliEnv(),
      timeout: 30_000,
    });
    expect(stdout).toContain(`local stack (process `);
    expect(stdout).toContain(configFile);
    // This stack took its Rocket.Chat hook from its own environment, which the second shell lacks.
    expect(stderr).toBe(
      "deskbridge: the running stack read ROCKETCHAT_HOOK_SERVICEDESK from its environment; this shell does not set it, so calls that need it will fail\n",
    );
    const json = await run(process.execPath, ["infra/cli/bin.mjs", "status", "--json"], {
      env: cliEnv(),
      timeout: 30_000,
    });
    const overview = JSON.parse(json.stdout) as {
      integrations: { integration: string; lastDay: { received: number } }[];
    };
    // The forms sent by the printed curls above are counted in this stack's table.
    const forms = overview.integrations.find((row) => row.integration === "glpi-forms");
    expect(forms?.lastDay.received).toBeGreaterThan(0);
  });

  it("removes its state file on Ctrl-C, and the CLI then says that no stack is running", async () => {
    expect(existsSync(stackFile)).toBe(true);
    const exited = new Promise((resolve) => stack.once("exit", resolve));
    process.kill(-(stack.pid ?? 0), "SIGINT");
    await exited;
    expect(existsSync(stackFile)).toBe(false);
    const failed = await run(process.execPath, ["infra/cli/bin.mjs", "status"], {
      env: cliEnv(),
      timeout: 30_000,
    }).then(
      () => ({ code: 0, stderr: "" }),
      (error: { code: number; stderr: string }) => error,
    );
    expect(failed.code).toBe(1);
    expect(failed.stderr.trim().split("\n")).toEqual([
      "deskbridge: no local stack is running: start one with `npm start` (in another terminal), or pass --stage <name> for a deployed stage",
    ]);
  });
});
