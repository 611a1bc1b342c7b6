import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { AnswerChain, messageTokens } from "../../src/core/chains/answer-chain.js";
import { passageTag } from "../../src/core/chains/prompt-templates.js";
import { ConversationMemory, splitPromptBudget } from "../../src/core/memory/conversation-memory.js";
import type { Passage, Retriever } from "../../src/core/ports/knowledge.js";
import type { ChatMessage, LlmProvider } from "../../src/core/ports/llm-provider.js";
import { silentLogger } from "../../src/core/ports/logger.js";
import type { ConversationStore } from "../../src/core/ports/memory-store.js";
import type { ReplyGuard } from "../../src/core/reply-guard.js";
import { TokenCache } from "../../src/core/token-cache.js";
import { countTokens } from "../../src/core/tokens.js";

describe("TokenCache", () => {
  it("encodes each text once, and not at all when its count is already known", () => {
    const encoded: string[] = [];
    const cache = new TokenCache((text) => {
      encoded.push(text);
      return countTokens(text);
    });
    expect(cache.count("How do we deploy billing?")).toBe(countTokens("How do we deploy billing?"));
    expect(cache.count("How do we deploy billing?")).toBe(countTokens("How do we deploy billing?"));
    cache.remember("a stored chunk text", 5);
    expect(cache.count("a stored chunk text")).toBe(5);
    expect(encoded).toEqual(["How do we deploy billing?"]);
  });

  it("counts a long thread's prompt again by encoding only the lines it has not seen", () => {
    const encoded: string[] = [];
    const cache = new TokenCache((text) => {
      encoded.push(text);
      return countTokens(text);
    });
    const history: ChatMessage[] = Array.from({ length: 30 }, (_, turn) => ({
      role: turn % 2 === 0 ? "user" : "assistant",
      content: `Turn ${turn}: the release plan moves to Thursday.\nOwners stay the same.`,
    }));
    const prompt = (question: string): ChatMessage[] => [
      { role: "system", content: "You are teammate.\n\nAnswer from the passages." },
      ...history,
      { role: "user", content: question },
    ];
    const first = prompt("Who owns the release?");
    expect(cache.messages(first)).toBeGreaterThanOrEqual(messageTokens(first));
    encoded.length = 0;
    const second = prompt("When does it ship?");
    const estimate = cache.messages(second);
    expect(encoded).toEqual(["When does it ship?"]);
    // Never below the real count, so a prompt within the estimate is within the budget.
    expect(estimate).toBeGreaterThanOrEqual(messageTokens(second));
    expect(estimate).toBeLessThanOrEqual(messageTokens(second) * 1.2);
  });

  it("counts a prompt's own texts from the counts it is given, and keeps none of them", () => {
    const encoded: string[] = [];
    const cache = new TokenCache((text) => {
      encoded.push(text);
      return countTokens(text);
    });
    const passage = "Billing deploys from the release branch every Tuesday after the freeze.";
    const prompt: ChatMessage[] = [
      { role: "system", content: `Answer from the passages.\n${passage}` },
      { role: "user", content: "When does billing deploy?" },
    ];
    const known = new Map([[passage, countTokens(passage)]]);
    // The same count as encoding the passage's line.
    expect(cache.messages(prompt, known)).toBe(new TokenCache().messages(prompt));
    expect(encoded).not.toContain(passage);
    encoded.length = 0;
    cache.messages(prompt, known);
    expect(encoded).toEqual([]);
    // Not remembered: without the given count, the text is encoded.
    cache.count(passage);
    expect(encoded).toEqual([passage]);
  });

  it("counts the texts it is given in order as a lookup of each line would, wherever they stand", () => {
    // What `messages` computed before it compared lines in place: every line cut out and looked up.
    const byLookup = (messages: ChatMessage[], known: Map<string, number>, cache: TokenCache) => {
      let total = 0;
      for (const message of messages) {
        const lines = (message.content ?? "").split("\n");
        total += 4 + cache.count("\n") * (lines.length - 1);
        for (const line of lines) if (line.length > 0) total += known.get(line) ?? cache.count(line);
      }
      return total;
    };
    const texts = ["alpha beta", "gamma", "delta epsilon zeta", "two\nlines", "gamma", "eta", "theta"];
    // Counts no encoder would give, so a line counted from the wrong text or encoded shows ("gamma"
    // twice: the later count is the one looked up).
    const known = new Map(texts.map((text, index) => [text, 1_000 * (index + 1)]));
    let seed = 7;
    const random = (below: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % below;
    };
    const pieces = [...texts, "", "", "other words", "alpha", "beta", "alpha beta gamma"];
    const cache = new TokenCache();
    for (let round = 0; round < 300; round++) {
      const messages: ChatMessage[] = Array.from({ length: 1 + random(3) }, () => ({
        role: "system" as const,
        content: Array.from({ length: random(12) }, () => pieces[random(pieces.length)]).join("\n"),
      }));
      const inOrder = Array.from({ length: random(10) }, () => texts[random(texts.length)] as string);
      expect(cache.messages(messages, known, inOrder)).toBe(byLookup(messages, known, cache));
    }
    // Texts in the prompt's order are each counted from `known`, none encoded.
    const encoded: string[] = [];
    const counting = new TokenCache((text) => {
      encoded.push(text);
      return countTokens(text);
    });
    const prompt: ChatMessage[] = [
      { role: "system", content: "head\nalpha beta\ngamma\n\ndelta epsilon zeta" },
    ];
    expect(counting.messages(prompt, known, ["alpha beta", "gamma", "delta epsilon zeta"])).toBe(
      4 + 4 * counting.count("\n") + counting.count("head") + 1_000 + 5_000 + 3_000,
    );
    expect(encoded).toEqual(["\n", "head"]);
  });

  it("keeps the lines it remembers, not the prompts they were cut from", () => {
    setFlagsFromString("--expose-gc");
    const collect = runInNewContext("gc") as () => void;
    const cache = new TokenCache(() => 1);
    collect();
    const before = process.memoryUsage().heapUsed;
    for (let prompt = 0; prompt < 200; prompt++) {
      // 100 kB a prompt, built so that it is one flat string and its lines are slices of it.
      const content = [`<passage number="${prompt}" title="t" source="s">`, "x".repeat(100_000)]
        .join("\n")
        .split("")
        .join("");
      cache.messages([{ role: "system", content }]);
    }
    collect();
    // The 200 header lines are a few kB; the prompts they came from were 20 MB.
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(4_000_000);
  });

  it("counts an answer prompt's passage tag lines for that prompt only, at the same total", () => {
    const encoded: string[] = [];
    const tokens = new TokenCache((text) => {
      encoded.push(text);
      return countTokens(text);
    });
    const budget = splitPromptBudget(6_000);
    // buildPrompt reads neither the LLM, the retriever nor the store.
    const chain = new AnswerChain({
      llm: {} as LlmProvider,
      retriever: {} as Retriever,
      memory: new ConversationMemory({
        store: {} as ConversationStore,
        llm: undefined,
        budget,
        logger: silentLogger,
        tokens,
      }),
      budget,
      allowGeneralKnowledgeByDefault: false,
      logger: silentLogger,
      tokens,
      now: () => new Date("2026-11-27T10:00:00Z"),
    });
    const passage = (title: string, text: string, stored: boolean): Passage => ({
      documentId: title,
      title,
      location: `${title}.md`,
      headingPath: ["Ops"],
      text,
      score: 1,
      tokens: stored ? countTokens(text) : undefined,
    });
    const passages = [
      passage("Runbook", "Deploys go out on Tuesday after the freeze.", true),
      passage("FAQ", "Rollbacks take five minutes.\nAsk the on-call first.", false),
    ];
    const input = {
      message: {
        platform: "local" as const,
        workspaceId: "w",
        channelId: "c",
        threadId: "t",
        userId: "U1",
        userName: "Alice",
        text: "When do deploys go out?",
        attachments: [],
        isAdmin: false,
        eventId: "e1",
      },
      question: "When do deploys go out?",
      conversation: { summary: "", turns: [] },
      notes: [],
      settings: {},
      reply: {} as ReplyGuard,
    };
    const prompt = chain.buildPrompt(input, passages, false);
    expect(prompt.passages).toEqual(passages);
    // The count every line of the prompt encoded apiece would give.
    expect(prompt.tokens).toBe(new TokenCache().messages(prompt.messages));
    const tags = passages.map(passageTag);
    for (const tag of tags) expect(String(prompt.messages[0]?.content)).toContain(`\n${tag}\n`);
    expect(encoded.filter((text) => tags.includes(text))).toEqual(tags);
    // Not kept: the same prompt again encodes its tags again (and nothing else).
    encoded.length = 0;
    expect(chain.buildPrompt(input, passages, false).tokens).toBe(prompt.tokens);
    expect(encoded).toEqual(tags);
  });
});
