import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { z } from "zod";

export interface McpHttpTestServer {
  url: string;
  /** Headers of every request received, in order. */
  requests: IncomingHttpHeaders[];
  stop(): Promise<void>;
  /** Listens again on the same port after `stop`. */
  restart(): Promise<void>;
}

/**
 * A stateless Streamable HTTP MCP server on 127.0.0.1 with one read-only `multiply` tool. Stateless
 * mode builds a fresh server and transport for each request, as the SDK's documentation describes.
 */
export async function startMcpHttpServer(): Promise<McpHttpTestServer> {
  const requests: IncomingHttpHeaders[] = [];
  let port = 0;
  let http: Server | undefined;

  const listen = async () => {
    http = createServer((request, response) => {
      requests.push(request.headers);
      const server = new McpServer({ name: "http-test-server", version: "1.0.0" });
      server.registerTool(
        "multiply",
        {
          description: "Multiplies two numbers.",
          inputSchema: { a: z.number(), b: z.number() },
          annotations: { readOnlyHint: true, openWorldHint: false },
        },
        async ({ a, b }) => ({ content: [{ type: "text", text: String(a * b) }] }),
      );
      // No session id generator: stateless mode.
      const transport = new StreamableHTTPServerTransport({});
      response.on("close", () => {
        void transport.close();
        void server.close();
      });
      void server.connect(transport).then(() => transport.handleRequest(request, response));
    });
    await new Promise<void>((resolve) => http?.listen(port, "127.0.0.1", resolve));
    port = (http.address() as AddressInfo).port;
  };
  await listen();

  return {
    url: `http://127.0.0.1:${port}/mcp`,
    requests,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        http?.closeAllConnections();
        http?.close((error) => (error ? reject(error) : resolve()));
      }),
    restart: listen,
  };
}
