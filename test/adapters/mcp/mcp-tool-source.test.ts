import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createMcpToolSource,
  type McpConfig,
  type McpToolSource,
  namespacedToolName,
  readMcpConfig,
} from "../../../src/adapters/mcp/mcp-tool-source.js";
import { runAgent } from "../../../src/core/agent/agent-loop.js";
import { createInMemoryApprovalGate } from "../../../src/core/agent/approval-gate.js";
import { createSourceCollector } from "../../../src/core/agent/source-collector.js";
import { silentLogger } from "../../../src/core/ports/logger.js";
import type { ToolContext } from "../../../src/core/ports/tool.js";
import { createToolRegistry, type ToolRegistry } from "../../../src/core/tools/tool-registry.js";
import { startMcpHttpServer } from "../../support/mcp-http-test-server.js";
import { RecordingReplySink } from "../../support/recording-reply-sink.js";
import { ScriptedLlmProvider } from "../../support/scripted-llm-provider.js";

const SERVER = join(import.meta.dirname, "../../support/mcp-test-server.ts");
const conversation = { platform: "slack" as const, workspaceId: "T1", channelId: "C1" };

function context(): ToolContext {
  return {
    conversation,
    askerId: "U1",
    isAdmin: false,
    signal: new AbortController().signal,
    logger: silentLogger,
    sources: createSourceCollector(),
  };
}

describe("MCP tool source over stdio", () => {
  const directory = mkdtempSync(join(tmpdir(), "teammate-mcp-"));
  const notesFile = join(directory, "notes.txt");
  let source: McpToolSource;
  let registry: ToolRegistry;

  beforeAll(async () => {
    writeFileSync(notesFile, "");
    const config: McpConfig = {
      servers: {
        files: {
          command: process.execPath,
          args: ["--import", "tsx", SERVER],
          env: { MCP_TEST_NOTES_FILE: notesFile },
          risk: { fail: "read" },
          channels: ["slack:T1:C1", "discord:*:*"],
        },
        ghost: { command: join(directory, "no-such-binary") },
      },
    };
    source = await createMcpToolSource({ config, logger: silentLogger });
    registry = createToolRegistry();
    for (const tool of source.tools()) registry.register(tool);
  });

  afterAll(async () => {
    await source?.close();
  });

  const call = (name: string, args: unknown) =>
    registry.execute({ id: name, name, arguments: JSON.stringify(args) }, context());

  it("discovers the server's tools, namespaced, with risk from annotations or config", () => {
    const byName = Object.fromEntries(source.tools().map((tool) => [tool.name, tool.risk]));
    expect(byName).toEqual({
      files__add: "read",
      files__write_note: "write",
      files__delete_notes: "dangerous",
      files__fail: "read",
      files__crash: "read",
      files__whoami: "read",
      files__lookup_ticket: "read",
      // Read-only but open-world (no `openWorldHint: false`): its arguments leave for other servers.
      files__search_web: "network",
    });
    const add = registry.definitions().find((definition) => definition.name === "files__add");
    expect(add?.description).toBe("[MCP server files] Adds two numbers.");
    expect(add?.parameters).toMatchObject({ type: "object", properties: { a: { type: "number" } } });
    const [files, ghost] = source.status();
    expect(files).toMatchObject({ server: "files", connected: true });
    expect(ghost).toMatchObject({ server: "ghost", connected: false, tools: [] });
    expect(ghost?.error).toBeTruthy();
  });

  it("calls a tool end to end", async () => {
    expect(await call("files__add", { a: 2, b: 3 })).toMatchObject({ ok: true, output: "5" });
  });

  it("reports the server's validation and tool errors to the model", async () => {
    const invalid = await call("files__add", { a: "two", b: 3 });
    expect(invalid.ok).toBe(false);
    expect(invalid.output).toMatch(/files__add failed/);
    expect(await call("files__fail", {})).toMatchObject({
      ok: false,
      output: "Error: files__fail failed: the widget is jammed",
    });
  });

  it("applies the per-channel allowlist", () => {
    expect(source.allows(conversation, "files__add")).toBe(true);
    expect(source.allows({ ...conversation, channelId: "C2" }, "files__add")).toBe(false);
    expect(source.allows({ platform: "discord", workspaceId: "G", channelId: "X" }, "files__add")).toBe(true);
    expect(source.allows({ ...conversation, channelId: "C2" }, "calculator")).toBe(true);
    const view = registry.select((tool) => source.allows({ ...conversation, channelId: "C2" }, tool.name));
    expect(view.definitions()).toEqual([]);
  });

  it("a write tool from MCP waits for Approve inside the agent, then runs on the server", async () => {
    const sink = new RecordingReplySink();
    const approvals = createInMemoryApprovalGate({ timeoutMs: 10_000 });
    let contentAtPrompt: string | undefined;
    sink.onApproval = (prompt) => {
      contentAtPrompt = readFileSync(notesFile, "utf8");
      void approvals.decide(
        prompt.approvalId,
        { userId: "U1", place: conversation, isAdmin: async () => false },
        true,
      );
    };
    const llm = new ScriptedLlmProvider([
      { toolCalls: [{ name: "files__write_note", arguments: { text: "standup moved to 10:00" } }] },
      (request) => ({ text: `Done: ${request.messages.at(-1)?.content?.split("\n")[2]}` }),
    ]);
    const result = await runAgent({
      llm,
      messages: [{ role: "user", content: "note that standup moved" }],
      tools: registry,
      context: { conversation, askerId: "U1", isAdmin: false, logger: silentLogger },
      sink,
      budgets: { maxSteps: 3, maxTokens: 10_000, maxMilliseconds: 20_000 },
      approvals,
    });
    expect(contentAtPrompt).toBe("");
    expect(readFileSync(notesFile, "utf8")).toBe("standup moved to 10:00\n");
    expect(result.text).toMatch(/^Done: noted: standup moved to 10:00/);
  });

  it("reconnects after the server dies, with a clear error while it cannot answer", async () => {
    const before = await call("files__whoami", {});
    // `crash` kills the process mid-call; being read-only it is retried once on a fresh server,
    // which it kills again, so the model hears that the server is unreachable.
    const crashed = await call("files__crash", {});
    expect(crashed.output).toBe(
      "Error: files__crash failed: The MCP server 'files' is not reachable right now.",
    );
    const after = await call("files__whoami", {});
    expect(after.ok).toBe(true);
    expect(after.output).not.toBe(before.output);
    expect(source.status()[0]?.connected).toBe(true);
  });
});

describe("MCP config and names", () => {
  it("reads a config file, treats a missing one as empty and explains a bad one", async () => {
    const directory = mkdtempSync(join(tmpdir(), "teammate-mcp-config-"));
    const good = join(directory, "mcp.json");
    writeFileSync(
      good,
      JSON.stringify({ servers: { web: { url: "http://127.0.0.1:1/mcp" }, local: { command: "x" } } }),
    );
    expect(Object.keys((await readMcpConfig(good)).servers)).toEqual(["web", "local"]);
    expect(await readMcpConfig(join(directory, "absent.json"))).toEqual({ servers: {} });
    const bad = join(directory, "bad.json");
    writeFileSync(bad, JSON.stringify({ servers: { "bad name": { url: "ftp://x" } } }));
    await expect(readMcpConfig(bad)).rejects.toThrow(/not a valid MCP config: servers\.bad name/);
  });

  it("keeps namespaced names within OpenAI's 64-character pattern, unique and stable", () => {
    expect(namespacedToolName("files", "add")).toBe("files__add");
    const long = namespacedToolName("warehouse", `lookup.${"x".repeat(80)}`);
    expect(long).toMatch(/^[a-zA-Z0-9_-]{1,64}$/);
    expect(long).toBe(namespacedToolName("warehouse", `lookup.${"x".repeat(80)}`));
    expect(namespacedToolName("warehouse", `lookup.${"x".repeat(79)}y`)).not.toBe(long);
    expect(namespacedToolName("files", "add", new Set(["files__add"]))).not.toBe("files__add");
  });

  it("an HTTP server that is down contributes no tools and does not block start-up", async () => {
    const source = await createMcpToolSource({
      config: { servers: { down: { url: "http://127.0.0.1:9/mcp" } } },
      logger: silentLogger,
      connectTimeoutMs: 2_000,
    });
    expect(source.tools()).toEqual([]);
    expect(source.status()[0]).toMatchObject({ server: "down", connected: false });
    await source.close();
  });
});

describe("MCP tool source over Streamable HTTP", () => {
  it("discovers and calls a tool, sends configured headers, and recovers after the server restarts", async () => {
    const server = await startMcpHttpServer();
    const source = await createMcpToolSource({
      config: { servers: { calc: { url: server.url, headers: { Authorization: "Bearer test-token" } } } },
      logger: silentLogger,
      connectTimeoutMs: 5_000,
    });
    try {
      const registry = createToolRegistry();
      for (const tool of source.tools()) registry.register(tool);
      const multiply = (a: number, b: number) =>
        registry.execute({ id: "m", name: "calc__multiply", arguments: JSON.stringify({ a, b }) }, context());

      expect(source.tools().map((tool) => [tool.name, tool.risk])).toEqual([["calc__multiply", "read"]]);
      expect(await multiply(6, 7)).toMatchObject({ ok: true, output: "42" });
      expect(server.requests.every((headers) => headers.authorization === "Bearer test-token")).toBe(true);

      await server.stop();
      expect((await multiply(2, 2)).output).toBe(
        "Error: calc__multiply failed: The MCP server 'calc' is not reachable right now.",
      );
      await server.restart();
      expect(await multiply(3, 3)).toMatchObject({ ok: true, output: "9" });
    } finally {
      await source.close();
      await server.stop().catch(() => {});
    }
  });
});
