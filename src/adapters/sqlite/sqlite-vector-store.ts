import type { Database, Statement } from "better-sqlite3";
import { AppError } from "../../core/errors.js";
import { termId } from "../../core/knowledge/sparse.js";
import type {
  ChunkRecord,
  DocumentScope,
  DocumentSummary,
  QueryScope,
  ScoredChunk,
  VectorQuery,
  VectorStore,
} from "../../core/ports/vector-store.js";

export interface SqliteVectorStoreOptions {
  /** BM25 term-frequency saturation. */
  k1?: number;
  /** BM25 length normalization. */
  b?: number;
  /** Reciprocal-rank-fusion constant for hybrid search (60 in the original paper and in Qdrant). */
  rrfK?: number;
  /** How many candidates each side (dense, BM25) contributes to the fusion, at least. */
  fusionCandidates?: number;
}

/** Tuned on the SciFact and ko-welfare-qa train splits (see bench/eval.ts). */
export const DEFAULT_BM25_K1 = 1.2;
export const DEFAULT_BM25_B = 0.75;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS knowledge_scopes (
  id INTEGER PRIMARY KEY,
  platform TEXT NOT NULL,
  workspace_id TEXT NOT NULL,
  channel_id TEXT NOT NULL,
  chunk_count INTEGER NOT NULL DEFAULT 0,
  total_length INTEGER NOT NULL DEFAULT 0,
  UNIQUE (platform, workspace_id, channel_id)
) STRICT;
CREATE TABLE IF NOT EXISTS knowledge_chunks (
  rowid INTEGER PRIMARY KEY,
  scope_id INTEGER NOT NULL REFERENCES knowledge_scopes (id),
  document_id TEXT NOT NULL,
  position INTEGER NOT NULL,
  chunk_id TEXT NOT NULL,
  title TEXT NOT NULL,
  heading_path TEXT NOT NULL,
  source TEXT NOT NULL,
  text TEXT NOT NULL,
  length INTEGER NOT NULL,
  term_ids BLOB NOT NULL,
  dense BLOB
) STRICT;
CREATE INDEX IF NOT EXISTS knowledge_chunks_by_document ON knowledge_chunks (scope_id, document_id);
CREATE TABLE IF NOT EXISTS knowledge_postings (
  scope_id INTEGER NOT NULL,
  term_id INTEGER NOT NULL,
  chunk_rowid INTEGER NOT NULL,
  frequency INTEGER NOT NULL,
  length INTEGER NOT NULL,
  PRIMARY KEY (scope_id, term_id, chunk_rowid)
) STRICT, WITHOUT ROWID;
`;

// Channel id stored for workspace-wide documents: SQLite UNIQUE treats NULLs as distinct.
const WORKSPACE_WIDE = "";

interface ChunkRow {
  rowid: number;
  scope_id: number;
  document_id: string;
  position: number;
  chunk_id: string;
  title: string;
  heading_path: string;
  source: string;
  text: string;
}

interface ScopeRow {
  id: number;
  platform: string;
  workspace_id: string;
  channel_id: string;
  chunk_count: number;
  total_length: number;
}

/**
 * The embedded knowledge index: chunks, a BM25 inverted index and dense vectors in the SQLite file the
 * memory store also uses (`knowledge_*` tables).
 *
 * BM25 is scored here rather than with FTS5's `bm25()`, whose k1 and b are fixed at 1.2/0.75: an
 * inverted index of (scope, term id, chunk) rows lets the scope filter pick the posting lists directly,
 * computes document frequencies over what the asker may see, and keeps the BM25 parameters tunable.
 * Term ids are the same 32-bit hashes the sparse vectors of other stores use.
 *
 * Dense vectors are unit-normalized Float32 blobs scored by cosine in JavaScript over the scope's rows.
 * sqlite-vec is not a dependency: an exact scan over one workspace's chunks costs a few milliseconds at
 * team-document sizes, and keeps the scope filter exact (no approximate pre-filtering).
 */
export class SqliteVectorStore implements VectorStore {
  private readonly database: Database;
  private readonly k1: number;
  private readonly b: number;
  private readonly rrfK: number;
  private readonly fusionCandidates: number;
  private readonly statements: ReturnType<typeof prepareStatements>;

  constructor(database: Database, options: SqliteVectorStoreOptions = {}) {
    this.database = database;
    this.k1 = options.k1 ?? DEFAULT_BM25_K1;
    this.b = options.b ?? DEFAULT_BM25_B;
    this.rrfK = options.rrfK ?? 60;
    this.fusionCandidates = options.fusionCandidates ?? 100;
    this.statements = guard("open the knowledge index", () => {
      database.exec(SCHEMA);
      return prepareStatements(database);
    });
  }

  async replaceDocument(documentId: string, scope: DocumentScope, chunks: ChunkRecord[]): Promise<void> {
    guard("index a document", () => this.replaceTransaction(documentId, scope, chunks));
  }

  async deleteDocument(
    scope: Pick<DocumentScope, "platform" | "workspaceId">,
    documentId: string,
  ): Promise<number> {
    return guard("delete a document", () =>
      this.database.transaction(() => this.removeDocument(scope, documentId)).immediate(),
    );
  }

  async search(query: VectorQuery): Promise<ScoredChunk[]> {
    return guard("search the knowledge index", () => this.searchNow(query));
  }

  async listDocuments(scope: QueryScope): Promise<DocumentSummary[]> {
    return guard("list documents", () => {
      const scopes = this.visibleScopes(scope);
      const summaries: DocumentSummary[] = [];
      for (const scopeRow of scopes) {
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
      return summaries.sort((left, right) => left.title.localeCompare(right.title));
    });
  }

  async close(): Promise<void> {
    // The database belongs to whoever opened it (it is shared with the memory store).
  }

  private replaceTransaction(documentId: string, scope: DocumentScope, chunks: ChunkRecord[]): void {
    const statements = this.statements;
    this.database
      .transaction(() => {
        this.removeDocument(scope, documentId);
        statements.ensureScope.run(scope.platform, scope.workspaceId, scope.channelId ?? WORKSPACE_WIDE);
        const scopeRow = statements.findScope.get(
          scope.platform,
          scope.workspaceId,
          scope.channelId ?? WORKSPACE_WIDE,
        ) as ScopeRow;
        let totalLength = 0;
        for (const chunk of chunks) {
          const length = chunk.terms.length;
          const frequencies = new Map<number, number>();
          for (const term of chunk.terms) {
            const id = termId(term);
            frequencies.set(id, (frequencies.get(id) ?? 0) + 1);
          }
          const termIds = Uint32Array.from(frequencies.keys());
          const inserted = statements.insertChunk.run(
            scopeRow.id,
            documentId,
            chunk.position,
            chunk.id,
            chunk.title,
            JSON.stringify(chunk.headingPath),
            chunk.source,
            chunk.text,
            length,
            Buffer.from(termIds.buffer, termIds.byteOffset, termIds.byteLength),
            chunk.dense ? denseBlob(chunk.dense) : null,
          );
          const rowid = Number(inserted.lastInsertRowid);
          for (const [id, frequency] of frequencies) {
            statements.insertPosting.run(scopeRow.id, id, rowid, frequency, length);
          }
          totalLength += length;
        }
        statements.adjustScope.run(chunks.length, totalLength, scopeRow.id);
      })
      .immediate();
  }

  private removeDocument(scope: Pick<DocumentScope, "platform" | "workspaceId">, documentId: string): number {
    const statements = this.statements;
    const scopes = statements.workspaceScopes.all(scope.platform, scope.workspaceId) as ScopeRow[];
    let removed = 0;
    for (const scopeRow of scopes) {
      const rows = statements.documentChunks.all(scopeRow.id, documentId) as Array<{
        rowid: number;
        length: number;
        term_ids: Buffer;
      }>;
      if (rows.length === 0) continue;
      let totalLength = 0;
      for (const row of rows) {
        const termIds = new Uint32Array(
          row.term_ids.buffer,
          row.term_ids.byteOffset,
          row.term_ids.byteLength / Uint32Array.BYTES_PER_ELEMENT,
        );
        for (const id of termIds) statements.deletePosting.run(scopeRow.id, id, row.rowid);
        statements.deleteChunk.run(row.rowid);
        totalLength += row.length;
      }
      statements.adjustScope.run(-rows.length, -totalLength, scopeRow.id);
      removed += rows.length;
    }
    return removed;
  }

  private visibleScopes(scope: QueryScope): ScopeRow[] {
    return this.statements.visibleScopes.all(
      scope.platform,
      scope.workspaceId,
      WORKSPACE_WIDE,
      scope.channelId,
    ) as ScopeRow[];
  }

  private searchNow(query: VectorQuery): ScoredChunk[] {
    const scopes = this.visibleScopes(query.scope);
    if (scopes.length === 0 || query.limit <= 0) return [];
    const candidates = query.dense ? Math.max(query.limit, this.fusionCandidates) : query.limit;
    const sparse = this.bm25(scopes, query.terms, candidates);
    if (!query.dense) return this.materialize(scopes, sparse);
    const dense = this.denseSearch(scopes, query.dense, candidates);
    return this.materialize(scopes, fuse([sparse, dense], this.rrfK, query.limit));
  }

  private bm25(scopes: ScopeRow[], terms: string[], limit: number): Array<[number, number]> {
    let documentCount = 0;
    let totalLength = 0;
    for (const scopeRow of scopes) {
      documentCount += scopeRow.chunk_count;
      totalLength += scopeRow.total_length;
    }
    if (documentCount === 0 || terms.length === 0) return [];
    const averageLength = totalLength / documentCount;
    const queryFrequencies = new Map<number, number>();
    for (const term of terms) {
      const id = termId(term);
      queryFrequencies.set(id, (queryFrequencies.get(id) ?? 0) + 1);
    }
    const k1 = this.k1;
    const lengthWeight = (this.b * k1) / averageLength;
    const constantWeight = (1 - this.b) * k1;
    const scores = new Map<number, number>();
    for (const [id, queryFrequency] of queryFrequencies) {
      const lists: unknown[][][] = [];
      let documentFrequency = 0;
      for (const scopeRow of scopes) {
        const postings = this.statements.postings.all(scopeRow.id, id) as unknown[][];
        documentFrequency += postings.length;
        lists.push(postings);
      }
      if (documentFrequency === 0) continue;
      const idf = Math.log(1 + (documentCount - documentFrequency + 0.5) / (documentFrequency + 0.5));
      const weight = idf * queryFrequency * (k1 + 1);
      for (const postings of lists) {
        for (const posting of postings) {
          const rowid = posting[0] as number;
          const frequency = posting[1] as number;
          const length = posting[2] as number;
          const termScore = (weight * frequency) / (frequency + constantWeight + lengthWeight * length);
          scores.set(rowid, (scores.get(rowid) ?? 0) + termScore);
        }
      }
    }
    return topEntries(scores, limit);
  }

  private denseSearch(scopes: ScopeRow[], vector: number[], limit: number): Array<[number, number]> {
    const query = normalize(vector);
    const scores = new Map<number, number>();
    for (const scopeRow of scopes) {
      for (const row of this.statements.denseVectors.iterate(scopeRow.id) as Iterable<unknown[]>) {
        const blob = row[1] as Buffer;
        const stored = new Float32Array(
          blob.buffer,
          blob.byteOffset,
          blob.byteLength / Float32Array.BYTES_PER_ELEMENT,
        );
        if (stored.length !== query.length) continue;
        let dot = 0;
        for (let index = 0; index < stored.length; index++)
          dot += (stored[index] as number) * (query[index] as number);
        scores.set(row[0] as number, dot);
      }
    }
    return topEntries(scores, limit);
  }

  private materialize(scopes: ScopeRow[], ranked: Array<[number, number]>): ScoredChunk[] {
    if (ranked.length === 0) return [];
    const scopeById = new Map(scopes.map((scopeRow) => [scopeRow.id, scopeRow]));
    const rows = this.statements.chunksByRowid.all(
      JSON.stringify(ranked.map(([rowid]) => rowid)),
    ) as ChunkRow[];
    const rowById = new Map(rows.map((row) => [row.rowid, row]));
    const results: ScoredChunk[] = [];
    for (const [rowid, score] of ranked) {
      const row = rowById.get(rowid);
      const scopeRow = row && scopeById.get(row.scope_id);
      if (!row || !scopeRow) continue;
      results.push({
        chunk: {
          id: row.chunk_id,
          documentId: row.document_id,
          position: row.position,
          title: row.title,
          headingPath: JSON.parse(row.heading_path) as string[],
          source: row.source,
          text: row.text,
          scope: toDocumentScope(scopeRow),
        },
        score,
      });
    }
    return results;
  }
}

function prepareStatements(database: Database) {
  const raw = (statement: Statement) => statement.raw(true);
  return {
    ensureScope: database.prepare(
      "INSERT INTO knowledge_scopes (platform, workspace_id, channel_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
    ),
    findScope: database.prepare(
      "SELECT * FROM knowledge_scopes WHERE platform = ? AND workspace_id = ? AND channel_id = ?",
    ),
    workspaceScopes: database.prepare(
      "SELECT * FROM knowledge_scopes WHERE platform = ? AND workspace_id = ?",
    ),
    visibleScopes: database.prepare(
      "SELECT * FROM knowledge_scopes WHERE platform = ? AND workspace_id = ? AND channel_id IN (?, ?) AND chunk_count > 0",
    ),
    adjustScope: database.prepare(
      "UPDATE knowledge_scopes SET chunk_count = chunk_count + ?, total_length = total_length + ? WHERE id = ?",
    ),
    insertChunk: database.prepare(
      `INSERT INTO knowledge_chunks
         (scope_id, document_id, position, chunk_id, title, heading_path, source, text, length, term_ids, dense)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    insertPosting: database.prepare(
      "INSERT INTO knowledge_postings (scope_id, term_id, chunk_rowid, frequency, length) VALUES (?, ?, ?, ?, ?)",
    ),
    documentChunks: database.prepare(
      "SELECT rowid, length, term_ids FROM knowledge_chunks WHERE scope_id = ? AND document_id = ?",
    ),
    deletePosting: database.prepare(
      "DELETE FROM knowledge_postings WHERE scope_id = ? AND term_id = ? AND chunk_rowid = ?",
    ),
    deleteChunk: database.prepare("DELETE FROM knowledge_chunks WHERE rowid = ?"),
    postings: raw(
      database.prepare(
        "SELECT chunk_rowid, frequency, length FROM knowledge_postings WHERE scope_id = ? AND term_id = ?",
      ),
    ),
    denseVectors: raw(
      database.prepare("SELECT rowid, dense FROM knowledge_chunks WHERE scope_id = ? AND dense IS NOT NULL"),
    ),
    chunksByRowid: database.prepare(
      `SELECT rowid, scope_id, document_id, position, chunk_id, title, heading_path, source, text
         FROM knowledge_chunks WHERE rowid IN (SELECT value FROM json_each(?))`,
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

/** The `limit` highest-scoring entries, best first; ties keep the lower rowid first for stable results. */
function topEntries(scores: Map<number, number>, limit: number): Array<[number, number]> {
  const entries = [...scores];
  entries.sort((left, right) => right[1] - left[1] || left[0] - right[0]);
  return entries.slice(0, limit);
}

/** Reciprocal rank fusion: each list adds 1 / (k + rank) for every item it ranks. */
function fuse(lists: Array<Array<[number, number]>>, k: number, limit: number): Array<[number, number]> {
  const scores = new Map<number, number>();
  for (const list of lists) {
    list.forEach(([rowid], rank) => {
      scores.set(rowid, (scores.get(rowid) ?? 0) + 1 / (k + rank + 1));
    });
  }
  return topEntries(scores, limit);
}

function guard<T>(action: string, work: () => T): T {
  try {
    return work();
  } catch (error) {
    if (error instanceof AppError) throw error;
    throw new AppError("store_unavailable", `Could not ${action}: ${(error as Error).message}`, {
      cause: error,
      retryable: (error as { code?: string }).code === "SQLITE_BUSY",
      userMessage: "The knowledge index is not available right now.",
    });
  }
}
