/**
 * The embedded store's inverted index: updated in place, persisted in segments that a restart loads,
 * kept current across instances (and processes) through the deletion log, and pruned scoring equal to
 * visiting every posting.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openSqliteDatabase } from "../../src/adapters/sqlite/open-sqlite-database.js";
import { SqliteVectorStore } from "../../src/adapters/sqlite/sqlite-vector-store.js";
import { analyze } from "../../src/core/knowledge/analyzer.js";
import { chunkId } from "../../src/core/knowledge/chunker.js";
import { termId } from "../../src/core/knowledge/sparse.js";
import type { ChunkRecord, DocumentScope, QueryScope } from "../../src/core/ports/vector-store.js";
import { pickWith, seededRandom } from "../support/seeded-random.js";

const scope: DocumentScope = { platform: "local", workspaceId: "index-test" };
const ask: QueryScope = { ...scope, channelId: "general" };

function records(documentId: string, texts: string[], documentScope: DocumentScope = scope): ChunkRecord[] {
  return texts.map((text, position) => ({
    id: chunkId(documentId, position),
    documentId,
    position,
    title: documentId,
    headingPath: [],
    source: `${documentId}.txt`,
    text,
    scope: documentScope,
    terms: analyze(text),
  }));
}

const VOCABULARY = [
  "deploy",
  "billing",
  "kubernetes",
  "helm",
  "rollback",
  "incident",
  "payroll",
  "laptop",
  "invoice",
  "holiday",
  "coffee",
  "standup",
  "database",
  "staging",
  "release",
  "exporter",
  "crash",
  "vault",
  "password",
  "cluster",
  "quarterly",
  "budget",
  "onboarding",
  "retention",
];

function sentence(next: () => number, words: number): string {
  const picked: string[] = [];
  // Skewed choice: early words are common, later ones rare, as in real text.
  for (let index = 0; index < words; index++) {
    picked.push(VOCABULARY[Math.floor(next() ** 2 * VOCABULARY.length)] as string);
  }
  return picked.join(" ");
}

/**
 * BM25 written plainly from the formula (Lucene's IDF, k1 1.2, b 0.75) over live chunks, as an
 * independent reference: chunk id → score of the chunks sharing a term with the question.
 */
function referenceScores(chunks: Map<string, string[]>, question: string): Map<string, number> {
  const queryTerms = [...new Set(analyze(question))];
  const count = chunks.size;
  let totalLength = 0;
  for (const terms of chunks.values()) totalLength += terms.length;
  const averageLength = totalLength / count;
  const scores = new Map<string, number>();
  for (const term of queryTerms) {
    let documentFrequency = 0;
    for (const terms of chunks.values()) if (terms.includes(term)) documentFrequency++;
    if (documentFrequency === 0) continue;
    const idf = Math.log(1 + (count - documentFrequency + 0.5) / (documentFrequency + 0.5));
    for (const [id, terms] of chunks) {
      const frequency = terms.filter((candidate) => candidate === term).length;
      if (frequency === 0) continue;
      const norm = frequency + 1.2 * (1 - 0.75 + (0.75 * terms.length) / averageLength);
      scores.set(id, (scores.get(id) ?? 0) + (idf * frequency * 2.2) / norm);
    }
  }
  return scores;
}

function expectReference(
  got: Array<{ id: string; score: number }>,
  reference: Map<string, number>,
  limit: number,
): void {
  expect(got).toHaveLength(Math.min(limit, reference.size));
  for (const { id, score } of got) expect(score).toBeCloseTo(reference.get(id) ?? Number.NaN, 9);
  // Whatever was left out scores no higher than the last one returned.
  const last = got.at(-1)?.score ?? Number.POSITIVE_INFINITY;
  const returned = new Set(got.map((entry) => entry.id));
  for (const [id, score] of reference) if (!returned.has(id)) expect(score).toBeLessThanOrEqual(last + 1e-9);
}

async function ranking(store: SqliteVectorStore, question: string, limit = 10) {
  return (await store.search({ scope: ask, terms: analyze(question), limit })).map((result) => ({
    id: result.chunk.id,
    score: result.score,
  }));
}

/** A file in `directory` of 10 chunks in sealed segments of 4, closed, and the ranking it gave for "kubernetes payroll". */
async function sealedFile(
  directory: string,
): Promise<{ path: string; before: Awaited<ReturnType<typeof ranking>> }> {
  const path = join(directory, "teammate.sqlite");
  const writerDatabase = openSqliteDatabase(path);
  const writer = new SqliteVectorStore(writerDatabase, { segmentChunks: 4 });
  for (let document = 0; document < 5; document++) {
    await writer.replaceDocument(
      `doc-${document}`,
      scope,
      records(`doc-${document}`, [`kubernetes cluster ${document}`, `payroll runs ${document}`]),
    );
  }
  const before = await ranking(writer, "kubernetes payroll");
  writerDatabase.close();
  return { path, before };
}

describe("SqliteVectorStore index", () => {
  let directory: string;

  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), "teammate-index-"));
  });

  afterEach(() => {
    rmSync(directory, { recursive: true, force: true });
  });

  it("pruned scoring returns exactly the chunks and scores of visiting every posting", async () => {
    const database = new Database(":memory:");
    const pruned = new SqliteVectorStore(database, { segmentChunks: 50 });
    const exhaustive = new SqliteVectorStore(database, { segmentChunks: 50, exhaustiveScoring: true });
    const next = seededRandom(7);
    const live = new Map<string, string[]>();
    for (let document = 0; document < 120; document++) {
      const texts = Array.from({ length: 1 + Math.floor(next() * 4) }, () =>
        sentence(next, 3 + Math.floor(next() * 30)),
      );
      const chunks = records(`doc-${document}`, texts);
      for (const chunk of chunks) live.set(chunk.id, chunk.terms);
      await pruned.replaceDocument(`doc-${document}`, scope, chunks);
    }
    for (let query = 0; query < 60; query++) {
      const question = sentence(next, 1 + Math.floor(next() * 8));
      for (const limit of [1, 5, 20]) {
        const got = await ranking(pruned, question, limit);
        expect(got).toEqual(await ranking(exhaustive, question, limit));
        expectReference(got, referenceScores(live, question), limit);
      }
    }
    database.close();
  });

  it("a restart answers from the persisted segments without reading the chunks they cover", async () => {
    const { path, before } = await sealedFile(directory);
    expect(before).toHaveLength(10);

    // Damage the forward index of every sealed chunk: a store that rebuilt from the chunks would no
    // longer find them; one that loads its segments still does.
    const damage = new Database(path);
    const { sealed } = damage.prepare("SELECT max(sealed_through) AS sealed FROM knowledge_scopes").get() as {
      sealed: number;
    };
    expect(sealed).toBeGreaterThan(0);
    damage.prepare("UPDATE knowledge_chunks SET term_frequencies = X'' WHERE rowid <= ?").run(sealed);
    damage.close();

    const database = openSqliteDatabase(path);
    const restarted = new SqliteVectorStore(database, { segmentChunks: 4 });
    await restarted.warmUp();
    expect(await ranking(restarted, "kubernetes payroll")).toEqual(before);
    database.close();
  });

  it("re-indexing one document reads only that document's chunks, not the rest of the scope", async () => {
    const path = join(directory, "teammate.sqlite");
    const database = openSqliteDatabase(path);
    const store = new SqliteVectorStore(database, { segmentChunks: 1_000 });
    for (let document = 0; document < 20; document++) {
      await store.replaceDocument(
        `doc-${document}`,
        scope,
        records(`doc-${document}`, [`helm chart ${document}`]),
      );
    }
    expect(await ranking(store, "helm chart", 50)).toHaveLength(20);

    // Every other document's chunks lose their forward index: a rebuild would lose them all.
    database.prepare("UPDATE knowledge_chunks SET term_frequencies = X'' WHERE document_id != 'doc-3'").run();
    await store.replaceDocument("doc-3", scope, records("doc-3", ["helm rollback steps"]));

    const after = await ranking(store, "helm chart", 50);
    expect(after).toHaveLength(20);
    expect(after.map((entry) => entry.id)).toContain(chunkId("doc-3", 0));
    expect(await ranking(store, "rollback")).toEqual([
      { id: chunkId("doc-3", 0), score: expect.any(Number) },
    ]);
    database.close();
  });

  it("re-indexing a document of a sealed segment writes a few pages, not the segment", async () => {
    // A segment's counts change with every chunk removed from it; its data never does. SQLite writes a
    // row whole when its size changes (a count going from 1 to 2 takes a byte more), so counts kept in
    // the row of a 21 MB segment put 21 MB in the log.
    const path = join(directory, "teammate.sqlite");
    const database = openSqliteDatabase(path);
    const store = new SqliteVectorStore(database, { segmentChunks: 1_000 });
    const next = seededRandom(17);
    // Words of its own in each chunk make the segment large: thousands of terms, each with its list.
    const text = (document: number, position: number) =>
      `${sentence(next, 12)} ${Array.from({ length: 20 }, (_, word) => `w${document}x${position}x${word}`).join(" ")}`;
    await store.replaceDocuments(
      Array.from({ length: 500 }, (_, document) => ({
        documentId: `doc-${document}`,
        scope,
        chunks: records(`doc-${document}`, [text(document, 0), text(document, 1)]),
      })),
    );
    // One sealed segment of all 1,000 chunks: about 140 pages of data.
    expect(database.prepare("SELECT chunk_count FROM knowledge_segments").all()).toEqual([
      { chunk_count: 1_000 },
    ]);

    database.pragma("wal_checkpoint(TRUNCATE)");
    await store.replaceDocument("doc-7", scope, records("doc-7", ["zeppelin hangar", "airship"]));
    const [checkpoint] = database.pragma("wal_checkpoint(PASSIVE)") as Array<{ log: number }>;
    // The document's rows and their index entries, the deletion log, the counts: about a dozen pages.
    expect(checkpoint?.log).toBeLessThan(30);
    expect(await ranking(store, "zeppelin")).toEqual([
      { id: chunkId("doc-7", 0), score: expect.any(Number) },
    ]);
    database.close();
  });

  it("keeps the segments of a file whose segment data sat beside their counts (version 3)", async () => {
    const { path, before } = await sealedFile(directory);

    // Back to version 3's layout; the forward index of every sealed chunk damaged, so only segments
    // that survived the migration can still answer.
    const old = new Database(path);
    old.exec(`
      ALTER TABLE knowledge_segments ADD COLUMN data BLOB;
      UPDATE knowledge_segments SET data = (SELECT data FROM knowledge_segment_data WHERE segment_id = id);
      DROP TABLE knowledge_segment_data;
      UPDATE schema_versions SET version = 3 WHERE component = 'knowledge';
      UPDATE knowledge_chunks SET term_frequencies = X'' WHERE rowid <= (SELECT max(sealed_through) FROM knowledge_scopes);
    `);
    old.close();

    const database = openSqliteDatabase(path);
    const restarted = new SqliteVectorStore(database, { segmentChunks: 4 });
    expect(await ranking(restarted, "kubernetes payroll")).toEqual(before);
    database.close();
  });

  it("another instance on the same file follows adds, replacements, deletions, seals and compactions", async () => {
    const path = join(directory, "teammate.sqlite");
    const writerDatabase = openSqliteDatabase(path);
    const readerDatabase = openSqliteDatabase(path);
    const writer = new SqliteVectorStore(writerDatabase, { segmentChunks: 3 });
    const reader = new SqliteVectorStore(readerDatabase, { segmentChunks: 3 });
    const next = seededRandom(11);
    const questions = Array.from({ length: 8 }, () => sentence(next, 3));
    const documents = new Map<string, ChunkRecord[]>();
    for (let step = 0; step < 80; step++) {
      const documentId = `doc-${Math.floor(next() * 12)}`;
      if (next() < 0.25) {
        await writer.deleteDocument(scope, documentId);
        documents.delete(documentId);
      } else {
        const texts = Array.from({ length: 1 + Math.floor(next() * 3) }, () => sentence(next, 6));
        documents.set(documentId, records(documentId, texts));
        await writer.replaceDocument(documentId, scope, records(documentId, texts));
      }
      const live = new Map(
        [...documents.values()].flat().map((chunk) => [chunk.id, chunk.terms] as [string, string[]]),
      );
      if (step % 4 !== 3) continue;
      // Before a search the reader's index is behind (the table answers), after it the index does.
      expect(await reader.hasChunks(ask)).toBe(live.size > 0);
      const fresh = new SqliteVectorStore(writerDatabase, { segmentChunks: 3, exhaustiveScoring: true });
      for (const question of questions) {
        const expected = await ranking(fresh, question);
        const seen = await ranking(reader, question);
        expectReference(seen, referenceScores(live, question), 10);
        expect(seen.map((entry) => entry.id)).toEqual(expected.map((entry) => entry.id));
        seen.forEach((entry, rank) => {
          expect(entry.score).toBeCloseTo(expected[rank]?.score ?? 0, 9);
        });
      }
      expect(await reader.hasChunks(ask)).toBe(live.size > 0);
    }
    // Segments were sealed, and merged into larger ones on the way.
    const segments = writerDatabase
      .prepare("SELECT count(*) AS count, max(chunk_count) AS largest FROM knowledge_segments")
      .get() as { count: number; largest: number };
    expect(segments.count).toBeGreaterThan(0);
    expect(segments.largest).toBeGreaterThan(3);
    // Everything forgotten: an index that has caught up holds no live chunk; one new chunk is seen
    // at once (the index is behind again), and still once the index holds it.
    for (const documentId of documents.keys()) await writer.deleteDocument(scope, documentId);
    await ranking(reader, questions[0] as string);
    expect(await reader.hasChunks(ask)).toBe(false);
    await writer.replaceDocument("last", scope, records("last", ["one more rollback"]));
    expect(await reader.hasChunks(ask)).toBe(true);
    await ranking(reader, questions[0] as string);
    expect(await reader.hasChunks(ask)).toBe(true);
    writerDatabase.close();
    readerDatabase.close();
  });

  it("counts unsealed chunks exactly through batches that add, replace and repeat documents across scopes", async () => {
    // The count decides when to seal; a batch counts its additions per scope at once, so a document
    // replaced twice in one batch, or a removal after additions, must still leave it exact.
    const database = openSqliteDatabase(join(directory, "teammate.sqlite"));
    const store = new SqliteVectorStore(database, { segmentChunks: 4 });
    const scopes: DocumentScope[] = [
      scope,
      { ...scope, channelId: "general" },
      { ...scope, workspaceId: "other" },
    ];
    const next = seededRandom(5);
    const pick = <T>(values: readonly T[]) => values[Math.floor(next() * values.length)] as T;
    const unsealedMismatches = () =>
      database
        .prepare(
          `SELECT s.id, s.unsealed_chunks AS counted,
                  (SELECT count(*) FROM knowledge_chunks c WHERE c.scope_id = s.id AND c.rowid > s.sealed_through) AS actual
             FROM knowledge_scopes s WHERE counted != actual`,
        )
        .all();
    for (let step = 0; step < 120; step++) {
      if (next() < 0.2) {
        await store.deleteDocument(pick(scopes), `doc-${Math.floor(next() * 8)}`);
      } else {
        const batch = Array.from({ length: 1 + Math.floor(next() * 4) }, () => {
          const documentId = `doc-${Math.floor(next() * 8)}`;
          const documentScope = pick(scopes);
          const texts = Array.from({ length: Math.floor(next() * 4) }, () => sentence(next, 4));
          return { documentId, scope: documentScope, chunks: records(documentId, texts, documentScope) };
        });
        await store.replaceDocuments(batch);
      }
      expect(unsealedMismatches()).toEqual([]);
    }
    const sealed = database.prepare("SELECT count(*) AS count FROM knowledge_segments").get() as {
      count: number;
    };
    expect(sealed.count).toBeGreaterThan(0);
    database.close();
  });

  it("a batch replaces every earlier write of its documents, in any channel of their workspace, and no other workspace's", async () => {
    // A batch looks up which of its documents have chunks and removes only those: a document it misses
    // (one of many in a look-up, written earlier in the same batch, an id SQLite reads back altered, a
    // channel other than the one written to) would keep its old chunks beside the new ones.
    const database = openSqliteDatabase(join(directory, "teammate.sqlite"));
    const store = new SqliteVectorStore(database, { segmentChunks: 16 });
    const workspaces = ["alpha", "beta"];
    const channels = [undefined, "general", "random"];
    const oddIds = ["doc'1", "doc,2", "NULL", "\ud800", "\udc00x", "d\u0000e", "😀", ""];
    const documentIds = [...oddIds, ...Array.from({ length: 60 }, (_, index) => `doc-${index}`)];
    const next = seededRandom(11);
    const pick = pickWith(next);
    // (workspace, document id) → what its last write stored: channel and texts.
    const expected = new Map<
      string,
      { workspaceId: string; documentId: string; channel: string; texts: string[] }
    >();
    let removed = 0;
    for (let step = 0; step < 60; step++) {
      const batch = Array.from({ length: 1 + Math.floor(next() * 80) }, () => {
        const documentId = pick(documentIds);
        const channelId = pick(channels);
        const documentScope: DocumentScope = { platform: "local", workspaceId: pick(workspaces) };
        if (channelId) documentScope.channelId = channelId;
        const texts = Array.from({ length: Math.floor(next() * 3) }, () => sentence(next, 3));
        const key = JSON.stringify([documentScope.workspaceId, documentId]);
        removed += expected.get(key)?.texts.length ?? 0;
        expected.set(key, {
          workspaceId: documentScope.workspaceId,
          documentId,
          channel: channelId ?? "",
          texts,
        });
        return { documentId, scope: documentScope, chunks: records(documentId, texts, documentScope) };
      });
      await store.replaceDocuments(batch);
      const stored = database
        .prepare(
          `SELECT s.workspace_id AS workspaceId, hex(c.document_id) AS id, s.channel_id AS channel, c.text
             FROM knowledge_chunks c JOIN knowledge_scopes s ON s.id = c.scope_id
             ORDER BY s.workspace_id, hex(c.document_id), c.position`,
        )
        .all();
      const hexOf = database.prepare("SELECT hex(?) AS id").pluck();
      const wanted = [...expected.values()]
        .flatMap(({ workspaceId, documentId, channel, texts }) =>
          texts.map((text, position) => ({
            workspaceId,
            id: hexOf.get(documentId) as string,
            channel,
            text,
            position,
          })),
        )
        .sort((a, b) =>
          a.workspaceId !== b.workspaceId
            ? a.workspaceId < b.workspaceId
              ? -1
              : 1
            : a.id !== b.id
              ? a.id < b.id
                ? -1
                : 1
              : a.position - b.position,
        )
        .map(({ position: _position, ...row }) => row);
      expect(stored).toEqual(wanted);
      const logged = database.prepare("SELECT count(*) AS count FROM knowledge_deletions").get() as {
        count: number;
      };
      expect(logged.count).toBe(removed);
    }
    database.close();
  });

  it("opens a database written before the index was persisted and keeps its chunks", async () => {
    const path = join(directory, "teammate.sqlite");
    const old = new Database(path);
    old.exec(`
      CREATE TABLE knowledge_scopes (id INTEGER PRIMARY KEY, platform TEXT NOT NULL, workspace_id TEXT NOT NULL,
        channel_id TEXT NOT NULL, generation INTEGER NOT NULL DEFAULT 0, UNIQUE (platform, workspace_id, channel_id)) STRICT;
      CREATE TABLE knowledge_chunks (rowid INTEGER PRIMARY KEY, scope_id INTEGER NOT NULL, document_id TEXT NOT NULL,
        position INTEGER NOT NULL, chunk_id TEXT NOT NULL, title TEXT NOT NULL, heading_path TEXT NOT NULL,
        source TEXT NOT NULL, text TEXT NOT NULL, length INTEGER NOT NULL, term_frequencies BLOB NOT NULL, dense BLOB) STRICT;
      CREATE INDEX knowledge_chunks_by_document ON knowledge_chunks (scope_id, document_id);
    `);
    const terms = analyze("vault password rotation");
    const ids = [...new Set(terms.map(termId))];
    const forward = Uint32Array.from([
      ...ids,
      ...ids.map((id) => terms.filter((term) => termId(term) === id).length),
    ]);
    old
      .prepare(
        "INSERT INTO knowledge_scopes (platform, workspace_id, channel_id, generation) VALUES (?, ?, '', 1)",
      )
      .run(scope.platform, scope.workspaceId);
    old
      .prepare(
        `INSERT INTO knowledge_chunks (scope_id, document_id, position, chunk_id, title, heading_path, source, text, length, term_frequencies)
         VALUES (1, 'legacy', 0, ?, 'legacy', '[]', 'legacy.txt', 'vault password rotation', ?, ?)`,
      )
      .run(chunkId("legacy", 0), terms.length, Buffer.from(forward.buffer));
    old.close();

    const database = openSqliteDatabase(path);
    const store = new SqliteVectorStore(database);
    expect((await ranking(store, "vault password")).map((entry) => entry.id)).toEqual([chunkId("legacy", 0)]);
    await store.replaceDocument("legacy", scope, records("legacy", ["vault moved"]));
    expect(await ranking(store, "password")).toEqual([]);
    database.close();
  });

  it("remembers the size of its dense vectors: another size is refused, and so is opening it for another model", async () => {
    const database = new Database(":memory:");
    const store = new SqliteVectorStore(database, { denseDimensions: 3 });
    const withDense = (dense: number[]) =>
      records("doc", ["payroll schedule"]).map((chunk) => ({ ...chunk, dense }));
    await store.replaceDocument("doc", scope, withDense([1, 0, 0]));
    await expect(store.replaceDocument("other", scope, withDense([1, 0]))).rejects.toMatchObject({
      code: "input_invalid",
    });
    expect(() => new SqliteVectorStore(database, { denseDimensions: 4 })).toThrow(/3-dimensional.*gives 4/);
    const reopened = new SqliteVectorStore(database, { denseDimensions: 3 });
    const found = await reopened.search({ scope: ask, terms: [], dense: [0.9, 0.1, 0], limit: 5 });
    expect(found.map((result) => result.chunk.documentId)).toEqual(["doc"]);
    database.close();
  });
  it("counts matched terms as analysis would, in sealed segments and the tail alike and for a dense hit written while the search yielded", async () => {
    const database = new Database(":memory:");
    const reader = new SqliteVectorStore(database, { segmentChunks: 3, denseDimensions: 2 });
    const writer = new SqliteVectorStore(database, { segmentChunks: 3, denseDimensions: 2 });
    const vocabulary = [
      "payroll",
      "schedule",
      "deploy",
      "freeze",
      "standup",
      "oak",
      "room",
      "budget",
      "review",
    ];
    const pick = seededRandom(7);
    const texts = Array.from({ length: 2_100 }, () =>
      Array.from({ length: 6 }, () => vocabulary[Math.floor(pick() * vocabulary.length)]).join(" "),
    );
    // Every vector points away from the question's, so the chunk written during the search wins it.
    await writer.replaceDocuments(
      texts.map((text, index) => ({
        documentId: `d${index}`,
        scope,
        chunks: records(`d${index}`, [text]).map((chunk) => ({ ...chunk, dense: [0, 1] })),
      })),
    );
    await writer.deleteDocument(scope, "d5");
    const expected = (question: string, text: string) => {
      const chunkTerms = new Set(analyze(text));
      return [...new Set(analyze(question))].filter((term) => chunkTerms.has(term)).length;
    };
    const question = "payroll freeze review in the oak room";
    const found = await reader.search({ scope: ask, terms: analyze(question), limit: 60 });
    expect(found.length).toBe(60);
    for (const result of found) {
      const text = texts[Number(result.chunk.documentId.slice(1))] ?? "";
      expect(result.matchedTerms, result.chunk.documentId).toBe(expected(question, text));
    }

    // The dense search yields between steps of 2,048 rows; a chunk written meanwhile is found
    // before this process's index has read it.
    const late = "payroll review budget";
    const searching = reader.search({ scope: ask, terms: analyze(question), dense: [1, 0], limit: 5 });
    setImmediate(() => {
      void writer.replaceDocument(
        "late",
        scope,
        records("late", [late]).map((chunk) => ({ ...chunk, dense: [1, 0] })),
      );
    });
    const fused = await searching;
    const lateResult = fused.find((result) => result.chunk.documentId === "late");
    expect(lateResult?.matchedTerms).toBe(expected(question, late));
    expect(expected(question, late)).toBe(2);
    database.close();
  });
});
