import { describe, expect, it } from "vitest";
import {
  type DiscordOutgoingMessage,
  DiscordReplySink,
  type DiscordReplyTarget,
} from "../../../src/adapters/discord/discord-reply-sink.js";
import { silentLogger } from "../../../src/core/ports/logger.js";
import type { ApprovalPrompt } from "../../../src/core/ports/reply-sink.js";

type Write = { kind: "acknowledge" | "first" | "next"; message?: DiscordOutgoingMessage };

function recordingTarget(): DiscordReplyTarget & { writes: Write[] } {
  const writes: Write[] = [];
  return {
    writes,
    async acknowledge() {
      writes.push({ kind: "acknowledge" });
    },
    async writeFirst(message) {
      writes.push({ kind: "first", message });
    },
    async writeNext(message) {
      writes.push({ kind: "next", message });
    },
  };
}

function prompt(text = 'I want to run remember (it changes something) with {"text":"x"}.'): ApprovalPrompt {
  return {
    approvalId: "0b9f4d1e-7c55-4a59-9d57-3d0f2f6a9b10",
    text,
    buttons: [
      {
        action: "approve-tool",
        label: "Approve",
        value: "0b9f4d1e-7c55-4a59-9d57-3d0f2f6a9b10",
        style: "primary",
      },
      { action: "deny-tool", label: "Deny", value: "0b9f4d1e-7c55-4a59-9d57-3d0f2f6a9b10", style: "danger" },
    ],
    expiresAt: Date.now() + 60_000,
  };
}

describe("DiscordReplySink.requestApproval", () => {
  it("fills the first message, then posts the buttons as a message of their own that the answer never overwrites", async () => {
    const target = recordingTarget();
    const sink = new DiscordReplySink({ target, logger: silentLogger, editIntervalMs: 0 });
    await sink.start({ visibility: "everyone" });
    await sink.requestApproval(prompt());

    expect(target.writes.map((write) => write.kind)).toEqual(["acknowledge", "first", "next"]);
    expect(target.writes[1]?.message?.content).toContain("Waiting for approval");
    const request = target.writes[2]?.message;
    expect(request?.content).toContain("I want to run remember");
    expect(request?.components?.[0]?.components).toEqual([
      { type: 2, style: 1, label: "Approve", custom_id: "approve-tool:0b9f4d1e-7c55-4a59-9d57-3d0f2f6a9b10" },
      { type: 2, style: 4, label: "Deny", custom_id: "deny-tool:0b9f4d1e-7c55-4a59-9d57-3d0f2f6a9b10" },
    ]);

    await sink.append("Saved.");
    await sink.finish({ sources: [], buttons: [] });
    const afterRequest = target.writes.slice(3);
    expect(afterRequest.every((write) => write.kind === "first")).toBe(true);
    expect(afterRequest.at(-1)?.message?.content).toBe("Saved.");
  });

  it("keeps a very long request within Discord's 2000 characters", async () => {
    const target = recordingTarget();
    const sink = new DiscordReplySink({ target, logger: silentLogger, editIntervalMs: 0 });
    await sink.requestApproval(prompt(`I want to run remember with ${"a very long argument ".repeat(400)}`));
    const request = target.writes.find((write) => write.kind === "next")?.message;
    expect(request?.content.length).toBeGreaterThan(1000);
    expect(request?.content.length).toBeLessThanOrEqual(2000);
    expect(request?.components?.[0]?.components).toHaveLength(2);
  });

  it("posts nothing once the reply has ended", async () => {
    const target = recordingTarget();
    const sink = new DiscordReplySink({ target, logger: silentLogger, editIntervalMs: 0 });
    await sink.fail("Sorry.");
    const before = target.writes.length;
    await sink.requestApproval(prompt());
    expect(target.writes).toHaveLength(before);
  });

  it("reports a failed post to the caller, and the reply still finishes", async () => {
    const target = recordingTarget();
    target.writeNext = async () => {
      throw new Error("Missing Permissions");
    };
    const sink = new DiscordReplySink({ target, logger: silentLogger, editIntervalMs: 0 });
    await sink.start({ visibility: "everyone" });
    await expect(sink.requestApproval(prompt())).rejects.toThrow("Missing Permissions");
    await sink.append("Not saved.");
    await sink.finish({ sources: [], buttons: [] });
    expect(target.writes.at(-1)?.message?.content).toBe("Not saved.");
  });
});
