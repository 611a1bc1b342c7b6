import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";

export type RouteHandler = (request: IncomingMessage, response: ServerResponse) => void | Promise<void>;

export interface HealthServer {
  server: Server;
  port: number;
  close(): Promise<void>;
}

/**
 * The handler for a path: an exact route, or a prefix route written `/base/*`, which serves `/base`
 * and everything below it (the queue dashboard's pages, assets and API).
 */
function findRoute(routes: Record<string, RouteHandler>, path: string): RouteHandler | undefined {
  const exact = routes[path];
  if (exact) return exact;
  for (const [key, handler] of Object.entries(routes)) {
    if (!key.endsWith("/*")) continue;
    const base = key.slice(0, -2);
    if (path === base || path.startsWith(`${base}/`)) return handler;
  }
  return undefined;
}

/**
 * A small HTTP server for `/healthz`, `/metrics` and the queue dashboard, used when no platform
 * adapter already serves HTTP on PORT. Slack's HTTP mode mounts the same routes on Bolt's receiver instead.
 */
export async function startHealthServer(
  port: number,
  routes: Record<string, RouteHandler>,
  host = "0.0.0.0",
): Promise<HealthServer> {
  const server = createServer((request, response) => {
    const path = (request.url ?? "/").split("?")[0] ?? "/";
    const handler = findRoute(routes, path);
    if (!handler) {
      response.writeHead(404, { "content-type": "application/json" }).end('{"error":"not found"}');
      return;
    }
    Promise.resolve(handler(request, response)).catch(() => {
      if (!response.headersSent) response.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  const actualPort = typeof address === "object" && address ? address.port : port;
  return {
    server,
    port: actualPort,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * `/healthz`: runs each named check; 200 `{"status":"ok","checks":{"store":"ok"}}` when all pass,
 * 503 with each failing check's reason in a sentence (`{"store":"failed: connect ECONNREFUSED …"}`)
 * otherwise, so whoever reads it learns which part is down and why.
 */
export function healthRoute(checks: Record<string, () => Promise<unknown>>): RouteHandler {
  return async (_request, response) => {
    const results: Record<string, string> = {};
    await Promise.all(
      Object.entries(checks).map(async ([name, check]) => {
        try {
          await check();
          results[name] = "ok";
        } catch (error) {
          results[name] = `failed: ${error instanceof Error ? error.message : String(error)}`;
        }
      }),
    );
    const ok = Object.values(results).every((result) => result === "ok");
    response
      .writeHead(ok ? 200 : 503, { "content-type": "application/json" })
      .end(JSON.stringify({ status: ok ? "ok" : "degraded", checks: results }));
  };
}
