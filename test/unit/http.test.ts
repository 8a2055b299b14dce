import * as v from "valibot";
import { describe, expect, it } from "vitest";
import { constantTimeEquals } from "../../lib/core/auth.ts";
import {
  AuthenticationError,
  UpstreamAuthError,
  UpstreamPermanentError,
  ValidationError,
} from "../../lib/core/errors.ts";
import { errorResponse, type HttpRequest, httpRoute, readJsonBody } from "../../lib/core/http.ts";
import { idText } from "../../lib/core/ids.ts";
import { httpEvent } from "../helpers/events.ts";

const request = (body: string, contentType = "application/json"): HttpRequest => ({
  method: "POST",
  path: "/x",
  headers: { "content-type": contentType },
  query: {},
  pathParameters: {},
  body,
  requestId: "req-1",
});

describe("HTTP envelope", () => {
  const Schema = v.object({ a: v.string(), b: v.number() });

  it("answers 415 for a body that is not declared JSON", () => {
    expect(() => readJsonBody(request("a=1", "application/x-www-form-urlencoded"), Schema, 100)).toThrow(
      expect.objectContaining({ status: 415 }),
    );
  });

  it("answers 413 for a body over the limit", () => {
    expect(() => readJsonBody(request(JSON.stringify({ a: "x".repeat(200), b: 1 })), Schema, 100)).toThrow(
      expect.objectContaining({ status: 413 }),
    );
  });

  it("answers 400 naming the body when it is not JSON", () => {
    expect(() => readJsonBody(request("{oops"), Schema, 100)).toThrow(
      expect.objectContaining({ fields: [{ path: "(body)", message: "is not valid JSON" }] }),
    );
  });

  it("lists every bad field, not only the first", () => {
    try {
      readJsonBody(request(JSON.stringify({ b: "two" })), Schema, 100);
      expect.unreachable();
    } catch (error) {
      expect((error as ValidationError).fields.map((f) => f.path)).toEqual(["a", "b"]);
    }
  });

  it("names a field's problem once, however many steps of its pipe found it", () => {
    const Id = v.object({ id: idText("a numeric id") });
    expect(() => readJsonBody(request(JSON.stringify({ id: "abc" })), Id, 100)).toThrow(
      expect.objectContaining({ fields: [{ path: "id", message: "must be a numeric id" }] }),
    );
  });
});

describe("errorResponse", () => {
  it("explains 4xx and names the fields", () => {
    const out = errorResponse(
      new ValidationError([{ path: "cnpj_cliente", message: "must be a valid CNPJ" }]),
      "r1",
    );
    expect(out.status).toBe(400);
    expect(out.body.error.fields).toEqual([{ path: "cnpj_cliente", message: "must be a valid CNPJ" }]);
    expect(out.body.request_id).toBe("r1");
  });

  it("carries the vendor's error on 502 and 401 from an upstream", () => {
    const refused = errorResponse(
      new UpstreamPermanentError(
        { system: "glpi:main", status: 400, vendorCode: "ERROR_GLPI_ADD", vendorMessage: "No" },
        "refused",
      ),
      "r2",
    );
    expect(refused.status).toBe(502);
    expect(refused.body.error.upstream).toMatchObject({ code: "ERROR_GLPI_ADD", message: "No" });
    expect(errorResponse(new UpstreamAuthError({ system: "glpi:main" }, "bad tokens"), "r3").status).toBe(
      401,
    );
  });

  it("answers 401 with a generic message when the caller is not authenticated", () => {
    const out = errorResponse(new AuthenticationError("missing or wrong credentials"), "r4");
    expect(out).toMatchObject({ status: 401, body: { error: { code: "unauthorized" } } });
  });

  it("turns a thrown bug into a 500 whose body holds no detail", async () => {
    const handler = httpRoute({ name: "t" }, async () => {
      throw new Error("secret-ish detail: token=abc");
    });
    const result = await handler(httpEvent({ method: "GET", path: "/t" }));
    expect(result.statusCode).toBe(500);
    expect(result.body).not.toContain("token=abc");
    expect(JSON.parse(result.body ?? "{}")).toMatchObject({ error: { code: "internal_error" } });
    expect(result.headers?.["x-request-id"]).toBeTruthy();
  });
});

describe("constantTimeEquals", () => {
  it("compares strings of any length", () => {
    expect(constantTimeEquals("abc", "abc")).toBe(true);
    expect(constantTimeEquals("abc", "abd")).toBe(false);
    expect(constantTimeEquals("abc", "abcd")).toBe(false);
    expect(constantTimeEquals("", "")).toBe(true);
  });
});
