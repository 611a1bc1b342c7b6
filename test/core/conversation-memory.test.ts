import { afterEach, describe, expect, it } from "vitest";
import { messageTokens } from "../../src/core/chains/answer-chain.js";
import type { ChatRequest } from "../../src/core/ports/llm-provider.js";
import { RecordingSink } from "../support/recording-sink.js";
import { ScriptedLlm } from "../support/scripted-llm.js";
import { createTestAssistant, inbound } from "./assistant-fixtures.js";

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

const isSummaryRequest = (request: ChatRequest) =>
  String(request.messages[0]?.content).startsWith("You maintain the running memory");

/**
 * A scripted summarizer that behaves like a faithful one: it keeps every line of the previous
 * summary and every new message that states a fact ("… is …"), and drops chatter.
 */
function summarize(request: ChatRequest): string {
  const input = String(request.messages[1]?.content);
  const previous = /Previous summary:\n([\s\S]*?)\n\nNew messages:/.exec(input)?.[1] ?? "";
  const facts = input
    .split("\n")
    .filter(
      (line) => / is /.test(line) && !line.startsWith("teammate:") && !line.startsWith("Previous summary"),
    );
  return [previous === "(none)" ? "" : previous, ...facts].filter(Boolean).join("\n");
}

describe("conversation memory under a token budget", () => {
  it("keeps 200 turns under budget and a fact from turn 1 reachable through the summary", async () => {
    const budget = 1_500;
    const context = createTestAssistant(
      (request) =>
        isSummaryRequest(request)
          ? summarize(request)
          : `Noted, thanks for message ${request.messages.length}.`,
      { promptTokenBudget: budget },
    );
    cleanups.push(context.close);
    const { assistant, llm, store } = context;
    const filler =
      "Here is some ordinary chatter about the sprint, the weather and lunch plans that carries no lasting fact at all";
    for (let turn = 1; turn <= 200; turn++) {
      const text =
        turn === 1
          ? "The launch code for project Heron is 4417."
          : turn === 200
            ? "What is the launch code for project Heron?"
            : `${filler} (message ${turn}).`;
      const sink = new RecordingSink();
      await assistant.handle(inbound({ text, eventId: `turn-${turn}` }), sink);
      expect(sink.failed).toBeUndefined();
    }
    const answerRequests = (llm?.requests ?? []).filter((request) => !isSummaryRequest(request));
    expect(answerRequests).toHaveLength(200);
    for (const request of answerRequests) expect(messageTokens(request.messages)).toBeLessThanOrEqual(budget);
    expect(llm?.requests.some(isSummaryRequest)).toBe(true);

    const last = answerRequests.at(-1);
    const lastPrompt = ScriptedLlm.promptText(last ?? { messages: [] });
    expect(lastPrompt).toContain("4417");
    // …and it got there through the summary, not because turn 1 is still in the window.
    const conversation = await store.loadConversation({
      platform: "slack",
      workspaceId: "T1",
      channelId: "C1",
    });
    expect(conversation.summary).toContain("4417");
    expect(conversation.turns.some((turn) => turn.text.includes("4417"))).toBe(false);
    expect(last?.messages.slice(1).some((message) => String(message.content).includes("4417"))).toBe(false);
  });

  it("never shows memory or notes of one channel in a prompt for another channel or workspace", async () => {
    const context = createTestAssistant(() => "ok");
    cleanups.push(context.close);
    const { assistant, llm } = context;
    await assistant.handle(
      inbound({ channelId: "C-A", text: "the vault password hint is pelican" }),
      new RecordingSink(),
    );
    await assistant.handle(
      inbound({ channelId: "C-A", text: "remember the budget is 12k" }),
      new RecordingSink(),
    );
    await assistant.handle(
      inbound({ channelId: "C-A", threadId: "t1", text: "thread secret is walrus" }),
      new RecordingSink(),
    );

    const probes = [
      inbound({ channelId: "C-B", text: "what do you know?" }),
      inbound({ workspaceId: "T2", channelId: "C-A", text: "what do you know?" }),
      inbound({ platform: "discord", workspaceId: "T1", channelId: "C-A", text: "what do you know?" }),
    ];
    for (const probe of probes) {
      await assistant.handle(probe, new RecordingSink());
      const prompt = ScriptedLlm.promptText(llm?.requests.at(-1) ?? { messages: [] });
      expect(prompt).not.toContain("pelican");
      expect(prompt).not.toContain("12k");
      expect(prompt).not.toContain("walrus");
    }
    // The thread is its own conversation, but channel notes apply inside it.
    await assistant.handle(inbound({ channelId: "C-A", threadId: "t1", text: "and?" }), new RecordingSink());
    const threadPrompt = ScriptedLlm.promptText(llm?.requests.at(-1) ?? { messages: [] });
    expect(threadPrompt).toContain("walrus");
    expect(threadPrompt).toContain("12k");
    expect(threadPrompt).not.toContain("pelican");
  });
});
