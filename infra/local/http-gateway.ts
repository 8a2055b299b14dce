import { Agent, createServer, type IncomingHttpHeaders, request } from "node:http";
import type { AddressInfo } from "node:net";
import * as v from "valibot";

/** API Gateway's payload limit for HTTP APIs (10 MB). */
const MAX_PAYLOAD_BYTES = 10 * 1024 * 1024;
/** Hop-by-hop headers (RFC 9110 §7.6.1), and the length that the gateway sets itself. */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "te",
  "trailer",
  "content-length",
]);

export interface HttpGateway {
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * The local stand-in for API Gateway's answers to a failed invocation, in front of serverless-offline.
 * serverless-offline answers an HTTP API (payload 2.0) route whose Lambda threw or timed out with
 * **200** and the error object as the body, stack trace included; API Gateway answers 500
 * `{"message":"Internal Server Error"}` and shows the sender nothing of the function. A sender that
 * takes the 200 for a delivery never retries, and its event is lost; so every request goes through
 * here, and such an answer becomes API Gateway's. Everything else passes through untouched.
 */
export async function startHttpGateway(options: {
  port: number;
  target: { host: string; port: number };
  /** Where a failed invocation's message goes (the local stack's console, as CloudWatch would have it). */
  onInvocationError?: (message: string) => void;
}): Promise<HttpGateway> {
  const agent = new Agent({ keepAlive: true });
  const server = createServer((incoming, outgoing) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    const answer = (status: number, message: string) => {
      if (outgoing.headersSent) return;
      outgoing.writeHead(status, { "content-type": "application/json" });
      outgoing.end(JSON.stringify({ message }));
    };
    incoming.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_PAYLOAD_BYTES && !refused) {
        refused = true;
        answer(413, "Request Entity Too Large");
      }
      if (!refused) chunks.push(chunk);
    });
    incoming.on("end", () => {
      if (refused) return;
      const body = Buffer.concat(chunks);
      const forwarded = request(
        {
          agent,
          host: options.target.host,
          port: options.target.port,
          method: incoming.method,
          path: incoming.url,
          headers: { ...withoutHopByHop(incoming.headers), "content-length": String(body.length) },
        },
        (response) => {
          const parts: Buffer[] = [];
          response.on("data", (chunk: Buffer) => parts.push(chunk));
          response.on("end", () => {
            const text = Buffer.concat(parts);
            const failure = response.statusCode === 200 ? invocationError(text) : undefined;
            if (failure !== undefined) {
              options.onInvocationError?.(failure);
              answer(500, "Internal Server Error");
              return;
            }
            outgoing.writeHead(response.statusCode ?? 502, {
              ...withoutHopByHop(response.headers),
              "content-length": String(text.length),
            });
            outgoing.end(text);
          });
          response.on("error", () => answer(502, "Bad Gateway"));
        },
      );
      // serverless-offline is not listening (yet, or any more): what API Gateway says of an integration it cannot reach.
      forwarded.on("error", () => answer(503, "Service Unavailable"));
      forwarded.end(body);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        agent.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function withoutHopByHop(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const kept: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name.toLowerCase())) kept[name] = value;
  }
  return kept;
}

/**
 * The message of serverless-offline's error object (`{"errorMessage", "errorType", "stackTrace"}`),
 * which is what it answers for a function that threw or timed out; undefined for any other body.
 */
function invocationError(body: Buffer): string | undefined {
  if (body.length === 0 || body[0] !== 0x7b) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch {
    return undefined;
  }
  const error = v.safeParse(InvocationErrorSchema, parsed);
  return error.success ? `${error.output.errorType}: ${error.output.errorMessage}` : undefined;
}

const InvocationErrorSchema = v.object({ errorType: v.string(), errorMessage: v.string() });
