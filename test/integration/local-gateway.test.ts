import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../infra/local/free-port.ts";
import { type HttpGateway, startHttpGateway } from "../../infra/local/http-gateway.ts";

/**
 * `npm start`'s stand-in for API Gateway in front of serverless-offline, against an upstream that answers
 * as serverless-offline does (its error object with 200 for a Lambda that threw or timed out).
 */
let upstream: Server;
let gateway: HttpGateway;
const failures: string[] = [];

beforeAll(async () => {
  upstream = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const body = Buffer.concat(chunks).toString();
      if (request.url === "/timeout") {
        response.writeHead(200, { "content-type": "application/json" });
        response.end(
          JSON.stringify({
            errorMessage: "[504] - Lambda timeout.",
            errorType: "LambdaTimeoutError",
            stackTrace: ["Error: [504] - Lambda timeout.", "at #timeoutAndTerminate (file:///x.js:1:1)"],
          }),
        );
        return;
      }
      response.writeHead(request.url?.startsWith("/queued") ? 202 : 200, {
        "content-type": "application/json",
        "x-request-id": "r-1",
      });
      response.end(
        JSON.stringify({
          method: request.method,
          url: request.url,
          body,
          token: request.headers["x-deskbridge-token"],
        }),
      );
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  gateway = await startHttpGateway({
    port: 0,
    target: { host: "127.0.0.1", port: (upstream.address() as AddressInfo).port },
    onInvocationError: (message) => failures.push(message),
  });
});
afterAll(async () => {
  await gateway?.close();
  await new Promise((resolve) => upstream?.close(resolve));
});

describe("the local API Gateway stand-in", () => {
  it("passes a route's answer through: status, headers, body, and the request as sent", async () => {
    const response = await fetch(`${gateway.url}/queued?x=1`, {
      method: "POST",
      headers: { "x-deskbridge-token": "t", "content-type": "application/json" },
      body: '{"a":1}',
    });
    expect(response.status).toBe(202);
    expect(response.headers.get("x-request-id")).toBe("r-1");
    expect(await response.json()).toEqual({
      method: "POST",
      url: "/queued?x=1",
      body: '{"a":1}',
      token: "t",
    });
  });

  it("answers 500 without the function's error or stack trace when the invocation failed", async () => {
    const response = await fetch(`${gateway.url}/timeout`, { method: "POST", body: "{}" });
    expect(response.status).toBe(500);
    expect(await response.text()).toBe('{"message":"Internal Server Error"}');
    expect(failures).toEqual(["LambdaTimeoutError: [504] - Lambda timeout."]);
  });

  it("refuses a body over API Gateway's 10 MB limit with 413", async () => {
    const response = await fetch(`${gateway.url}/queued`, {
      method: "POST",
      body: "x".repeat(10 * 1024 * 1024 + 1),
    });
    expect(response.status).toBe(413);
  });

  it("answers 503 while nothing listens behind it", async () => {
    const lonely = await startHttpGateway({ port: 0, target: { host: "127.0.0.1", port: await freePort() } });
    try {
      const response = await fetch(`${lonely.url}/ping`);
      expect(response.status).toBe(503);
      expect(await response.json()).toEqual({ message: "Service Unavailable" });
    } finally {
      await lonely.close();
    }
  });
});
