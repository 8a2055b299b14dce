import { createHmac } from "node:crypto";
import { copyFileSync, mkdirSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LambdaHttpHandler } from "../../lib/core/http.ts";
import { readDeadLetters } from "../../lib/jobs/replay.ts";
import { renderStatusPage } from "../../lib/ops/page/status-page.ts";
import type { LinkLookup, StatusOverview } from "../../lib/ops/types.ts";
import { launchChromium } from "../helpers/browser.ts";
import { serveRoutes } from "../helpers/serve-routes.ts";
import { httpEvent, SECRETS, type Stack, setupStack } from "../helpers/stack.ts";

/**
 * The status page in headless Chromium over the four real ops routes, with state made by driving the
 * real webhook routes (successes, permanent refusals that dead-letter, a CNPJ no entity has). The
 * tests run in order: each starts from the state the previous one left, as an operator's session would.
 */

const ARTIFACTS = "test-artifacts/status-page";
const UNKNOWN_CNPJ = "11.444.777/0001-61";

let stack: Stack;
let site: { url: string; close(): Promise<void> };
let browser: Browser;
let context: BrowserContext;
let page: Page;
let createTicket: LambdaHttpHandler;
let ticketEvents: LambdaHttpHandler;

beforeAll(async () => {
  stack = await setupStack();
  createTicket = (await import("../../functions/glpi-forms/create-ticket.ts")).handler;
  ticketEvents = (await import("../../functions/otrs-redmine/ticket-events.ts")).handler;
  site = await serveRoutes([
    { method: "GET", path: "/status", handler: (await import("../../functions/ops/status.ts")).handler },
    {
      method: "POST",
      path: "/status/dead-letters/replay",
      handler: (await import("../../functions/ops/replay-dead-letters.ts")).handler,
    },
    {
      method: "POST",
      path: "/status/parked/{id}/replay",
      handler: (await import("../../functions/ops/replay-parked.ts")).handler,
    },
    { method: "GET", path: "/status/links", handler: (await import("../../functions/ops/links.ts")).handler },
  ]);
  const launched = await launchChromium();
  browser = launched.browser;
  console.info(`Chromium ${browser.version()} (${launched.choice.source})`);
  context = await browser.newContext({
    viewport: { width: 1200, height: 900 },
    httpCredentials: { username: "operator", password: SECRETS.OPERATOR_TOKEN },
  });
  page = await context.newPage();
  mkdirSync(ARTIFACTS, { recursive: true });
});
afterAll(async () => {
  await browser?.close();
  await site?.close();
  await stack?.close();
});

const basic = `Basic ${Buffer.from(`operator:${SECRETS.OPERATOR_TOKEN}`).toString("base64")}`;
const shot = (state: string) => page.screenshot({ path: `${ARTIFACTS}/${state}.png`, fullPage: true });

async function openStatus(query = ""): Promise<void> {
  const response = await page.goto(`${site.url}/status${query}`);
  expect(response?.status()).toBe(200);
}

const rowOf = (integration: string) => page.locator(`tr[data-integration="${integration}"]`);
const countCells = (integration: string) => rowOf(integration).locator("td.n").allTextContents();
const deadLetterRows = () => page.locator("#dead-letters tr[data-job-id]");
const parkedRows = () => page.locator("#parked tr[data-parked-id]");
const csrfToken = async () =>
  (await page.locator('input[name="csrf_token"]').first().getAttribute("value")) ?? "";

/** An OTRS ticket moved into the trigger state, and the event OTRS would POST for it. */
function ticketInDevelopment(title: string) {
  const ticket = stack.otrs.addTicket({
    Title: title,
    Queue: "Desenvolvimento",
    State: "Em Atendimento",
    Articles: [{ Subject: title, Body: `${title}: details` }],
  });
  return { ticket, event: stack.otrs.agentSetState(ticket.TicketID, "Em Desenvolvimento", "agent1") };
}

const sendTicketEvent = (body: unknown) =>
  ticketEvents(
    httpEvent({
      method: "POST",
      path: "/otrs/ticket-events",
      body,
      headers: { "content-type": "application/json", "x-deskbridge-token": SECRETS.OTRS_REDMINE_TOKEN },
    }),
  );

const requestGlpiTicket = (cnpj: string, description: string) =>
  createTicket(
    httpEvent({
      method: "POST",
      path: "/glpi/tickets",
      body: {
        nome_cliente: "Ciclana <b>de Tal</b>",
        telefone_cliente: "+55 11 3333-4444",
        cnpj_cliente: cnpj,
        anydesk_cliente: "987654321",
        descricao_problema: description,
      },
      headers: { "content-type": "application/json", "x-deskbridge-token": SECRETS.FORMS_TOKEN },
    }),
  );

/** A form POST as a script would send it, with the browser's Basic credentials but without the page. */
const postForm = (path: string, fields: Record<string, string>, headers: Record<string, string> = {}) =>
  fetch(`${site.url}${path}`, {
    method: "POST",
    redirect: "manual",
    headers: { authorization: basic, "content-type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams(fields).toString(),
  });

const dlqSize = async () => (await readDeadLetters(stack.sqs, stack.resources.deadLetterQueueUrl)).length;

describe("status page: authentication", () => {
  it("answers 401 with a Basic challenge to a browser without credentials, and to a wrong secret", async () => {
    // Headless Chromium cannot show the sign-in prompt (it fails the navigation instead): ask as it would.
    const anonymous = await fetch(`${site.url}/status`, { headers: { accept: "text/html,*/*;q=0.8" } });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toBe('Basic realm="deskbridge", charset="UTF-8"');
    expect(anonymous.headers.get("content-type")).toBe("text/html; charset=utf-8");
    await page.setContent(await anonymous.text());
    await expect(page.locator("#error").textContent()).resolves.toContain("operator secret");
    await shot("unauthorized");

    const cli = await fetch(`${site.url}/status`, { headers: { accept: "application/json" } });
    expect(cli.status).toBe(401);
    expect(await cli.json()).toMatchObject({ error: { code: "unauthorized" } });

    const wrong = await fetch(`${site.url}/status`, {
      headers: { authorization: `Basic ${Buffer.from("operator:guess").toString("base64")}` },
    });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get("www-authenticate")).toContain("Basic");
    expect(await wrong.text()).not.toContain(SECRETS.OPERATOR_TOKEN);
  });

  it("serves the page with no-store, a strict content security policy, nosniff and no referrer", async () => {
    const response = await fetch(`${site.url}/status`, {
      headers: { authorization: basic, accept: "text/html" },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    expect(response.headers.get("referrer-policy")).toBe("no-referrer");
    const csp = response.headers.get("content-security-policy") ?? "";
    for (const directive of ["default-src 'none'", "form-action 'self'", "frame-ancestors 'none'"]) {
      expect(csp).toContain(directive);
    }
    expect(csp).not.toContain("script-src");
    expect(await response.text()).not.toContain(SECRETS.OPERATOR_TOKEN);
  });
});

describe("status page: states", () => {
  it("shows every integration with zero counts and the empty states on a fresh stack", async () => {
    await openStatus();
    await expect(page.locator("tr[data-integration]").count()).resolves.toBe(5);
    expect(await countCells("otrs-redmine")).toEqual(Array(8).fill("0"));
    await expect(page.locator("#dead-letters .empty").textContent()).resolves.toBe("No dead letters.");
    await expect(page.locator("#parked .empty").textContent()).resolves.toBe("No parked requests.");
    await expect(page.locator("#dead-letters button", { hasText: "Replay all" }).count()).resolves.toBe(0);
    // The inline style applies (its hash is in the policy): the header is dark, not the default white.
    const header = await page.evaluate("getComputedStyle(document.querySelector('header')).backgroundColor");
    expect(header).toBe("rgb(17, 24, 39)");
    await shot("empty");
  });

  it("counts what was received and succeeded, with the last success", async () => {
    const { event } = ticketInDevelopment("Relatório não abre");
    expect((await sendTicketEvent(event)).statusCode).toBe(200);
    expect((await requestGlpiTicket("11222333000181", "Impressora não imprime")).statusCode).toBe(201);
    await openStatus();
    const [received, succeeded] = await countCells("otrs-redmine");
    expect(Number(received)).toBeGreaterThanOrEqual(1);
    expect(Number(succeeded)).toBeGreaterThanOrEqual(1);
    const glpi = await countCells("glpi-forms");
    expect(Number(glpi[1])).toBe(1);
    expect(Number(glpi[5])).toBe(1);
    await expect(rowOf("otrs-redmine").locator("td").nth(9).textContent()).resolves.toContain(
      "otrs-redmine.",
    );
    await shot("counts");
  });

  it("lists dead letters with their error, attempts and a link to the source object", async () => {
    for (const title of ["Primeiro recusado", "Segundo recusado"]) {
      stack.redmine.failNext(
        1,
        { kind: "status", status: 422, body: { errors: ["Subject <i>cannot</i> be blank"] } },
        { method: "POST", path: "/issues.json" },
      );
      const { event } = ticketInDevelopment(title);
      expect((await sendTicketEvent(event)).statusCode).toBe(202);
    }
    expect(await dlqSize()).toBe(2);
    await openStatus();
    await expect(deadLetterRows().count()).resolves.toBe(2);
    const first = deadLetterRows().first();
    await expect(first.textContent()).resolves.toContain("upstream_refused");
    // The vendor's message is shown as text, never as markup.
    await expect(first.locator("i").count()).resolves.toBe(0);
    const source = first.locator("td").nth(4).locator("a");
    await expect(source.textContent()).resolves.toMatch(/^otrs:main:ticket:\d+$/);
    await expect(source.getAttribute("href")).resolves.toMatch(/^https:\/\/otrs\.example\.com\//);
    expect(await countCells("otrs-redmine").then((cells) => Number(cells[3]))).toBe(2);
    await expect(rowOf("otrs-redmine").locator("td").nth(10).textContent()).resolves.toContain(
      "upstream_refused",
    );
    await shot("dead-letters");
  });

  it("lists a GLPI request whose CNPJ matched no entity, with its submission", async () => {
    const answer = await requestGlpiTicket(UNKNOWN_CNPJ, "Sistema fora do ar");
    expect(answer.statusCode).toBe(404);
    await openStatus();
    await expect(parkedRows().count()).resolves.toBe(1);
    const row = parkedRows().first();
    await expect(row.textContent()).resolves.toContain("11444777000161");
    await expect(row.textContent()).resolves.toContain("Sistema fora do ar");
    // `<b>` in a customer's name stays text.
    await expect(row.textContent()).resolves.toContain("Ciclana <b>de Tal</b>");
    await expect(row.locator("b").count()).resolves.toBe(0);
    await shot("parked");
    // The populated overview, for the README.
    await page.screenshot({ path: `${ARTIFACTS}/overview.png` });
    // The README's picture is refreshed on request only: a test run leaves the working tree as it was.
    if (process.env.UPDATE_SCREENSHOTS) copyFileSync(`${ARTIFACTS}/overview.png`, "docs/status-page.png");
  });
});

describe("status page: CSRF", () => {
  it("refuses a POST without a token, with a forged one or with an expired one, and replays nothing", async () => {
    await openStatus();
    const id = (await deadLetterRows().first().getAttribute("data-job-id")) ?? "";
    const expiry = Math.floor(Date.now() / 1000) - 60;
    const mac = createHmac("sha256", SECRETS.OPERATOR_TOKEN).update(`csrf|${expiry}`).digest("base64url");
    const forged = `${Math.floor(Date.now() / 1000) + 600}.${"A".repeat(43)}`;
    for (const token of [undefined, forged, `${expiry}.${mac}`, "not-a-token"]) {
      const answer = await postForm("/status/dead-letters/replay", {
        id,
        ...(token === undefined ? {} : { csrf_token: token }),
      });
      expect(answer.status).toBe(403);
      expect(await answer.text()).toContain("csrf_token");
    }
    const json = await postForm("/status/dead-letters/replay", { all: "1" }, { accept: "application/json" });
    expect(json.status).toBe(403);
    expect(await json.json()).toMatchObject({
      error: { code: "forbidden", fields: [{ path: "csrf_token" }] },
    });
    expect(await dlqSize()).toBe(2);
  });

  it("refuses a POST from another origin even with the page's token", async () => {
    await openStatus();
    const token = await csrfToken();
    const crossOrigin = await postForm(
      "/status/dead-letters/replay",
      { all: "1", csrf_token: token },
      { origin: "http://evil.example" },
    );
    expect(crossOrigin.status).toBe(403);
    expect(await crossOrigin.text()).toContain("origin");
    const crossSite = await postForm(
      "/status/dead-letters/replay",
      { all: "1", csrf_token: token },
      { "sec-fetch-site": "cross-site" },
    );
    expect(crossSite.status).toBe(403);
    // `Origin: null` (a sandboxed frame, a redirect) passes only when the browser says same-origin.
    const opaque = await postForm(
      "/status/dead-letters/replay",
      { all: "1", csrf_token: token },
      { origin: "null" },
    );
    expect(opaque.status).toBe(403);
    expect(await dlqSize()).toBe(2);
  });

  it("refuses a form another site makes the logged-in browser submit", async () => {
    // The attacker's page, on another origin, posts a copy of the "Replay all" form (it cannot read the token).
    const attacker = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/html" });
      res.end(
        `<form method="post" action="${site.url}/status/dead-letters/replay"><input type="hidden" name="all" value="1"><button>Win a prize</button></form>`,
      );
    });
    await new Promise<void>((resolve) => attacker.listen(0, "127.0.0.1", () => resolve()));
    const { port } = attacker.address() as AddressInfo;
    try {
      await page.goto(`http://localhost:${port}/`);
      const [response] = await Promise.all([
        page.waitForResponse((r) => r.url().endsWith("/status/dead-letters/replay")),
        page.click("button"),
      ]);
      expect(response.status()).toBe(403);
      await page.waitForLoadState();
      await shot("csrf-refused");
      expect(await dlqSize()).toBe(2);
    } finally {
      attacker.closeAllConnections();
      await new Promise<void>((resolve) => attacker.close(() => resolve()));
    }
  });
});

describe("status page: actions", () => {
  it("replays one dead letter: it leaves the list and its job runs", async () => {
    await openStatus();
    const row = deadLetterRows().first();
    const id = (await row.getAttribute("data-job-id")) ?? "";
    const issuesBefore = stack.redmine.issues.length;
    await row.locator("button", { hasText: "Replay" }).click();
    await page.waitForURL(/\/status\?replayed=1$/);
    await expect(page.locator(".banner").textContent()).resolves.toContain("Replayed 1 dead letter");
    await expect(deadLetterRows().count()).resolves.toBe(1);
    await expect(page.locator(`tr[data-job-id="${id}"]`).count()).resolves.toBe(0);
    await shot("replayed-one");
    await stack.drainJobs();
    expect(stack.redmine.issues.length).toBe(issuesBefore + 1);
  });

  it("replays all dead letters with one button", async () => {
    await openStatus();
    await page.locator("button", { hasText: "Replay all" }).click();
    await page.waitForURL(/\/status\?replayed=1$/);
    await expect(page.locator("#dead-letters .empty").textContent()).resolves.toBe("No dead letters.");
    await stack.drainJobs();
    expect(await dlqSize()).toBe(0);
    const titles = stack.redmine.issues.map((issue) => issue.subject);
    expect(titles).toEqual(expect.arrayContaining(["Primeiro recusado", "Segundo recusado"]));
  });

  it("refuses an action without `id` or `all` with a 400 naming `id`", async () => {
    await openStatus();
    const answer = await postForm(
      "/status/dead-letters/replay",
      { csrf_token: await csrfToken() },
      { accept: "application/json" },
    );
    expect(answer.status).toBe(400);
    expect(await answer.json()).toMatchObject({ error: { fields: [{ path: "id" }] } });
  });

  it("assigns a parked request to an entity: its ticket opens there and it leaves the list", async () => {
    await openStatus();
    const before = stack.glpi.tickets.length;
    const row = parkedRows().first();
    await row.locator('input[name="entity_id"]').fill("2");
    await row.locator("button", { hasText: "Assign and replay" }).click();
    await page.waitForURL(/\/status\?assigned=.+&entity=2$/);
    await expect(page.locator(".banner").textContent()).resolves.toContain("to entity 2");
    await stack.drainJobs();
    expect(stack.glpi.tickets.length).toBe(before + 1);
    const ticket = stack.glpi.tickets.at(-1);
    expect(ticket?.input.entities_id).toBe(2);
    expect(String(ticket?.input.content)).toContain("Sistema fora do ar");
    await openStatus();
    await expect(page.locator("#parked .empty").textContent()).resolves.toBe("No parked requests.");
    await shot("parked-assigned");
  });

  it("refuses an entity id that is not a number with a 400 naming `entity_id`", async () => {
    const answer = await fetch(`${site.url}/status/parked/some-id/replay`, {
      method: "POST",
      headers: {
        "x-deskbridge-token": SECRETS.OPERATOR_TOKEN,
        "content-type": "application/json",
        accept: "application/json",
      },
      body: JSON.stringify({ entity_id: "two" }),
    });
    expect(answer.status).toBe(400);
    expect(await answer.json()).toMatchObject({ error: { fields: [{ path: "entity_id" }] } });
  });
});

describe("status page: link lookup", () => {
  it("finds every link of an OTRS ticket, with each object's URL and the last sync of its aspects", async () => {
    const ticket = stack.otrs.tickets.find((t) => t.Title === "Relatório não abre");
    if (!ticket) throw new Error("the OTRS ticket is missing");
    await openStatus();
    await page.locator('select[name="system"]').selectOption("otrs");
    await page.locator('#lookup input[name="id"]').fill(ticket.TicketNumber);
    await page.locator("#lookup button").click();
    await page.waitForURL(/\/status\/links\?system=otrs&id=/);
    const rows = page.locator("#links tbody tr");
    await expect(rows.count()).resolves.toBe(1);
    await expect(rows.first().textContent()).resolves.toMatch(/redmine:main:issue:\d+/);
    await expect(rows.first().locator("dt").count()).resolves.toBeGreaterThan(0);
    await shot("lookup-found");
  });

  it("says when an object has no links", async () => {
    const response = await page.goto(`${site.url}/status/links?system=otrs&id=99999999`);
    expect(response?.status()).toBe(200);
    await expect(page.locator("#links .empty").textContent()).resolves.toContain("No links found");
    await shot("lookup-not-found");
  });

  it("shows the problem naming `system` with a 400 for an unknown system", async () => {
    const response = await page.goto(`${site.url}/status/links?system=nosuch&id=1`);
    expect(response?.status()).toBe(400);
    await expect(page.locator("#lookup-error").textContent()).resolves.toContain("system");
    await shot("lookup-invalid");
  });
});

describe("status page: JSON", () => {
  const asCli = { "x-deskbridge-token": SECRETS.OPERATOR_TOKEN, accept: "application/json" };

  it("answers the overview as JSON", async () => {
    const response = await fetch(`${site.url}/status`, { headers: asCli });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/json");
    expect(response.headers.get("cache-control")).toBe("no-store");
    const overview = (await response.json()) as StatusOverview;
    expect(overview.integrations.map((i) => i.integration)).toEqual([
      "glpi-forms",
      "itop-pair",
      "otrs-redmine",
      "rocketchat-otrs",
      "rt-kanban",
    ]);
    expect(overview.integrations.find((i) => i.integration === "otrs-redmine")?.lastDay.deadLettered).toBe(2);
    expect(overview.deadLetters).toEqual([]);
    expect(overview.parked).toEqual([]);
  });

  it("answers a lookup as JSON, and a bad one with the standard 400 naming the field", async () => {
    const ticket = stack.otrs.tickets.find((t) => t.Title === "Relatório não abre");
    const found = await fetch(`${site.url}/status/links?system=otrs&id=${ticket?.TicketNumber}`, {
      headers: asCli,
    });
    expect(found.status).toBe(200);
    const lookup = (await found.json()) as LinkLookup;
    expect(lookup).toMatchObject({ query: { system: "otrs", id: ticket?.TicketNumber } });
    expect(lookup.links).toHaveLength(1);
    const bad = await fetch(`${site.url}/status/links?system=otrs`, { headers: asCli });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { fields: [{ path: "id" }] } });
  });

  it("lets the CLI replay with the header and no CSRF token, since no other site can set that header", async () => {
    stack.redmine.failNext(1, { kind: "status", status: 422 }, { method: "POST", path: "/issues.json" });
    const { event } = ticketInDevelopment("Terceiro recusado");
    expect((await sendTicketEvent(event)).statusCode).toBe(202);
    const response = await fetch(`${site.url}/status/dead-letters/replay`, {
      method: "POST",
      headers: { ...asCli, "content-type": "application/json" },
      body: JSON.stringify({ all: true }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ replayed: 1 });
    await stack.drainJobs();
    expect(stack.redmine.issues.some((issue) => issue.subject === "Terceiro recusado")).toBe(true);
  });
});

describe("status page: rendering untrusted values", () => {
  it("mutes integrations that are not configured and never turns system data into markup or script links", async () => {
    const zero = { received: 0, succeeded: 0, retrying: 0, deadLettered: 0 };
    const overview: StatusOverview = {
      generatedAt: new Date().toISOString(),
      integrations: [
        {
          integration: "otrs-redmine",
          configured: true,
          lastHour: zero,
          lastDay: zero,
          pollers: [],
          warning: false,
        },
        {
          integration: "rt-kanban",
          configured: false,
          lastHour: zero,
          lastDay: zero,
          pollers: [],
          warning: false,
        },
      ],
      deadLetters: [
        {
          id: 'x"><script>window.pwned=1</script>',
          type: "otrs-redmine.ticket",
          integration: "otrs-redmine",
          attempts: 1,
          error: { code: "upstream_refused", message: "<img src=x onerror=window.pwned=1>" },
          failedAt: new Date().toISOString(),
          source: {
            ref: { system: "otrs", instance: "main", type: "ticket", id: "1" },
            key: "otrs:main:ticket:1",
            url: "javascript:window.pwned=1",
          },
        },
      ],
      unreadableDeadLetters: 0,
      parked: [],
    };
    await page.setContent(renderStatusPage(overview, { csrfToken: "t" }).value);
    await expect(rowOf("rt-kanban").getAttribute("class")).resolves.toBe("muted");
    await expect(rowOf("rt-kanban").textContent()).resolves.toContain("not configured");
    await expect(page.locator("script, img").count()).resolves.toBe(0);
    await expect(page.locator("#dead-letters a").count()).resolves.toBe(0);
    await expect(page.locator('input[name="id"]').first().getAttribute("value")).resolves.toBe(
      'x"><script>window.pwned=1</script>',
    );
    expect(await page.evaluate("typeof window.pwned")).toBe("undefined");
  });
});
