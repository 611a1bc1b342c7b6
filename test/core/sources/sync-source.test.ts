import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { extractDocument } from "../../../src/adapters/extract/extract-document.js";
import { createSafeHttpFetcher } from "../../../src/adapters/http/safe-http-fetcher.js";
import { InProcessJobQueue } from "../../../src/adapters/in-process/in-process-job-queue.js";
import { openSqliteDatabase } from "../../../src/adapters/sqlite/open-sqlite-database.js";
import { SqliteSourceStore } from "../../../src/adapters/sqlite/sqlite-source-store.js";
import { SqliteVectorStore } from "../../../src/adapters/sqlite/sqlite-vector-store.js";
import { WebsiteSourceConnector } from "../../../src/adapters/website/website-source-connector.js";
import { analyze } from "../../../src/core/knowledge/analyzer.js";
import { KnowledgeBase } from "../../../src/core/knowledge/knowledge-base.js";
import type { DocumentLoader } from "../../../src/core/ports/document-loader.js";
import type { LlmProvider } from "../../../src/core/ports/llm-provider.js";
import { silentLogger } from "../../../src/core/ports/logger.js";
import type { SourceRecord } from "../../../src/core/ports/source-store.js";
import type { VectorStore } from "../../../src/core/ports/vector-store.js";
import { SourceService } from "../../../src/core/sources/source-service.js";
import { registerSyncJobs, runSync } from "../../../src/core/sources/sync-source-job.js";
import { waitFor } from "../../support/e2e-helpers.js";
import { RecordingNotifier } from "../../support/recording-notifier.js";
import { page, startWebsiteStandIn, type WebsiteStandIn } from "../../support/website-stand-in.js";

/** An embedding model that counts its calls; vectors are a cheap function of the text. */
function countingEmbedder(): LlmProvider & { calls: number } {
  const provider = {
    calls: 0,
    defaultModel: "test-chat",
    embeddingModel: "test-embed",
    stream(): AsyncIterable<never> {
      throw new Error("no chat in sync tests");
    },
    async complete(): Promise<never> {
      throw new Error("no chat in sync tests");
    },
    async embed(texts: string[]): Promise<number[][]> {
      provider.calls += 1;
      return texts.map((text) => [text.length % 7, text.length % 5, 1]);
    },
  };
  return provider;
}

const noLoader: DocumentLoader = {
  load: async () => {
    throw new Error("a synced source never goes through the one-shot loader");
  },
};

interface Harness {
  site: WebsiteStandIn;
  queue: InProcessJobQueue;
  notifier: RecordingNotifier;
  service: SourceService;
  vectors: VectorStore;
  embedder: ReturnType<typeof countingEmbedder>;
  chunkWrites: { count: number };
  sourceStore: SqliteSourceStore;
  close(): Promise<void>;
}

const where = { platform: "slack" as const, workspaceId: "T1", channelId: "C1" };

async function setUp(
  site: WebsiteStandIn,
  options: { attempts?: number; databasePath?: string } = {},
): Promise<Harness> {
  const database = openSqliteDatabase(options.databasePath ?? ":memory:");
  const store = new SqliteVectorStore(database, { denseDimensions: 3 });
  const chunkWrites = { count: 0 };
  const vectors: VectorStore = {
    replaceDocument: async (...args) => {
      chunkWrites.count += 1;
      return store.replaceDocument(...args);
    },
    replaceDocuments: async (documents) => {
      chunkWrites.count += documents.length;
      return store.replaceDocuments(documents);
    },
    deleteDocument: (...args) => store.deleteDocument(...args),
    search: (query) => store.search(query),
    listDocuments: (scope) => store.listDocuments(scope),
    hasChunks: (scope) => store.hasChunks(scope),
    close: () => store.close(),
  };
  const embedder = countingEmbedder();
  const knowledge = new KnowledgeBase({
    store: vectors,
    loader: noLoader,
    llm: embedder,
    logger: silentLogger,
  });
  const sourceStore = new SqliteSourceStore(database);
  const connector = new WebsiteSourceConnector({
    fetcher: createSafeHttpFetcher({ allowedHosts: [`127.0.0.1:${site.port}`] }),
    extract: (raw) => extractDocument(raw),
  });
  const queue = new InProcessJobQueue({ logger: silentLogger });
  const notifier = new RecordingNotifier();
  registerSyncJobs(queue, {
    sources: sourceStore,
    connectors: [connector],
    knowledge,
    notifier,
    logger: silentLogger,
    statusIntervalMs: 0,
    attempts: options.attempts ?? 1,
    backoffMs: 10,
  });
  queue.start();
  const service = new SourceService({
    sources: sourceStore,
    connectors: [connector],
    jobs: queue,
    knowledge,
    notifier,
    logger: silentLogger,
  });
  return {
    site,
    queue,
    notifier,
    service,
    vectors,
    embedder,
    chunkWrites,
    sourceStore,
    async close() {
      await queue.close();
      database.close();
    },
  };
}

async function createSite(harness: Harness, maxItems?: number, everyMs?: number): Promise<SourceRecord> {
  const { source } = await harness.service.create(
    {
      target: `${harness.site.origin}/docs/`,
      ...where,
      userId: "UADMIN",
      workspaceWide: false,
      crawl: true,
      maxItems,
    },
    everyMs,
    where,
  );
  return source;
}

let syncCounter = 0;
/** Queues a sync and resolves with the final line of its status message. */
async function syncAndWait(harness: Harness, source: SourceRecord): Promise<string> {
  syncCounter += 1;
  const status = await harness.service.postStatus(where, source);
  if (!status) throw new Error("no status message");
  await harness.service.enqueueSync(source, `request-${syncCounter}`, status);
  await waitFor(
    () => /^(✅|❌|🗑️)/u.test(harness.notifier.texts.get(status.messageId) ?? ""),
    "the sync's final line",
    15_000,
  );
  return harness.notifier.texts.get(status.messageId) ?? "";
}

async function searchText(harness: Harness, words: string) {
  return harness.vectors.search({
    scope: { platform: "slack", workspaceId: "T1", channelId: "C1" },
    terms: analyze(words),
    limit: 10,
  });
}

describe("sync-source: a crawled website kept in step", () => {
  let site: WebsiteStandIn;
  let harness: Harness;

  beforeEach(async () => {
    site = await startWebsiteStandIn({
      robots: "User-agent: *\nDisallow: /docs/private/\n",
      extraSitemapLocations: ["http://elsewhere.example/docs/stolen", "http://127.0.0.1:1/docs/other-port"],
    });
    site.pages.set("/docs/install", {
      html: page("Install", "Install the agent with the zebra package manager."),
      lastModified: "2026-01-01",
    });
    site.pages.set("/docs/upgrade", {
      html: page("Upgrade", "Upgrades run every Tuesday at noon."),
      lastModified: "2026-01-01",
    });
    site.pages.set("/docs/retired", {
      html: page("Retired", "The walrus dashboard is the place for metrics."),
      lastModified: "2026-01-01",
    });
    // Conditional fetch only: no lastmod in the sitemap for this one.
    site.pages.set("/docs/faq", { html: page("FAQ", "Questions go to the penguin channel.") });
    site.pages.set("/docs/private/salaries", { html: page("Salaries", "Secret salary table.") });
    site.pages.set("/blog/outside", { html: page("Outside", "Not under the docs folder.") });
    harness = await setUp(site);
  });

  afterEach(async () => {
    await harness.close();
    await site.close();
  });

  it("indexes each allowed page under the URL's folder as its own document, cited by its own URL", async () => {
    const source = await createSite(harness);
    const line = await syncAndWait(harness, source);
    expect(line).toMatch(
      /^✅ Synced 127\.0\.0\.1:\d+\/docs: 0 changed, 4 new, 0 removed, 0 unchanged \(\d+\.\d s\)$/,
    );
    const items = await harness.service.items(source);
    expect(items.map((item) => new URL(item.url).pathname).sort()).toEqual([
      "/docs/faq",
      "/docs/install",
      "/docs/retired",
      "/docs/upgrade",
    ]);
    // robots.txt's Disallow is honoured; nothing outside the folder or the origin is read.
    expect(site.requestsFor("/docs/private/salaries")).toBe(0);
    expect(site.requestsFor("/blog/outside")).toBe(0);
    const [hit] = await searchText(harness, "zebra package manager");
    expect(hit?.chunk.source).toBe(`${site.origin}/docs/install`);
    expect(hit?.chunk.title).toBe("Install");
  });

  it("re-syncs an unchanged site with no embedding and no chunk write: lastmod skips the request, an ETag gets a 304", async () => {
    const source = await createSite(harness);
    await syncAndWait(harness, source);
    const embeddings = harness.embedder.calls;
    const writes = harness.chunkWrites.count;
    const installRequests = site.requestsFor("/docs/install");
    const line = await syncAndWait(harness, source);
    expect(line).toMatch(/: 0 changed, 0 new, 0 removed, 4 unchanged /);
    expect(harness.embedder.calls).toBe(embeddings);
    expect(harness.chunkWrites.count).toBe(writes);
    // Same lastmod: not even requested. No lastmod: asked conditionally, answered 304.
    expect(site.requestsFor("/docs/install")).toBe(installRequests);
    expect(site.notModifiedCount()).toBe(1);
  });

  it("replaces a changed page, adds a new one, removes a gone one, and says so in one line", async () => {
    const source = await createSite(harness);
    await syncAndWait(harness, source);
    site.pages.set("/docs/upgrade", {
      html: page("Upgrade", "Upgrades now run every Friday at dawn."),
      lastModified: "2026-02-01",
    });
    site.pages.delete("/docs/retired");
    site.pages.set("/docs/new", { html: page("New", "The heron service replaced the walrus dashboard.") });
    // A new lastmod with the same text costs a request but no embedding.
    site.pages.set("/docs/install", {
      html: page("Install", "Install the agent with the zebra package manager."),
      lastModified: "2026-02-01",
    });
    const embeddings = harness.embedder.calls;
    const line = await syncAndWait(harness, source);
    expect(line).toMatch(/: 1 changed, 1 new, 1 removed, 2 unchanged /);
    expect(harness.embedder.calls - embeddings).toBe(2);
    const friday = await searchText(harness, "Friday dawn");
    expect(friday[0]?.chunk.source).toBe(`${site.origin}/docs/upgrade`);
    const tuesday = await searchText(harness, "Tuesday noon");
    expect(tuesday.every((hit) => !hit.chunk.text.includes("Tuesday"))).toBe(true);
    const walrus = await searchText(harness, "walrus dashboard");
    expect(walrus.map((hit) => hit.chunk.source)).not.toContain(`${site.origin}/docs/retired`);
    expect((await harness.service.items(source)).map((item) => item.key)).not.toContain(
      `${site.origin}/docs/retired`,
    );
  });

  it("indexing the same target again updates the one source and keeps its schedule unless given a new one", async () => {
    const first = await createSite(harness, undefined, 3_600_000);
    const again = await createSite(harness);
    expect(again.id).toBe(first.id);
    expect(again.everyMs).toBe(3_600_000);
    expect(again.nextRunAt).toBe(first.nextRunAt);
    const faster = await createSite(harness, undefined, 1_800_000);
    expect(faster.everyMs).toBe(1_800_000);
    const scheduled = await harness.sourceStore.listScheduledSources();
    expect(scheduled.map((source) => [source.id, source.everyMs])).toEqual([[first.id, 1_800_000]]);
    expect(await harness.sourceStore.listSources(first.scope)).toHaveLength(1);
  });

  it("takes at most --max pages", async () => {
    const source = await createSite(harness, 2);
    const line = await syncAndWait(harness, source);
    expect(line).toMatch(/: 0 changed, 2 new, 0 removed, 0 unchanged /);
  });

  it("keeps the last good copy when the site fails, says why, and does not count a sitemap that lists nothing as removal", async () => {
    const source = await createSite(harness);
    await syncAndWait(harness, source);
    site.failWith = 503;
    const line = await syncAndWait(harness, source);
    expect(line).toMatch(
      /^❌ Sync of 127\.0\.0\.1:\d+\/docs failed: .*HTTP 503.*I kept the last good copy\.$/,
    );
    expect((await searchText(harness, "zebra package manager"))[0]?.chunk.source).toBe(
      `${site.origin}/docs/install`,
    );
    site.failWith = undefined;
    site.pages.clear();
    const emptied = await syncAndWait(harness, source);
    expect(emptied).toMatch(/listed no documents at all this time, so I kept the 4 I had/);
    expect(await harness.service.items(source)).toHaveLength(4);
    const stored = await harness.sourceStore.getSource(source.scope, source.id);
    expect(stored?.consecutiveFailures).toBe(2);
    expect(stored?.lastSync?.ok).toBe(false);
  });

  it("a source forgotten while it syncs keeps nothing: what the sync wrote afterwards is taken back", async () => {
    const source = await createSite(harness);
    const { vectors } = harness;
    const original = vectors.replaceDocument.bind(vectors);
    let forgotten = false;
    vectors.replaceDocument = async (...args) => {
      await original(...args);
      if (!forgotten) {
        forgotten = true;
        const stored = await harness.sourceStore.getSource(source.scope, source.id);
        if (stored) await harness.service.forget(stored);
      }
    };
    const line = await syncAndWait(harness, source);
    expect(line).toMatch(/^🗑️ 127\.0\.0\.1:\d+\/docs was removed while it synced; nothing of it is kept\.$/u);
    expect(await harness.sourceStore.listItems(source.scope, source.id)).toEqual([]);
    expect(await vectors.listDocuments({ platform: "slack", workspaceId: "T1", channelId: "C1" })).toEqual(
      [],
    );
  });

  it("a sync interrupted half-way and run again leaves every page exactly once", async () => {
    for (let index = 0; index < 12; index += 1) {
      site.pages.set(`/docs/page-${index}`, {
        html: page(`Page ${index}`, `Page ${index} talks about topic${index}.`),
      });
    }
    const source = await createSite(harness);
    // The worker "dies" after its fifth chunk write: the abort stops the sync where it stands.
    const controller = new AbortController();
    const { vectors } = harness;
    const original = vectors.replaceDocument.bind(vectors);
    let written = 0;
    vectors.replaceDocument = async (...args) => {
      await original(...args);
      written += 1;
      if (written === 5) controller.abort(new Error("worker killed"));
    };
    const sources = harness.sourceStore;
    const dependencies = {
      sources,
      connectors: [
        new WebsiteSourceConnector({
          fetcher: createSafeHttpFetcher({ allowedHosts: [`127.0.0.1:${site.port}`] }),
          extract: (raw: Parameters<typeof extractDocument>[0]) => extractDocument(raw),
        }),
      ],
      knowledge: new KnowledgeBase({ store: vectors, loader: noLoader, logger: silentLogger }),
      notifier: harness.notifier,
      logger: silentLogger,
      concurrency: 2,
    };
    const context = { signal: controller.signal, reportProgress: async () => {} };
    await expect(runSync(dependencies, source, context, () => {})).rejects.toThrow();
    const rerun = await runSync(
      dependencies,
      source,
      { signal: new AbortController().signal, reportProgress: async () => {} },
      () => {},
    );
    expect(rerun.counts.added + rerun.counts.unchanged).toBe(16);
    const documents = await vectors.listDocuments({ platform: "slack", workspaceId: "T1", channelId: "C1" });
    const sourcesOfChunks = documents.map((document) => document.source).sort();
    expect(sourcesOfChunks).toEqual([...new Set(sourcesOfChunks)]);
    expect(sourcesOfChunks).toHaveLength(16);
    expect(await harness.service.items(source)).toHaveLength(16);
    for (const document of documents) expect(document.chunkCount).toBe(1);
  });
});

describe("sync-source: a site without a sitemap, crawled by its links", () => {
  it("re-syncs an unchanged site reading each page once (to find its links), with no embedding and no write", async () => {
    const site = await startWebsiteStandIn({ sitemap: false });
    site.pages.set("/docs/", { html: page("Home", "Start with the otter guide.", ["guide", "faq"]) });
    site.pages.set("/docs/guide", { html: page("Guide", "The otter guide.", ["/docs/"]) });
    site.pages.set("/docs/faq", { html: page("FAQ", "Ask the badger.") });
    const harness = await setUp(site);
    try {
      const source = await createSite(harness);
      expect(await syncAndWait(harness, source)).toMatch(/: 0 changed, 3 new, 0 removed, 0 unchanged /);
      const embeddings = harness.embedder.calls;
      const writes = harness.chunkWrites.count;
      const guideReads = site.requestsFor("/docs/guide");
      expect(await syncAndWait(harness, source)).toMatch(/: 0 changed, 0 new, 0 removed, 3 unchanged /);
      expect(site.requestsFor("/docs/guide")).toBe(guideReads + 1);
      expect(harness.embedder.calls).toBe(embeddings);
      expect(harness.chunkWrites.count).toBe(writes);
      site.pages.set("/docs/faq", { html: page("FAQ", "Ask the heron now.") });
      expect(await syncAndWait(harness, source)).toMatch(/: 1 changed, 0 new, 0 removed, 2 unchanged /);
      expect((await searchText(harness, "heron"))[0]?.chunk.source).toBe(`${site.origin}/docs/faq`);
    } finally {
      await harness.close();
      await site.close();
    }
  });
});

describe("sync-source: failures in a row", () => {
  it("tells the admin who created the source after the third failed sync in a row", async () => {
    const site = await startWebsiteStandIn({});
    site.pages.set("/docs/a", { html: page("A", "Alpha.") });
    const harness = await setUp(site, { attempts: 3 });
    try {
      const source = await createSite(harness);
      await syncAndWait(harness, source);
      site.failWith = 500;
      const status = await harness.service.postStatus(where, source);
      await harness.service.enqueueSync(source, "failing", status);
      await waitFor(
        () => harness.notifier.shown().some((text) => text.includes("failed to sync 3 times in a row")),
        "the notice to the creator",
        15_000,
      );
      const notice = harness.notifier
        .shown()
        .find((text) => text.includes("failed to sync 3 times in a row"));
      expect(notice).toMatch(
        /^⚠️ <@UADMIN> 127\.0\.0\.1:\d+\/docs \(`s[0-9a-f]{10}`\) failed to sync 3 times/,
      );
      expect(notice).toContain(`sync ${source.id}`);
      await waitFor(
        () => /^❌/.test(harness.notifier.texts.get(status?.messageId ?? "") ?? ""),
        "the final failure line",
      );
      const notices = harness.notifier.shown().filter((text) => text.includes("times in a row"));
      expect(notices).toHaveLength(1);
      expect((await harness.service.items(source)).length).toBe(1);
    } finally {
      await harness.close();
      await site.close();
    }
  });
});

describe("embedded mode: a source's schedule is an in-process timer, re-armed from SQLite at start", () => {
  it("fires on its interval, fires again after a restart, and stops with `sync stop`", async () => {
    const directory = mkdtempSync(join(tmpdir(), "teammate-schedule-"));
    const databasePath = join(directory, "teammate.sqlite");
    const site = await startWebsiteStandIn({});
    site.pages.set("/docs/a", { html: page("A", "Alpha."), lastModified: "2026-01-01" });
    let harness = await setUp(site, { databasePath });
    try {
      const source = await createSite(harness, undefined, 300);
      const sitemapReads = () => site.requestsFor("/sitemap.xml");
      await waitFor(() => sitemapReads() >= 2, "two scheduled syncs");
      expect((await harness.sourceStore.getSource(source.scope, source.id))?.lastSync?.ok).toBe(true);
      await harness.close();
      const afterClose = sitemapReads();

      harness = await setUp(site, { databasePath });
      // A daily schedule whose next run is due in a moment: the restart keeps that time instead of
      // pushing the run back a whole day.
      await harness.sourceStore.updateSource(source.scope, source.id, {
        everyMs: 86_400_000,
        nextRunAt: Date.now() + 150,
      });
      expect(await harness.service.restoreSchedules()).toBe(1);
      await waitFor(() => sitemapReads() >= afterClose + 1, "a scheduled sync after the restart");
      const stored = await harness.sourceStore.getSource(source.scope, source.id);
      if (!stored) throw new Error("source gone");
      await harness.service.stop(stored);
      expect(await harness.sourceStore.listScheduledSources()).toEqual([]);
      await harness.close();
      harness = await setUp(site, { databasePath });
      expect(await harness.service.restoreSchedules()).toBe(0);
    } finally {
      await harness.close();
      await site.close();
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
