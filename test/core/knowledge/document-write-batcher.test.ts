import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { SqliteVectorStore } from "../../../src/adapters/sqlite/sqlite-vector-store.js";
import { analyze } from "../../../src/core/knowledge/analyzer.js";
import { chunkId } from "../../../src/core/knowledge/chunker.js";
import { DocumentWriteBatcher } from "../../../src/core/knowledge/document-write-batcher.js";
import { KnowledgeBase } from "../../../src/core/knowledge/knowledge-base.js";
import type { DocumentLoader } from "../../../src/core/ports/document-loader.js";
import { silentLogger } from "../../../src/core/ports/logger.js";
import type {
  ChunkRecord,
  DocumentReplacement,
  DocumentScope,
  VectorStore,
} from "../../../src/core/ports/vector-store.js";

const scope: DocumentScope = { platform: "local", workspaceId: "W" };
const ask = { platform: "local" as const, workspaceId: "W", channelId: "C" };

function records(documentId: string, texts: string[], dense?: number[]): ChunkRecord[] {
  return texts.map((text, position) => ({
    id: chunkId(documentId, position),
    documentId,
    position,
    title: documentId,
    headingPath: [],
    source: `${documentId}.txt`,
    text,
    scope,
    terms: analyze(text),
    dense,
  }));
}

/** The real embedded store, with every write call it gets recorded (documents per call). */
function recordingStore(): { store: VectorStore; calls: string[][]; close(): void } {
  const database = new Database(":memory:");
  const sqlite = new SqliteVectorStore(database);
  const calls: string[][] = [];
  const store: VectorStore = {
    replaceDocument: async (documentId, documentScope, chunks) => {
      calls.push([documentId]);
      return sqlite.replaceDocument(documentId, documentScope, chunks);
    },
    replaceDocuments: async (documents: readonly DocumentReplacement[]) => {
      calls.push(documents.map((document) => document.documentId));
      return sqlite.replaceDocuments(documents);
    },
    deleteDocument: (...call) => sqlite.deleteDocument(...call),
    search: (query) => sqlite.search(query),
    listDocuments: (query) => sqlite.listDocuments(query),
    hasChunks: (query) => sqlite.hasChunks(query),
    close: () => sqlite.close(),
  };
  return { store, calls, close: () => database.close() };
}

describe("DocumentWriteBatcher", () => {
  let close = () => {};
  afterEach(() => close());

  it("writes the documents asked for in one turn as one batch, and settles each caller", async () => {
    const recorded = recordingStore();
    close = recorded.close;
    const batcher = new DocumentWriteBatcher(recorded.store);
    await Promise.all(
      ["a", "b", "c"].map((documentId) =>
        batcher.replace({ documentId, scope, chunks: records(documentId, [`note ${documentId} ledger`]) }),
      ),
    );
    expect(recorded.calls).toEqual([["a", "b", "c"]]);
    const listed = await recorded.store.listDocuments(ask);
    expect(listed.map((document) => document.documentId).sort()).toEqual(["a", "b", "c"]);
  });

  it("cuts batches at the chunk budget, a bigger document going alone", async () => {
    const recorded = recordingStore();
    close = recorded.close;
    const batcher = new DocumentWriteBatcher(recorded.store, 3);
    await Promise.all([
      batcher.replace({ documentId: "a", scope, chunks: records("a", ["one", "two"]) }),
      batcher.replace({ documentId: "b", scope, chunks: records("b", ["three"]) }),
      batcher.replace({ documentId: "big", scope, chunks: records("big", ["4", "5", "6", "7"]) }),
      batcher.replace({ documentId: "c", scope, chunks: records("c", ["eight"]) }),
    ]);
    expect(recorded.calls).toEqual([["a", "b"], ["big"], ["c"]]);
  });

  it("fails only the caller whose document the store refuses; its neighbours are stored", async () => {
    const recorded = recordingStore();
    close = recorded.close;
    const batcher = new DocumentWriteBatcher(recorded.store);
    await batcher.replace({ documentId: "first", scope, chunks: records("first", ["vectors"], [1, 0, 0]) });
    const outcomes = await Promise.allSettled([
      batcher.replace({ documentId: "good", scope, chunks: records("good", ["fine"], [0, 1, 0]) }),
      batcher.replace({ documentId: "bad", scope, chunks: records("bad", ["wrong size"], [1, 0]) }),
      batcher.replace({ documentId: "plain", scope, chunks: records("plain", ["no vector"]) }),
    ]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    // The batch was refused whole (the embedded store writes all or none), then written one by one.
    expect(recorded.calls).toEqual([["first"], ["good", "bad", "plain"], ["good"], ["bad"], ["plain"]]);
    const listed = await recorded.store.listDocuments(ask);
    expect(listed.map((document) => document.documentId).sort()).toEqual(["first", "good", "plain"]);
  });
});

describe("KnowledgeBase.indexMany", () => {
  let close = () => {};
  afterEach(() => close());

  const texts: Record<string, string> = {
    "a.txt": "Alpha covers the billing ledger.",
    "b.txt": "Beta covers the payroll export.",
    "c.txt": "Gamma covers the invoice archive.",
    "d.txt": "Delta covers the audit trail.",
  };
  const loader: DocumentLoader = {
    async load(reference) {
      const path = reference.kind === "path" ? reference.path : "";
      const text = texts[path];
      if (text === undefined) throw Object.assign(new Error(`no ${path}`), { path });
      return {
        title: path,
        text,
        format: "text",
        source: path,
        contentType: "text/plain",
        bytes: text.length,
      };
    },
  };

  it("indexes every document, settling each with its result or error, writing them in batches", async () => {
    const recorded = recordingStore();
    close = recorded.close;
    const knowledge = new KnowledgeBase({ store: recorded.store, loader, logger: silentLogger });
    const settled: string[] = [];
    await knowledge.indexMany(
      ["a.txt", "b.txt", "missing.txt", "c.txt", "d.txt"].map((path) => ({ kind: "path", path })),
      scope,
      (reference, outcome) => {
        const path = reference.kind === "path" ? reference.path : "";
        settled.push(outcome.ok ? `${path}: ${outcome.result.chunks}` : `${path}: failed`);
      },
    );
    expect(settled.sort()).toEqual(["a.txt: 1", "b.txt: 1", "c.txt: 1", "d.txt: 1", "missing.txt: failed"]);
    expect((await recorded.store.listDocuments(ask)).map((document) => document.title).sort()).toEqual([
      "a.txt",
      "b.txt",
      "c.txt",
      "d.txt",
    ]);
    // Fewer write calls than documents: lanes finishing together share one.
    expect(recorded.calls.length).toBeLessThan(4);
    const hits = await recorded.store.search({ scope: ask, terms: analyze("payroll export"), limit: 5 });
    expect(hits[0]?.chunk.title).toBe("b.txt");
  });

  it("stops starting documents once settle throws, and rejects with that error", async () => {
    const recorded = recordingStore();
    close = recorded.close;
    const knowledge = new KnowledgeBase({ store: recorded.store, loader, logger: silentLogger });
    const started: string[] = [];
    const stop = new Error("stop here");
    await expect(
      knowledge.indexMany(
        ["missing.txt", "a.txt", "b.txt", "c.txt", "d.txt"].map((path) => ({ kind: "path", path })),
        scope,
        (reference, outcome) => {
          started.push(reference.kind === "path" ? reference.path : "");
          if (!outcome.ok) throw stop;
        },
        { concurrency: 1 },
      ),
    ).rejects.toBe(stop);
    expect(started).toEqual(["missing.txt"]);
    expect(await recorded.store.listDocuments(ask)).toEqual([]);
  });

  it("starts nothing once the signal is aborted", async () => {
    const recorded = recordingStore();
    close = recorded.close;
    const knowledge = new KnowledgeBase({ store: recorded.store, loader, logger: silentLogger });
    const controller = new AbortController();
    controller.abort(new Error("shutting down"));
    const outcomes: boolean[] = [];
    await knowledge.indexMany(
      [{ kind: "path", path: "a.txt" }],
      scope,
      (_reference, outcome) => {
        outcomes.push(outcome.ok);
      },
      { signal: controller.signal },
    );
    expect(outcomes).toEqual([false]);
    expect(recorded.calls).toEqual([]);
  });
});
