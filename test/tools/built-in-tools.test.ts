import { describe, expect, it } from "vitest";
import { createSourceCollector } from "../../src/core/agent/source-collector.js";
import type { Passage } from "../../src/core/ports/knowledge.js";
import { silentLogger } from "../../src/core/ports/logger.js";
import type { Note } from "../../src/core/ports/memory-store.js";
import type { Tool, ToolContext } from "../../src/core/ports/tool.js";
import { createToolRegistry } from "../../src/core/tools/tool-registry.js";
import type { ChannelRef } from "../../src/core/types.js";
import { createBuiltInTools } from "../../src/tools/built-in-tools.js";
import { calculate, createCalculatorTool } from "../../src/tools/calculator-tool.js";
import { createCurrentTimeTool } from "../../src/tools/current-time-tool.js";
import { createFetchUrlTool } from "../../src/tools/fetch-url-tool.js";
import { createRecallTool } from "../../src/tools/recall-tool.js";
import { createRememberTool } from "../../src/tools/remember-tool.js";
import { createSearchDocsTool } from "../../src/tools/search-docs-tool.js";

const conversation = { platform: "discord" as const, workspaceId: "G1", channelId: "C9", threadId: "T5" };

function context(overrides: Partial<ToolContext> = {}): ToolContext {
  return {
    conversation,
    askerId: "U1",
    askerName: "Ada",
    isAdmin: false,
    signal: new AbortController().signal,
    logger: silentLogger,
    sources: createSourceCollector(),
    ...overrides,
  };
}

async function run(tool: Tool, args: unknown, toolContext = context()) {
  const registry = createToolRegistry();
  registry.register(tool);
  return registry.execute({ id: "1", name: tool.name, arguments: JSON.stringify(args) }, toolContext);
}

function notesStore() {
  const notes = new Map<string, Note[]>();
  const key = (channel: ChannelRef) => `${channel.platform}:${channel.workspaceId}:${channel.channelId}`;
  return {
    notes,
    addNote: async (channel: ChannelRef, note: Omit<Note, "id">) => {
      const list = notes.get(key(channel)) ?? [];
      const saved = { ...note, id: `n${list.length + 1}` };
      notes.set(key(channel), [...list, saved]);
      return saved;
    },
    listNotes: async (channel: ChannelRef) => notes.get(key(channel)) ?? [],
  };
}

describe("calculator", () => {
  it("computes arithmetic, functions and unit conversions", async () => {
    await expect(calculate("(17.5 * 12) / 7")).resolves.toBe("30");
    await expect(calculate("sqrt(2) ^ 2")).resolves.toBe("2");
    await expect(calculate("5 km to mile")).resolves.toBe("3.1068559611867 mile");
    await expect(calculate("sin(30 deg)")).resolves.toBe("0.5");
    await expect(calculate("mean([1, 2, 3, 10])")).resolves.toBe("4");
    await expect(calculate("10!")).resolves.toBe("3628800");
  });

  it.each([
    ["import({evil: 1}, {override: true})", /function import is not allowed/],
    ["createUnit('parsec2')", /function createUnit is not allowed/],
    ["evaluate('1+1')", /function evaluate is not allowed/],
    ["parse('1')", /function parse is not allowed/],
    ["f(x) = x^2", /defining a function is not allowed/],
    ["x = 5", /assignment is not allowed/],
    ["[1,2,3][1]", /property or index access/],
    ["cos.constructor", /property or index access/],
    ['"constructor"', /only numbers/],
    ["1:100000000", /a range is not allowed/],
    ["zeros(100000, 100000)", /function zeros is not allowed/],
    ["a = 1; a", /assignment|more than one expression/],
    ["process", /unknown name "process"/],
    ["import", /unknown name "import"/],
    ["sqrt", /does not compute a value/],
  ])("refuses %s", async (expression, reason) => {
    await expect(calculate(expression)).rejects.toThrow(reason);
  });

  it("answers a huge factorial quickly instead of grinding", async () => {
    await calculate("1 + 1");
    const started = performance.now();
    await expect(calculate("factorial(10000000)")).resolves.toBe("Infinity");
    expect(performance.now() - started).toBeLessThan(100);
  });

  it("returns a refusal to the model as an error, not a crash", async () => {
    const result = await run(createCalculatorTool(), { expression: "x = 5" });
    expect(result.ok).toBe(false);
    expect(result.output).toMatch(/Cannot evaluate "x = 5": assignment is not allowed/);
    expect((await run(createCalculatorTool(), { expression: "2 + 3" })).output).toBe("2 + 3 = 5");
  });
});

describe("current_time", () => {
  const tool = createCurrentTimeTool(() => new Date(Date.UTC(2025, 0, 15, 12, 30)));
  it("formats the date and time in an IANA zone", async () => {
    const result = await run(tool, { timeZone: "Asia/Seoul" });
    expect(result.output).toBe(
      "Wednesday, January 15, 2025 at 21:30:00 GMT+9 (Asia/Seoul; ISO 2025-01-15T12:30:00.000Z)",
    );
    expect((await run(tool, {})).output).toMatch(/^Wednesday, January 15, 2025 at 12:30:00 UTC \(UTC;/);
  });
  it("explains an unknown zone", async () => {
    const result = await run(tool, { timeZone: "Mars/Olympus" });
    expect(result.output).toMatch(/"Mars\/Olympus" is not a known IANA time zone/);
  });
});

describe("search_docs", () => {
  it("numbers passages in the shared citation numbering and reports no match", async () => {
    const passage: Passage = {
      documentId: "d2",
      title: "Runbook",
      location: "docs/runbook.md",
      headingPath: ["Deploy", "Rollback"],
      text: "Run make rollback.",
      score: 0.5,
    };
    const earlier: Passage = { ...passage, documentId: "d1", title: "Earlier", text: "x" };
    const toolContext = context({ sources: createSourceCollector([earlier]) });
    const scopes: unknown[] = [];
    const tool = createSearchDocsTool({
      hasDocuments: async () => true,
      retrieve: async (_question, scope) => {
        scopes.push(scope);
        return [passage];
      },
    });
    const result = await run(tool, { query: "rollback" }, toolContext);
    expect(result.output).toBe("[2] Runbook › Deploy › Rollback (docs/runbook.md)\nRun make rollback.");
    expect(scopes).toEqual([{ platform: "discord", workspaceId: "G1", channelId: "C9" }]);
    const empty = createSearchDocsTool({ hasDocuments: async () => false, retrieve: async () => [] });
    expect((await run(empty, { query: "x" })).output).toBe("No indexed document matched that query.");
  });
});

describe("remember and recall", () => {
  it("remember is a write tool that stores a note for the channel; recall lists and filters", async () => {
    const store = notesStore();
    const remember = createRememberTool(store);
    expect(remember.risk).toBe("write");
    await run(remember, { text: "Deploys freeze on Fridays." });
    await run(remember, { text: "Ada owns the billing service." });
    expect(store.notes.get("discord:G1:C9")?.[0]).toMatchObject({
      text: "Deploys freeze on Fridays.",
      authorId: "U1",
      authorName: "Ada",
    });
    const recall = createRecallTool(store);
    expect((await run(recall, {})).output.split("\n")).toHaveLength(2);
    expect((await run(recall, { query: "billing" })).output).toMatch(
      /^- Ada owns the billing service\. \(Ada, \d{4}-/,
    );
    expect((await run(recall, { query: "kubernetes" })).output).toBe("No note matches that.");
    const other = context({ conversation: { ...conversation, channelId: "C10" } });
    expect((await run(recall, {}, other)).output).toBe("This channel has no notes.");
  });
});

describe("fetch_url", () => {
  it("reads through the injected loader and refuses non-http URLs before calling it", async () => {
    const fetched: string[] = [];
    const tool = createFetchUrlTool(async (url) => {
      fetched.push(url);
      return { title: "Example", text: "Hello page." };
    });
    expect((await run(tool, { url: "https://example.test/a" })).output).toBe(
      "Example (https://example.test/a)\n\nHello page.",
    );
    const refused = await run(tool, { url: "file:///etc/passwd" });
    expect(refused.output).toMatch(/Invalid arguments for fetch_url: url: only http and https/);
    expect(fetched).toEqual(["https://example.test/a"]);
  });

  it("is a network tool: only the exact URL the asker typed runs without a click", () => {
    const tool = createFetchUrlTool(async () => ({ title: "t", text: "x" }));
    expect(tool.risk).toBe("network");
    const asked = (url: string, text: string) => tool.requestedByAsker?.({ url }, text) === true;
    expect(asked("https://wiki.example/page", "what does https://wiki.example/page say?")).toBe(true);
    // Slack's link forms, and sentence punctuation after the link.
    expect(asked("https://wiki.example/page", "read <https://wiki.example/page|the page>")).toBe(true);
    expect(asked("https://wiki.example/page", "see https://wiki.example/page.")).toBe(true);
    // Anything the model changed or added is not what the asker typed.
    expect(asked("https://wiki.example/page?d=secret", "what does https://wiki.example/page say?")).toBe(
      false,
    );
    expect(asked("https://attacker.example/page", "what does https://wiki.example/page say?")).toBe(false);
    expect(asked("https://wiki.example/page", "what does the wiki say?")).toBe(false);
  });

  it("passes the loader's refusal (the SSRF guard) back to the model", async () => {
    const tool = createFetchUrlTool(async () => {
      throw new Error("that address is private");
    });
    expect((await run(tool, { url: "http://10.0.0.1/" })).output).toBe(
      "Error: fetch_url failed: that address is private",
    );
  });
});

describe("createBuiltInTools", () => {
  it("registers every tool with a valid definition, leaving out those without dependencies", () => {
    const base = {
      retriever: { hasDocuments: async () => false, retrieve: async () => [] },
      memory: notesStore(),
    };
    const registry = createToolRegistry();
    for (const tool of createBuiltInTools(base)) registry.register(tool);
    expect(registry.definitions().map((definition) => definition.name)).toEqual([
      "search_docs",
      "remember",
      "recall",
      "current_time",
      "calculator",
    ]);
    for (const definition of registry.definitions())
      expect(definition.parameters).toMatchObject({ type: "object" });
    const full = createBuiltInTools({
      ...base,
      fetchDocument: async () => ({ title: "", text: "" }),
    });
    expect(full.map((tool) => tool.name)).toContain("fetch_url");
  });
});
