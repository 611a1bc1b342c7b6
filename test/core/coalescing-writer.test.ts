import { describe, expect, it } from "vitest";
import { CoalescingWriter } from "../../src/core/coalescing-writer.js";
import type { EditPacer } from "../../src/core/ports/edit-pacer.js";
import { silentLogger } from "../../src/core/ports/logger.js";
import type { PostedMessage } from "../../src/core/ports/notifier.js";
import { recordingLogger } from "../support/e2e-helpers.js";

const message: PostedMessage = { platform: "local", workspaceId: "W", channelId: "C", messageId: "1" };

/** A platform message that records what was written to it and when each write started. */
function recordingMessage() {
  const writes: Array<{ text: string; at: number }> = [];
  return {
    writes,
    texts: () => writes.map((write) => write.text),
    write: (text: string) => async () => {
      writes.push({ text, at: performance.now() });
    },
  };
}

describe("CoalescingWriter", () => {
  it("writes only the latest of a burst of updates", async () => {
    const target = recordingMessage();
    const writer = new CoalescingWriter({ intervalMs: 1_000, logger: silentLogger });
    for (const text of ["one", "two", "three"]) writer.update(target.write(text));
    await writer.flush();
    expect(target.texts()).toEqual(["three"]);
  });

  it("starts each write at least the interval after the one before, in the order asked", async () => {
    const target = recordingMessage();
    const writer = new CoalescingWriter({ intervalMs: 60, logger: silentLogger });
    writer.update(target.write("preview"));
    await writer.flush();
    await writer.send(target.write("final 1"));
    await writer.send(target.write("final 2"));
    expect(target.texts()).toEqual(["preview", "final 1", "final 2"]);
    const [first, second, third] = target.writes.map((write) => write.at);
    // Timers fire no earlier than asked; a millisecond of rounding between the two clocks.
    expect((second ?? 0) - (first ?? 0)).toBeGreaterThanOrEqual(59);
    expect((third ?? 0) - (second ?? 0)).toBeGreaterThanOrEqual(59);
  });

  it("counts a message just posted as a write", async () => {
    const target = recordingMessage();
    const postedAt = performance.now();
    // One clock for the test and the writer; a timer may still fire up to a millisecond early by
    // Node's own coarser loop clock.
    const writer = new CoalescingWriter({
      intervalMs: 60,
      logger: silentLogger,
      lastWriteAt: postedAt,
      now: () => performance.now(),
    });
    await writer.send(target.write("first edit"));
    expect((target.writes[0]?.at ?? 0) - postedAt).toBeGreaterThanOrEqual(58);
  });

  it("keeps other calls in order with the writes without spacing them", async () => {
    const target = recordingMessage();
    const writer = new CoalescingWriter({ intervalMs: 5_000, logger: silentLogger });
    const edit = writer.send(target.write("edit"));
    const reaction = writer.inOrder(async () => {
      await target.write("reaction")();
      return "added";
    });
    await edit;
    expect(await reaction).toBe("added");
    expect(target.texts()).toEqual(["edit", "reaction"]);
  });

  it("after close, drops the pending update and refuses later ones, but still sends the final write", async () => {
    const target = recordingMessage();
    const writer = new CoalescingWriter({ intervalMs: 100, logger: silentLogger, lastWriteAt: Date.now() });
    writer.update(target.write("stale preview"));
    writer.close();
    writer.update(target.write("late preview"));
    const final = writer.send(target.write("final"));
    await writer.flush();
    await final;
    expect(target.texts()).toEqual(["final"]);
    expect(writer.isClosed).toBe(true);
  });

  it("hands a sent write's error to its caller, reports an update's, and keeps writing", async () => {
    const target = recordingMessage();
    const reported: unknown[] = [];
    const writer = new CoalescingWriter({
      intervalMs: 0,
      logger: silentLogger,
      onUpdateError: (error) => reported.push(error),
    });
    writer.update(async () => {
      throw new Error("rate limited");
    });
    await writer.flush();
    await expect(
      writer.send(async () => {
        throw new Error("message deleted");
      }),
    ).rejects.toThrow("message deleted");
    await writer.send(target.write("still here"));
    expect(reported).toEqual([new Error("rate limited")]);
    expect(target.texts()).toEqual(["still here"]);
  });

  it("sends an update that is due at once, its error the caller's, and coalesces one that is not", async () => {
    const target = recordingMessage();
    const reported: unknown[] = [];
    const writer = new CoalescingWriter({
      intervalMs: 60,
      logger: silentLogger,
      onUpdateError: (error) => reported.push(error),
    });
    await expect(
      writer.updateOrSend(async () => {
        throw new Error("not_in_channel");
      }),
    ).rejects.toThrow("not_in_channel");
    // The failed write still counts: the next ones are not due yet, so they coalesce.
    await writer.updateOrSend(target.write("stale"));
    await writer.updateOrSend(target.write("latest"));
    expect(target.texts()).toEqual([]);
    await writer.flush();
    expect(target.texts()).toEqual(["latest"]);
    expect(reported).toEqual([]);
  });

  it("counts the interval from markWritten, so a write in flight holds later updates back", async () => {
    const target = recordingMessage();
    const writer = new CoalescingWriter({ intervalMs: 60, logger: silentLogger });
    let inFlight: Promise<void> | undefined;
    const markedAt = performance.now();
    await writer.send(async () => {
      writer.markWritten();
      // An update while this write runs is not due at once: it waits for the writer's slot.
      inFlight = writer.updateOrSend(target.write("during"));
    });
    await inFlight;
    expect(target.texts()).toEqual([]);
    await writer.flush();
    expect(target.texts()).toEqual(["during"]);
    // The writer counts in Date.now's whole milliseconds: one either side of performance.now.
    expect((target.writes[0]?.at ?? 0) - markedAt).toBeGreaterThanOrEqual(58);
  });

  it("waitForSlot lets work queued in order decide for itself whether to wait like a write", async () => {
    const target = recordingMessage();
    const writer = new CoalescingWriter({ intervalMs: 60, logger: silentLogger });
    await writer.send(target.write("edit"));
    await writer.inOrder(async () => {
      await writer.waitForSlot();
      await target.write("final")();
    });
    const [edit, final] = target.writes.map((write) => write.at);
    // The writer counts in Date.now's whole milliseconds: one either side of performance.now.
    expect((final ?? 0) - (edit ?? 0)).toBeGreaterThanOrEqual(58);
  });

  it("asks the pacer for a slot for the message and waits as long as it says", async () => {
    const target = recordingMessage();
    const asked: Array<{ messageId: string; intervalMs: number; earliestInMs: number }> = [];
    const pacer: EditPacer = {
      reserve: async (paced, intervalMs, earliestInMs) => {
        asked.push({ messageId: paced.messageId, intervalMs, earliestInMs });
        return 80;
      },
    };
    const writer = new CoalescingWriter({ intervalMs: 50, logger: silentLogger, pacing: { pacer, message } });
    const sentAt = performance.now();
    await writer.send(target.write("paced"));
    expect(asked).toEqual([{ messageId: "1", intervalMs: 50, earliestInMs: 0 }]);
    expect((target.writes[0]?.at ?? 0) - sentAt).toBeGreaterThanOrEqual(79);
  });

  it("still writes when the pacer cannot be reached, and says so in the log", async () => {
    const target = recordingMessage();
    const entries: Array<Record<string, unknown>> = [];
    const pacer: EditPacer = {
      reserve: async () => {
        throw new Error("connect ECONNREFUSED 127.0.0.1:6379");
      },
    };
    const writer = new CoalescingWriter({
      intervalMs: 50,
      logger: recordingLogger(entries),
      pacing: { pacer, message },
    });
    await writer.send(target.write("unpaced"));
    expect(target.texts()).toEqual(["unpaced"]);
    expect(entries.filter((entry) => entry.message === "could not reserve an edit slot")).toHaveLength(1);
  });
});
