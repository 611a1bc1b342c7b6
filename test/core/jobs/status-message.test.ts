import { describe, expect, it } from "vitest";
import { progressLine, StatusMessage } from "../../../src/core/jobs/status-message.js";
import { silentLogger } from "../../../src/core/ports/logger.js";
import { RecordingNotifier, smallestGap } from "../../support/recording-notifier.js";

const where = { platform: "local" as const, workspaceId: "W", channelId: "C" };
const sleep = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));

describe("StatusMessage", () => {
  it("draws a progress bar", () => {
    expect(progressLine("Indexing", 37, 120)).toBe("Indexing 37/120 ▓▓▓░░░░░░░ 30%");
    expect(progressLine("Indexing", 120, 120)).toBe("Indexing 120/120 ▓▓▓▓▓▓▓▓▓▓ 100%");
    expect(progressLine("Indexing", 0, 0)).toBe("Indexing 0/0 ░░░░░░░░░░ 0%");
  });

  it("coalesces a burst into edits at least the interval apart and always writes the final line", async () => {
    const notifier = new RecordingNotifier();
    const message = await notifier.post(where, "Queued");
    const status = new StatusMessage({ notifier, message, logger: silentLogger, minIntervalMs: 200 });
    for (let done = 1; done <= 30; done += 1) {
      status.progress("Indexing", done, 30);
      await sleep(20);
    }
    await status.finish("Indexed 30 documents. Ask away.");
    const writes = notifier.writesTo(message.messageId);
    expect(smallestGap(writes)).toBeGreaterThanOrEqual(195);
    // 600 ms of updates at one write per 200 ms: a handful of edits, not thirty.
    expect(writes.length).toBeLessThanOrEqual(6);
    expect(writes.at(-1)?.text).toBe("Indexed 30 documents. Ask away.");
    status.progress("Indexing", 1, 30);
    await sleep(250);
    expect(notifier.writesTo(message.messageId).at(-1)?.text).toBe("Indexed 30 documents. Ask away.");
  });

  it("survives a failing edit and still ends with the failure line", async () => {
    const notifier = new RecordingNotifier();
    const message = await notifier.post(where, "Queued");
    let failOnce = true;
    const flaky = {
      post: notifier.post.bind(notifier),
      edit: async (target: typeof message, text: string) => {
        if (failOnce) {
          failOnce = false;
          throw new Error("rate limited");
        }
        await notifier.edit(target, text);
      },
    };
    const status = new StatusMessage({ notifier: flaky, message, logger: silentLogger, minIntervalMs: 50 });
    status.update("step 1");
    await sleep(80);
    await status.fail("Failed: the file is empty. Upload it again.");
    expect(notifier.texts.get(message.messageId)).toBe("Failed: the file is empty. Upload it again.");
  });
});
