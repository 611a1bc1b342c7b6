import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { OpenAiLlmProvider } from "../../../src/adapters/openai/openai-llm-provider.js";
import { runAgent } from "../../../src/core/agent/agent-loop.js";
import { createInMemoryApprovalGate } from "../../../src/core/agent/approval-gate.js";
import type { Passage } from "../../../src/core/ports/knowledge.js";
import { silentLogger } from "../../../src/core/ports/logger.js";
import type { Tool } from "../../../src/core/ports/tool.js";
import { createToolRegistry, type ToolRegistry } from "../../../src/core/tools/tool-registry.js";
import { createSearchDocsTool } from "../../../src/tools/search-docs-tool.js";
import {
  type ChatRequestBody,
  type OpenAiStandIn,
  startOpenAiStandIn,
} from "../../support/openai-stand-in.js";
import { RecordingReplySink } from "../../support/recording-reply-sink.js";

// The agent with the real OpenAI adapter and SDK, against the local stand-in that validates every
// request (tool definitions, assistant tool_calls, tool messages) against the OpenAI spec.

const conversation = { platform: "slack" as const, workspaceId: "T1", channelId: "C1" };

const passage: Passage = {
  documentId: "doc-oncall",
  title: "On-call guide",
  location: "https://wiki.example.test/on-call",
  headingPath: [],
  text: "The on-call rotation hands over every Monday at 09:00.",
  score: 0.8,
};

function toolMessages(
  body: ChatRequestBody,
): Array<{ role: string; content?: unknown; tool_call_id?: string }> {
  return body.messages.filter((message) => message.role === "tool");
}

describe("runAgent on the OpenAI stand-in", () => {
  let standIn: OpenAiStandIn;
  let llm: OpenAiLlmProvider;

  beforeAll(async () => {
    standIn = await startOpenAiStandIn();
    llm = new OpenAiLlmProvider({
      apiKey: "test-key",
      baseURL: standIn.baseUrl,
      model: "gpt-4o-mini",
      maxRetries: 0,
    });
  });
  afterAll(async () => {
    await standIn.close();
  });

  async function run(tools: ToolRegistry, sink = new RecordingReplySink()) {
    return runAgent({
      llm,
      messages: [
        { role: "system", content: "You are teammate." },
        { role: "user", content: "When does on-call hand over?" },
      ],
      tools,
      context: { conversation, askerId: "U1", isAdmin: false, logger: silentLogger },
      sink,
      budgets: { maxSteps: 4, maxTokens: 50_000, maxMilliseconds: 20_000 },
      approvals: createInMemoryApprovalGate(),
    });
  }

  it("a question triggers search_docs and the answer cites the document", async () => {
    const tools = createToolRegistry();
    tools.register(createSearchDocsTool({ hasDocuments: async () => true, retrieve: async () => [passage] }));
    standIn.setResponder((body) => {
      const results = toolMessages(body);
      if (results.length === 0) {
        return {
          kind: "tool-calls",
          calls: [{ id: "call_search", name: "search_docs", arguments: '{"query":"on-call handover"}' }],
        };
      }
      const cited = /\[(\d+)\] On-call guide/.exec(String(results[0]?.content))?.[1];
      return { kind: "text", text: `On-call hands over on Mondays at 09:00 [${cited}].` };
    });

    const sink = new RecordingReplySink();
    const result = await run(tools, sink);

    expect(result.text).toBe("On-call hands over on Mondays at 09:00 [1].");
    expect(sink.text).toBe(result.text);
    expect(result.sources).toEqual([
      {
        index: 1,
        title: "On-call guide",
        location: "https://wiki.example.test/on-call",
        documentId: "doc-oncall",
      },
    ]);
    const [first, second] = standIn.chatRequests().slice(-2);
    expect(first?.tools).toEqual([
      expect.objectContaining({
        type: "function",
        function: expect.objectContaining({ name: "search_docs" }),
      }),
    ]);
    expect(toolMessages(second as ChatRequestBody)[0]?.tool_call_id).toBe("call_search");
    standIn.assertNoViolations();
    standIn.setResponder(undefined);
  });

  it("runs two parallel tool calls from one response concurrently (measured)", async () => {
    const tools = createToolRegistry();
    const waits: Tool<{ label: string }> = {
      name: "wait",
      description: "Waits 200 ms.",
      inputSchema: z.object({ label: z.string() }),
      risk: "read",
      execute: async ({ label }) => {
        await new Promise((resolve) => setTimeout(resolve, 200));
        return `${label} ready`;
      },
    };
    tools.register(waits);
    standIn.setResponder((body) =>
      toolMessages(body).length === 0
        ? {
            kind: "tool-calls",
            calls: [
              { name: "wait", arguments: '{"label":"a"}' },
              { name: "wait", arguments: '{"label":"b"}' },
            ],
          }
        : {
            kind: "text",
            text: toolMessages(body)
              .map((message) => String(message.content).split("\n")[2])
              .join(", "),
          },
    );

    const result = await run(tools);
    const toolMilliseconds =
      result.trace.totalMilliseconds - result.trace.steps.reduce((sum, step) => sum + step.milliseconds, 0);

    console.info(
      `two 200 ms tools via the stand-in: tool phase ${toolMilliseconds} ms, whole run ${result.trace.totalMilliseconds} ms`,
    );
    expect(result.text).toBe("a ready, b ready");
    expect(toolMilliseconds).toBeLessThan(350);
    standIn.assertNoViolations();
    standIn.setResponder(undefined);
  });
});
