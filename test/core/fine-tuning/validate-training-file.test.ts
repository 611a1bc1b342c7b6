import { describe, expect, it } from "vitest";
import { defaultEpochs, validateTrainingFile } from "../../../src/core/fine-tuning/validate-training-file.js";

const good = JSON.stringify({
  messages: [
    { role: "system", content: "You are helpful." },
    { role: "user", content: "What is 2 + 2?" },
    { role: "assistant", content: "4" },
  ],
});

function file(...lines: string[]): string {
  return `${lines.join("\n")}\n`;
}

describe("validateTrainingFile", () => {
  it("accepts a clean file and estimates tokens, epochs and cost", () => {
    const check = validateTrainingFile(file(...Array.from({ length: 10 }, () => good)), {
      baseModel: "gpt-4o-mini-2024-07-18",
    });
    expect(check.problems).toEqual([]);
    expect(check.exampleCount).toBe(10);
    expect(check.totalTokens).toBeGreaterThan(10 * 12);
    expect(check.epochs).toBe(10);
    // $3 per million training tokens for gpt-4o-mini.
    expect(check.estimatedCostUsd).toBeCloseTo((check.billedTokensPerEpoch * 10 * 3) / 1_000_000, 10);
  });

  it("names the line and message of every problem", () => {
    const toolCall = (overrides: Record<string, unknown>) =>
      JSON.stringify({
        messages: [
          { role: "user", content: "weather?" },
          {
            role: "assistant",
            content: null,
            tool_calls: [
              {
                id: "call_1",
                type: "function",
                function: { name: "weather", arguments: "{}" },
                ...overrides,
              },
            ],
          },
          { role: "tool", tool_call_id: "call_1", content: "sunny" },
          { role: "assistant", content: "Sunny." },
        ],
      });
    const lines = [
      good,
      "{not json",
      JSON.stringify({
        messages: [
          { role: "bot", content: "hi" },
          { role: "assistant", content: "x" },
        ],
      }),
      JSON.stringify({
        messages: [
          { role: "user", content: "   " },
          { role: "assistant", content: "x" },
        ],
      }),
      toolCall({}),
      toolCall({ function: { name: "weather", arguments: "{broken" } }),
      JSON.stringify({
        messages: [
          { role: "user", content: "q" },
          { role: "tool", tool_call_id: "nope", content: "x" },
        ],
      }),
      "",
      JSON.stringify({ prompt: "old format", completion: "x" }),
    ];
    const check = validateTrainingFile(file(...lines), { baseModel: "unknown-model" });
    expect(check.problems).toEqual([
      { line: 2, message: "not valid JSON" },
      { line: 3, message: 'message 1 has role "bot"; use system, user, assistant or tool' },
      { line: 4, message: "message 1 (user) has empty content" },
      { line: 6, message: "message 2, tool call 1: function.arguments is not valid JSON" },
      { line: 7, message: "message 2 (tool) must answer an earlier tool call by its tool_call_id" },
      { line: 7, message: "no assistant message to learn from" },
      { line: 8, message: "empty line" },
      { line: 9, message: "each line needs an object with a `messages` array" },
      { message: "7 examples; fine-tuning needs at least 10" },
    ]);
    expect(check.estimatedCostUsd).toBeUndefined();
  });

  it("flags an example over the per-example token limit", () => {
    const long = JSON.stringify({
      messages: [
        { role: "user", content: "word ".repeat(400) },
        { role: "assistant", content: "ok" },
      ],
    });
    const check = validateTrainingFile(file(good, long), {
      baseModel: "gpt-4.1-mini",
      maxTokensPerExample: 200,
    });
    expect(check.problems[0]).toMatchObject({ line: 2 });
    expect(check.problems[0]?.message).toMatch(/^the example has \d+ tokens; the limit is 200$/);
    expect(check.billedTokensPerEpoch).toBeLessThan(check.totalTokens);
  });

  it("picks OpenAI's default epochs for small and large sets", () => {
    expect(defaultEpochs(10)).toBe(10);
    expect(defaultEpochs(50)).toBe(3);
    expect(defaultEpochs(20_000)).toBe(1);
  });
});
