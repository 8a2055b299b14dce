import * as v from "valibot";
import { describe, expect, it } from "vitest";
import { httpEvent } from "../../infra/local/events.ts";
import { constantTimeEquals } from "../../lib/core/auth.ts";
import {
  AuthenticationError,
  UpstreamAuthError,
  UpstreamPermanentError,
  ValidationError,
} from "../../lib/core/errors.ts";
import { errorResponse, type HttpRequest, httpRoute, readBody, readJsonBody } from "../../lib/core/http.ts";
import { idText } from "../../lib/core/ids.ts";

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

describe("JSON-or-form bodies (readBody)", () => {
  const Schema = v.object({ id: idText("a numeric id"), class: v.string() });
  const FORM = "application/x-www-form-urlencoded";
  const itop = { kind: "json-field", field: "json_data" } as const;
  const fields = { kind: "fields" } as const;
  const problems = (read: () => unknown) => {
    try {
      read();
    } catch (error) {
      return error instanceof ValidationError ? error.fields : error;
    }
    return "no error";
  };

  it("reads the JSON object a form field holds, as iTop's webhook extension posts it", () => {
    const body = new URLSearchParams({
      version: "1.3",
      json_data: JSON.stringify({ id: "42", class: "UserRequest" }),
    }).toString();
    expect(readBody(request(body, FORM), Schema, 1000, itop)).toEqual({ id: "42", class: "UserRequest" });
    expect(readBody(request(body, `${FORM}; charset=UTF-8`), Schema, 1000, itop)).toEqual({
      id: "42",
      class: "UserRequest",
    });
  });

  it("reads the same body as JSON, with the same errors naming the same fields", () => {
    const json = JSON.stringify({ id: "abc", class: "UserRequest" });
    const form = new URLSearchParams({ json_data: json }).toString();
    const expected = [{ path: "id", message: "must be a numeric id" }];
    expect(problems(() => readBody(request(json), Schema, 1000, itop))).toEqual(expected);
    expect(problems(() => readBody(request(form, FORM), Schema, 1000, itop))).toEqual(expected);
  });

  it("names json_data when it is missing, given twice, not JSON, or not a JSON object", () => {
    const read = (body: string) => problems(() => readBody(request(body, FORM), Schema, 1000, itop));
    expect(read("version=1.3")).toEqual([{ path: "json_data", message: "is required" }]);
    expect(read("")).toEqual([{ path: "json_data", message: "is required" }]);
    expect(read("json_data={}&json_data={}")).toEqual([{ path: "json_data", message: "must be given once" }]);
    expect(read("json_data={oops")).toEqual([{ path: "json_data", message: "is not valid JSON" }]);
    expect(read(`json_data=${encodeURIComponent("[1]")}`)).toEqual([
      { path: "json_data", message: "must hold a JSON object" },
    ]);
  });

  it("reads each form field as a member, a repeated one as a list the schema refuses by name", () => {
    const Scrip = v.object({ ticket_id: idText("a numeric RT id"), type: v.optional(v.string()) });
    expect(readBody(request("ticket_id=7&type=Status", FORM), Scrip, 1000, fields)).toEqual({
      ticket_id: "7",
      type: "Status",
    });
    expect(readBody(request("ticket_id=+7+&type=Set+CF", FORM), Scrip, 1000, fields)).toEqual({
      ticket_id: "7",
      type: "Set CF",
    });
    expect(problems(() => readBody(request("ticket_id=1&ticket_id=2", FORM), Scrip, 1000, fields))).toEqual([
      { path: "ticket_id", message: "must be a numeric RT id" },
    ]);
    expect(problems(() => readBody(request("type=Status", FORM), Scrip, 1000, fields))).toEqual([
      { path: "ticket_id", message: "is required" },
    ]);
  });

  it("answers 415 for other types (and for a form where the route takes none), 413 over the limit", () => {
    const body = new URLSearchParams({ json_data: JSON.stringify({ id: "1", class: "x" }) }).toString();
    expect(() => readBody(request(body, "text/plain"), Schema, 1000, itop)).toThrow(
      expect.objectContaining({
        status: 415,
        message: "Content-Type must be application/json or application/x-www-form-urlencoded",
      }),
    );
    expect(() => readBody(request(body, FORM), Schema, 1000)).toThrow(
      expect.objectContaining({ status: 415, message: "Content-Type must be application/json" }),
    );
    expect(() => readBody(request(body, FORM), Schema, 10, itop)).toThrow(
      expect.objectContaining({ status: 413 }),
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
