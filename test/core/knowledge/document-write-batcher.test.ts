import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { extractDocument, type RawDocument } from "../../../src/adapters/extract/extract-document.js";
import { ExtractionPool } from "../../../src/adapters/extract/extraction-pool.js";
import { SqliteVectorStore } from "../../../src/adapters/sqlite/sqlite-vector-store.js";
import { analyze } from "../../../src/core/knowledge/analyzer.js";
import { chunkId } from "../../../src/core/knowledge/chunker.js";
import { DocumentWriteBatcher } from "../../../src/core/knowledge/document-write-batcher.js";
import { KnowledgeBase } from "../../../src/core/knowledge/knowledge-base.js";
import { prepareChunks } from "../../../src/core/knowledge/prepare-chunks.js";
import { termCountsOf } from "../../../src/core/knowledge/sparse.js";
import type { DocumentLoader, DocumentReference } from "../../../src/core/ports/document-loader.js";
import type { EmbeddingModel } from "../../../src/core/ports/llm-provider.js";
import { silentLogger } from "../../../src/core/ports/logger.js";
import type {
  ChunkRecord,
  ChunkWrite,
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

/** A chunk as the store keeps it, whether its terms came as strings or counted. */
function stored(chunk: ChunkWrite) {
  const { terms, termCounts, ...rest } = chunk as ChunkRecord & { termCounts?: unknown };
  return { ...rest, termCounts: termCountsOf(chunk) };
}

/** The real embedded store, with every write call it gets recorded (documents per call, and their chunks). */
function recordingStore(): {
  store: VectorStore;
  calls: string[][];
  chunks: Array<ReturnType<typeof stored>>;
  close(): void;
} {
  const database = new Database(":memory:");
  const sqlite = new SqliteVectorStore(database);
  const calls: string[][] = [];
  const chunks: Array<ReturnType<typeof stored>> = [];
  const store: VectorStore = {
    replaceDocument: async (documentId, documentScope, written) => {
      calls.push([documentId]);
      chunks.push(...written.map(stored));
      return sqlite.replaceDocument(documentId, documentScope, written);
    },
    replaceDocuments: async (documents: readonly DocumentReplacement[]) => {
      calls.push(documents.map((document) => document.documentId));
      chunks.push(...documents.flatMap((document) => document.chunks.map(stored)));
      return sqlite.replaceDocuments(documents);
    },
    deleteDocument: (...call) => sqlite.deleteDocument(...call),
    search: (query) => sqlite.search(query),
    listDocuments: (query) => sqlite.listDocuments(query),
    hasChunks: (query) => sqlite.hasChunks(query),
    close: () => sqlite.close(),
  };
  return { store, calls, chunks, close: () => database.close() };
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

  it("stores from a loader that prepares (loadPrepared, the extraction pool) the chunks it stores from one that loads", async () => {
    const pool = new ExtractionPool();
    const sentence = (index: number) =>
      `Rule ${index}: the payroll export (9,000 rows) runs nightly; 기초생활수급자 안내.`;
    const files = Object.fromEntries(
      Array.from({ length: 12 }, (_, file) => [
        `f${file}.md`,
        `# File ${file}\n\n${Array.from({ length: 6 * file + 1 }, (_, index) => sentence(index)).join(" ")}`,
      ]),
    );
    const raw = (reference: DocumentReference): RawDocument => {
      const path = reference.kind === "path" ? reference.path : "";
      return {
        body: Buffer.from(files[path] ?? ""),
        mediaType: undefined,
        charset: undefined,
        fileName: path,
        source: path,
      };
    };
    const loading: DocumentLoader = { load: async (reference) => extractDocument(raw(reference)) };
    const preparing: DocumentLoader = {
      ...loading,
      loadPrepared: (reference, preparation, signal) => pool.prepare(raw(reference), preparation, signal),
    };
    const stores = [recordingStore(), recordingStore()] as const;
    close = () => {
      for (const recorded of stores) recorded.close();
    };
    try {
      for (const [index, documentLoader] of [loading, preparing].entries()) {
        const knowledge = new KnowledgeBase({
          store: stores[index]!.store,
          loader: documentLoader,
          logger: silentLogger,
          chunking: { maxTokens: 80, overlapTokens: 16 },
        });
        const failures: unknown[] = [];
        await knowledge.indexMany(
          Object.keys(files).map((path) => ({ kind: "path", path })),
          scope,
          (_reference, outcome) => {
            if (!outcome.ok) failures.push(outcome.error);
          },
        );
        expect(failures).toEqual([]);
      }
      const byId = (recorded: (typeof stores)[number]) =>
        [...recorded.chunks].sort((left, right) => left.id.localeCompare(right.id));
      expect(stores[0].chunks.length).toBeGreaterThan(Object.keys(files).length);
      expect(byId(stores[1])).toEqual(byId(stores[0]));
    } finally {
      await pool.close();
    }
  });

  it("embeds the chunks of prepared documents when an embedding model is configured, and only then", async () => {
    const preparing: DocumentLoader = {
      ...loader,
      loadPrepared: async (reference, preparation) => {
        const { text, ...document } = await loader.load(reference);
        return {
          document,
          chunks: prepareChunks({ id: preparation.documentId, ...document, text }, preparation.chunking),
        };
      },
    };
    const embedded: string[] = [];
    const llm: EmbeddingModel = {
      embeddingModel: "test-embed",
      embed: async (batch) => {
        embedded.push(...batch);
        return batch.map((text) => [text.length, 1]);
      },
    };
    const paths = ["a.txt", "b.txt", "c.txt", "d.txt"];
    const stores = [recordingStore(), recordingStore()] as const;
    close = () => {
      for (const recorded of stores) recorded.close();
    };
    for (const [index, model] of [llm, undefined].entries()) {
      const knowledge = new KnowledgeBase({
        store: stores[index]!.store,
        loader: preparing,
        logger: silentLogger,
        llm: model,
      });
      await knowledge.indexMany(
        paths.map((path) => ({ kind: "path", path })),
        scope,
        (_reference, outcome) => {
          if (!outcome.ok) throw outcome.error;
        },
      );
    }
    expect(embedded.sort()).toEqual(paths.map((path) => `${path}\n${texts[path]}`));
    expect(stores[0].chunks.map((chunk) => chunk.dense)).toEqual(
      stores[0].chunks.map((chunk) => [chunk.title.length + 1 + chunk.text.length, 1]),
    );
    expect(stores[1].chunks.map((chunk) => chunk.dense)).toEqual(paths.map(() => undefined));
  });

  it("hands documents prepared one turn apart to the store together, not one write each", async () => {
    const recorded = recordingStore();
    close = recorded.close;
    const paths = Array.from({ length: 24 }, (_, index) => `doc${index}.txt`);
    const text = (path: string) => `${path} covers the payroll export.`;
    const loading: DocumentLoader = {
      load: async () => {
        throw new Error("not used: the loader prepares");
      },
      // As a thread answers: each document on a later turn of the event loop than the one before.
      loadPrepared: async (reference, preparation) => {
        await new Promise((resolve) => setImmediate(resolve));
        const path = reference.kind === "path" ? reference.path : "";
        const document = {
          title: path,
          format: "text" as const,
          source: path,
          contentType: "text/plain",
          bytes: 0,
        };
        return {
          document,
          chunks: prepareChunks({ ...document, id: preparation.documentId, text: text(path) }),
        };
      },
    };
    const knowledge = new KnowledgeBase({ store: recorded.store, loader: loading, logger: silentLogger });
    let settled = 0;
    await knowledge.indexMany(
      paths.map((path) => ({ kind: "path", path })),
      scope,
      () => {
        settled += 1;
      },
    );
    expect(settled).toBe(paths.length);
    expect(recorded.calls.flat().length).toBe(paths.length);
    expect(recorded.calls.length).toBeLessThanOrEqual(2);
  });

  it("stops preparing while over 1,024 chunks wait for their writes, and goes on as each write ends", async () => {
    const recorded = recordingStore();
    close = recorded.close;
    // Each write waits until the test lets it go, one a turn of the event loop.
    const held: Array<() => void> = [];
    const hold = () => new Promise<void>((resolve) => held.push(resolve));
    const gated: VectorStore = {
      ...recorded.store,
      replaceDocument: async (...call) => {
        await hold();
        return recorded.store.replaceDocument(...call);
      },
      replaceDocuments: async (documents) => {
        await hold();
        return recorded.store.replaceDocuments(documents);
      },
    };
    let loaded = 0;
    const oneChunkEach: DocumentLoader = {
      async load(reference) {
        loaded += 1;
        const path = reference.kind === "path" ? reference.path : "";
        const text = `${path} covers the payroll export.`;
        return { title: path, text, format: "text", source: path, contentType: "text/plain", bytes: 0 };
      },
    };
    const knowledge = new KnowledgeBase({ store: gated, loader: oneChunkEach, logger: silentLogger });
    const paths = Array.from({ length: 1_500 }, (_, index) => `doc${index}.txt`);
    let settled = 0;
    let ended = false;
    const run = knowledge
      .indexMany(
        paths.map((path) => ({ kind: "path", path })),
        scope,
        () => {
          settled += 1;
        },
      )
      .finally(() => {
        ended = true;
      });
    let mostAhead = 0;
    while (!ended) {
      await new Promise((resolve) => setImmediate(resolve));
      mostAhead = Math.max(mostAhead, loaded - settled);
      held.shift()?.();
    }
    await run;
    expect(settled).toBe(paths.length);
    expect(recorded.chunks.length).toBe(paths.length);
    // The limit was reached (writes were held), and no lane started a document past it: each of the
    // four lanes adds at most its last document's chunk after the pending chunks reached 1,024.
    expect(mostAhead).toBeGreaterThan(1_024);
    expect(mostAhead).toBeLessThanOrEqual(1_024 + 4);
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

  it("waits for a settle that answers a promise, and stops on one that rejects", async () => {
    const recorded = recordingStore();
    close = recorded.close;
    const knowledge = new KnowledgeBase({ store: recorded.store, loader, logger: silentLogger });
    const paths = ["a.txt", "b.txt", "c.txt", "d.txt"];
    const settled: string[] = [];
    await knowledge.indexMany(
      paths.map((path) => ({ kind: "path", path })),
      scope,
      async (reference) => {
        await new Promise((resolve) => setImmediate(resolve));
        settled.push(reference.kind === "path" ? reference.path : "");
      },
    );
    expect(settled.sort()).toEqual(paths);

    const started: string[] = [];
    const stop = new Error("stop here");
    await expect(
      knowledge.indexMany(
        ["missing.txt", ...paths].map((path) => ({ kind: "path", path })),
        scope,
        async (reference) => {
          started.push(reference.kind === "path" ? reference.path : "");
          await new Promise((resolve) => setImmediate(resolve));
          throw stop;
        },
        { concurrency: 1 },
      ),
    ).rejects.toBe(stop);
    expect(started).toEqual(["missing.txt"]);
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
