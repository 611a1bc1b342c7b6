import { createHash } from "node:crypto";
import type { DocumentLoader, DocumentReference, LoadedDocument } from "../ports/document-loader.js";
import type { EmbeddingModel } from "../ports/llm-provider.js";
import type { Logger } from "../ports/logger.js";
import type { DocumentScope, DocumentSummary, QueryScope, VectorStore } from "../ports/vector-store.js";
import { type ChunkOptions, chunkDocument, toChunkRecords } from "./chunker.js";

export type IndexProgress = (done: number, total: number, label: string) => Promise<void>;

export interface IndexResult {
  documentId: string;
  title: string;
  source: string;
  chunks: number;
}

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
  return `d${createHash("sha256").update(key).digest("hex").slice(0, 10)}`;
}

/** Load → chunk → (embed) → replace in the store. Every step can run again safely. */
export class KnowledgeBase {
  constructor(private readonly options: KnowledgeBaseOptions) {}

  get canEmbed(): boolean {
    return this.options.llm?.embeddingModel !== undefined;
  }

  async index(
    reference: DocumentReference,
    scope: DocumentScope,
    progress: IndexProgress = async () => {},
    signal?: AbortSignal,
  ): Promise<IndexResult> {
    const source = reference.kind === "url" ? reference.url : reference.path;
    // A file on this machine is read, not downloaded.
    await progress(0, 1, reference.kind === "url" ? "Downloading" : "Reading");
    const loaded = await this.options.loader.load(this.credentialsFor(reference, scope), signal);
    const documentId = documentIdFor(source, scope);
    const chunks = await this.indexText(documentId, loaded, scope, progress, signal);
    return { documentId, title: loaded.title, source: loaded.source, chunks };
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
    const chunks = chunkDocument(
      {
        id: documentId,
        title: document.title,
        text: document.text,
        format: document.format,
        source: document.source,
      },
      this.options.chunking,
    );
    const total = chunks.length;
    await progress(0, total, "Chunking");
    let dense: Array<number[] | undefined> | undefined;
    const llm = this.options.llm;
    if (llm?.embeddingModel) {
      dense = [];
      const batch = this.options.embeddingBatchSize ?? 64;
      for (let start = 0; start < chunks.length; start += batch) {
        const slice = chunks.slice(start, start + batch);
        dense.push(
          ...(await llm.embed(
            slice.map((chunk) => `${chunk.title}\n${chunk.text}`),
            signal,
          )),
        );
        await progress(Math.min(start + batch, total), total, "Embedding");
      }
    }
    const records = toChunkRecords(chunks, scope, dense);
    await this.options.store.replaceDocument(documentId, scope, records);
    await progress(total, total, "Indexed");
    this.options.logger.info({ documentId, chunks: total }, "document indexed");
    return total;
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
