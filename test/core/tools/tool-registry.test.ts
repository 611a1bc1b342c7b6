import { getEventListeners } from "node:events";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { createSourceCollector } from "../../../src/core/agent/source-collector.js";
import { silentLogger } from "../../../src/core/ports/logger.js";
import type { Tool, ToolContext } from "../../../src/core/ports/tool.js";
import { countTokens } from "../../../src/core/tokens.js";
import { createToolRegistry } from "../../../src/core/tools/tool-registry.js";

function context(signal: AbortSignal = new AbortController().signal): ToolContext {
  return {
    conversation: { platform: "local", workspaceId: "w", channelId: "c" },
    askerId: "u1",
    isAdmin: false,
    signal,
    logger: silentLogger,
    sources: createSourceCollector(),
  };
}

const echo: Tool<{ text: string; times: number }> = {
  name: "echo",
  description: "Repeats text.",
  inputSchema: z.object({ text: z.string().min(1), times: z.number().int().min(1).default(1) }),
  risk: "read",
  execute: async (input) => input.text.repeat(input.times),
};

function call(name: string, args: unknown, id = "c1") {
  return { id, name, arguments: typeof args === "string" ? args : JSON.stringify(args) };
}

describe("ToolRegistry", () => {
  it("lists JSON Schema definitions for the LLM from the zod schema", () => {
    const registry = createToolRegistry();
    registry.register(echo);
    const [definition] = registry.definitions();
    expect(definition?.name).toBe("echo");
    expect(definition?.description).toBe("Repeats text.");
    expect(definition?.parameters).toMatchObject({
      type: "object",
      properties: { text: { type: "string", minLength: 1 }, times: { type: "integer" } },
      required: ["text"],
    });
    expect(definition?.parameters).not.toHaveProperty("$schema");
  });

  it("rejects names OpenAI would refuse and duplicates", () => {
    const registry = createToolRegistry();
    expect(() => registry.register({ ...echo, name: "has space" })).toThrow(/must match/);
    expect(() => registry.register({ ...echo, name: "x".repeat(65) })).toThrow(/must match/);
    registry.register(echo);
    expect(() => registry.register(echo)).toThrow(/already registered/);
  });

  it("runs a valid call, applying schema defaults", async () => {
    const registry = createToolRegistry();
    registry.register(echo);
    const result = await registry.execute(call("echo", { text: "ab", times: 2 }), context());
    expect(result).toMatchObject({ ok: true, output: "abab", name: "echo", callId: "c1", truncated: false });
    expect((await registry.execute(call("echo", { text: "ab" }), context())).output).toBe("ab");
  });

  it("returns an error string for bad JSON, invalid arguments and unknown tools", async () => {
    const registry = createToolRegistry();
    registry.register(echo);
    const badJson = await registry.execute(call("echo", "{text:"), context());
    expect(badJson.ok).toBe(false);
    expect(badJson.output).toMatch(/not valid JSON/);
    const invalid = await registry.execute(call("echo", { text: "", times: 0 }), context());
    expect(invalid.ok).toBe(false);
    expect(invalid.output).toMatch(/Invalid arguments for echo: text: .*; times: /);
    const unknown = await registry.execute(call("nope", {}), context());
    expect(unknown.output).toMatch(/There is no tool named "nope". Tools: echo/);
  });

  it("turns a throwing tool into an error result", async () => {
    const registry = createToolRegistry();
    registry.register({
      ...echo,
      name: "boom",
      execute: async () => Promise.reject(new Error("disk on fire")),
    });
    const result = await registry.execute(call("boom", { text: "x" }), context());
    expect(result).toMatchObject({ ok: false, error: "Error: boom failed: disk on fire" });
  });

  it("enforces the per-tool timeout even when the tool ignores its signal", async () => {
    const registry = createToolRegistry();
    let sawAbort = false;
    registry.register({
      ...echo,
      name: "slow",
      timeoutMs: 50,
      execute: (_input, toolContext) =>
        new Promise((resolve) => {
          toolContext.signal.addEventListener("abort", () => {
            sawAbort = true;
          });
          setTimeout(() => resolve("too late"), 1_000);
        }),
    });
    const started = performance.now();
    const result = await registry.execute(call("slow", { text: "x" }), context());
    expect(performance.now() - started).toBeLessThan(500);
    expect(result.ok).toBe(false);
    expect(result.output).toBe("Error: slow timed out after 50 ms.");
    expect(sawAbort).toBe(true);
  });

  it("stops a tool when the caller aborts", async () => {
    const registry = createToolRegistry();
    registry.register({ ...echo, name: "hang", execute: () => new Promise(() => {}) });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("turn cancelled")), 20);
    const result = await registry.execute(call("hang", { text: "x" }), context(controller.signal));
    expect(result.output).toBe("Error: hang was cancelled before it finished.");
  });

  it("lets go of the caller's signal when a call ends", async () => {
    const registry = createToolRegistry();
    registry.register(echo);
    const controller = new AbortController();
    await registry.execute(call("echo", { text: "x" }), context(controller.signal));
    expect(getEventListeners(controller.signal, "abort")).toHaveLength(0);
  });

  it("caps output in tokens", async () => {
    const registry = createToolRegistry({ defaultMaxOutputTokens: 20 });
    registry.register(echo);
    const result = await registry.execute(call("echo", { text: "word ", times: 500 }), context());
    expect(result.truncated).toBe(true);
    expect(result.output).toMatch(/\[output truncated to 20 tokens\]$/);
    expect(countTokens(result.output.split("\n[output")[0] ?? "")).toBeLessThanOrEqual(20);
  });

  it("adds a tool's passages to the shared citation numbering", async () => {
    const registry = createToolRegistry();
    const passage = { documentId: "d1", title: "T", location: "l", headingPath: [], text: "p", score: 1 };
    registry.register({
      ...echo,
      name: "finder",
      execute: async () => ({ text: "found", passages: [passage] }),
    });
    const toolContext = context();
    await registry.execute(call("finder", { text: "x" }), toolContext);
    expect(toolContext.sources.list()).toEqual([passage]);
  });

  it("a selected view hides other tools from definitions and calls", async () => {
    const registry = createToolRegistry();
    registry.register(echo);
    registry.register({ ...echo, name: "secret_tool" });
    const view = registry.select((tool) => tool.name !== "secret_tool");
    expect(view.definitions().map((definition) => definition.name)).toEqual(["echo"]);
    expect(view.resolve("secret_tool")).toBeUndefined();
    const hidden = await view.execute(call("secret_tool", { text: "x" }), context());
    expect(hidden.output).toMatch(/There is no tool named "secret_tool". Tools: echo\./);
    expect((await view.execute(call("echo", { text: "y" }), context())).output).toBe("y");
  });
});
