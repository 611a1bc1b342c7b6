import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { FineTuneRun, FineTuneStore } from "../../src/core/ports/fine-tune-store.js";
import type { ChannelRef } from "../../src/core/types.js";

export interface FineTuneStoreFixture {
  store: FineTuneStore;
  cleanup(): Promise<void>;
}

const channel: ChannelRef = { platform: "slack", workspaceId: "T1", channelId: "C1" };
const colonChannel: ChannelRef = { platform: "slack", workspaceId: "T1:C1", channelId: "x" };

function run(id: string, overrides: Partial<FineTuneRun> = {}): FineTuneRun {
  return {
    id,
    channel,
    requestedBy: "U1",
    baseModel: "gpt-4o-mini-2024-07-18",
    dataset: '{"messages":[]}\n',
    exampleCount: 1,
    status: "queued",
    createdAt: 1_723_456_789_012,
    updatedAt: 1_723_456_789_012,
    ...overrides,
  };
}

/** What both fine-tune stores must do, so commands and workers see the same state either way. */
export function describeFineTuneStoreContract(
  label: string,
  create: () => Promise<FineTuneStoreFixture>,
): void {
  describe(`FineTuneStore contract: ${label}`, () => {
    let fixture: FineTuneStoreFixture;
    beforeEach(async () => {
      fixture = await create();
    });
    afterEach(async () => {
      await fixture.store.close();
      await fixture.cleanup();
    });

    it("saves, reads and patches a run, keeping what the patch leaves out", async () => {
      await fixture.store.saveRun(run("run-1"));
      const updated = await fixture.store.updateRun("run-1", {
        status: "running",
        jobId: "ftjob-1",
        statusMessage: {
          platform: "slack",
          workspaceId: "T1",
          channelId: "C1",
          messageId: "1700000000.000100",
        },
      });
      expect(updated?.status).toBe("running");
      const stored = await fixture.store.getRun("run-1");
      expect(stored).toMatchObject({
        id: "run-1",
        jobId: "ftjob-1",
        dataset: '{"messages":[]}\n',
        createdAt: 1_723_456_789_012,
        statusMessage: { messageId: "1700000000.000100" },
      });
      expect(stored?.updatedAt).toBeGreaterThan(1_723_456_789_012);
      expect(await fixture.store.updateRun("missing", { status: "failed" })).toBeUndefined();
      expect(await fixture.store.getRun("missing")).toBeUndefined();
    });

    it("finds a channel's latest run and nothing from another channel", async () => {
      await fixture.store.saveRun(run("old", { createdAt: 1_000 }));
      await fixture.store.saveRun(run("new", { createdAt: 2_000 }));
      await fixture.store.saveRun(run("elsewhere", { channel: colonChannel, createdAt: 3_000 }));
      expect((await fixture.store.latestRun(channel))?.id).toBe("new");
      expect((await fixture.store.latestRun(colonChannel))?.id).toBe("elsewhere");
      expect(await fixture.store.latestRun({ ...channel, channelId: "C9" })).toBeUndefined();
    });

    it("keeps marked threads per channel, once each", async () => {
      await fixture.store.markThread({ ...channel, threadId: "1700000000.000200" }, "U1");
      await fixture.store.markThread({ ...channel, threadId: "1700000000.000200" }, "U2");
      await fixture.store.markThread({ ...channel, threadId: "1700000000.000100" }, "U1");
      await fixture.store.markThread({ ...colonChannel, threadId: "t" }, "U1");
      expect(await fixture.store.listMarkedThreads(channel)).toEqual([
        "1700000000.000100",
        "1700000000.000200",
      ]);
      expect(await fixture.store.listMarkedThreads(colonChannel)).toEqual(["t"]);
    });
  });
}
