import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { httpEvent } from "../../infra/local/events.ts";
import type { LambdaHttpHandler } from "../../lib/core/http.ts";

/** One route as serverless.yml declares it: `GET /status`, `POST /status/parked/{id}/replay`. */
export interface ServedRoute {
  method: string;
  path: string;
  handler: LambdaHttpHandler;
}

/**
 * Serves several route handlers on 127.0.0.1 as API Gateway would route to them (method and path,
 * `{name}` segments becoming path parameters; anything else 404), for a browser to use them as one site.
 */
export async function serveRoutes(
  routes: ServedRoute[],
  options: { port?: number } = {},
): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", async () => {
      const url = new URL(req.url ?? "/", "http://127.0.0.1");
      const method = req.method ?? "GET";
      const found = routes
        .map((route) => ({ route, pathParameters: match(route.path, url.pathname) }))
        .find(({ route, pathParameters }) => route.method === method && pathParameters);
      if (!found?.pathParameters) {
        res.writeHead(404, { "content-type": "application/json" });
        res.end(JSON.stringify({ message: "Not Found" }));
        return;
      }
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (typeof value === "string") headers[name] = value;
        else if (Array.isArray(value)) headers[name] = value.join(",");
      }
      const query = Object.fromEntries(url.searchParams);
      try {
        const result = await found.route.handler(
          httpEvent({
            method,
            path: url.pathname,
            headers,
            rawBody: Buffer.concat(chunks).toString("utf8"),
            pathParameters: found.pathParameters,
            ...(Object.keys(query).length > 0 ? { query } : {}),
          }),
        );
        res.writeHead(result.statusCode ?? 200, result.headers as Record<string, string>);
        res.end(result.body ?? "");
      } catch (error) {
        res.writeHead(500, { "content-type": "text/plain" });
        res.end(`handler threw: ${(error as Error).message}`);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The path parameters when `pattern` matches `path`, undefined otherwise. */
function match(pattern: string, path: string): Record<string, string> | undefined {
  const want = pattern.split("/");
  const got = path.split("/");
  if (want.length !== got.length) return undefined;
  const parameters: Record<string, string> = {};
  for (const [i, segment] of want.entries()) {
    const value = got[i] ?? "";
    const name = /^\{(\w+)\}$/.exec(segment)?.[1];
    if (name) {
      if (value === "") return undefined;
      parameters[name] = decodeURIComponent(value);
    } else if (segment !== value) return undefined;
  }
  return parameters;
}
