import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { COMMANDS, splitGlobalOptions } from "../../infra/cli/main.ts";
import { ROOT, resolveTarget } from "../../infra/cli/target.ts";
import { type StackState, writeStackState } from "../../infra/local/stack-state.ts";
import { ValidationError } from "../../lib/core/errors.ts";
import type { LinkLookup, StatusOverview } from "../../lib/ops/types.ts";
import { INTEGRATION_IDS } from "../../lib/sync/registry.ts";
import { httpEvent, SECRETS, type Stack, setupStack, warmEntityDirectory } from "../helpers/stack.ts";

const run = promisify(execFile);

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

const outputs: string[] = [];

/** Runs `deskbridge …` as a real process, pointed at this file's stack by the environment. */
async function cli(args: string[], env: Record<string, string> = {}): Promise<Result> {
  let result: Result;
  try {
    const { stdout, stderr } = await run(process.execPath, ["infra/cli/bin.mjs", ...args], {
      env: { ...process.env, ...env },
      timeout: 60_000,
    });
    result = { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof failed.code !== "number") throw error;
    result = { code: failed.code, stdout: failed.stdout ?? "", stderr: failed.stderr ?? "" };
  }
  outputs.push(result.stdout, result.stderr);
  return result;
}

const VALID = {
  nome_cliente: "Ciclana",
  telefone_cliente: "+55 11 3333-4444",
  cnpj_cliente: "11222333000181",
  anydesk_cliente: "987654321",
  descricao_problema: "Impressora não imprime",
};

let stack: Stack;

/** A state file as `npm start` writes it, for a stack whose process is this one unless told. */
function stateFile(over: Partial<StackState>): string {
  const sqs = over.sqsEndpoint ?? "http://127.0.0.1:9324";
  const state: StackState = {
    pid: process.pid,
    startedAt: "2026-12-02T10:00:00.000Z",
    configPath: join(ROOT, "config/sandbox.json"),
    secretsFile: join(ROOT, "config/sandbox.env"),
    secretsFromEnvironment: ["REDMINE_API_KEY"],
    httpUrl: "http://127.0.0.1:3400",
    dynamoEndpoint: "http://127.0.0.1:8400",
    sqsEndpoint: sqs,
    region: "us-east-1",
    table: "deskbridge-local-links",
    jobsQueueUrl: `${sqs}/000000000000/deskbridge-local-jobs`,
    deadLetterQueueUrl: `${sqs}/000000000000/deskbridge-local-jobs-dlq`,
    ...over,
  };
  const file = join(mkdtempSync(join(tmpdir(), "deskbridge-cli-")), "stack.json");
  writeStackState(file, state);
  return file;
}

beforeAll(async () => {
  // An outage is retried for the horizon: on this clock (3600×) its hour is a second.
  stack = await setupStack({ jobs: { maxAttempts: 2, outageHorizonHours: 1, timeScale: 3600 } });
  await warmEntityDirectory();
});
afterAll(() => stack.close());

/** A form submission whose job outlasts the outage horizon (GLPI is down): a real dead letter. */
async function deadLetteredSubmission(description: string): Promise<string> {
  const createTicket = (await import("../../functions/glpi-forms/create-ticket.ts")).handler;
  stack.glpi.setDown(true);
  const answer = await createTicket(
    httpEvent({
      method: "POST",
      path: "/glpi/tickets",
      body: { ...VALID, descricao_problema: description },
      headers: { "content-type": "application/json", "x-deskbridge-token": SECRETS.FORMS_TOKEN },
    }),
  );
  expect(answer.statusCode).toBe(202);
  await stack.drainJobs({ timeoutMs: 20_000 });
  stack.glpi.setDown(false);
  return JSON.parse(answer.body ?? "{}").job_id as string;
}

describe("usage", () => {
  it("lists every command with one line each on --help, and exits 0", async () => {
    const { code, stdout } = await cli(["--help"]);
    expect(code).toBe(0);
    for (const command of COMMANDS) {
      expect(
        stdout.split("\n").filter((line) => line.trimStart().startsWith(`${command.name} `)),
      ).toHaveLength(1);
    }
    expect(stdout).toContain("--stage <name>");
  });

  it("prints one command's usage on <command> --help", async () => {
    const { code, stdout } = await cli(["dlq", "replay", "--help"]);
    expect(code).toBe(0);
    expect(stdout).toContain("Usage: deskbridge dlq replay <job id> | --all");
  });

  it("answers an unknown command with the usage on stderr and exit code 2", async () => {
    const { code, stdout, stderr } = await cli(["frobnicate"]);
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toContain("unknown command: frobnicate");
    expect(stderr).toContain("Usage: deskbridge");
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it("answers an unknown flag or a missing argument with the command's usage and exit code 2", async () => {
    const flag = await cli(["dlq", "list", "--bogus"]);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain("--bogus");
    expect(flag.stderr).toContain("Usage: deskbridge dlq list");
    const missing = await cli(["links", "get", "glpi"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("Usage: deskbridge links get <system> <id>");
    const noValue = await cli(["status", "--stage"]);
    expect(noValue.code).toBe(2);
    expect(noValue.stderr).toContain("--stage needs a value");
  });
});

describe("config validate", () => {
  it("accepts a good file, names its integrations and exits 0", async () => {
    const { code, stdout } = await cli(["config", "validate", stack.configPath]);
    expect(code).toBe(0);
    expect(stdout.trim()).toBe(
      `ok: ${stack.configPath} (glpiForms, itopPair, otrsRedmine, rocketchatOtrs, rtKanban)`,
    );
    expect((await cli(["config", "validate", "config/sandbox.json"])).code).toBe(0);
  });

  it("prints every problem with its path and exits 1", async () => {
    const config = JSON.parse(readFileSync(stack.configPath, "utf8"));
    delete config.integrations.glpiForms.auth.secret;
    config.systems.redmine.main.url = "not a url";
    config.integrations.rtKanban.rt = "nowhere";
    const bad = join(stack.configPath, "..", "bad.json");
    writeFileSync(bad, JSON.stringify(config));
    const { code, stdout } = await cli(["config", "validate", bad]);
    expect(code).toBe(1);
    expect(stdout).toContain("integrations.glpiForms.auth.secret: is required");
    expect(stdout).toContain("systems.redmine.main.url:");
    const absent = await cli(["config", "validate", bad.replace("bad.json", "absent.json")]);
    expect(absent.code).toBe(1);
    expect(absent.stdout).toContain("(file): cannot be read");
    delete config.systems.redmine;
    config.integrations.glpiForms.auth.secret = "FORMS_TOKEN";
    writeFileSync(bad, JSON.stringify(config));
    const dangling = await cli(["config", "validate", bad]);
    expect(dangling.code).toBe(1);
    expect(dangling.stdout).toContain("integrations.rtKanban.rt: names no instance under systems.rt");
  });
});

describe("targets", () => {
  it("maps --stage to the deployed stage's queues, table, config file and SSM prefix", () => {
    const target = resolveTarget({ stage: "prod", region: "sa-east-1" }, {});
    expect(target).toEqual({
      kind: "stage",
      label: "stage prod",
      jobsQueue: { name: "deskbridge-prod-jobs" },
      deadLetterQueue: { name: "deskbridge-prod-jobs-dlq" },
      // Each integration's pair, by the names infra/resources.yml gives them.
      integrationQueues: Object.fromEntries(
        INTEGRATION_IDS.map((id) => [
          id,
          { jobs: { name: `deskbridge-prod-${id}` }, deadLetters: { name: `deskbridge-prod-${id}-dlq` } },
        ]),
      ),
      table: "deskbridge-prod-links",
      configPath: join(ROOT, "config/prod.json"),
      env: { DESKBRIDGE_SSM_PREFIX: "/deskbridge/prod/", AWS_REGION: "sa-east-1" },
    });
    // A stage sets no local endpoint, and leaves the region to the usual chain without --region.
    expect(resolveTarget({ stage: "dev" }, { AWS_ENDPOINT_URL_SQS: "x" }).env).toEqual({
      DESKBRIDGE_SSM_PREFIX: "/deskbridge/dev/",
    });
    expect(() => resolveTarget({ stage: "../prod" }, {})).toThrow(/--stage/);
    expect(() => resolveTarget({ stage: "prod", region: "mars" }, {})).toThrow(/--region/);
  });

  it("targets the running npm start stack as its state file describes it", () => {
    const file = stateFile({
      configPath: join(ROOT, "config/my.json"),
      sqsEndpoint: "http://127.0.0.1:9400",
    });
    const local = resolveTarget({}, { DESKBRIDGE_STACK_FILE: file });
    expect(local).toMatchObject({
      kind: "local",
      label: `local stack (process ${process.pid}, config/my.json)`,
      jobsQueue: { url: "http://127.0.0.1:9400/000000000000/deskbridge-local-jobs" },
      deadLetterQueue: { url: "http://127.0.0.1:9400/000000000000/deskbridge-local-jobs-dlq" },
      table: "deskbridge-local-links",
      configPath: join(ROOT, "config/my.json"),
      secretsFile: join(ROOT, "config/sandbox.env"),
      secretsFromEnvironment: ["REDMINE_API_KEY"],
      env: {
        AWS_REGION: "us-east-1",
        AWS_ENDPOINT_URL_SQS: "http://127.0.0.1:9400",
        AWS_ENDPOINT_URL_DYNAMODB: "http://127.0.0.1:8400",
      },
    });
  });

  it("says that no stack is running when there is no state file, or its process is gone", async () => {
    const none = join(mkdtempSync(join(tmpdir(), "deskbridge-cli-")), "stack.json");
    expect(() => resolveTarget({}, { DESKBRIDGE_STACK_FILE: none })).toThrow(
      /^no local stack is running: start one with `npm start`/,
    );
    const gone = spawnSync(process.execPath, ["-e", ""]).pid;
    expect(() => resolveTarget({}, { DESKBRIDGE_STACK_FILE: stateFile({ pid: gone }) })).toThrow(
      new RegExp(`^no local stack is running \\(the one started .*, process ${gone}, is gone\\)`),
    );
    const garbled = join(mkdtempSync(join(tmpdir(), "deskbridge-cli-")), "stack.json");
    writeFileSync(garbled, "{");
    expect(() => resolveTarget({}, { DESKBRIDGE_STACK_FILE: garbled })).toThrow(/is not a stack state file/);
  });

  it("refuses a DESKBRIDGE_CONFIG other than the running stack's, and takes a stack the environment names", () => {
    const file = stateFile({});
    expect(() =>
      resolveTarget({}, { DESKBRIDGE_STACK_FILE: file, DESKBRIDGE_CONFIG: "config/other.json" }),
    ).toThrow(ValidationError);
    expect(
      resolveTarget({}, { DESKBRIDGE_STACK_FILE: file, DESKBRIDGE_CONFIG: "config/sandbox.json" }).configPath,
    ).toBe(join(ROOT, "config/sandbox.json"));
    const named = resolveTarget(
      {},
      {
        JOBS_QUEUE_URL: "http://q/jobs",
        DEAD_LETTER_QUEUE_URL: "http://q/dlq",
        JOB_QUEUES: JSON.stringify({ "rt-kanban": { jobs: "http://q/rt", deadLetters: "http://q/rt-dlq" } }),
        LINKS_TABLE: "t",
        DESKBRIDGE_CONFIG: "config/sandbox.json",
        AWS_ENDPOINT_URL_SQS: "http://127.0.0.1:1",
      },
    );
    expect(named).toMatchObject({
      jobsQueue: { url: "http://q/jobs" },
      deadLetterQueue: { url: "http://q/dlq" },
      integrationQueues: {
        "rt-kanban": { jobs: { url: "http://q/rt" }, deadLetters: { url: "http://q/rt-dlq" } },
      },
      table: "t",
      env: { AWS_ENDPOINT_URL_SQS: "http://127.0.0.1:1" },
    });
    expect(named.secretsFile).toBeUndefined();
    expect(() => resolveTarget({}, { JOBS_QUEUE_URL: "http://q/jobs" })).toThrow(ValidationError);
  });

  it("fails in one line with what to do when no stack is running (exit 1)", async () => {
    const none = join(mkdtempSync(join(tmpdir(), "deskbridge-cli-")), "stack.json");
    const { code, stdout, stderr } = await cli(["dlq", "list"], {
      DESKBRIDGE_STACK_FILE: none,
      JOBS_QUEUE_URL: "",
      DESKBRIDGE_CONFIG: "",
    });
    expect(code).toBe(1);
    expect(stdout).toBe("");
    expect(stderr.trim().split("\n")).toEqual([
      "deskbridge: no local stack is running: start one with `npm start` (in another terminal), or pass --stage <name> for a deployed stage",
    ]);
  });

  it("takes --stage and --region from any position on the line", () => {
    expect(splitGlobalOptions(["dlq", "--stage", "prod", "list", "--region=eu-west-1"])).toEqual({
      global: { stage: "prod", region: "eu-west-1" },
      rest: ["dlq", "list"],
    });
    expect(splitGlobalOptions(["--stage=dev", "status", "--json"])).toEqual({
      global: { stage: "dev" },
      rest: ["status", "--json"],
    });
  });

  it("fails in one line, without a stack trace, when the stage's queues do not exist", async () => {
    // The SDK still goes to the test's emulator (AWS_ENDPOINT_URL_SQS): no real AWS is reached.
    const { code, stderr } = await cli(["dlq", "list", "--stage", "nosuchstage"]);
    expect(code).toBe(1);
    expect(stderr.trim().split("\n")).toHaveLength(1);
    expect(stderr).toMatch(/^deskbridge: .*(QueueDoesNotExist|does not exist)/i);
  });
});

/** The job ids of the two dead-lettered submissions (set by the dlq tests, used by the links test). */
const jobIds: string[] = [];

describe("dlq", () => {
  it("lists an empty dead-letter queue", async () => {
    const text = await cli(["dlq", "list"]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain("The dead-letter queue is empty.");
    const json = await cli(["dlq", "list", "--json"]);
    expect(JSON.parse(json.stdout)).toEqual({ deadLetters: [], unreadable: 0 });
  });

  it("lists real dead letters with id, type, attempts, failed at and error, and counts the unreadable", async () => {
    const first = await deadLetteredSubmission("first");
    const second = await deadLetteredSubmission("second");
    jobIds.push(first, second);
    await stack.sqs.send(
      new SendMessageCommand({ QueueUrl: stack.resources.deadLetterQueueUrl, MessageBody: "not json" }),
    );
    const json = await cli(["dlq", "list", "--json"]);
    expect(json.code).toBe(0);
    const listed = JSON.parse(json.stdout) as { deadLetters: Record<string, unknown>[]; unreadable: number };
    expect(listed.unreadable).toBe(1);
    expect(listed.deadLetters.map((l) => l.id).sort()).toEqual([first, second].sort());
    expect(listed.deadLetters[0]).toMatchObject({
      type: "glpi-forms.create-ticket",
      integration: "glpi-forms",
      // An outage uses no attempt: the one counted is the delivery that found the horizon passed.
      attempts: 1,
      error: { code: "upstream_unavailable" },
      failedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    const text = await cli(["dlq", "list"]);
    expect(text.stdout).toContain(first);
    expect(text.stdout).toContain(second);
    expect(text.stdout).toMatch(/glpi-forms\.create-ticket\s+1\s+\d{4}-/);
    expect(text.stdout).toContain("upstream_unavailable:");
    expect(text.stdout).toContain("2 dead letter(s), 1 unreadable.");
    // Listing changes nothing.
    expect(await stack.queueDepth(stack.resources.deadLetterQueueUrl)).toBe(3);
  });

  it("refuses a replay without an id or --all (usage, exit 2) and an unknown id (exit 1)", async () => {
    const neither = await cli(["dlq", "replay"]);
    expect(neither.code).toBe(2);
    expect(neither.stderr).toContain("give a job id or --all");
    expect(neither.stderr).toContain("Usage: deskbridge dlq replay");
    const unknown = await cli(["dlq", "replay", "no-such-job"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.trim()).toBe("deskbridge: no dead letter has job id no-such-job");
    expect(await stack.queueDepth(stack.resources.deadLetterQueueUrl)).toBe(3);
  });

  it("replays one dead letter by id: it leaves the DLQ and its job is on the jobs queue", async () => {
    const [first, second] = jobIds;
    if (!first || !second) throw new Error("the listing test makes the dead letters");
    const { code, stdout } = await cli(["dlq", "replay", first]);
    expect(code).toBe(0);
    expect(stdout).toContain(`replayed ${first}: 1 job(s)`);
    const left = JSON.parse((await cli(["dlq", "list", "--json"])).stdout);
    expect(left.deadLetters.map((l: { id: string }) => l.id)).toEqual([second]);
    expect(await stack.queueDepth(stack.resources.jobsQueueUrl)).toBe(1);
  });

  it("replays all of them with --all, leaving the unreadable one, and the jobs then create the tickets", async () => {
    const { code, stdout } = await cli(["dlq", "replay", "--all"]);
    expect(code).toBe(0);
    expect(stdout).toContain("1 job(s) moved back to the jobs queue.");
    expect(JSON.parse((await cli(["dlq", "list", "--json"])).stdout)).toEqual({
      deadLetters: [],
      unreadable: 1,
    });
    expect(await stack.queueDepth(stack.resources.jobsQueueUrl)).toBe(2);
    await stack.drainJobs();
    expect(stack.glpi.tickets).toHaveLength(2);
  });
});

describe("links get", () => {
  it("shows both ends of a GLPI form ticket's link, with the ticket's URL", async () => {
    const ticket = stack.glpi.tickets[0]!;
    const json = await cli(["links", "get", "glpi", String(ticket.id), "--json"]);
    expect(json.code).toBe(0);
    const lookup = JSON.parse(json.stdout) as LinkLookup;
    expect(lookup.links).toHaveLength(1);
    const [link] = lookup.links;
    expect(link?.source.ref).toMatchObject({ system: "forms", type: "submission" });
    expect(jobIds).toContain(link?.source.ref.id);
    expect(link?.target).toEqual({
      ref: { system: "glpi", instance: "main", type: "Ticket", id: String(ticket.id) },
      key: `glpi:main:Ticket:${ticket.id}`,
      url: `${stack.glpi.url.replace(/\/apirest\.php$/, "")}/front/ticket.form.php?id=${ticket.id}`,
    });
    const text = await cli(["links", "get", "glpi", String(ticket.id)]);
    expect(text.stdout).toContain(`source  ${link?.source.key}`);
    expect(text.stdout).toContain(`target  glpi:main:Ticket:${ticket.id}  ${link?.target.url}`);
    expect(text.stdout).toContain("1 link(s).");
  });

  it("says there are none for an object without links, and names a bad system", async () => {
    expect((await cli(["links", "get", "glpi", "999999"])).stdout).toContain("No links for glpi 999999.");
    const bad = await cli(["links", "get", "jira", "1"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^deskbridge: system: must be one of/);
  });
});

describe("status", () => {
  it("reflects the counts, the last failure, the dead letters and the parked requests", async () => {
    const { code, stdout } = await cli(["status", "--json"]);
    expect(code).toBe(0);
    const overview = JSON.parse(stdout) as StatusOverview;
    const forms = overview.integrations.find((row) => row.integration === "glpi-forms");
    expect(forms).toMatchObject({
      configured: true,
      lastDay: { deadLettered: 2, succeeded: 2 },
      lastHour: { deadLettered: 2, succeeded: 2 },
      lastFailure: { code: "upstream_unavailable", type: "glpi-forms.create-ticket" },
      lastSuccess: { type: "glpi-forms.create-ticket" },
    });
    expect(overview.integrations.map((row) => row.integration).sort()).toEqual([
      "glpi-forms",
      "itop-pair",
      "otrs-redmine",
      "rocketchat-otrs",
      "rt-kanban",
    ]);
    expect(overview.deadLetters).toEqual([]);
    expect(overview.unreadableDeadLetters).toBe(1);
    expect(overview.parked).toEqual([]);
    const text = await cli(["status"]);
    expect(text.stdout).toMatch(/glpi-forms\s+\d+\/2\/\d+\/2\s+\d+\/2\/\d+\/2\s+-\s+-\s+\d+s\s+\d{4}-/);
    expect(text.stdout).toMatch(/rt-kanban\s+[\d/]+\s+[\d/]+\s+rt (never|\d+s)/);
    expect(text.stdout).toContain("dead letters: 0 (+1 unreadable), parked requests: 0");
  });
});

describe("backfill", () => {
  it("creates the rt-kanban cards of the open tickets, and a second run changes nothing", async () => {
    const open = [
      stack.rt.personCreates({ queue: "General", subject: "One" }),
      stack.rt.personCreates({ queue: "Helpdesk", subject: "Two", status: "open" }),
    ];
    stack.rt.personCreates({ queue: "General", subject: "Closed long ago", status: "resolved" });
    stack.rt.personCreates({ queue: "HR", subject: "Private" });
    const firstRun = await cli(["backfill", "rt-kanban"]);
    expect(firstRun.code).toBe(0);
    expect(firstRun.stdout).toContain(
      "2 ticket(s): 2 card(s) created, 0 updated, 0 removed, 0 unchanged, 0 failed.",
    );
    expect(
      stack.kanboard
        .tasks()
        .map((task) => task.reference)
        .sort(),
    ).toEqual(open.map((t) => `RT#${t.id}`).sort());
    const secondRun = await cli(["backfill", "rt-kanban", "--since", "2020-01-01"]);
    expect(secondRun.stdout).toContain(
      "2 ticket(s): 0 card(s) created, 0 updated, 0 removed, 2 unchanged, 0 failed.",
    );

    // The link the backfill made, both ends with their URLs.
    const lookup = JSON.parse(
      (await cli(["links", "get", "rt", String(open[0]?.id), "--json"])).stdout,
    ) as LinkLookup;
    const card = stack.kanboard.tasks().find((task) => task.reference === `RT#${open[0]?.id}`);
    expect(lookup.links).toHaveLength(1);
    expect(lookup.links[0]?.source).toMatchObject({
      key: `rt:main:ticket:${open[0]?.id}`,
      url: expect.stringContaining(`/Ticket/Display.html?id=${open[0]?.id}`),
    });
    expect(lookup.links[0]?.target).toMatchObject({
      key: `kanboard:main:card:${card?.id}`,
      url: expect.stringContaining(`task_id=${card?.id}`),
    });
    expect(lookup.links[0]?.aspects.length).toBeGreaterThan(0);
  });

  it("links Redmine issues that name an OTRS ticket with otrs-redmine --since, once", async () => {
    const ticket = stack.otrs.addTicket({
      Title: "Relatório de vendas não abre",
      Queue: "Desenvolvimento",
      State: "Em Atendimento",
      Articles: [{ Subject: "Erro", Body: "O relatório mostra erro 500." }],
    });
    const { issue } = stack.redmine.personCreates({
      project_id: 1,
      subject: "Feito à mão",
      custom_fields: { 5: ticket.TicketNumber },
      userId: 7,
    });
    stack.redmine.personCreates({ project_id: 1, subject: "Names no ticket", userId: 7 });
    const since = new Date(Date.now() - 3600_000).toISOString();
    const firstRun = await cli(["backfill", "otrs-redmine", "--since", since]);
    expect(firstRun.code).toBe(0);
    expect(firstRun.stdout).toContain(
      "1 issue(s) naming an OTRS ticket: 1 linked, 0 state(s) applied, 0 unchanged, 0 failed.",
    );
    expect(stack.otrs.tickets.find((t) => t.TicketID === ticket.TicketID)?.DynamicFields.RedmineID).toBe(
      String(issue.id),
    );
    const secondRun = await cli(["backfill", "otrs-redmine", "--since", since]);
    expect(secondRun.stdout).toContain(
      "1 issue(s) naming an OTRS ticket: 0 linked, 0 state(s) applied, 1 unchanged",
    );
    // Looked up by the number agents see, through OTRS.
    const lookup = JSON.parse(
      (await cli(["links", "get", "otrs", ticket.TicketNumber, "--json"])).stdout,
    ) as LinkLookup;
    expect(lookup.links.map((link) => [link.source.key, link.target.key])).toEqual([
      [`otrs:main:ticket:${ticket.TicketID}`, `redmine:main:issue:${issue.id}`],
    ]);
  });

  it("fails the otrs-redmine backfill (exit 1) when Redmine does not know the API key, instead of finding no issue", async () => {
    stack.redmine.personCreates({
      project_id: 1,
      subject: "Feito à mão",
      custom_fields: { 5: "1" },
      userId: 7,
    });
    stack.redmine.revokeApiKey(SECRETS.REDMINE_API_KEY);
    try {
      const run = await cli([
        "backfill",
        "otrs-redmine",
        "--since",
        new Date(Date.now() - 3600_000).toISOString(),
      ]);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain("API key");
      expect(run.stdout).not.toContain("issue(s) naming an OTRS ticket");
    } finally {
      stack.redmine.restoreApiKey(SECRETS.REDMINE_API_KEY);
    }
  });

  it("refuses an integration without a backfill, a bad date, and otrs-redmine without --since (exit 2)", async () => {
    const unknown = await cli(["backfill", "itop-pair"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("no backfill for itop-pair; one of rt-kanban, otrs-redmine");
    const date = await cli(["backfill", "rt-kanban", "--since", "yesterday-ish"]);
    expect(date.code).toBe(2);
    expect(date.stderr).toContain("--since: not a date");
    const noSince = await cli(["backfill", "otrs-redmine"]);
    expect(noSince.code).toBe(2);
    expect(noSince.stderr).toContain("otrs-redmine needs --since");
  });
});

describe("output", () => {
  it("never shows a secret value or a stack trace", () => {
    const all = outputs.join("\n");
    expect(all.length).toBeGreaterThan(0);
    for (const value of Object.values(SECRETS)) expect(all).not.toContain(value);
    expect(all).not.toMatch(/\n\s+at .+:\d+:\d+/);
  });
});
