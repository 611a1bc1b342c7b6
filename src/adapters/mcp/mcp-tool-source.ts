import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { AppError } from "../../core/errors.js";
import type { Logger } from "../../core/ports/logger.js";
import type { Tool, ToolRisk, ToolSource } from "../../core/ports/tool.js";
import type { ChannelRef } from "../../core/types.js";

const riskSchema = z.enum(["read", "network", "write", "dangerous"]);

const commonServerFields = {
  /** Overrides the risk derived from the server's annotations, per tool (by the server's own tool name). */
  risk: z.record(z.string(), riskSchema).optional(),
  /**
   * Channels whose answers may use this server's tools, as `platform:workspace:channel` patterns where
   * any part may be `*` (`slack:T123:*`). Absent: every channel.
   */
  channels: z.array(z.string().regex(/^[^:]+:[^:]+:[^:]+$/, "use platform:workspace:channel")).optional(),
  /** Time limit per tool call in milliseconds. */
  timeoutMs: z.number().int().positive().optional(),
};

const stdioServerSchema = z.object({
  command: z.string().min(1),
  args: z.array(z.string()).optional(),
  /** Added to a minimal inherited environment (PATH, HOME, …); teammate's own secrets are not passed on. */
  env: z.record(z.string(), z.string()).optional(),
  cwd: z.string().optional(),
  ...commonServerFields,
});

const httpServerSchema = z.object({
  url: z.url({ protocol: /^https?$/ }),
  /** Sent with every request (an `Authorization` header, for instance); never logged. */
  headers: z.record(z.string(), z.string()).optional(),
  ...commonServerFields,
});

/** The `mcp.json` file: `{ "servers": { "<name>": { "command": … } | { "url": … } } }`. */
const mcpConfigSchema = z.object({
  servers: z.record(
    z.string().regex(/^[a-zA-Z0-9_-]{1,32}$/, "server names may use letters, digits, _ and - (at most 32)"),
    z.union([stdioServerSchema, httpServerSchema]),
  ),
});

export type McpConfig = z.infer<typeof mcpConfigSchema>;
type McpServerConfig = McpConfig["servers"][string];

/** Reads and validates an MCP config file; a missing file means no servers. */
export async function readMcpConfig(path: string): Promise<McpConfig> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { servers: {} };
    throw error;
  }
  const parsed = mcpConfigSchema.safeParse(JSON.parse(text));
  if (!parsed.success) {
    const problems = parsed.error.issues
      .map((issue) => `${issue.path.join(".")}: ${issue.message}`)
      .join("; ");
    throw new AppError("config_invalid", `${path} is not a valid MCP config: ${problems}`, {
      category: "user",
    });
  }
  return parsed.data;
}

export interface McpToolSourceOptions {
  config: McpConfig;
  logger: Logger;
  /** Time allowed to connect and list a server's tools. */
  connectTimeoutMs?: number;
}

interface McpServerStatus {
  server: string;
  connected: boolean;
  tools: string[];
  error?: string | undefined;
}

/** MCP servers' tools as `Tool`s, plus the per-channel allowlist and a status for `tools`-style commands. */
export interface McpToolSource extends ToolSource {
  status(): McpServerStatus[];
}

const DEFAULT_TOOL_TIMEOUT_MS = 30_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 15_000;
const MAX_DESCRIPTION_CHARACTERS = 1_000;

/**
 * Connects to every configured MCP server (stdio or Streamable HTTP), lists its tools and exposes
 * them as `<server>__<tool>`. A server that cannot be reached at start is logged and contributes no
 * tools. A call on a connection known to be dead reconnects once first; if that fails the model is
 * told "The MCP server 'x' is not reachable right now." A read-only call that loses its connection
 * mid-flight is retried once on a fresh one; a write is not, since it may already have happened.
 *
 * Server annotations are hints from the server, not guarantees: `readOnlyHint` with
 * `openWorldHint: false` makes a tool `read`, `readOnlyHint` alone `network`, `destructiveHint`
 * `dangerous`, anything else `write`; all but `read` need approval. The config's `risk` map
 * overrides them for servers you do not trust to label themselves.
 */
export async function createMcpToolSource(options: McpToolSourceOptions): Promise<McpToolSource> {
  const connections = Object.entries(options.config.servers).map(
    ([name, server]) =>
      new ServerConnection(
        name,
        server,
        options.logger.child({ mcpServer: name }),
        options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      ),
  );
  await Promise.all(
    connections.map(async (connection) => {
      try {
        await connection.connect();
      } catch (error) {
        connection.logger.warn(
          { error: messageOf(error) },
          "MCP server not reachable at start; its tools are left out",
        );
      }
    }),
  );

  const tools: Tool[] = [];
  const owner = new Map<string, ServerConnection>();
  const taken = new Set<string>();
  for (const connection of connections) {
    for (const listed of connection.listedTools) {
      const name = namespacedToolName(connection.name, listed.name, taken);
      taken.add(name);
      owner.set(name, connection);
      tools.push(connection.toTool(name, listed));
    }
  }

  return {
    tools: () => [...tools],
    allows(channel: ChannelRef, toolName: string) {
      const connection = owner.get(toolName);
      if (!connection) return true;
      const patterns = connection.config.channels;
      return patterns === undefined || patterns.some((pattern) => channelMatches(pattern, channel));
    },
    status: () =>
      connections.map((connection) => ({
        server: connection.name,
        connected: connection.isConnected,
        tools: tools.filter((tool) => owner.get(tool.name) === connection).map((tool) => tool.name),
        ...(connection.lastError === undefined ? {} : { error: connection.lastError }),
      })),
    async close() {
      await Promise.all(connections.map((connection) => connection.close()));
    },
  };
}

interface ListedTool {
  name: string;
  description?: string | undefined;
  inputSchema: Record<string, unknown>;
  annotations?:
    | {
        readOnlyHint?: boolean | undefined;
        destructiveHint?: boolean | undefined;
        openWorldHint?: boolean | undefined;
      }
    | undefined;
}

type CallResult = Awaited<ReturnType<Client["callTool"]>>;

class ServerConnection {
  listedTools: ListedTool[] = [];
  lastError: string | undefined;
  private client: Client | undefined;
  private dead = true;
  private connecting: Promise<void> | undefined;

  constructor(
    readonly name: string,
    readonly config: McpServerConfig,
    readonly logger: Logger,
    private readonly connectTimeoutMs: number,
  ) {}

  get isConnected(): boolean {
    return !this.dead;
  }

  /** Connects (or reconnects) and refreshes the tool list; concurrent callers share one attempt. */
  connect(): Promise<void> {
    this.connecting ??= this.open().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async open(): Promise<void> {
    await this.client?.close().catch(() => {});
    const client = new Client({ name: "teammate", version: "0.1.0" });
    client.onclose = () => {
      if (this.client === client) this.dead = true;
    };
    client.onerror = (error) => this.logger.debug({ error: messageOf(error) }, "MCP transport error");
    this.client = client;
    try {
      await client.connect(this.createTransport(), { timeout: this.connectTimeoutMs });
      const listed = await client.listTools(undefined, { timeout: this.connectTimeoutMs });
      this.listedTools = listed.tools;
      this.dead = false;
      this.lastError = undefined;
      this.logger.info({ tools: listed.tools.length }, "MCP server connected");
    } catch (error) {
      this.dead = true;
      this.lastError = messageOf(error);
      await client.close().catch(() => {});
      throw error;
    }
  }

  private createTransport(): Transport {
    if ("url" in this.config) {
      return new StreamableHTTPClientTransport(new URL(this.config.url), {
        requestInit: { headers: this.config.headers ?? {} },
      });
    }
    const transport = new StdioClientTransport({
      command: this.config.command,
      args: this.config.args ?? [],
      ...(this.config.env ? { env: this.config.env } : {}),
      ...(this.config.cwd ? { cwd: this.config.cwd } : {}),
      stderr: "pipe",
    });
    transport.stderr?.on("data", (chunk: Buffer) => {
      this.logger.debug({ stderr: chunk.toString("utf8").slice(0, 500) }, "MCP server stderr");
    });
    return transport;
  }

  toTool(name: string, listed: ListedTool): Tool<Record<string, unknown>> {
    const risk = this.config.risk?.[listed.name] ?? riskFromAnnotations(listed.annotations);
    const { $schema: _dialect, ...parameters } = listed.inputSchema;
    const description = `[MCP server ${this.name}] ${listed.description ?? listed.name}`.slice(
      0,
      MAX_DESCRIPTION_CHARACTERS,
    );
    return {
      name,
      description,
      // The server validates its own arguments against the schema it advertised.
      inputSchema: z.record(z.string(), z.unknown()),
      parameters: { type: "object", ...parameters },
      risk,
      timeoutMs: this.config.timeoutMs ?? DEFAULT_TOOL_TIMEOUT_MS,
      activity: `Calling ${listed.name} on ${this.name}…`,
      execute: async (input, context) =>
        resultToText(await this.call(listed.name, input, risk, context.signal, this.config.timeoutMs)),
    };
  }

  private async call(
    toolName: string,
    input: Record<string, unknown>,
    risk: ToolRisk,
    signal: AbortSignal,
    timeoutMs: number | undefined,
  ): Promise<CallResult> {
    if (this.dead) await this.reconnectOrFail();
    const attempt = () => {
      if (!this.client) throw this.unreachable();
      return this.client.callTool({ name: toolName, arguments: input }, undefined, {
        signal,
        timeout: timeoutMs ?? DEFAULT_TOOL_TIMEOUT_MS,
      });
    };
    try {
      return await attempt();
    } catch (error) {
      if (signal.aborted || !this.isConnectionLoss(error)) throw error;
      this.dead = true;
      this.logger.warn({ tool: toolName, error: messageOf(error) }, "MCP connection lost during a call");
      if (risk === "write" || risk === "dangerous") throw this.unreachable(error);
      await this.reconnectOrFail();
      try {
        return await attempt();
      } catch (retryError) {
        if (this.isConnectionLoss(retryError)) throw this.unreachable(retryError);
        throw retryError;
      }
    }
  }

  private async reconnectOrFail(): Promise<void> {
    try {
      await this.connect();
    } catch (error) {
      throw this.unreachable(error);
    }
  }

  private isConnectionLoss(error: unknown): boolean {
    if (error instanceof McpError) return error.code === ErrorCode.ConnectionClosed;
    // Anything else thrown by the transport (a refused socket, a broken pipe) is a lost connection too.
    return this.dead || error instanceof TypeError;
  }

  private unreachable(cause?: unknown): AppError {
    const message = `The MCP server '${this.name}' is not reachable right now.`;
    return new AppError("tool_failed", message, {
      cause,
      category: "third_party",
      retryable: true,
      userMessage: message,
    });
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.dead = true;
    await client?.close().catch(() => {});
  }
}

/**
 * A tool runs without a click only when its server says it both changes nothing (`readOnlyHint`) and
 * reaches nothing beyond itself (`openWorldHint: false`; the MCP spec's default is open-world): a
 * read-only tool that queries the web with the model's arguments can still carry data out.
 */
function riskFromAnnotations(annotations: ListedTool["annotations"]): ToolRisk {
  if (annotations?.destructiveHint === true && annotations.readOnlyHint !== true) return "dangerous";
  if (annotations?.readOnlyHint === true) return annotations.openWorldHint === false ? "read" : "network";
  return "write";
}

function resultToText(result: CallResult): string {
  const parts: string[] = [];
  if ("content" in result && Array.isArray(result.content)) {
    for (const item of result.content) {
      if (item.type === "text") parts.push(item.text);
      else if (item.type === "resource" && "text" in item.resource) parts.push(item.resource.text);
      else if (item.type === "resource_link") parts.push(`${item.name}: ${item.uri}`);
      else parts.push(`[${item.type} content omitted]`);
    }
    if (parts.length === 0 && result.structuredContent) parts.push(JSON.stringify(result.structuredContent));
  } else if ("toolResult" in result) {
    parts.push(JSON.stringify(result.toolResult));
  }
  const text = parts.join("\n");
  // A tool-level error (`isError`) is the server saying the call failed; the registry reports it to the model.
  if ("isError" in result && result.isError) throw new Error(text || "the tool reported an error");
  return text;
}

/**
 * `<server>__<tool>`, reduced to the `[a-zA-Z0-9_-]{1,64}` OpenAI accepts. A name that had to be cut
 * (or that collides) ends in a short hash of the full name, so it stays unique and stable.
 */
export function namespacedToolName(
  server: string,
  tool: string,
  taken: ReadonlySet<string> = new Set(),
): string {
  const full = `${server}__${tool}`;
  const clean = full.replace(/[^a-zA-Z0-9_-]/g, "_");
  if (clean.length <= 64 && clean === full && !taken.has(clean)) return clean;
  const hash = createHash("sha256").update(full).digest("hex").slice(0, 8);
  const candidate = `${clean.slice(0, 55)}_${hash}`;
  return taken.has(candidate) ? `${clean.slice(0, 46)}_${hash}_${taken.size}` : candidate;
}

function channelMatches(pattern: string, channel: ChannelRef): boolean {
  const [platform, workspace, channelId] = pattern.split(":");
  const part = (expected: string | undefined, actual: string) => expected === "*" || expected === actual;
  return (
    part(platform, channel.platform) &&
    part(workspace, channel.workspaceId) &&
    part(channelId, channel.channelId)
  );
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
