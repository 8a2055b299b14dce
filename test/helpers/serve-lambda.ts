import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { httpEvent } from "../../infra/local/events.ts";
import type { LambdaHttpHandler } from "../../lib/core/http.ts";

/**
 * Serves a route handler on 127.0.0.1 as API Gateway would call it, for fakes that call the bridge
 * over HTTP themselves (Rocket.Chat's webhook delivery, with its retries and its reading of the body).
 */
export async function serveLambda(
  handler: LambdaHttpHandler,
): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", async () => {
      const url = new URL(req.url ?? "/", "http://127.0.0.1");
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers))
        if (typeof value === "string") headers[name] = value;
      const result = await handler(
        httpEvent({
          method: req.method ?? "POST",
          path: url.pathname,
          headers,
          rawBody: Buffer.concat(chunks).toString("utf8"),
          query: Object.fromEntries(url.searchParams),
        }),
      );
      res.writeHead(result.statusCode ?? 200, result.headers as Record<string, string>);
      res.end(result.body ?? "");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
