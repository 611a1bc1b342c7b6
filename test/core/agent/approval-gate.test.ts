import { describe, expect, it } from "vitest";
import { createInMemoryApprovalGate } from "../../../src/core/agent/approval-gate.js";
import { previewArguments } from "../../../src/core/agent/preview-arguments.js";
import type { ApprovalRequest } from "../../../src/core/ports/approval-gate.js";

const request: ApprovalRequest = {
  toolName: "remember",
  risk: "write",
  argumentsPreview: '{"text":"x"}',
  conversation: { platform: "local", workspaceId: "w", channelId: "c" },
  askerId: "asker",
};

describe("in-memory approval gate", () => {
  it("settles once with the first decision; later clicks find nothing waiting", async () => {
    let counter = 0;
    const gate = createInMemoryApprovalGate({
      createId: () => `a${++counter}`,
      now: () => 1_000,
      timeoutMs: 60_000,
    });
    const pending = gate.open(request);
    expect(pending).toMatchObject({ id: "a1", expiresAt: 61_000 });
    expect(
      await gate.decide(
        "a1",
        { userId: "asker", place: request.conversation, isAdmin: async () => false },
        false,
      ),
    ).toEqual({
      status: "denied",
      message: "Denied: remember will not run.",
    });
    expect(await pending.decision).toEqual({ outcome: "denied", deciderId: "asker" });
    expect(
      (
        await gate.decide(
          "a1",
          { userId: "asker", place: request.conversation, isAdmin: async () => false },
          true,
        )
      ).status,
    ).toBe("not_found");
    expect(
      (
        await gate.decide(
          "unknown",
          { userId: "asker", place: request.conversation, isAdmin: async () => false },
          true,
        )
      ).status,
    ).toBe("not_found");
  });

  it("refuses a bystander but accepts an admin", async () => {
    const gate = createInMemoryApprovalGate();
    const pending = gate.open(request);
    expect(
      (
        await gate.decide(
          pending.id,
          { userId: "someone", place: request.conversation, isAdmin: async () => false },
          true,
        )
      ).status,
    ).toBe("forbidden");
    expect(
      await gate.decide(
        pending.id,
        { userId: "boss", place: request.conversation, isAdmin: async () => true },
        true,
      ),
    ).toMatchObject({ status: "approved" });
    expect(await pending.decision).toEqual({ outcome: "approved", deciderId: "boss" });
  });

  it("counts a click only where the request was shown: another channel or workspace finds nothing", async () => {
    const gate = createInMemoryApprovalGate();
    const pending = gate.open(request);
    let adminAsked = 0;
    const admin = async () => {
      adminAsked += 1;
      return true;
    };
    for (const place of [
      { ...request.conversation, channelId: "elsewhere" },
      { ...request.conversation, workspaceId: "another-workspace" },
      { ...request.conversation, platform: "slack" as const },
    ]) {
      expect((await gate.decide(pending.id, { userId: "asker", place, isAdmin: admin }, true)).status).toBe(
        "not_found",
      );
    }
    expect(adminAsked).toBe(0);
    // Still waiting where it was shown; the admin verdict is asked only for someone else than the asker.
    expect(
      await gate.decide(pending.id, { userId: "boss", place: request.conversation, isAdmin: admin }, false),
    ).toMatchObject({ status: "denied" });
    expect(adminAsked).toBe(1);
  });

  it("times out as a denial, and an aborted turn ends the wait the same way", async () => {
    const gate = createInMemoryApprovalGate({ timeoutMs: 30 });
    const pending = gate.open(request);
    expect(await pending.decision).toEqual({ outcome: "timed_out" });
    expect(
      (
        await gate.decide(
          pending.id,
          { userId: "asker", place: request.conversation, isAdmin: async () => false },
          true,
        )
      ).status,
    ).toBe("not_found");

    const controller = new AbortController();
    const long = createInMemoryApprovalGate({ timeoutMs: 60_000 }).open(request, controller.signal);
    controller.abort();
    expect(await long.decision).toEqual({ outcome: "timed_out" });
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
