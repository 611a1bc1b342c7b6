import type { Database, Statement } from "better-sqlite3";
import { AppError } from "../../core/errors.js";
import { RRF_K, termCountsOf, termId } from "../../core/knowledge/sparse.js";
import type {
  ChunkWrite,
  DocumentReplacement,
  DocumentScope,
  DocumentSummary,
  QueryScope,
  ScoredChunk,
  VectorQuery,
  VectorStore,
} from "../../core/ports/vector-store.js";
import { Bm25Scorer, MAXIMUM_SEGMENT_CHUNKS, SealedSegment, TailPart, TopEntries } from "./bm25-index.js";
import { migrateSqliteSchema, type SqliteMigration } from "./migrate-sqlite-schema.js";

export interface SqliteVectorStoreOptions {
  /** BM25 term-frequency saturation. */
  k1?: number;
  /** BM25 length normalization. */
  b?: number;
  /** Reciprocal-rank-fusion constant for hybrid search; `RRF_K` (shared with the Qdrant store) by default. */
  rrfK?: number;
  /** How many candidates each side (dense, BM25) contributes to the fusion, at least. */
  fusionCandidates?: number;
  /** Chunks per sealed index segment (`DEFAULT_SEGMENT_CHUNKS`); small values let tests seal often. */
  segmentChunks?: number;
  /**
   * Size of the embedding model's vectors. The index remembers the size of the first vectors it
   * stores; opening it with another size is a configuration error, and vectors of another size are
   * refused, so two models' vectors are never compared.
   */
  denseDimensions?: number | undefined;
  /** Score every posting instead of pruning: the reference the pruned scoring must equal (tests, bench). */
  exhaustiveScoring?: boolean;
}

/**
 * Lucene's classic defaults. On the SciFact and ko-welfare-qa train splits (800 questions each) a grid
 * over k1 ∈ {0.9, 1.2, 1.5, 2} and b ∈ {0.4, 0.6, 0.75, 0.9} found nothing better on both at once.
 */
const DEFAULT_BM25_K1 = 1.2;
const DEFAULT_BM25_B = 0.75;

/**
 * Chunks per newly sealed index segment: the tail of newer chunks, which a restart or another process
 * reads row by row, stays below it. Sealed segments merge in tiers (`MERGE_FACTOR` of one size make
 * one of the next: 1,000 → 8,000 → 64,000, which still fits 16-bit slots), so a scope of 500k chunks
 * has about twenty segments and every chunk is rewritten about three times.
 */
const DEFAULT_SEGMENT_CHUNKS = 1_000;
const MERGE_FACTOR = 8;

const KNOWLEDGE_TABLES_V1 = `
CREATE TABLE IF NOT EXISTS knowledge_scopes (
  id INTEGER PRIMARY KEY,
  platform TEXT NOT NULL,
  workspace_id TEXT NOT NULL,
  channel_id TEXT NOT NULL,
  -- Bumped by every write, so an in-memory inverted index knows when it is stale.
  generation INTEGER NOT NULL DEFAULT 0,
  UNIQUE (platform, workspace_id, channel_id)
) STRICT;
CREATE TABLE IF NOT EXISTS knowledge_chunks (
  rowid INTEGER PRIMARY KEY,
  -- No REFERENCES clause: with foreign keys on, every generation bump of a scope would scan all of
  -- its chunks (ingestion turned quadratic), and scopes are never deleted.
  scope_id INTEGER NOT NULL,
  document_id TEXT NOT NULL,
  position INTEGER NOT NULL,
  chunk_id TEXT NOT NULL,
  title TEXT NOT NULL,
  heading_path TEXT NOT NULL,
  source TEXT NOT NULL,
  text TEXT NOT NULL,
  -- BM25 document length: the number of analyzed terms.
  length INTEGER NOT NULL,
  -- Forward index: distinct term ids (Uint32) followed by their frequencies (Uint32), same order.
  term_frequencies BLOB NOT NULL,
  dense BLOB
) STRICT;
CREATE INDEX IF NOT EXISTS knowledge_chunks_by_document ON knowledge_chunks (scope_id, document_id);
`;

/**
 * Version 2: the inverted index is persisted and updated in place.
 * - Rowids never come back (AUTOINCREMENT), so "rows after the last one this process has seen" is a
 *   complete list of additions, whichever process wrote them.
 * - `knowledge_segments` holds sealed index segments (see `bm25-index.ts`): each covers a rowid range
 *   of one scope as it was when sealed; `deletion_sequence` is the last deletion it already reflects.
 * - `knowledge_deletions` logs every removed chunk with its terms, so an index that holds it (in any
 *   process) can tombstone it and correct its term counts without a rebuild.
 * - Scopes count the chunks not yet sealed, so a write knows when to seal without counting rows.
 */
const KNOWLEDGE_TABLES_V2 = `
CREATE TABLE knowledge_chunks_next (
  rowid INTEGER PRIMARY KEY AUTOINCREMENT,
  scope_id INTEGER NOT NULL,
  document_id TEXT NOT NULL,
  position INTEGER NOT NULL,
  chunk_id TEXT NOT NULL,
  title TEXT NOT NULL,
  heading_path TEXT NOT NULL,
  source TEXT NOT NULL,
  text TEXT NOT NULL,
  length INTEGER NOT NULL,
  term_frequencies BLOB NOT NULL,
  dense BLOB
) STRICT;
INSERT INTO knowledge_chunks_next
  SELECT rowid, scope_id, document_id, position, chunk_id, title, heading_path, source, text, length,
         term_frequencies, dense
    FROM knowledge_chunks;
DROP TABLE knowledge_chunks;
ALTER TABLE knowledge_chunks_next RENAME TO knowledge_chunks;
CREATE INDEX knowledge_chunks_by_document ON knowledge_chunks (scope_id, document_id);
CREATE INDEX knowledge_chunks_by_scope ON knowledge_chunks (scope_id);
ALTER TABLE knowledge_scopes ADD COLUMN sealed_through INTEGER NOT NULL DEFAULT 0;
ALTER TABLE knowledge_scopes ADD COLUMN unsealed_chunks INTEGER NOT NULL DEFAULT 0;
UPDATE knowledge_scopes SET
  unsealed_chunks = (SELECT count(*) FROM knowledge_chunks WHERE scope_id = knowledge_scopes.id),
  generation = generation + 1;
CREATE TABLE knowledge_segments (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  scope_id INTEGER NOT NULL,
  first_rowid INTEGER NOT NULL,
  last_rowid INTEGER NOT NULL,
  chunk_count INTEGER NOT NULL,
  deleted_chunks INTEGER NOT NULL DEFAULT 0,
  deletion_sequence INTEGER NOT NULL,
  data BLOB NOT NULL
) STRICT;
CREATE INDEX knowledge_segments_by_scope ON knowledge_segments (scope_id, first_rowid);
CREATE TABLE knowledge_deletions (
  sequence INTEGER PRIMARY KEY AUTOINCREMENT,
  scope_id INTEGER NOT NULL,
  chunk_rowid INTEGER NOT NULL,
  term_frequencies BLOB NOT NULL
) STRICT;
CREATE INDEX knowledge_deletions_by_scope ON knowledge_deletions (scope_id, sequence);
CREATE INDEX knowledge_deletions_by_chunk ON knowledge_deletions (scope_id, chunk_rowid);
-- Facts about the whole index, such as the size of its dense vectors (dense_dimensions).
CREATE TABLE knowledge_settings (name TEXT PRIMARY KEY, value INTEGER NOT NULL) STRICT;
`;

/** Version 3: tokens of each chunk's text, when the chunker counted them (prompt budgets use it). */
const KNOWLEDGE_TABLES_V3 = "ALTER TABLE knowledge_chunks ADD COLUMN tokens INTEGER";

/**
 * Version 4: a segment's data in a row of its own. Its counts change with every chunk removed from the
 * segment and its data never does, but SQLite reads a row whole to update it, and writes it whole when
 * its size changes: beside the counts, a 64,000-chunk segment's 21 MB were read for each chunk a
 * re-index removed (15-40 ms each, inside the write), and put in the log when a count took a byte more.
 */
const KNOWLEDGE_TABLES_V4 = `
CREATE TABLE knowledge_segment_data (segment_id INTEGER PRIMARY KEY, data BLOB NOT NULL) STRICT;
INSERT INTO knowledge_segment_data (segment_id, data) SELECT id, data FROM knowledge_segments;
ALTER TABLE knowledge_segments DROP COLUMN data;
`;

const MIGRATIONS: readonly SqliteMigration[] = [
  (database) => database.exec(KNOWLEDGE_TABLES_V1),
  (database) => database.exec(KNOWLEDGE_TABLES_V2),
  (database) => database.exec(KNOWLEDGE_TABLES_V3),
  (database) => database.exec(KNOWLEDGE_TABLES_V4),
];

// Channel id stored for workspace-wide documents: SQLite UNIQUE treats NULLs as distinct.
const WORKSPACE_WIDE = "";
/** Document ids a presence look-up of `replaceNow` binds at once (see `documentsWithChunks`). */
const PRESENCE_IDS = 32;
/** Whether any of `PRESENCE_IDS` documents has a chunk in some scope of a workspace (platform, workspace id). */
const ANY_OF_DOCUMENTS = `SELECT 1 FROM knowledge_chunks
  WHERE document_id IN (${Array.from({ length: PRESENCE_IDS }, () => "?").join(", ")})
    AND scope_id IN (SELECT id FROM knowledge_scopes WHERE platform = ? AND workspace_id = ?)
  LIMIT 1`;

/**
 * A document within its workspace, where `removeDocument` looks for it (every channel's scope). JSON, so
 * that different triples never share a key (ids may hold any character).
 */
function documentKey(scope: Pick<DocumentScope, "platform" | "workspaceId">, documentId: string): string {
  return JSON.stringify([scope.platform, scope.workspaceId, documentId]);
}

/**
 * A chunk as `chunksByRowid` reads it: in raw mode (an array per row, in the columns' order), which
 * builds each of a question's ~20 candidates without an object keyed by column name.
 */
type ChunkRow = [
  rowid: number,
  scopeId: number,
  documentId: string,
  position: number,
  chunkId: string,
  title: string,
  headingPath: string,
  source: string,
  text: string,
  tokens: number | null,
];

interface ScopeRow {
  id: number;
  platform: string;
  workspace_id: string;
  channel_id: string;
  generation: number;
  sealed_through: number;
  unsealed_chunks: number;
}

interface SegmentRow {
  id: number;
  first_rowid: number;
  last_rowid: number;
  chunk_count: number;
  deleted_chunks: number;
  deletion_sequence: number;
}

/** What this process holds of one scope's index, and how far it has read the tables. */
interface ScopeIndex {
  scopeId: number;
  /** The scope's generation this index reflects; -1 before the first load. */
  generation: number;
  /** Sealed segments by id, ascending by rowid range. */
  segments: Map<number, SealedSegment>;
  /** Highest rowid the segments cover; the tail holds later chunks. */
  sealedThrough: number;
  tail: TailPart;
  /** Last deletion (sequence) applied. */
  deletionCursor: number;
  /** A catch-up under way, which a concurrent search waits for. */
  pending?: Promise<void> | undefined;
}

// Rows read between two yields to the event loop while an index loads or catches up.
const ROWS_PER_STEP = 4_096;
// Dense vectors scored between two yields.
const DENSE_ROWS_PER_STEP = 2_048;

/**
 * The embedded knowledge index: chunks with their analyzed-term frequencies and dense vectors in the
 * SQLite file the memory store also uses (`knowledge_*` tables).
 *
 * BM25 runs over an inverted index per scope (`bm25-index.ts`) kept in memory and persisted in SQLite:
 * every `segmentChunks` chunks of a scope are sealed, within the write's own transaction, into a
 * segment blob that a restart loads as typed arrays instead of re-reading every chunk. Newer chunks and
 * removals reach the index incrementally: chunks after the last rowid it has seen, and the deletion
 * log after the last sequence it has applied; a `generation` per scope says when to look. So a write
 * costs in proportion to the document written, another process's writes are picked up the same way,
 * and loading or catching up yields to the event loop between bounded steps. SQLite stays the only
 * source of truth: an index can always be rebuilt from `knowledge_chunks` (the segments are derived).
 *
 * This beats FTS5 here on every count that matters: FTS5's `bm25()` fixes k1/b at 1.2/0.75, computes
 * document frequencies across all tenants instead of the asker's scope, and an OR query over a long
 * question costs milliseconds.
 *
 * Dense vectors are unit-normalized Float32 blobs scored by cosine in JavaScript over the scope's rows,
 * in steps that yield to the event loop. sqlite-vec is not a dependency: an exact scan over one
 * workspace's chunks keeps the scope filter exact (no approximate pre-filtering).
 */
export class SqliteVectorStore implements VectorStore {
  private readonly k1: number;
  private readonly b: number;
  private readonly rrfK: number;
  private readonly fusionCandidates: number;
  private readonly segmentChunks: number;
  private readonly statements: ReturnType<typeof prepareStatements>;
  private readonly indexes = new Map<number, ScopeIndex>();
  private readonly scorer: Bm25Scorer;
  /**
   * The BM25 entries of every search, emptied for each (the scoring is synchronous). Kept for the
   * store's life so that their hidden class is: V8 keeps the hidden class of objects no longer alive
   * through two major collections (`--retain-maps-for-n-gc`), then lets it go with every function
   * compiled against it. A new object per search left none alive between questions, so three
   * collections in a quiet spell (the memory reducer's, or the bench's before re-indexing) threw the
   * compiled scorer away: the next questions ran unoptimized while it was compiled again on other
   * threads (~75 ms of CPU), which on two busy cores took the event loop's core (first query after a
   * re-index at 100k chunks 3-15 ms instead of 1-2).
   */
  private readonly sparseEntries = new TopEntries(0);
  private readonly writeTransaction: <T>(work: () => T) => T;
  private readonly readTransaction: <T>(work: () => T) => T;

  constructor(database: Database, options: SqliteVectorStoreOptions = {}) {
    this.k1 = options.k1 ?? DEFAULT_BM25_K1;
    this.b = options.b ?? DEFAULT_BM25_B;
    this.rrfK = options.rrfK ?? RRF_K;
    this.fusionCandidates = options.fusionCandidates ?? 100;
    this.segmentChunks = Math.min(
      MAXIMUM_SEGMENT_CHUNKS,
      Math.max(1, options.segmentChunks ?? DEFAULT_SEGMENT_CHUNKS),
    );
    this.scorer = new Bm25Scorer(options.exhaustiveScoring !== true);
    this.statements = guard("open the knowledge index", () => {
      migrateSqliteSchema(database, "knowledge", MIGRATIONS);
      return prepareStatements(database);
    });
    const stored = this.storedDenseDimensions();
    if (options.denseDimensions !== undefined && stored !== undefined && stored !== options.denseDimensions) {
      throw new AppError(
        "config_invalid",
        `The embedded knowledge index holds ${stored}-dimensional vectors but the embedding model gives ${options.denseDimensions}; forget and re-index the documents, or use another DATA_DIR`,
      );
    }
    // IMMEDIATE takes the write lock up front, so a concurrent writer waits instead of failing mid-way.
    const transaction = database.transaction((work: () => unknown) => work());
    this.writeTransaction = <T>(work: () => T) => transaction.immediate(work) as T;
    // One read snapshot for statements that must agree with each other.
    this.readTransaction = <T>(work: () => T) => transaction.deferred(work) as T;
  }

  async replaceDocument(documentId: string, scope: DocumentScope, chunks: ChunkWrite[]): Promise<void> {
    guard("index a document", () => this.replaceNow([{ documentId, scope, chunks }]));
  }

  async replaceDocuments(documents: readonly DocumentReplacement[]): Promise<void> {
    if (documents.length === 0) return;
    guard("index documents", () => this.replaceNow(documents));
  }

  async deleteDocument(
    scope: Pick<DocumentScope, "platform" | "workspaceId">,
    documentId: string,
  ): Promise<number> {
    return guard("delete a document", () =>
      this.writeTransaction(() => this.removeDocument(scope, documentId)),
    );
  }

  async search(query: VectorQuery): Promise<ScoredChunk[]> {
    return guardAsync("search the knowledge index", () => this.searchNow(query));
  }

  async hasChunks(scope: QueryScope): Promise<boolean> {
    return guard("look for documents", () => {
      const row = this.statements.anyChunk.get(
        scope.platform,
        scope.workspaceId,
        // The channel twice leaves the workspace-wide scope out (see `visibleScopes`).
        scope.channelDocumentsOnly ? scope.channelId : WORKSPACE_WIDE,
        scope.channelId,
      ) as { present: number };
      return row.present === 1;
    });
  }

  /**
   * Loads every scope's index ahead of the first question (the bot calls it at start-up without
   * waiting): segments are read one at a time with the event loop free in between.
   */
  async warmUp(): Promise<void> {
    await guardAsync("load the knowledge index", async () => {
      const scopes = this.statements.allScopes.all() as ScopeRow[];
      for (const scopeRow of scopes) await this.indexFor(scopeRow);
    });
  }

  async listDocuments(scope: QueryScope): Promise<DocumentSummary[]> {
    return guard("list documents", () => {
      const summaries: DocumentSummary[] = [];
      for (const scopeRow of this.visibleScopes(scope)) {
        const rows = this.statements.listDocuments.all(scopeRow.id) as Array<{
          document_id: string;
          title: string;
          source: string;
          chunk_count: number;
        }>;
        for (const row of rows) {
          summaries.push({
            documentId: row.document_id,
            title: row.title,
            source: row.source,
            scope: toDocumentScope(scopeRow),
            chunkCount: row.chunk_count,
          });
        }
      }
      return summaries.sort(
        (left, right) =>
          left.title.localeCompare(right.title) || left.documentId.localeCompare(right.documentId),
      );
    });
  }

  async close(): Promise<void> {
    // The database belongs to whoever opened it (it is shared with the memory store).
    this.indexes.clear();
  }

  private storedDenseDimensions(): number | undefined {
    const row = this.statements.denseDimensions.get() as { value: number } | undefined;
    return row?.value;
  }

  /**
   * Every document of a batch in one write transaction: one commit (and one WAL sync of the pages the
   * batch shares: the scope row, the index leaves) instead of one per document, which was most of a
   * small document's write. Segments are sealed once, after the batch's rows are in.
   */
  private replaceNow(documents: readonly DocumentReplacement[]): void {
    const statements = this.statements;
    const prepared = documents.map(({ documentId, scope, chunks }) => ({
      documentId,
      scope,
      rows: chunks.map((chunk) => ({ chunk, termCounts: termCountsOf(chunk) })),
    }));
    const sizes = new Set(
      documents.flatMap(({ chunks }) => chunks.flatMap((chunk) => (chunk.dense ? [chunk.dense.length] : []))),
    );
    this.writeTransaction(() => {
      if (sizes.size > 0) {
        const expected = this.storedDenseDimensions() ?? [...sizes][0];
        if (sizes.size > 1 || !sizes.has(expected as number)) {
          throw new AppError(
            "input_invalid",
            `Dense vectors of ${[...sizes].join(", ")} dimensions; the knowledge index holds ${expected}`,
          );
        }
        statements.rememberDenseDimensions.run(expected);
      }
      // One generation bump per scope and batch: a reader catches up on the whole batch at once.
      const scopeIds = new Map<string, number>();
      // Chunks added per scope and not yet counted in `unsealed_chunks`: one UPDATE per scope and
      // batch instead of one per document (5,183 on SciFact). Additions in a row add up to the same
      // count (it is never negative, so `max(0, …)` cannot clip a sum of them); they are counted
      // before anything else reads or lowers it (a removal, the sealing).
      const uncounted = new Map<number, number>();
      // Only a document with rows has any to remove: one look-up for the batch instead of a DELETE per
      // document, most of which (a folder indexed for the first time) find nothing.
      const stored = this.documentsWithChunks(prepared);
      for (const { documentId, scope, rows } of prepared) {
        const document = documentKey(scope, documentId);
        if (stored.has(document)) this.removeDocument(scope, documentId, uncounted);
        // Written now: a later write of the same document in this batch replaces these rows.
        stored.add(document);
        const channelId = scope.channelId ?? WORKSPACE_WIDE;
        const key = `${scope.platform}\u0000${scope.workspaceId}\u0000${channelId}`;
        let scopeId = scopeIds.get(key);
        if (scopeId === undefined) {
          scopeId = (statements.touchScope.get(scope.platform, scope.workspaceId, channelId) as ScopeRow).id;
          scopeIds.set(key, scopeId);
        }
        for (const { chunk, termCounts } of rows) {
          const termFrequencies = termCounts.frequencies;
          statements.insertChunk.run(
            scopeId,
            documentId,
            chunk.position,
            chunk.id,
            chunk.title,
            JSON.stringify(chunk.headingPath),
            chunk.source,
            chunk.text,
            termCounts.total,
            Buffer.from(termFrequencies.buffer, termFrequencies.byteOffset, termFrequencies.byteLength),
            chunk.dense ? denseBlob(chunk.dense) : null,
            chunk.tokens ?? null,
          );
        }
        uncounted.set(scopeId, (uncounted.get(scopeId) ?? 0) + rows.length);
      }
      this.countUncounted(uncounted);
      for (const scopeId of scopeIds.values()) this.sealFullSegments(scopeId);
    });
  }

  /**
   * Within a write transaction: deletes, logs the deletions, keeps segment counts, compacts. Chunks
   * added earlier in the batch and not yet counted (`uncounted`) are counted before the first removal.
   */
  private removeDocument(
    scope: Pick<DocumentScope, "platform" | "workspaceId">,
    documentId: string,
    uncounted?: Map<number, number>,
  ): number {
    const statements = this.statements;
    const deleted = statements.deleteDocumentChunks.all(
      documentId,
      scope.platform,
      scope.workspaceId,
    ) as Array<{ scope_id: number; rowid: number; term_frequencies: Buffer }>;
    if (deleted.length === 0) return 0;
    if (uncounted) this.countUncounted(uncounted);
    const touchedScopes = new Map<number, ScopeRow>();
    // Unsealed chunks removed per scope, subtracted at once: max(0, max(0, n − 1) − 1) = max(0, n − 2).
    const unsealedRemoved = new Map<number, number>();
    for (const row of deleted) {
      statements.logDeletion.run(row.scope_id, row.rowid, row.term_frequencies);
      let scopeRow = touchedScopes.get(row.scope_id);
      if (!scopeRow) {
        scopeRow = statements.bumpGeneration.get(row.scope_id) as ScopeRow;
        touchedScopes.set(row.scope_id, scopeRow);
      }
      if (row.rowid > scopeRow.sealed_through) {
        unsealedRemoved.set(row.scope_id, (unsealedRemoved.get(row.scope_id) ?? 0) + 1);
      } else {
        statements.countSegmentDeletion.run(row.scope_id, row.rowid, row.rowid);
      }
    }
    for (const [scopeId, removed] of unsealedRemoved) statements.countUnsealed.run(-removed, scopeId);
    for (const scopeId of touchedScopes.keys()) this.compactSegments(scopeId);
    return deleted.length;
  }

  /**
   * Within a write transaction: the `documentKey`s of the documents among `documents` that may have chunks
   * in some scope of their workspace (where `removeDocument` looks). Ids are looked up `PRESENCE_IDS` at a
   * time, bound as `removeDocument` binds them; a group with any chunk answers for all its ids (SQLite
   * compares the ids, so no id read back needs to equal the one given, a lone surrogate's included).
   */
  private documentsWithChunks(
    documents: ReadonlyArray<Pick<DocumentReplacement, "documentId" | "scope">>,
  ): Set<string> {
    const byWorkspace = new Map<string, { scope: DocumentReplacement["scope"]; documentIds: Set<string> }>();
    for (const { documentId, scope } of documents) {
      const workspace = JSON.stringify([scope.platform, scope.workspaceId]);
      let entry = byWorkspace.get(workspace);
      if (!entry) {
        entry = { scope, documentIds: new Set() };
        byWorkspace.set(workspace, entry);
      }
      entry.documentIds.add(documentId);
    }
    const found = new Set<string>();
    const parameters: Array<string | null> = new Array(PRESENCE_IDS + 2);
    for (const { scope, documentIds } of byWorkspace.values()) {
      const ids = [...documentIds];
      parameters[PRESENCE_IDS] = scope.platform;
      parameters[PRESENCE_IDS + 1] = scope.workspaceId;
      for (let start = 0; start < ids.length; start += PRESENCE_IDS) {
        const group = ids.slice(start, start + PRESENCE_IDS);
        // Unused places hold NULL, which equals no id.
        for (let index = 0; index < PRESENCE_IDS; index++) parameters[index] = group[index] ?? null;
        if (this.statements.anyOfDocuments.get(...parameters) === undefined) continue;
        for (const documentId of group) found.add(documentKey(scope, documentId));
      }
    }
    return found;
  }

  /** Adds chunks counted in `uncounted` to their scopes' `unsealed_chunks`, and forgets them. */
  private countUncounted(uncounted: Map<number, number>): void {
    for (const [scopeId, added] of uncounted) this.statements.countUnsealed.run(added, scopeId);
    uncounted.clear();
  }

  /** Seals the oldest unsealed chunks of a scope while a full segment's worth is waiting. */
  private sealFullSegments(scopeId: number): void {
    const statements = this.statements;
    for (;;) {
      const scopeRow = statements.scopeById.get(scopeId) as ScopeRow;
      if (scopeRow.unsealed_chunks < this.segmentChunks) return;
      const rows = statements.unsealedRows.all(scopeId, scopeRow.sealed_through, this.segmentChunks) as Array<
        [number, number, Buffer]
      >;
      const last = rows.at(-1);
      if (!last) {
        statements.resetUnsealed.run(scopeId);
        return;
      }
      this.writeSegment(scopeId, rows);
      statements.markSealed.run(last[0], rows.length, scopeId);
      this.mergeNewestSegments(scopeId);
    }
  }

  /**
   * Tiered merging (as Lucene's log merge policy): while the newest segments include `MERGE_FACTOR`
   * smaller than the next tier's size, they become one, rebuilt from their live rows. A merge costs at
   * most one largest segment's worth of rows, whatever the scope holds.
   */
  private mergeNewestSegments(scopeId: number): void {
    const statements = this.statements;
    for (let tier = this.segmentChunks * MERGE_FACTOR; ; tier *= MERGE_FACTOR) {
      const segments = statements.segmentsOfScope.all(scopeId) as SegmentRow[];
      const run: SegmentRow[] = [];
      for (let index = segments.length - 1; index >= 0; index--) {
        const segment = segments[index] as SegmentRow;
        if (segment.chunk_count >= tier) break;
        run.unshift(segment);
      }
      if (run.length < MERGE_FACTOR) return;
      const group: SegmentRow[] = [];
      let total = 0;
      for (const segment of run) {
        const live = segment.chunk_count - segment.deleted_chunks;
        if (total + live > MAXIMUM_SEGMENT_CHUNKS) break;
        group.push(segment);
        total += live;
      }
      const first = group[0];
      const last = group.at(-1);
      if (group.length < 2 || !first || !last) return;
      for (const segment of group) this.deleteSegment(segment.id);
      const rows = statements.rowsInRange.all(scopeId, first.first_rowid, last.last_rowid) as Array<
        [number, number, Buffer]
      >;
      if (rows.length > 0) this.writeSegment(scopeId, rows, first.first_rowid, last.last_rowid);
    }
  }

  /**
   * Rewrites the segments of a scope of which at least half the chunks are gone, from the live rows
   * of their range. Each rewrite costs one segment's worth, never the whole scope.
   */
  private compactSegments(scopeId: number): void {
    const statements = this.statements;
    for (const segment of statements.segmentsToCompact.all(scopeId) as SegmentRow[]) {
      this.deleteSegment(segment.id);
      const rows = statements.rowsInRange.all(scopeId, segment.first_rowid, segment.last_rowid) as Array<
        [number, number, Buffer]
      >;
      if (rows.length > 0) this.writeSegment(scopeId, rows, segment.first_rowid, segment.last_rowid);
    }
  }

  private writeSegment(
    scopeId: number,
    rows: Array<[number, number, Buffer]>,
    firstRowid = rows[0]?.[0] ?? 0,
    lastRowid = rows.at(-1)?.[0] ?? 0,
  ): void {
    const segment = SealedSegment.build(
      rows.map(([rowid, length, blob]) => ({ rowid, length, termFrequencies: termFrequenciesOf(blob) })),
      { k1: this.k1, b: this.b },
    );
    const { sequence } = this.statements.lastDeletion.get() as { sequence: number };
    const { lastInsertRowid } = this.statements.insertSegment.run(
      scopeId,
      firstRowid,
      lastRowid,
      rows.length,
      sequence,
    );
    this.statements.insertSegmentData.run(
      lastInsertRowid,
      Buffer.from(segment.bytes.buffer, segment.bytes.byteOffset, segment.bytes.byteLength),
    );
  }

  private deleteSegment(id: number): void {
    this.statements.deleteSegment.run(id);
    this.statements.deleteSegmentData.run(id);
  }

  private visibleScopes(scope: QueryScope): ScopeRow[] {
    return this.statements.visibleScopes.all(
      scope.platform,
      scope.workspaceId,
      // The channel twice leaves the workspace-wide scope out.
      scope.channelDocumentsOnly ? scope.channelId : WORKSPACE_WIDE,
      scope.channelId,
    ) as ScopeRow[];
  }

  /** This process's index of a scope, brought up to the scope's current generation. */
  private async indexFor(scopeRow: ScopeRow): Promise<ScopeIndex> {
    let index = this.indexes.get(scopeRow.id);
    if (!index) {
      index = {
        scopeId: scopeRow.id,
        generation: -1,
        segments: new Map(),
        sealedThrough: 0,
        tail: new TailPart(),
        deletionCursor: -1,
      };
      this.indexes.set(scopeRow.id, index);
    }
    while (index.generation !== scopeRow.generation) {
      if (!index.pending) {
        const target = index;
        target.pending = this.catchUp(target).finally(() => {
          target.pending = undefined;
        });
      }
      await index.pending;
      // Another write may have landed meanwhile; the scope row says which generation to reach.
      scopeRow = (this.statements.scopeById.get(scopeRow.id) as ScopeRow | undefined) ?? scopeRow;
    }
    return index;
  }

  /**
   * Brings an index up to date with the tables: segments sealed or rewritten since, chunks added
   * after the last rowid seen, deletions logged after the last sequence applied. Each step is
   * idempotent, so a write from another process in between is simply picked up by the next call
   * (its generation bump makes sure there is one). Yields between bounded steps.
   */
  private async catchUp(index: ScopeIndex): Promise<void> {
    const statements = this.statements;
    const { generation, segments, lastSequence } = this.readTransaction(() => ({
      generation: (statements.scopeById.get(index.scopeId) as ScopeRow).generation,
      segments: statements.segmentsOfScope.all(index.scopeId) as SegmentRow[],
      lastSequence: (statements.lastDeletion.get() as { sequence: number }).sequence,
    }));
    // A fresh index needs no deletion older than now: segments replay their own, the tail is read live.
    if (index.deletionCursor < 0) index.deletionCursor = lastSequence;

    let segmentsChanged = false;
    const listed = new Set(segments.map((segment) => segment.id));
    for (const id of [...index.segments.keys()]) {
      if (!listed.has(id)) {
        index.segments.delete(id);
        segmentsChanged = true;
      }
    }
    for (const row of segments) {
      if (index.segments.has(row.id)) continue;
      await yieldToEventLoop();
      const loaded = this.readTransaction(() => {
        const data = statements.segmentData.get(row.id) as { data: Buffer } | undefined;
        if (!data) return undefined;
        const segment = SealedSegment.load(data.data, { k1: this.k1, b: this.b });
        for (const [rowid, blob] of statements.deletionsInRange.iterate(
          index.scopeId,
          row.first_rowid,
          row.last_rowid,
          row.deletion_sequence,
        ) as Iterable<[number, Buffer]>) {
          segment.remove(rowid, termFrequenciesOf(blob));
        }
        return segment;
      });
      // Rewritten between the listing and this read: the next catch-up sees the new one.
      if (!loaded) continue;
      index.segments.set(row.id, loaded);
      segmentsChanged = true;
    }
    if (segmentsChanged) {
      const ordered = [...index.segments].sort((left, right) => left[1].firstRowid - right[1].firstRowid);
      index.segments = new Map(ordered);
      index.sealedThrough = segments.reduce((highest, row) => Math.max(highest, row.last_rowid), 0);
      // The tail may now overlap a new segment: read it again (at most a segment's worth of rows).
      index.tail = new TailPart();
    }

    for (;;) {
      const after = Math.max(index.sealedThrough, index.tail.lastRowid);
      const rows = statements.rowsAfter.all(index.scopeId, after, ROWS_PER_STEP) as Array<
        [number, number, Buffer]
      >;
      for (const [rowid, length, blob] of rows) index.tail.add(rowid, length, termFrequenciesOf(blob));
      if (rows.length < ROWS_PER_STEP) break;
      await yieldToEventLoop();
    }

    for (const [sequence, rowid, blob] of statements.deletionsSince.iterate(
      index.scopeId,
      index.deletionCursor,
    ) as Iterable<[number, number, Buffer]>) {
      index.deletionCursor = sequence;
      partHolding(index, rowid)?.remove(rowid, termFrequenciesOf(blob));
    }
    index.generation = generation;
  }

  private async searchNow(query: VectorQuery): Promise<ScoredChunk[]> {
    const scopes = this.visibleScopes(query.scope);
    if (scopes.length === 0 || query.limit <= 0) return [];
    const indexes: ScopeIndex[] = [];
    for (const scopeRow of scopes) indexes.push(await this.indexFor(scopeRow));
    const candidates = query.dense ? Math.max(query.limit, this.fusionCandidates) : query.limit;
    // Each distinct query term once: the BM25 query and the matched-term counts of the results.
    const queryTermIds = new Set(query.terms.map(termId));
    // The matched-term counts of the BM25 results, which the scorer reads off the lists it scored.
    const held = new Map<number, number>();
    const sparse = this.bm25(indexes, queryTermIds, candidates, held);
    if (!query.dense) return this.materialize(scopes, indexes, sparse, queryTermIds, held);
    const dense = await this.denseSearch(scopes, query.dense, candidates);
    const fused = fuse([sparse, dense], this.rrfK, query.limit);
    return this.materialize(scopes, indexes, fused, queryTermIds, held);
  }

  private bm25(
    indexes: ScopeIndex[],
    termIds: ReadonlySet<number>,
    limit: number,
    held: Map<number, number>,
  ): Array<[number, number]> {
    const parts: Array<SealedSegment | TailPart> = [];
    for (const index of indexes) parts.push(...index.segments.values(), index.tail);
    let documentCount = 0;
    let totalLength = 0;
    for (const part of parts) {
      documentCount += part.liveCount;
      totalLength += part.liveLength;
    }
    if (documentCount === 0 || termIds.size === 0) return [];
    // Each distinct query term counts once, as in the sparse query vectors of other stores; repeating
    // a term in the question scored slightly worse on both train splits.
    const query = [...termIds].map((id) => ({ termId: id, weight: 1 }));
    const statistics = { documentCount, averageLength: totalLength / documentCount, k1: this.k1, b: this.b };
    const best = this.sparseEntries.reset(limit);
    this.scorer.score(parts, query, statistics, best, held);
    return best.sorted();
  }

  private async denseSearch(
    scopes: ScopeRow[],
    vector: number[],
    limit: number,
  ): Promise<Array<[number, number]>> {
    const query = normalize(vector);
    const best = new TopEntries(limit);
    for (const scopeRow of scopes) {
      let after = 0;
      for (;;) {
        const rows = this.statements.denseVectors.all(scopeRow.id, after, DENSE_ROWS_PER_STEP) as Array<
          [number, Buffer]
        >;
        for (const [rowid, blob] of rows) {
          const stored = new Float32Array(
            blob.buffer,
            blob.byteOffset,
            blob.byteLength / Float32Array.BYTES_PER_ELEMENT,
          );
          if (stored.length !== query.length) continue;
          let dot = 0;
          for (let index = 0; index < stored.length; index++)
            dot += (stored[index] as number) * (query[index] as number);
          best.offer(rowid, dot);
        }
        if (rows.length < DENSE_ROWS_PER_STEP) break;
        after = (rows.at(-1) as [number, Buffer])[0];
        await yieldToEventLoop();
      }
    }
    return best.sorted();
  }

  private materialize(
    scopes: ScopeRow[],
    indexes: ScopeIndex[],
    ranked: Array<[number, number]>,
    queryTermIds: ReadonlySet<number>,
    held: ReadonlyMap<number, number>,
  ): ScoredChunk[] {
    if (ranked.length === 0) return [];
    const scopeById = new Map(scopes.map((scopeRow) => [scopeRow.id, scopeRow]));
    const rows = this.statements.chunksByRowid.all(
      JSON.stringify(ranked.map(([rowid]) => rowid)),
    ) as ChunkRow[];
    const rowById = new Map(rows.map((row) => [row[0], row]));
    const termIds = [...queryTermIds];
    const results: ScoredChunk[] = [];
    for (const [rowid, score] of ranked) {
      const row = rowById.get(rowid);
      const scopeRow = row && scopeById.get(row[1]);
      if (!row || !scopeRow) continue;
      const [, , documentId, position, id, title, headingPath, source, text, tokens] = row;
      results.push({
        chunk: {
          id,
          documentId,
          position,
          title,
          headingPath: JSON.parse(headingPath) as string[],
          source,
          text,
          scope: toDocumentScope(scopeRow),
          ...(tokens === null ? {} : { tokens }),
        },
        score,
        matchedTerms: held.get(rowid) ?? this.matchedTerms(indexes, rowid, termIds, queryTermIds),
      });
    }
    return results;
  }
  /**
   * Distinct query terms a chunk the BM25 scoring did not return (a dense hit) holds: from the
   * index's posting lists, which hold each chunk's stored term ids (rowids are never reused, so a
   * chunk the index holds is the row read), without reading its term-frequency blob (a buffer per
   * candidate); from the blob for a dense hit written after the index last caught up.
   */
  private matchedTerms(
    indexes: ScopeIndex[],
    rowid: number,
    termIds: readonly number[],
    queryTermIds: ReadonlySet<number>,
  ): number {
    for (const index of indexes) {
      const held = partHolding(index, rowid)?.termsHeld(rowid, termIds) ?? -1;
      if (held >= 0) return held;
    }
    const row = this.statements.termFrequenciesByRowid.get(rowid) as [Buffer] | undefined;
    return row ? matchedTermCount(termFrequenciesOf(row[0]), queryTermIds) : 0;
  }
}

/** The part of a scope's index whose rowid range takes `rowid`: the tail past the sealed rows, else a segment. */
function partHolding(index: ScopeIndex, rowid: number): SealedSegment | TailPart | undefined {
  if (rowid > index.sealedThrough) return index.tail;
  for (const segment of index.segments.values()) {
    if (rowid >= segment.firstRowid && rowid <= segment.lastRowid) return segment;
  }
  return undefined;
}

function termFrequenciesOf(blob: Buffer): Uint32Array {
  // Blobs from SQLite need not be 4-byte aligned; copy those that are not.
  if (blob.byteOffset % Uint32Array.BYTES_PER_ELEMENT === 0) {
    return new Uint32Array(blob.buffer, blob.byteOffset, blob.byteLength / Uint32Array.BYTES_PER_ELEMENT);
  }
  // ArrayBuffer#slice copies in one native call (`Uint8Array.from` walked the bytes one by one).
  return new Uint32Array(blob.buffer.slice(blob.byteOffset, blob.byteOffset + blob.byteLength));
}

/**
 * Distinct query terms among a chunk's stored term ids: what the retriever's relevance floor needs,
 * read from the index instead of analyzing the chunk's text again for every candidate.
 */
function matchedTermCount(termFrequencies: Uint32Array, queryTermIds: ReadonlySet<number>): number {
  const distinct = termFrequencies.length / 2;
  let matched = 0;
  for (let index = 0; index < distinct; index++) {
    if (queryTermIds.has(termFrequencies[index] as number)) matched++;
  }
  return matched;
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** The statements over sealed segments: their counts in `knowledge_segments`, their data beside them. */
function prepareSegmentStatements(database: Database) {
  return {
    countSegmentDeletion: database.prepare(
      `UPDATE knowledge_segments SET deleted_chunks = deleted_chunks + 1
         WHERE scope_id = ? AND first_rowid <= ? AND last_rowid >= ?`,
    ),
    segmentsOfScope: database.prepare(
      `SELECT id, first_rowid, last_rowid, chunk_count, deleted_chunks, deletion_sequence
         FROM knowledge_segments WHERE scope_id = ? ORDER BY first_rowid`,
    ),
    segmentsToCompact: database.prepare(
      `SELECT id, first_rowid, last_rowid, chunk_count, deleted_chunks, deletion_sequence
         FROM knowledge_segments WHERE scope_id = ? AND deleted_chunks * 2 >= chunk_count`,
    ),
    segmentData: database.prepare("SELECT data FROM knowledge_segment_data WHERE segment_id = ?"),
    insertSegment: database.prepare(
      `INSERT INTO knowledge_segments (scope_id, first_rowid, last_rowid, chunk_count, deletion_sequence)
       VALUES (?, ?, ?, ?, ?)`,
    ),
    insertSegmentData: database.prepare(
      "INSERT INTO knowledge_segment_data (segment_id, data) VALUES (?, ?)",
    ),
    deleteSegment: database.prepare("DELETE FROM knowledge_segments WHERE id = ?"),
    deleteSegmentData: database.prepare("DELETE FROM knowledge_segment_data WHERE segment_id = ?"),
  };
}

function prepareStatements(database: Database) {
  const raw = (statement: Statement) => statement.raw(true);
  return {
    touchScope: database.prepare(
      `INSERT INTO knowledge_scopes (platform, workspace_id, channel_id, generation) VALUES (?, ?, ?, 1)
         ON CONFLICT DO UPDATE SET generation = generation + 1 RETURNING *`,
    ),
    scopeById: database.prepare("SELECT * FROM knowledge_scopes WHERE id = ?"),
    denseDimensions: database.prepare("SELECT value FROM knowledge_settings WHERE name = 'dense_dimensions'"),
    rememberDenseDimensions: database.prepare(
      "INSERT INTO knowledge_settings (name, value) VALUES ('dense_dimensions', ?) ON CONFLICT DO NOTHING",
    ),
    allScopes: database.prepare("SELECT * FROM knowledge_scopes"),
    visibleScopes: database.prepare(
      "SELECT * FROM knowledge_scopes WHERE platform = ? AND workspace_id = ? AND channel_id IN (?, ?)",
    ),
    anyChunk: database.prepare(
      `SELECT EXISTS (
         SELECT 1 FROM knowledge_chunks WHERE scope_id IN (
           SELECT id FROM knowledge_scopes WHERE platform = ? AND workspace_id = ? AND channel_id IN (?, ?))
       ) AS present`,
    ),
    bumpGeneration: database.prepare(
      "UPDATE knowledge_scopes SET generation = generation + 1 WHERE id = ? RETURNING *",
    ),
    countUnsealed: database.prepare(
      "UPDATE knowledge_scopes SET unsealed_chunks = max(0, unsealed_chunks + ?) WHERE id = ?",
    ),
    resetUnsealed: database.prepare("UPDATE knowledge_scopes SET unsealed_chunks = 0 WHERE id = ?"),
    markSealed: database.prepare(
      `UPDATE knowledge_scopes SET sealed_through = ?, unsealed_chunks = max(0, unsealed_chunks - ?)
         WHERE id = ?`,
    ),
    insertChunk: database.prepare(
      `INSERT INTO knowledge_chunks
         (scope_id, document_id, position, chunk_id, title, heading_path, source, text, length, term_frequencies, dense, tokens)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    deleteDocumentChunks: database.prepare(
      `DELETE FROM knowledge_chunks WHERE document_id = ?
         AND scope_id IN (SELECT id FROM knowledge_scopes WHERE platform = ? AND workspace_id = ?)
       RETURNING scope_id, rowid, term_frequencies`,
    ),
    anyOfDocuments: database.prepare(ANY_OF_DOCUMENTS),
    logDeletion: database.prepare(
      "INSERT INTO knowledge_deletions (scope_id, chunk_rowid, term_frequencies) VALUES (?, ?, ?)",
    ),
    lastDeletion: database.prepare("SELECT coalesce(max(sequence), 0) AS sequence FROM knowledge_deletions"),
    deletionsSince: raw(
      database.prepare(
        `SELECT sequence, chunk_rowid, term_frequencies FROM knowledge_deletions
           WHERE scope_id = ? AND sequence > ? ORDER BY sequence`,
      ),
    ),
    deletionsInRange: raw(
      database.prepare(
        `SELECT chunk_rowid, term_frequencies FROM knowledge_deletions
           WHERE scope_id = ? AND chunk_rowid BETWEEN ? AND ? AND sequence > ?`,
      ),
    ),
    ...prepareSegmentStatements(database),
    unsealedRows: raw(
      database.prepare(
        `SELECT rowid, length, term_frequencies FROM knowledge_chunks
           WHERE scope_id = ? AND rowid > ? ORDER BY rowid LIMIT ?`,
      ),
    ),
    rowsAfter: raw(
      database.prepare(
        `SELECT rowid, length, term_frequencies FROM knowledge_chunks
           WHERE scope_id = ? AND rowid > ? ORDER BY rowid LIMIT ?`,
      ),
    ),
    rowsInRange: raw(
      database.prepare(
        `SELECT rowid, length, term_frequencies FROM knowledge_chunks
           WHERE scope_id = ? AND rowid BETWEEN ? AND ? ORDER BY rowid`,
      ),
    ),
    denseVectors: raw(
      database.prepare(
        `SELECT rowid, dense FROM knowledge_chunks
           WHERE scope_id = ? AND rowid > ? AND dense IS NOT NULL ORDER BY rowid LIMIT ?`,
      ),
    ),
    chunksByRowid: raw(
      database.prepare(
        `SELECT rowid, scope_id, document_id, position, chunk_id, title, heading_path, source, text, tokens
           FROM knowledge_chunks WHERE rowid IN (SELECT value FROM json_each(?))`,
      ),
    ),
    termFrequenciesByRowid: raw(
      database.prepare("SELECT term_frequencies FROM knowledge_chunks WHERE rowid = ?"),
    ),
    listDocuments: database.prepare(
      `SELECT document_id, min(title) AS title, min(source) AS source, count(*) AS chunk_count
         FROM knowledge_chunks WHERE scope_id = ? GROUP BY document_id`,
    ),
  };
}

function toDocumentScope(row: ScopeRow): DocumentScope {
  const scope: DocumentScope = {
    platform: row.platform as DocumentScope["platform"],
    workspaceId: row.workspace_id,
  };
  if (row.channel_id !== WORKSPACE_WIDE) scope.channelId = row.channel_id;
  return scope;
}

function normalize(vector: number[]): Float32Array {
  let norm = 0;
  for (const value of vector) norm += value * value;
  const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
  return Float32Array.from(vector, (value) => value * scale);
}

function denseBlob(vector: number[]): Buffer {
  const normalized = normalize(vector);
  return Buffer.from(normalized.buffer, normalized.byteOffset, normalized.byteLength);
}

/** Reciprocal rank fusion: each list adds 1 / (k + rank) for every item it ranks. */
function fuse(lists: Array<Array<[number, number]>>, k: number, limit: number): Array<[number, number]> {
  const scores = new Map<number, number>();
  for (const list of lists) {
    list.forEach(([rowid], rank) => {
      scores.set(rowid, (scores.get(rowid) ?? 0) + 1 / (k + rank + 1));
    });
  }
  const best = new TopEntries(limit);
  for (const [rowid, score] of scores) best.offer(rowid, score);
  return best.sorted();
}

function guard<T>(action: string, work: () => T): T {
  try {
    return work();
  } catch (error) {
    throw storeError(action, error);
  }
}

async function guardAsync<T>(action: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw storeError(action, error);
  }
}

function storeError(action: string, error: unknown): AppError {
  if (error instanceof AppError) return error;
  return new AppError("store_unavailable", `Could not ${action}: ${(error as Error).message}`, {
    cause: error,
    retryable: (error as { code?: string }).code === "SQLITE_BUSY",
    userMessage: "The knowledge index is not available right now.",
  });
}
