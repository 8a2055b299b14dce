import { HTTPError, type NormalizedOptions } from "ky";
import { describe, expect, it } from "vitest";
import {
  NotFoundError,
  UnexpectedError,
  UpstreamAuthError,
  UpstreamPermanentError,
  UpstreamRetryableError,
} from "../../lib/core/errors.ts";
import { type HttpErrorLadder, translateHttpError } from "../../lib/systems/http-error.ts";

/** A failed answer as ky throws it, built without a socket. */
function failed(status: number, body = "", headers: Record<string, string> = {}): HTTPError {
  return new HTTPError(
    new Response(body, { status, headers }),
    new Request("http://127.0.0.1/x"),
    {} as NormalizedOptions,
  );
}

const common = { system: "vendor:main", label: "Vendor" };

describe("the HTTP error ladder", () => {
  it("reads the common statuses as credentials, missing objects, passing and lasting failures", async () => {
    const login = await translateHttpError(failed(401), common);
    expect(login).toBeInstanceOf(UpstreamAuthError);
    expect(login.message).toBe("Vendor refused the bridge's credentials");
    expect(login).toMatchObject({ upstream: { system: "vendor:main", status: 401 } });
    expect(await translateHttpError(failed(403), common)).toBeInstanceOf(UpstreamAuthError);
    const missing = await translateHttpError(failed(404), common);
    expect(missing).toBeInstanceOf(NotFoundError);
    expect(missing.message).toBe("Vendor: not found");
    for (const status of [429, 500, 502, 503]) {
      const error = await translateHttpError(failed(status), common);
      expect(error).toBeInstanceOf(UpstreamRetryableError);
      expect(error.message).toBe(`Vendor answered ${status}`);
    }
    const refused = await translateHttpError(failed(422), common);
    expect(refused).toBeInstanceOf(UpstreamPermanentError);
    expect(refused.message).toBe("Vendor refused the request: 422");
  });

  it("passes on the wait a 429 asks for", async () => {
    const error = await translateHttpError(failed(429, "", { "retry-after": "7" }), common);
    expect(error).toBeInstanceOf(UpstreamRetryableError);
    expect((error as UpstreamRetryableError).retryAfterSeconds).toBe(7);
    const noWait = await translateHttpError(failed(503, "", { "retry-after": "soon" }), common);
    expect((noWait as UpstreamRetryableError).retryAfterSeconds).toBeUndefined();
  });

  it("carries the vendor's message its extractor finds, else the start of the body", async () => {
    const extract = (body: unknown) =>
      typeof body === "object" && body !== null && "message" in body ? String(body.message) : undefined;
    const json = await translateHttpError(failed(422, '{"message":"Subject is required"}'), {
      ...common,
      extract,
    });
    expect(json.message).toBe("Vendor refused the request: Subject is required");
    expect(json).toMatchObject({ upstream: { vendorMessage: "Subject is required" } });
    const html = await translateHttpError(failed(400, "<html>Bad gateway config</html>"), {
      ...common,
      extract,
    });
    expect(html).toMatchObject({ upstream: { vendorMessage: "<html>Bad gateway config</html>" } });
  });

  it("lets a system read a status otherwise, say it in its words, and catch an answer first", async () => {
    const ladder: HttpErrorLadder = {
      ...common,
      read: async () => ({ code: "ERROR_SETUP", message: "no app token" }),
      before: ({ status, upstream }) =>
        status === 400 ? new UpstreamAuthError(upstream, "setup") : undefined,
      rungs: { 403: "permanent", 404: "permanent" },
      say: { permanent: ({ status, code }) => `${code} ${status}` },
    };
    const setup = await translateHttpError(failed(400), ladder);
    expect(setup).toBeInstanceOf(UpstreamAuthError);
    expect(setup.message).toBe("setup");
    const forbidden = await translateHttpError(failed(403), ladder);
    expect(forbidden).toBeInstanceOf(UpstreamPermanentError);
    expect(forbidden.message).toBe("ERROR_SETUP 403");
    expect(forbidden).toMatchObject({
      upstream: {
        system: "vendor:main",
        status: 403,
        vendorCode: "ERROR_SETUP",
        vendorMessage: "no app token",
      },
    });
    expect(await translateHttpError(failed(404), ladder)).toBeInstanceOf(UpstreamPermanentError);
  });

  it("leaves an error without an answer to the transport rules", async () => {
    const timeout = new DOMException("timed out", "TimeoutError");
    const error = await translateHttpError(timeout, common);
    expect(error).toBeInstanceOf(UpstreamRetryableError);
    expect(error.message).toBe("Vendor did not answer in time or could not be reached");
    expect(await translateHttpError(new Error("a bug"), common)).toBeInstanceOf(UnexpectedError);
  });
});
