import { afterEach, describe, expect, it } from "vitest";
import { createInMemoryApprovalGate } from "../../src/core/agent/approval-gate.js";
import type { Passage, Retriever } from "../../src/core/ports/knowledge.js";
import type { ChatRequest } from "../../src/core/ports/llm-provider.js";
import type { ApprovalPrompt } from "../../src/core/ports/reply-sink.js";
import { createToolRegistry } from "../../src/core/tools/tool-registry.js";
import { createBuiltInTools } from "../../src/tools/built-in-tools.js";
import { RecordingSink } from "../support/recording-sink.js";
import type { ScriptedReply } from "../support/scripted-llm.js";
import { createTestAssistant, inbound } from "./assistant-fixtures.js";

const RUNBOOK: Passage = {
  documentId: "d-runbook",
  title: "Deploy runbook",
  location: "https://wiki.example/runbook",
  headingPath: ["Schedule"],
  text: "Deploys happen on Tuesdays after the 10:00 standup.",
  score: 3,
};

const retriever: Retriever = {
  hasDocuments: async () => false,
  retrieve: async (question) => (/deploy/i.test(question) ? [RUNBOOK] : []),
};

class ApprovalSink extends RecordingSink {
  prompts: ApprovalPrompt[] = [];
  async requestApproval(prompt: ApprovalPrompt): Promise<void> {
    this.prompts.push(prompt);
  }
}

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function lastIsTool(request: ChatRequest): boolean {
  return request.messages.at(-1)?.role === "tool";
}

const CHANNEL = { platform: "slack" as const, workspaceId: "T1", channelId: "C1" };

function setup(script: (request: ChatRequest) => ScriptedReply | string, knowledge: Retriever = retriever) {
  const tools = createToolRegistry();
  const approvals = createInMemoryApprovalGate({ timeoutMs: 5_000 });
  const context = createTestAssistant(script, {
    retriever: knowledge,
    allowGeneralKnowledge: false,
    agent: { tools, approvals, budgets: { maxSteps: 4, maxTokens: 50_000, maxMilliseconds: 20_000 } },
  });
  for (const tool of createBuiltInTools({ retriever: knowledge, memory: context.store }))
    tools.register(tool);
  cleanups.push(context.close);
  return context;
}

/** A click on an approval button in CHANNEL; returns what the clicker was told. */
async function click(
  assistant: ReturnType<typeof setup>["assistant"],
  action: "approve-tool" | "deny-tool",
  approvalId: string,
  eventId: string,
  clicker = { userId: "U1", userName: "Alice" },
): Promise<RecordingSink> {
  const sink = new RecordingSink();
  await assistant.handleAction(
    { ...CHANNEL, ...clicker, isAdmin: false, action, value: approvalId, eventId },
    sink,
  );
  return sink;
}

describe("assistant with tools (agent loop)", () => {
  it("calls search_docs, cites the document, and `why` shows sources, tools and tokens", async () => {
    const { assistant } = setup((request) =>
      lastIsTool(request)
        ? "Deploys happen on Tuesdays [1]."
        : { toolCalls: [{ id: "call_1", name: "search_docs", arguments: '{"query":"deploy day"}' }] },
    );
    const sink = new RecordingSink();
    await assistant.handle(inbound({ text: "when do we deploy?" }), sink);
    expect(sink.text).toContain("Deploys happen on Tuesdays [1].");
    expect(sink.finished?.sources).toEqual([
      {
        index: 1,
        title: "Deploy runbook",
        location: "https://wiki.example/runbook",
        documentId: "d-runbook",
      },
    ]);
    expect(sink.finished?.buttons.map((button) => button.action)).toContain("show-sources");

    const why = new RecordingSink();
    await assistant.handle(inbound({ text: "why" }), why);
    expect(why.started?.visibility).toBe("asker");
    expect(why.text).toContain("search_docs");
    expect(why.text).toContain("Deploy runbook");
    expect(why.text).toMatch(/\d+ tokens/);

    const other = new RecordingSink();
    await assistant.handle(inbound({ text: "why", userId: "U-other" }), other);
    expect(other.text).toContain("Only the person who asked");
  });

  it("a write tool waits for Approve; the asker's click runs it", async () => {
    const { assistant, store } = setup((request) =>
      lastIsTool(request)
        ? "Saved."
        : { toolCalls: [{ id: "call_w", name: "remember", arguments: '{"text":"retro is on Thursday"}' }] },
    );
    const sink = new ApprovalSink();
    const answering = assistant.handle(inbound({ text: "please remember the retro is on Thursday" }), sink);
    await expect.poll(() => sink.prompts.length).toBe(1);
    expect(await store.listNotes(CHANNEL)).toEqual([]);
    const prompt = sink.prompts[0] as ApprovalPrompt;
    expect(prompt.buttons.map((button) => button.action)).toEqual(["approve-tool", "deny-tool"]);

    await click(assistant, "approve-tool", prompt.approvalId, "click-1", {
      userId: "U-stranger",
      userName: "Eve",
    });
    expect(await store.listNotes(CHANNEL)).toEqual([]);

    await click(assistant, "approve-tool", prompt.approvalId, "click-2");
    await answering;
    expect((await store.listNotes(CHANNEL)).map((note) => note.text)).toEqual(["retro is on Thursday"]);
    expect(sink.text).toContain("Saved.");
  });

  it("Deny leaves the write tool unexecuted and the user still gets an answer", async () => {
    const { assistant, store } = setup((request) =>
      lastIsTool(request)
        ? "Okay, I did not save it."
        : { toolCalls: [{ id: "call_w", name: "remember", arguments: '{"text":"secret plan"}' }] },
    );
    const sink = new ApprovalSink();
    const answering = assistant.handle(inbound({ text: "could you keep the secret plan in mind" }), sink);
    await expect.poll(() => sink.prompts.length).toBe(1);
    await click(assistant, "deny-tool", sink.prompts[0]?.approvalId ?? "", "click-deny");
    await answering;
    expect(await store.listNotes(CHANNEL)).toEqual([]);
    expect(sink.text).toContain("Okay, I did not save it.");
  });
});

describe("a docs-only channel where nothing matched (tools on, general knowledge off)", () => {
  const documentsButNoMatch: Retriever = { hasDocuments: async () => true, retrieve: async () => [] };

  it("never shows a general-knowledge answer: a reply that used no tool becomes the not-found sentence", async () => {
    const { assistant, llm } = setup(
      (request) =>
        String(request.messages[0]?.content).startsWith("Rewrite") ? "capital of Mongolia?" : "Ulaanbaatar.",
      documentsButNoMatch,
    );
    const sink = new RecordingSink();
    await assistant.handle(inbound({ text: "what is the capital of Mongolia?" }), sink);
    expect(sink.text).toContain("I found nothing about that in the indexed docs.");
    expect(sink.text).not.toContain("Ulaanbaatar");
    const answerRequest = llm?.requests.find((request) => (request.tools?.length ?? 0) > 0);
    expect(String(answerRequest?.messages[0]?.content)).toContain("this channel answers only from them");
  });

  it("still lets the model act through a tool (here a write that waits for approval)", async () => {
    const { assistant, store } = setup(
      (request) =>
        lastIsTool(request)
          ? "Saved the note."
          : { toolCalls: [{ id: "call_w", name: "remember", arguments: '{"text":"retro is on Thursday"}' }] },
      documentsButNoMatch,
    );
    const sink = new ApprovalSink();
    const answering = assistant.handle(
      inbound({ text: "please keep in mind that retro is on Thursday" }),
      sink,
    );
    await expect.poll(() => sink.prompts.length).toBe(1);
    await click(assistant, "approve-tool", sink.prompts[0]?.approvalId ?? "", "click-docs-only");
    await answering;
    expect(sink.text).toContain("Saved the note.");
    expect(sink.text).not.toContain("I found nothing");
    expect((await store.listNotes(CHANNEL)).map((note) => note.text)).toEqual(["retro is on Thursday"]);
  });
});
