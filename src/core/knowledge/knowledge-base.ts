import { hash } from "node:crypto";
import type { DocumentLoader, DocumentReference, LoadedDocument } from "../ports/document-loader.js";
import type { EmbeddingModel } from "../ports/llm-provider.js";
import type { Logger } from "../ports/logger.js";
import type {
  ChunkWrite,
  DocumentScope,
  DocumentSummary,
  QueryScope,
  VectorStore,
} from "../ports/vector-store.js";
import type { ChunkOptions } from "./chunker.js";
import { DocumentWriteBatcher, MAX_BATCH_CHUNKS } from "./document-write-batcher.js";
import { countedRecords, prepareChunks } from "./prepare-chunks.js";

export type IndexProgress = (done: number, total: number, label: string) => Promise<void>;

export interface IndexResult {
  documentId: string;
  title: string;
  source: string;
  chunks: number;
}

/** How one document of `indexMany` ended: its result, or why it could not be indexed. */
export type IndexOutcome = { ok: true; result: IndexResult } | { ok: false; error: unknown };

/** Documents `indexMany` reads and chunks at once by default. */
const DEFAULT_INDEX_CONCURRENCY = 4;
/** Chunks of `indexMany`'s documents waiting for their write at most, before a lane waits too. */
const MAX_PENDING_WRITE_CHUNKS = 1_024;

export interface KnowledgeBaseOptions {
  store: VectorStore;
  loader: DocumentLoader;
  /** With an embedding model configured, chunks also get dense vectors. */
  llm?: EmbeddingModel | undefined;
  logger: Logger;
  chunking?: ChunkOptions | undefined;
  /** Chunks embedded per request. */
  embeddingBatchSize?: number | undefined;
}

/**
 * A document's id: short enough to type in `forget-doc <id>`, and derived from where the document
 * lives and who may see it, so indexing the same source again in the same scope replaces it.
 */
export function documentIdFor(source: string, scope: DocumentScope): string {
  const normalized = source.trim().replace(/#.*$/, "");
  const key = [scope.platform, scope.workspaceId, scope.channelId ?? "*", normalized].join("\u0000");
  // The one-shot `hash` (as chunkId): a Hash object per document was a measurable share of indexing small ones.
  return `d${hash("sha256", key, "hex").slice(0, 10)}`;
}

const noProgress: IndexProgress = async () => {};

function resultOf(
  documentId: string,
  document: Pick<LoadedDocument, "title" | "source">,
  records: readonly ChunkWrite[],
): IndexResult {
  return { documentId, title: document.title, source: document.source, chunks: records.length };
}

/** Load → chunk → (embed) → replace in the store. Every step can run again safely. */
export class KnowledgeBase {
  private readonly writes: DocumentWriteBatcher;

  constructor(private readonly options: KnowledgeBaseOptions) {
    this.writes = new DocumentWriteBatcher(options.store);
  }

  get canEmbed(): boolean {
    return this.options.llm?.embeddingModel !== undefined;
  }

  async index(
    reference: DocumentReference,
    scope: DocumentScope,
    progress: IndexProgress = async () => {},
    signal?: AbortSignal,
  ): Promise<IndexResult> {
    const { result, records } = await this.loadAndPrepare(reference, scope, progress, signal);
    await this.store(result.documentId, scope, records);
    await progress(records.length, records.length, "Indexed");
    return result;
  }

  /**
   * Indexes many documents (a folder's files): `concurrency` of them are read and chunked at once, and
   * a document's write does not hold its lane: the lane goes on to the next document while the write
   * waits to join others in one batch (see `DocumentWriteBatcher`), up to `MAX_PENDING_WRITE_CHUNKS`
   * chunks waiting. `settle` hears of each document as it ends, in the order they end; an error it
   * throws stops the run (no document starts after it), and `indexMany` rejects with it once the
   * documents under way have ended.
   */
  async indexMany(
    references: readonly DocumentReference[],
    scope: DocumentScope,
    settle: (reference: DocumentReference, outcome: IndexOutcome) => Promise<void> | void,
    options: { signal?: AbortSignal | undefined; concurrency?: number | undefined } = {},
  ): Promise<void> {
    let next = 0;
    let stopped: { error: unknown } | undefined;
    let writesUnderWay = 0;
    let pendingChunks = 0;
    // Lanes past the limit of pending chunks, and the end of the run, wait for the next write to end, on one
    // promise that the end of any write resolves: `Promise.race(writes)` attached a reaction to every write
    // under way (hundreds, with a thousand chunks pending) for each wait, and each was run when its write ended.
    let writeEnded: Promise<void> | undefined;
    let wakeLanes: (() => void) | undefined;
    const nextWriteEnd = (): Promise<void> => {
      writeEnded ??= new Promise<void>((resolve) => {
        wakeLanes = resolve;
      });
      return writeEnded;
    };
    const stop = (error: unknown) => {
      stopped ??= { error };
    };
    // A promise only when `settle` answers one (a caller that settles synchronously costs no await per
    // document); never rejects.
    const finish = (reference: DocumentReference, outcome: IndexOutcome): Promise<void> | undefined => {
      let settling: Promise<void> | void;
      try {
        settling = settle(reference, outcome);
      } catch (error) {
        stop(error);
        return undefined;
      }
      return settling ? settling.then(undefined, stop) : undefined;
    };
    // Prepared documents not yet handed to the store. They are handed over together, once a write batch's
    // worth is ready or no other document is being prepared: documents prepared on threads come back one
    // message (one turn of the event loop) at a time, and handing each over as it came cost a commit each.
    let held: Array<{ reference: DocumentReference; result: IndexResult; records: ChunkWrite[] }> = [];
    let heldChunks = 0;
    let preparing = 0;
    const release = () => {
      const batch = held;
      held = [];
      heldChunks = 0;
      for (const { reference, result, records } of batch) {
        writesUnderWay += 1;
        void write(reference, result, records);
      }
    };
    // One async frame per document's write (never rejects): it was `.then(...).finally(...)` on the store's
    // promise, three closures and two more promises per document.
    const write = async (reference: DocumentReference, result: IndexResult, records: ChunkWrite[]) => {
      let outcome: IndexOutcome;
      try {
        await this.store(result.documentId, scope, records);
        outcome = { ok: true, result };
      } catch (error) {
        outcome = { ok: false, error };
      }
      const settling = finish(reference, outcome);
      if (settling) await settling;
      pendingChunks -= records.length;
      writesUnderWay -= 1;
      const wake = wakeLanes;
      writeEnded = undefined;
      wakeLanes = undefined;
      wake?.();
    };
    const lane = async () => {
      while (stopped === undefined && next < references.length) {
        const reference = references[next] as DocumentReference;
        next += 1;
        let prepared: Awaited<ReturnType<KnowledgeBase["prepare"]>>;
        preparing += 1;
        try {
          options.signal?.throwIfAborted();
          prepared = await this.loadAndPrepare(reference, scope, undefined, options.signal);
        } catch (error) {
          preparing -= 1;
          if (preparing === 0) release();
          const settling = finish(reference, { ok: false, error });
          if (settling) await settling;
          continue;
        }
        preparing -= 1;
        const { result, records } = prepared;
        held.push({ reference, result, records });
        heldChunks += records.length;
        pendingChunks += records.length;
        if (heldChunks >= MAX_BATCH_CHUNKS || preparing === 0) release();
        while (pendingChunks > MAX_PENDING_WRITE_CHUNKS && writesUnderWay > 0) await nextWriteEnd();
      }
    };
    const lanes = Math.max(1, Math.min(options.concurrency ?? DEFAULT_INDEX_CONCURRENCY, references.length));
    await Promise.all(Array.from({ length: lanes }, lane));
    release();
    while (writesUnderWay > 0) await nextWriteEnd();
    if (stopped) throw stopped.error;
  }

  /**
   * Chunks, embeds and stores text that is already extracted (a synced source's item), replacing
   * whatever `documentId` held. Returns the number of chunks written.
   */
  async indexText(
    documentId: string,
    document: Pick<LoadedDocument, "title" | "text" | "format" | "source">,
    scope: DocumentScope,
    progress: IndexProgress = async () => {},
    signal?: AbortSignal,
  ): Promise<number> {
    const { records } = await this.prepare(documentId, document, scope, progress, signal);
    await this.store(documentId, scope, records);
    await progress(records.length, records.length, "Indexed");
    return records.length;
  }

  /**
   * Loads a document and chunks (and embeds) it: the records its write will store. A loader that can
   * chunk where it extracts (`loadPrepared`, an extraction thread) does; otherwise the text is chunked here.
   */
  private async loadAndPrepare(
    reference: DocumentReference,
    scope: DocumentScope,
    progress: IndexProgress | undefined,
    signal?: AbortSignal,
  ): Promise<{ result: IndexResult; records: ChunkWrite[] }> {
    const source = reference.kind === "url" ? reference.url : reference.path;
    const documentId = documentIdFor(source, scope);
    // A file on this machine is read, not downloaded. (`indexMany` reports no progress: its documents
    // skip the awaits of a progress that does nothing, two promises and a closure each.)
    if (progress) await progress(0, 1, reference.kind === "url" ? "Downloading" : "Reading");
    const loader = this.options.loader;
    const allowed = this.credentialsFor(reference, scope);
    if (!loader.loadPrepared) {
      const loaded = await loader.load(allowed, signal);
      return this.prepare(documentId, loaded, scope, progress ?? noProgress, signal);
    }
    const preparation = { documentId, chunking: this.options.chunking };
    const prepared = await loader.loadPrepared(allowed, preparation, signal);
    const records = countedRecords(prepared, documentId, scope);
    if (progress === undefined && !this.canEmbed)
      return { result: resultOf(documentId, prepared.document, records), records };
    return this.embedded(documentId, prepared.document, records, progress ?? noProgress, signal);
  }

  /** Chunks (and embeds) a document: the records its write will store. */
  private async prepare(
    documentId: string,
    document: Pick<LoadedDocument, "title" | "text" | "format" | "source">,
    scope: DocumentScope,
    progress: IndexProgress = async () => {},
    signal?: AbortSignal,
  ): Promise<{ result: IndexResult; records: ChunkWrite[] }> {
    const chunkable = {
      id: documentId,
      title: document.title,
      text: document.text,
      format: document.format,
      source: document.source,
    };
    // The same preparation as a loader's `loadPrepared` on its thread, here on the calling thread.
    const chunks = prepareChunks(chunkable, this.options.chunking);
    const records = countedRecords({ document, chunks }, documentId, scope);
    return this.embedded(documentId, document, records, progress, signal);
  }

  /** Gives chunks their dense vectors when an embedding model is configured. */
  private async embedded(
    documentId: string,
    document: Pick<LoadedDocument, "title" | "source">,
    records: ChunkWrite[],
    progress: IndexProgress,
    signal: AbortSignal | undefined,
  ): Promise<{ result: IndexResult; records: ChunkWrite[] }> {
    const total = records.length;
    await progress(0, total, "Chunking");
    const llm = this.options.llm;
    if (llm?.embeddingModel) {
      const batch = this.options.embeddingBatchSize ?? 64;
      for (let start = 0; start < records.length; start += batch) {
        const slice = records.slice(start, start + batch);
        const vectors = await llm.embed(
          slice.map((chunk) => `${chunk.title}\n${chunk.text}`),
          signal,
        );
        slice.forEach((record, index) => {
          record.dense = vectors[index];
        });
        await progress(Math.min(start + batch, total), total, "Embedding");
      }
    }
    return { result: resultOf(documentId, document, records), records };
  }

  private async store(documentId: string, scope: DocumentScope, records: ChunkWrite[]): Promise<void> {
    await this.writes.replace({ documentId, scope, chunks: records });
    this.options.logger.info({ documentId, chunks: records.length }, "document indexed");
  }

  /**
   * A file that arrived in one workspace's event may be downloaded with that platform's credentials
   * only when it is indexed into that same workspace; otherwise it is loaded like a typed URL.
   */
  private credentialsFor(reference: DocumentReference, scope: DocumentScope): DocumentReference {
    if (reference.kind !== "url" || reference.arrivedIn === undefined) return reference;
    const { arrivedIn, ...rest } = reference;
    if (arrivedIn.platform === scope.platform && arrivedIn.workspaceId === scope.workspaceId)
      return reference;
    this.options.logger.warn(
      { arrivedIn, scope: { platform: scope.platform, workspaceId: scope.workspaceId } },
      "a file from another workspace is loaded without platform credentials",
    );
    return rest;
  }

  /**
   * The documents a local `path` reference stands for when it names a folder (sorted paths), or
   * undefined when it is a single file, a URL, or the loader has no folders.
   */
  async documentsInFolder(reference: DocumentReference, signal?: AbortSignal): Promise<string[] | undefined> {
    if (reference.kind !== "path" || !this.options.loader.listFolder) return undefined;
    return this.options.loader.listFolder(reference.path, signal);
  }

  list(scope: QueryScope): Promise<DocumentSummary[]> {
    return this.options.store.listDocuments(scope);
  }

  /** Deletes one document's chunks within a workspace (a synced source's item that is gone). */
  remove(workspace: Pick<DocumentScope, "platform" | "workspaceId">, documentId: string): Promise<number> {
    return this.options.store.deleteDocument(workspace, documentId);
  }

  forget(scope: QueryScope, documentId: string): Promise<number> {
    return this.options.store.deleteDocument(scope, documentId);
  }
}
