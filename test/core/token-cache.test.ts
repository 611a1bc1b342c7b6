import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { messageTokens } from "../../src/core/chains/answer-chain.js";
import type { ChatMessage } from "../../src/core/ports/llm-provider.js";
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
});
