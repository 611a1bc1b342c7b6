import { describe, expect, it } from "vitest";
import { type AgentTrace, formatTrace } from "../../../src/core/agent/agent-trace.js";

describe("formatTrace", () => {
  it("shows approvals, failures, estimated usage and the budget that ended the run", () => {
    const trace: AgentTrace = {
      model: "gpt-4o-mini",
      startedAt: 0,
      totalMilliseconds: 2_345,
      finishReason: "max_steps",
      passages: [],
      steps: [
        {
          step: 1,
          model: "gpt-4o-mini",
          promptTokens: 900,
          completionTokens: 20,
          estimatedUsage: true,
          milliseconds: 800,
          finishReason: "tool_calls",
        },
      ],
      toolCalls: [
        {
          step: 1,
          name: "remember",
          arguments: '{"text":"x"}',
          durationMs: 0,
          ok: false,
          result: "The user denied this action. (No decision within the time limit.)",
          error: "no decision within the time limit",
          approval: "timed_out",
        },
        {
          step: 1,
          name: "calculator",
          arguments: '{"expression":"1+1"}',
          durationMs: 3,
          ok: true,
          result: "1+1 = 2",
        },
      ],
      totals: { promptTokens: 900, completionTokens: 20 },
    };
    expect(formatTrace(trace).split("\n")).toEqual([
      "Model gpt-4o-mini · 1 step · 920 tokens (900 prompt + 20 completion) · 2.3 s · ended: step budget reached",
      "",
      "Sources: none",
      "",
      "Tools:",
      'step 1: remember {"text":"x"} · 0 ms · no decision in time (denied) → failed: no decision within the time limit',
      'step 1: calculator {"expression":"1+1"} · 3 ms → 1+1 = 2',
      "",
      "Steps:",
      "1. gpt-4o-mini · 900 prompt + 20 completion tokens (estimated) · 800 ms · tool_calls",
    ]);
  });
});
