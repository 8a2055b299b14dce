/**
 * No route is open by accident: every HTTP route serverless.yml declares, except the public ones named
 * below, answers 401 to a missing or wrong credential (a wrong secret of the same or another length,
 * another integration's secret, the right secret in the wrong header or place, HTTP Basic with a wrong
 * password), says nothing of what was wrong, and writes nothing. The scan is driven by serverless.yml.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type HttpRoute, listHttpRoutes } from "../../infra/local/routes.ts";
import { constantTimeEquals } from "../../lib/core/auth.ts";
import type { Config } from "../../lib/core/config-schema.ts";
import type { LambdaHttpHandler } from "../../lib/core/http.ts";
import { SECRETS, type Stack, setupStack } from "../helpers/stack.ts";
import {
  footprint,
  footprintChanges,
  loadHandler,
  pathParametersOf,
  type Request,
  routeKey,
  toEvent,
} from "./route-harness.ts";
import { ROUTE_MODELS, type RouteAuth, validPayload } from "./route-models.ts";

// Wraps (does not replace) the two primitives, to see how the secret comparison uses them.
vi.mock("node:crypto", async (importOriginal) => {
  const actual = await importOriginal<typeof import("node:crypto")>();
  return { ...actual, createHash: vi.fn(actual.createHash), timingSafeEqual: vi.fn(actual.timingSafeEqual) };
});

/**
 * The routes that take no credential, on purpose: the health check (a fixed text) and the API's
 * description (built from the schemas, holding no secret and no data). Both touch nothing. Adding a
 * route here needs a reason as good.
 */
const PUBLIC_ROUTES: readonly string[] = ["GET /ping", "GET /openapi.json"];

const routes = listHttpRoutes();
const protectedRoutes = routes.filter((route) => !PUBLIC_ROUTES.includes(routeKey(route)));
/** Every header a route of this bridge reads a secret (or a signature made with one) from. */
const SECRET_HEADERS = ["X-Deskbridge-Token", "X-RocketChat-Livechat-Token", "X-Redmine-Signature-256"];

let stack: Stack;
let config: Readonly<Config>;
const handlers = new Map<string, LambdaHttpHandler>();

beforeAll(async () => {
  stack = await setupStack();
  for (const route of routes) handlers.set(routeKey(route), await loadHandler(route));
  const { jobRuntime } = await import("../../lib/jobs/runtime.ts");
  config = jobRuntime().config;
});
afterAll(() => stack?.close());

/** A credential to try, and why it must fail. */
interface Attempt {
  name: string;
  headers: Record<string, string>;
  query?: Record<string, string>;
}

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`, "utf8").toString("base64")}`;
/** The secret with one character changed at `index`: same length, wrong. */
function sameLengthWrong(secret: string, index: number): string {
  const at = (index + secret.length) % secret.length;
  const char = secret[at] === "x" ? "y" : "x";
  return secret.slice(0, at) + char + secret.slice(at + 1);
}

/** What needs no knowledge of the route: nothing at all, and secrets where no route reads them. */
function blindAttempts(): Attempt[] {
  const secrets = Object.values(SECRETS);
  return [
    { name: "no credential at all", headers: {} },
    ...SECRET_HEADERS.map((header) => ({ name: `an empty ${header}`, headers: { [header]: "" } })),
    { name: "an empty Basic password", headers: { authorization: basic("deskbridge", "") } },
    { name: "a malformed Basic value", headers: { authorization: "Basic !!!" } },
    ...secrets.map((secret, i) => ({
      name: `configured secret #${i} in X-Api-Key`,
      headers: { "X-Api-Key": secret },
    })),
    ...secrets.map((secret, i) => ({
      name: `configured secret #${i} as a Bearer token`,
      headers: { authorization: `Bearer ${secret}` },
    })),
  ];
}

/** Wrong credentials for a route whose auth is known. */
function wrongAttempts(auth: RouteAuth, secret: string): Attempt[] {
  const header = auth.header;
  const otherHeaders = SECRET_HEADERS.filter((name) => name.toLowerCase() !== header.toLowerCase());
  const others = Object.values(SECRETS).filter((value) => value !== secret);
  const attempts: Attempt[] = [
    {
      name: "a wrong secret of the same length (last character)",
      headers: { [header]: sameLengthWrong(secret, -1) },
    },
    {
      name: "a wrong secret of the same length (first character)",
      headers: { [header]: sameLengthWrong(secret, 0) },
    },
    { name: "a wrong secret of the same length (upper-cased)", headers: { [header]: secret.toUpperCase() } },
    { name: "a longer secret (the right one and more)", headers: { [header]: `${secret}x` } },
    { name: "a shorter secret (a prefix of the right one)", headers: { [header]: secret.slice(0, -1) } },
    { name: "a one-character secret", headers: { [header]: "x" } },
    { name: "the secret twice", headers: { [header]: secret + secret } },
    { name: "the secret with a trailing space", headers: { [header]: `${secret} ` } },
    { name: "a 10 000-character secret", headers: { [header]: "s".repeat(10_000) } },
    ...others.map((other, i) => ({
      name: `another integration's secret #${i}`,
      headers: { [header]: other },
    })),
    ...otherHeaders.map((name) => ({ name: `the secret in ${name}`, headers: { [name]: secret } })),
    { name: "the secret in X-Api-Key", headers: { "X-Api-Key": secret } },
    { name: "the secret in X-Auth-Token", headers: { "X-Auth-Token": secret } },
    { name: "the secret as a Bearer token", headers: { authorization: `Bearer ${secret}` } },
    { name: "the secret as a bare Authorization", headers: { authorization: secret } },
    { name: "the secret in a cookie", headers: { cookie: `token=${secret}` } },
    {
      name: "the secret in Proxy-Authorization",
      headers: { "proxy-authorization": basic("deskbridge", secret) },
    },
    { name: "the secret as the Basic user name", headers: { authorization: basic(secret, "") } },
    {
      name: "the secret base64-encoded in Basic, without a colon",
      headers: { authorization: `Basic ${Buffer.from(secret).toString("base64")}` },
    },
    {
      name: "Basic with a wrong password of the same length",
      headers: { authorization: basic("deskbridge", sameLengthWrong(secret, -1)) },
    },
    {
      name: "Basic with a wrong password of another length",
      headers: { authorization: basic("deskbridge", "wrong") },
    },
    {
      name: "Basic with no user name and a wrong password",
      headers: { authorization: basic("", `${secret}x`) },
    },
    { name: "the secret in a header named after it", headers: { [`${header}-Secret`]: secret } },
    { name: "the secret in the token parameter's lookalike", headers: {}, query: { Token: secret } },
  ];
  if (auth.allowQueryToken) {
    attempts.push(
      {
        name: "?token= with a wrong secret of the same length",
        headers: {},
        query: { token: sameLengthWrong(secret, 3) },
      },
      { name: "?token= with a wrong secret of another length", headers: {}, query: { token: `${secret}0` } },
      { name: "?token= empty", headers: {}, query: { token: "" } },
    );
  } else {
    attempts.push({
      name: "the secret as ?token=, which this route does not take",
      headers: {},
      query: { token: secret },
    });
  }
  return attempts;
}

/** `<prefix><hex HMAC-SHA256 of the body>`, as Redmine signs its webhooks. */
const signatureOf = (prefix: string, key: string, body: string) =>
  `${prefix}${createHmac("sha256", key).update(body).digest("hex")}`;

/** Wrong signatures of the body a route sends (`request` sends `JSON.stringify(payload ?? {})`). */
function wrongSignatures(auth: RouteAuth, secret: string, payload: unknown): Attempt[] {
  const signing = auth.signature;
  const key = signing ? process.env[signing.secret] : undefined;
  if (!signing || !key) return [];
  const body = JSON.stringify(payload ?? {});
  const right = signatureOf(signing.prefix, key, body);
  const header = signing.header;
  return [
    {
      name: "a signature made with another secret",
      headers: { [header]: signatureOf(signing.prefix, secret, body) },
    },
    {
      name: "the signature of another body",
      headers: { [header]: signatureOf(signing.prefix, key, `${body} `) },
    },
    { name: "the right HMAC without its prefix", headers: { [header]: right.slice(signing.prefix.length) } },
    { name: "the right signature, one hex digit short", headers: { [header]: right.slice(0, -1) } },
    { name: "the right signature and more", headers: { [header]: `${right}0` } },
    {
      name: "the right HMAC under another algorithm's name",
      headers: { [header]: right.replace(/^[^=]*=/, "sha1=") },
    },
    { name: "the signing secret itself as the signature", headers: { [header]: key } },
    { name: "an empty prefix-only signature", headers: { [header]: signing.prefix } },
    {
      name: "a wrong signature beside the right shared secret",
      headers: { [header]: signatureOf(signing.prefix, "wrong", body), [auth.header]: secret },
    },
  ];
}

/** Right credentials, sent with an empty object so that nothing can be written: never a 401. */
function rightAttempts(auth: RouteAuth, secret: string): Attempt[] {
  const signing = auth.signature;
  const key = signing ? process.env[signing.secret] : undefined;
  return [
    ...(signing && key
      ? [
          {
            name: "the body signed with the signing secret",
            headers: { [signing.header]: signatureOf(signing.prefix, key, JSON.stringify({})) },
          },
        ]
      : []),
    { name: "the secret in its header", headers: { [auth.header]: secret } },
    { name: "the secret in its header, name lower-cased", headers: { [auth.header.toLowerCase()]: secret } },
    { name: "the secret as the Basic password", headers: { authorization: basic("deskbridge", secret) } },
    ...(auth.allowQueryToken
      ? [{ name: "the secret as ?token=", headers: {}, query: { token: secret } }]
      : []),
  ];
}

function request(route: HttpRoute, attempt: Attempt, body: unknown): Request {
  const withBody = route.method !== "GET" && route.method !== "HEAD";
  return {
    method: route.method,
    path: route.path,
    headers: { ...(withBody ? { "content-type": "application/json" } : {}), ...attempt.headers },
    query: attempt.query,
    pathParameters: pathParametersOf(route.path, "3f2c9b8e-0000-4000-8000-000000000000"),
    ...(withBody ? { body: JSON.stringify(body ?? {}) } : {}),
  };
}

/** A 401's body and headers, minus what differs per request (its id). */
function sanitized(result: APIGatewayProxyStructuredResultV2) {
  const text = result.body ?? "null";
  // The operators' routes answer a browser with a page: what it says is its alert banner (the rest is
  // the layout, the same on every page), compared as text.
  const body = String(result.headers?.["content-type"] ?? "").startsWith("text/html")
    ? { alert: /<div class="banner error" role="alert"[^>]*>([\s\S]*?)<\/div>/.exec(text)?.[1] ?? text }
    : (JSON.parse(text) as Record<string, unknown>);
  delete body.request_id;
  const headers = { ...(result.headers ?? {}) };
  delete headers["x-request-id"];
  return { body, headers };
}

describe("the public allow-list", () => {
  it("names only routes that serverless.yml declares, so that it cannot rot", () => {
    const declared = routes.map(routeKey);
    expect(PUBLIC_ROUTES.filter((key) => !declared.includes(key))).toEqual([]);
  });

  it("leaves every other route of serverless.yml to the scan, each with its credentials declared", () => {
    expect(protectedRoutes.length + PUBLIC_ROUTES.length).toBe(routes.length);
    expect(protectedRoutes.length).toBeGreaterThan(0);
    const undeclared = protectedRoutes.map(routeKey).filter((key) => !ROUTE_MODELS[key]?.auth);
    expect(undeclared, "routes without credentials in route-models.ts").toEqual([]);
  });

  for (const key of PUBLIC_ROUTES) {
    it(`${key} answers without any credential and touches nothing`, async () => {
      const route = routes.find((r) => routeKey(r) === key);
      const handler = handlers.get(key);
      if (!route || !handler) throw new Error(`${key} is not in serverless.yml`);
      const before = await footprint(stack);
      const result = await handler(toEvent(request(route, { name: "none", headers: {} }, undefined)));
      expect(result.statusCode).toBe(200);
      expect(footprintChanges(before, await footprint(stack))).toBe("");
    });
  }
});

describe("every other route of serverless.yml", () => {
  for (const route of protectedRoutes) {
    const key = routeKey(route);
    it(`${key} answers 401 to every missing or wrong credential, says nothing of which, and writes nothing`, async () => {
      const handler = handlers.get(key);
      if (!handler) throw new Error(`no handler loaded for ${key}`);
      const model = ROUTE_MODELS[key];
      const auth = model?.auth?.(config);
      const secret = auth ? process.env[auth.secret] : undefined;
      const payload = validPayload(model);
      const attempts = [
        ...blindAttempts(),
        ...(auth && secret
          ? [...wrongAttempts(auth, secret), ...wrongSignatures(auth, secret, payload)]
          : []),
      ];

      const refusals: { name: string; answer: ReturnType<typeof sanitized> }[] = [];
      const problems: string[] = [];
      for (const attempt of attempts) {
        const before = await footprint(stack);
        const result = await handler(toEvent(request(route, attempt, payload)));
        const changes = footprintChanges(before, await footprint(stack));
        if (result.statusCode !== 401)
          problems.push(`${attempt.name}: answered ${result.statusCode} ${result.body}`);
        if (changes) problems.push(`${attempt.name}: wrote ${changes}`);
        if (result.statusCode === 401) refusals.push({ name: attempt.name, answer: sanitized(result) });
      }
      expect(problems).toEqual([]);

      // One answer for every refusal: nothing tells a missing secret from a wrong one, or where it was.
      const [first] = refusals;
      for (const refusal of refusals) expect(refusal.answer, refusal.name).toEqual(first?.answer);
      const text = JSON.stringify(first?.answer.body).toLowerCase();
      for (const word of [...SECRET_HEADERS, "basic", "bearer", "query", "length", "header", "?token"])
        expect(text).not.toContain(word.toLowerCase());
      for (const value of Object.values(SECRETS)) expect(text).not.toContain(value.toLowerCase());
      expect(auth, `${key} has no credentials declared in route-models.ts`).toBeDefined();
    });

    it(`${key} lets the right credential through (so the 401s above are the credential's doing)`, async () => {
      const handler = handlers.get(key);
      const auth = ROUTE_MODELS[key]?.auth?.(config);
      const secret = auth ? process.env[auth.secret] : undefined;
      if (!handler || !auth || !secret)
        throw new Error(`${key} has no credentials declared in route-models.ts`);
      for (const attempt of rightAttempts(auth, secret)) {
        const before = await footprint(stack);
        const result = await handler(toEvent(request(route, attempt, {})));
        expect(result.statusCode, attempt.name).not.toBe(401);
        expect(result.statusCode, attempt.name).toBeLessThan(500);
        expect(footprintChanges(before, await footprint(stack)), attempt.name).toBe("");
      }
    });
  }
});

describe("the secret comparison (lib/core/auth.ts constantTimeEquals)", () => {
  const sha256 = (text: string) => createHash("sha256").update(text).digest();

  it("tells equal strings from unequal ones of any length, and never throws on a length mismatch", () => {
    const secret = SECRETS.FORMS_TOKEN;
    expect(constantTimeEquals(secret, secret)).toBe(true);
    expect(constantTimeEquals("", "")).toBe(true);
    expect(constantTimeEquals("sécrèt✓😀", "sécrèt✓😀")).toBe(true);
    expect(constantTimeEquals("s".repeat(100_000), "s".repeat(100_000))).toBe(true);
    for (const guess of [
      sameLengthWrong(secret, 0),
      sameLengthWrong(secret, -1),
      secret.slice(0, -1),
      `${secret}x`,
      "",
      "x",
      secret + secret,
      "s".repeat(100_000),
    ]) {
      expect(() => constantTimeEquals(guess, secret)).not.toThrow();
      expect(constantTimeEquals(guess, secret), JSON.stringify(guess.slice(0, 40))).toBe(false);
      expect(constantTimeEquals(secret, guess)).toBe(false);
    }
  });

  it("hashes both sides with SHA-256 and compares the digests with timingSafeEqual, whatever the lengths", () => {
    for (const [a, b] of [
      ["a", "abc"],
      ["", SECRETS.RT_WEBHOOK_TOKEN],
      [SECRETS.RT_WEBHOOK_TOKEN, SECRETS.RT_WEBHOOK_TOKEN],
      ["x".repeat(10_000), "y"],
    ] as const) {
      vi.mocked(createHash).mockClear();
      vi.mocked(timingSafeEqual).mockClear();
      constantTimeEquals(a, b);
      expect(vi.mocked(createHash).mock.calls).toEqual([["sha256"], ["sha256"]]);
      expect(vi.mocked(timingSafeEqual)).toHaveBeenCalledTimes(1);
      const [left, right] = vi.mocked(timingSafeEqual).mock.calls[0] ?? [];
      // Two 32-byte digests: the comparison's work does not depend on the guess's length or content.
      expect(Buffer.from(left as Uint8Array)).toEqual(sha256(a));
      expect(Buffer.from(right as Uint8Array)).toEqual(sha256(b));
    }
  });

  it("is what every route's secret check goes through", async () => {
    for (const route of protectedRoutes) {
      const key = routeKey(route);
      const handler = handlers.get(key);
      const auth = ROUTE_MODELS[key]?.auth?.(config);
      if (!handler || !auth) throw new Error(`${key} has no credentials declared in route-models.ts`);
      vi.mocked(timingSafeEqual).mockClear();
      const result = await handler(
        toEvent(request(route, { name: "wrong", headers: { [auth.header]: "nope" } }, {})),
      );
      expect(result.statusCode, key).toBe(401);
      expect(vi.mocked(timingSafeEqual), key).toHaveBeenCalledTimes(1);
    }
  });
});
