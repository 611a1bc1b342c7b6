import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type {
  Quota,
  UsageAmount,
  UsageBucket,
  UsageStore,
  UsageSubject,
  WorkspaceRef,
} from "../../src/core/ports/usage-store.js";

/** A store under test and how to throw away everything it wrote. */
export interface UsageStoreFixture {
  store: UsageStore;
  cleanup(): Promise<void>;
}

const workspace: WorkspaceRef = { platform: "slack", workspaceId: "T1" };
const otherWorkspace: WorkspaceRef = { platform: "slack", workspaceId: "T2" };
const otherPlatform: WorkspaceRef = { platform: "discord", workspaceId: "T1" };
// Parts that would collide if a store joined them with ':' without escaping.
const colonWorkspace: WorkspaceRef = { platform: "slack", workspaceId: "T1:channel" };

const wholeWorkspace: UsageSubject = { kind: "workspace", id: "" };
const channel: UsageSubject = { kind: "channel", id: "C1" };
const user: UsageSubject = { kind: "user", id: "U1" };

const day: UsageBucket = { name: "day:2025-03-14", keepSeconds: 3_600 };
const month: UsageBucket = { name: "month:2025-03", keepSeconds: 3_600 };

function amount(promptTokens: number, completionTokens: number, costNanoUsd = 0): UsageAmount {
  return { promptTokens, completionTokens, costNanoUsd, calls: 1 };
}

function quota(overrides: Partial<Quota> = {}): Quota {
  return {
    subject: channel,
    period: "day",
    unit: "tokens",
    limit: 10_000,
    setBy: "U9",
    at: 1_700_000_000_000,
    ...overrides,
  };
}

/**
 * The behaviour every UsageStore must have: exact sums per subject and bucket, nothing crossing
 * workspaces or subjects, no lost increments under concurrency, and limits and the alert channel
 * kept per workspace.
 */
export function runUsageStoreContract(name: string, create: () => Promise<UsageStoreFixture>): void {
  describe(`UsageStore contract: ${name}`, () => {
    let fixture: UsageStoreFixture;
    let store: UsageStore;

    beforeEach(async () => {
      fixture = await create();
      store = fixture.store;
    });

    afterEach(async () => {
      await fixture.cleanup();
    });

    it("reads zeros for buckets never written", async () => {
      expect(await store.read(workspace, channel, [day.name, month.name])).toEqual([
        { promptTokens: 0, completionTokens: 0, costNanoUsd: 0, calls: 0 },
        { promptTokens: 0, completionTokens: 0, costNanoUsd: 0, calls: 0 },
      ]);
      expect(await store.read(workspace, channel, [])).toEqual([]);
    });

    it("adds each call to every subject and bucket it names, and sums calls", async () => {
      await store.add(workspace, [wholeWorkspace, channel, user], [day, month], amount(100, 20, 3_000));
      await store.add(workspace, [wholeWorkspace, channel, user], [day, month], amount(50, 5, 1_500));
      await store.add(workspace, [wholeWorkspace], [month], amount(7, 3, 10));

      const both = { promptTokens: 150, completionTokens: 25, costNanoUsd: 4_500, calls: 2 };
      expect(await store.read(workspace, channel, [day.name, month.name])).toEqual([both, both]);
      expect(await store.read(workspace, user, [month.name, day.name])).toEqual([both, both]);
      expect(await store.read(workspace, wholeWorkspace, [day.name, month.name])).toEqual([
        both,
        { promptTokens: 157, completionTokens: 28, costNanoUsd: 4_510, calls: 3 },
      ]);
    });

    it("keeps subjects, workspaces and platforms apart, ids with ':' included", async () => {
      await store.add(workspace, [channel], [day], amount(10, 1));
      await store.add(otherWorkspace, [channel], [day], amount(20, 2));
      await store.add(otherPlatform, [channel], [day], amount(30, 3));
      await store.add(colonWorkspace, [{ kind: "channel", id: "C1" }], [day], amount(40, 4));
      await store.add(workspace, [{ kind: "channel", id: "C1:x" }], [day], amount(50, 5));
      await store.add(workspace, [{ kind: "user", id: "C1" }], [day], amount(60, 6));

      const read = async (scope: WorkspaceRef, subject: UsageSubject) =>
        (await store.read(scope, subject, [day.name]))[0]?.promptTokens;
      expect(await read(workspace, channel)).toBe(10);
      expect(await read(otherWorkspace, channel)).toBe(20);
      expect(await read(otherPlatform, channel)).toBe(30);
      expect(await read(colonWorkspace, channel)).toBe(40);
      expect(await read(workspace, { kind: "channel", id: "C1:x" })).toBe(50);
      expect(await read(workspace, { kind: "user", id: "C1" })).toBe(60);
      expect(await read({ platform: "slack", workspaceId: "T1" }, { kind: "channel", id: "C2" })).toBe(0);
    });

    it("loses no increment when many calls land at once", async () => {
      await Promise.all(
        Array.from({ length: 60 }, (_, index) =>
          store.add(workspace, [wholeWorkspace, user], [day, month], amount(index + 1, 1, 2)),
        ),
      );
      const total = { promptTokens: (60 * 61) / 2, completionTokens: 60, costNanoUsd: 120, calls: 60 };
      expect(await store.read(workspace, user, [day.name, month.name])).toEqual([total, total]);
      expect(await store.read(workspace, wholeWorkspace, [day.name])).toEqual([total]);
    });

    it("replaces a subject's limit for the same period and keeps the other period", async () => {
      await store.setQuota(workspace, quota({ period: "day", unit: "tokens", limit: 10_000 }));
      await store.setQuota(workspace, quota({ period: "month", unit: "cost", limit: 5_000_000_000 }));
      await store.setQuota(
        workspace,
        quota({ period: "day", unit: "cost", limit: 250_000_000, setBy: "U8" }),
      );

      expect(await store.listQuotas(workspace)).toEqual([
        quota({ period: "day", unit: "cost", limit: 250_000_000, setBy: "U8" }),
        quota({ period: "month", unit: "cost", limit: 5_000_000_000 }),
      ]);
    });

    it("lists limits in a stable order and only the workspace's own", async () => {
      await store.setQuota(workspace, quota({ subject: wholeWorkspace, period: "month" }));
      await store.setQuota(workspace, quota({ subject: { kind: "user", id: "" } }));
      await store.setQuota(workspace, quota({ subject: { kind: "channel", id: "C2" } }));
      await store.setQuota(workspace, quota({ subject: channel, period: "month" }));
      await store.setQuota(workspace, quota({ subject: channel, period: "day" }));
      await store.setQuota(otherWorkspace, quota({ subject: { kind: "channel", id: "C9" } }));
      await store.setQuota(colonWorkspace, quota({ subject: { kind: "channel", id: "C8" } }));

      const listed = (await store.listQuotas(workspace)).map(
        (entry) => `${entry.subject.kind}/${entry.subject.id}/${entry.period}`,
      );
      expect(listed).toEqual([
        "channel/C1/day",
        "channel/C1/month",
        "channel/C2/day",
        "user//day",
        "workspace//month",
      ]);
      expect((await store.listQuotas(otherWorkspace)).map((entry) => entry.subject.id)).toEqual(["C9"]);
      expect(await store.listQuotas(otherPlatform)).toEqual([]);
    });

    it("removes one period's limit or all of a subject's, and says how many", async () => {
      await store.setQuota(workspace, quota({ period: "day" }));
      await store.setQuota(workspace, quota({ period: "month" }));
      await store.setQuota(workspace, quota({ subject: user, period: "day" }));

      expect(await store.removeQuota(workspace, channel, "day")).toBe(1);
      expect((await store.listQuotas(workspace)).map((entry) => entry.period)).toEqual(["month", "day"]);
      expect(await store.removeQuota(workspace, channel)).toBe(1);
      expect(await store.removeQuota(workspace, channel)).toBe(0);
      expect((await store.listQuotas(workspace)).map((entry) => entry.subject.kind)).toEqual(["user"]);
    });

    it("keeps one alert channel per workspace, and forgets it when turned off", async () => {
      expect(await store.getAlertChannel(workspace)).toBeUndefined();
      await store.setAlertChannel(workspace, "C-ALERTS");
      await store.setAlertChannel(workspace, "C-OPS");
      await store.setAlertChannel(otherWorkspace, "C-OTHER");
      expect(await store.getAlertChannel(workspace)).toBe("C-OPS");
      expect(await store.getAlertChannel(otherWorkspace)).toBe("C-OTHER");
      expect(await store.getAlertChannel(otherPlatform)).toBeUndefined();
      await store.setAlertChannel(workspace, undefined);
      expect(await store.getAlertChannel(workspace)).toBeUndefined();
      expect(await store.getAlertChannel(otherWorkspace)).toBe("C-OTHER");
    });
  });
}
