import type { Platform } from "../types.js";

/**
 * Who may see a document: a whole workspace (no `channelId`) or one channel of it.
 * A question from channel C of workspace W sees documents scoped to (W, C) or to all of W; nothing
 * crosses workspaces.
 */
export interface DocumentScope {
  platform: Platform;
  workspaceId: string;
  channelId?: string | undefined;
}

/** The asker's position: retrieval is filtered to (platform, workspace) and (channel or workspace-wide). */
export interface QueryScope {
  platform: Platform;
  workspaceId: string;
  channelId: string;
  /**
   * Only documents scoped to the channel itself, none of the workspace-wide ones: what a guest from
   * another organisation (Slack Connect) may see in a shared channel.
   */
  channelDocumentsOnly?: boolean | undefined;
}

/** BM25 sparse vector: term ids (from the core analyzer) and weights, same order and length. */
export interface SparseVector {
  indices: number[];
  values: number[];
}

/** A piece of a document as the chunker cuts it, before it is given a scope and terms. */
export interface DocumentChunk {
  /** Derived from documentId + position (see `chunkId`), so re-indexing replaces. */
  id: string;
  documentId: string;
  position: number;
  title: string;
  /** The Markdown headings above the chunk, outermost first; empty for plain text. */
  headingPath: string[];
  /** A URL or a path. */
  source: string;
  text: string;
  /** Tokens of `text`, when the chunker counted them: stored, so a prompt never encodes it again. */
  tokens?: number | undefined;
}

export interface ChunkRecord extends DocumentChunk {
  scope: DocumentScope;
  /** Analyzed tokens of title + heading path + text (core `analyze`), for BM25. */
  terms: string[];
  /** Dense embedding, when an embedding model is configured. */
  dense?: number[] | undefined;
}

/**
 * A chunk's BM25 terms counted (core `countTerms`): what a store keeps of them. Term ids are the
 * core's `termId` hashes, so whoever analyzed the chunk (another thread included) counts the same.
 */
export interface TermCounts {
  /** Distinct term ids in the order they first occur, then the frequency of each, in the same order. */
  frequencies: Uint32Array;
  /** Terms in all, repeats included: the chunk's BM25 length. */
  total: number;
}

/**
 * A `ChunkRecord` whose terms arrive counted instead of as strings: what a chunk prepared on another
 * thread carries (strings would be copied across the thread boundary one by one, and hashed again by
 * the store), so a store writes it without analyzing or hashing anything.
 */
export interface CountedChunkRecord extends Omit<ChunkRecord, "terms"> {
  termCounts: TermCounts;
}

/** A chunk as stores take it: with its terms as strings, or already counted. */
export type ChunkWrite = ChunkRecord | CountedChunkRecord;

export interface ScoredChunk {
  chunk: Omit<ChunkRecord, "terms" | "dense">;
  score: number;
  /**
   * Distinct query terms the chunk contains, when the store knows them from its index (the embedded
   * store does); otherwise the retriever analyzes the chunk's text to count them.
   */
  matchedTerms?: number;
}

export interface VectorQuery {
  scope: QueryScope;
  /** Analyzed query terms (core `analyze`). */
  terms: string[];
  dense?: number[] | undefined;
  limit: number;
}

/** One document's new chunks, as `replaceDocuments` takes them. */
export interface DocumentReplacement {
  documentId: string;
  scope: DocumentScope;
  chunks: ChunkWrite[];
}

export interface DocumentSummary {
  documentId: string;
  title: string;
  source: string;
  scope: DocumentScope;
  chunkCount: number;
}

/**
 * Chunk storage with hybrid (dense + BM25) search. Implementations: SQLite (embedded default) and
 * Qdrant; both pass `test/contracts/vector-store.contract.ts`.
 */
export interface VectorStore {
  /** Replaces every chunk of each document in `chunks` (upsert by id + deletion of stale positions). */
  replaceDocument(documentId: string, scope: DocumentScope, chunks: ChunkWrite[]): Promise<void>;
  /**
   * `replaceDocument` for several documents at once, in order (a document named twice ends as its last
   * replacement). Cheaper per document where the store has a per-write cost (the embedded store's
   * commit); the SQLite store applies all or none, the Qdrant store document by document.
   */
  replaceDocuments(documents: readonly DocumentReplacement[]): Promise<void>;
  /** Deletes every chunk of a document within a workspace; returns how many were removed. */
  deleteDocument(scope: Pick<DocumentScope, "platform" | "workspaceId">, documentId: string): Promise<number>;
  search(query: VectorQuery): Promise<ScoredChunk[]>;
  /** Documents visible from a query scope, with chunk counts. */
  listDocuments(scope: QueryScope): Promise<DocumentSummary[]>;
  /**
   * Whether any chunk is visible from a query scope. Asked before every question, so it must cost the
   * same whatever the corpus holds: a count or an existence probe, never a listing.
   */
  hasChunks(scope: QueryScope): Promise<boolean>;
  close(): Promise<void>;
}
