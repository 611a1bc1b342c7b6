import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { SourceItemState, SourceRecord, SourceStore } from "../../src/core/ports/source-store.js";
import type { WorkspaceRef } from "../../src/core/types.js";

export interface SourceStoreFixture {
  store: SourceStore;
  cleanup(): Promise<void>;
}

const workspace: WorkspaceRef = { platform: "slack", workspaceId: "T1" };
const otherWorkspace: WorkspaceRef = { platform: "slack", workspaceId: "T2" };
// A workspace id with the separator inside must not reach T1's keys.
const colonWorkspace: WorkspaceRef = { platform: "slack", workspaceId: "T1:s0000000001" };

function source(id: string, overrides: Partial<SourceRecord> = {}): SourceRecord {
  return {
    id,
    kind: "website",
    target: `https://docs.example.com/${id}`,
    name: "docs.example.com",
    scope: { platform: "slack", workspaceId: "T1", channelId: "C1" },
    settings: { crawl: true, maxItems: 50 },
    createdBy: { platform: "slack", userId: "UADMIN" },
    reportTo: { platform: "slack", workspaceId: "T1", channelId: "C1" },
    createdAt: 1_723_456_789_012,
    consecutiveFailures: 0,
    ...overrides,
  };
}

function item(key: string, overrides: Partial<SourceItemState> = {}): SourceItemState {
  return {
    key,
    documentId: `d${key.length}`,
    title: `Page ${key}`,
    url: `https://docs.example.com${key}`,
    version: "2026-01-01",
    validator: 'W/"abc"',
    contentHash: "f".repeat(64),
    chunkCount: 3,
    ...overrides,
  };
}

/** What both source stores must do, so commands and workers see the same sources either way. */
export function describeSourceStoreContract(label: string, create: () => Promise<SourceStoreFixture>): void {
  describe(`SourceStore contract: ${label}`, () => {
    let fixture: SourceStoreFixture;
    beforeEach(async () => {
      fixture = await create();
    });
    afterEach(async () => {
      await fixture.store.close();
      await fixture.cleanup();
    });

    it("saves, reads and patches a source, keeping what the patch leaves out and clearing what it sets undefined", async () => {
      await fixture.store.saveSource(
        source("s0000000001", { everyMs: 21_600_000, nextRunAt: 1_723_500_000_000 }),
      );
      const patched = await fixture.store.updateSource(workspace, "s0000000001", {
        lastSync: { at: 1_723_456_999_000, ok: true, line: "Synced docs.example.com: 1 new (0.2 s)" },
        consecutiveFailures: 0,
        cursor: "1700000000.000200",
        everyMs: undefined,
        nextRunAt: undefined,
      });
      expect(patched?.lastSync?.line).toBe("Synced docs.example.com: 1 new (0.2 s)");
      const stored = await fixture.store.getSource(workspace, "s0000000001");
      expect(stored).toEqual({
        ...source("s0000000001"),
        lastSync: { at: 1_723_456_999_000, ok: true, line: "Synced docs.example.com: 1 new (0.2 s)" },
        cursor: "1700000000.000200",
      });
      expect(stored).not.toHaveProperty("everyMs");
      expect(
        await fixture.store.updateSource(workspace, "s-missing", { consecutiveFailures: 1 }),
      ).toBeUndefined();
    });

    it("keeps an empty settings object and a status message through a patch", async () => {
      await fixture.store.saveSource(source("s0000000002", { settings: {} }));
      await fixture.store.updateSource(workspace, "s0000000002", {
        statusMessage: {
          platform: "slack",
          workspaceId: "T1",
          channelId: "C1",
          messageId: "1700000000.000100",
        },
        statusJobId: "sync-source-1",
      });
      const stored = await fixture.store.getSource(workspace, "s0000000002");
      expect(stored?.settings).toEqual({});
      expect(stored?.statusMessage?.messageId).toBe("1700000000.000100");
      expect(stored?.statusJobId).toBe("sync-source-1");
    });

    it("scopes every lookup to its workspace", async () => {
      await fixture.store.saveSource(source("s0000000001"));
      expect(await fixture.store.getSource(otherWorkspace, "s0000000001")).toBeUndefined();
      expect(await fixture.store.getSource(colonWorkspace, "s0000000001")).toBeUndefined();
      expect(await fixture.store.listSources(otherWorkspace)).toEqual([]);
      expect(
        await fixture.store.updateSource(otherWorkspace, "s0000000001", { name: "taken" }),
      ).toBeUndefined();
      expect(await fixture.store.deleteSource(otherWorkspace, "s0000000001")).toBe(false);
      await fixture.store.putItem(workspace, "s0000000001", item("/a"));
      expect(await fixture.store.listItems(otherWorkspace, "s0000000001")).toEqual([]);
      expect((await fixture.store.getSource(workspace, "s0000000001"))?.name).toBe("docs.example.com");
    });

    it("lists a workspace's sources oldest first, and every scheduled source across workspaces", async () => {
      await fixture.store.saveSource(source("s0000000002", { createdAt: 2_000 }));
      await fixture.store.saveSource(source("s0000000001", { createdAt: 1_000, everyMs: 3_600_000 }));
      await fixture.store.saveSource(
        source("s0000000003", {
          createdAt: 3_000,
          everyMs: 86_400_000,
          scope: { platform: "slack", workspaceId: "T2" },
        }),
      );
      expect((await fixture.store.listSources(workspace)).map((entry) => entry.id)).toEqual([
        "s0000000001",
        "s0000000002",
      ]);
      expect((await fixture.store.listScheduledSources()).map((entry) => entry.id)).toEqual([
        "s0000000001",
        "s0000000003",
      ]);
      await fixture.store.updateSource(workspace, "s0000000001", { everyMs: undefined });
      await fixture.store.updateSource(workspace, "s0000000002", { everyMs: 60_000 });
      expect((await fixture.store.listScheduledSources()).map((entry) => entry.id)).toEqual([
        "s0000000002",
        "s0000000003",
      ]);
    });

    it("puts, replaces and deletes items by key; deleting the source deletes its items", async () => {
      await fixture.store.saveSource(source("s0000000001", { everyMs: 60_000 }));
      await fixture.store.putItem(workspace, "s0000000001", item("/b"));
      await fixture.store.putItem(workspace, "s0000000001", item("/a"));
      await fixture.store.putItem(
        workspace,
        "s0000000001",
        item("/a", { contentHash: "0".repeat(64), chunkCount: 5 }),
      );
      const items = await fixture.store.listItems(workspace, "s0000000001");
      expect(items.map((entry) => [entry.key, entry.chunkCount])).toEqual([
        ["/a", 5],
        ["/b", 3],
      ]);
      await fixture.store.deleteItem(workspace, "s0000000001", "/b");
      expect((await fixture.store.listItems(workspace, "s0000000001")).map((entry) => entry.key)).toEqual([
        "/a",
      ]);
      expect(await fixture.store.deleteSource(workspace, "s0000000001")).toBe(true);
      expect(await fixture.store.getSource(workspace, "s0000000001")).toBeUndefined();
      expect(await fixture.store.listItems(workspace, "s0000000001")).toEqual([]);
      expect(await fixture.store.listSources(workspace)).toEqual([]);
      expect(await fixture.store.listScheduledSources()).toEqual([]);
      expect(await fixture.store.deleteSource(workspace, "s0000000001")).toBe(false);
    });
  });
}
