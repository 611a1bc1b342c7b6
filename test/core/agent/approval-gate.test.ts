import { describe, expect, it } from "vitest";
import { createInMemoryApprovalGate } from "../../../src/core/agent/approval-gate.js";
import { previewArguments } from "../../../src/core/agent/preview-arguments.js";
import type { ApprovalRequest } from "../../../src/core/ports/approval-gate.js";
import { runApprovalGateContract } from "../../contracts/approval-gate.contract.js";

const request: ApprovalRequest = {
  toolName: "remember",
  risk: "write",
  argumentsPreview: '{"text":"x"}',
  conversation: { platform: "local", workspaceId: "w", channelId: "c" },
  askerId: "asker",
};

runApprovalGateContract("in-memory", async ({ timeoutMs }) => {
  const gate = createInMemoryApprovalGate({ timeoutMs });
  return { opener: gate, decider: gate, cleanup: async () => {} };
});

describe("in-memory approval gate", () => {
  it("takes its ids and clock from the options", async () => {
    let counter = 0;
    const gate = createInMemoryApprovalGate({
      createId: () => `a${++counter}`,
      now: () => 1_000,
      timeoutMs: 60_000,
    });
    expect(await gate.open(request)).toMatchObject({ id: "a1", expiresAt: 61_000 });
    expect(await gate.open(request)).toMatchObject({ id: "a2", expiresAt: 61_000 });
  });
});

describe("previewArguments", () => {
  it("redacts secret-looking keys, also nested and in raw text, and caps the length", () => {
    expect(
      previewArguments({ url: "https://x.test", headers: { Authorization: "Bearer abc" }, apiKey: "k" }),
    ).toBe('{"url":"https://x.test","headers":{"Authorization":"[redacted]"},"apiKey":"[redacted]"}');
    expect(previewArguments('{"password": "hunter2", "user": "ada"')).toBe(
      '{"password": "[redacted]", "user": "ada"',
    );
    expect(previewArguments({ text: "y".repeat(500) }, 50)).toHaveLength(50);
  });
});
