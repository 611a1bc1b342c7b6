import { createHash } from "node:crypto";
import { QdrantClient, type Schemas } from "@qdrant/js-client-rest";
import { AppError } from "../../core/errors.js";
import { documentSparseVector, querySparseVector, RRF_K, termCountsOf } from "../../core/knowledge/sparse.js";
import { type Logger, silentLogger } from "../../core/ports/logger.js";
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
import { redactSecrets } from "../../core/redaction.js";
import type { Platform } from "../../core/types.js";

/** Options for {@link QdrantVectorStore}. */
export interface QdrantVectorStoreOptions {
  /** Base URL of the Qdrant REST API, e.g. `http://localhost:6333`. */
  url: string;
  /** Sent as the `api-key` header; never logged or put into error messages. */
  apiKey?: string | undefined;
  /** Collection holding every workspace's chunks (workspace is the tenant key). */
  collection?: string | undefined;
  /** Size of the dense embedding; without it the collection is sparse-only (BM25). */
  denseDimensions?: number | undefined;
  logger?: Logger | undefined;
  /** Per-request timeout in milliseconds (the client's default is 300 s). */
  timeoutMs?: number | undefined;
}

const DEFAULT_COLLECTION = "teammate_chunks";
/** Channel value of documents every channel of the workspace may see. Real channel ids never equal it. */
const WORKSPACE_WIDE_CHANNEL = "*";
const DENSE_VECTOR = "dense";
const SPARSE_VECTOR = "bm25";

// Qdrant scores sparse queries over a small filtered set with a plain scan that also returns points
// sharing no term (score 0); a tiny positive floor keeps those out of BM25 results and out of RRF.
const MINIMUM_SPARSE_SCORE = 1e-9;
const SCROLL_PAGE = 256;
const UPSERT_BATCH = 256;

interface ChunkPayload {
  workspace: string;
  channel: string;
  platform: Platform;
  workspace_id: string;
  document_id: string;
  chunk_id: string;
  position: number;
  title: string;
  heading_path: string[];
  source: string;
  text: string;
  tokens?: number;
}

type Filter = Schemas["Filter"];

/**
 * VectorStore on Qdrant: one collection for every workspace, a named dense vector (`dense`, cosine)
 * and a named sparse vector (`bm25`) whose IDF Qdrant applies at query time (`modifier: idf`), so the
 * document-side BM25 weights from core stay valid as the corpus grows. Search is hybrid through the
 * Query API (dense and sparse prefetches fused with RRF) or BM25 alone when no dense vector is given.
 */
export class QdrantVectorStore implements VectorStore {
  private readonly client: QdrantClient;
  private readonly collection: string;
  private readonly denseDimensions: number | undefined;
  private readonly logger: Logger;
  private readonly apiKey: string | undefined;
  private readonly displayUrl: string;
  private ready: Promise<void> | undefined;
  private closed = false;

  constructor(options: QdrantVectorStoreOptions) {
    if (
      options.denseDimensions !== undefined &&
      !(Number.isInteger(options.denseDimensions) && options.denseDimensions > 0)
    ) {
      throw new AppError("config_invalid", "Qdrant denseDimensions must be a positive integer");
    }
    this.collection = options.collection ?? DEFAULT_COLLECTION;
    this.denseDimensions = options.denseDimensions;
    this.apiKey = options.apiKey;
    this.displayUrl = displayUrl(options.url);
    this.logger = (options.logger ?? silentLogger).child({
      component: "qdrant-vector-store",
      collection: this.collection,
    });
    try {
      this.client = new QdrantClient({
        url: options.url,
        ...(options.apiKey === undefined ? {} : { apiKey: options.apiKey }),
        ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs }),
        // The version handshake only warns on the console; ensureCollection surfaces real failures.
        checkCompatibility: false,
      });
    } catch (error) {
      throw new AppError("config_invalid", `Invalid Qdrant URL ${this.displayUrl}`, { cause: error });
    }
  }

  /**
   * Creates the collection and its payload indexes when missing; safe to call again and from several
   * processes at once. Every other method calls it once before its first request.
   */
  async ensureCollection(): Promise<void> {
    await this.call("ensure collection", async () => {
      // The client's own handshake only writes to the console; this one goes through the logger.
      const { version } = await this.client.versionInfo();
      const [major, minor] = version.split(".").map(Number);
      if (major !== 1 || (minor ?? 0) < 10) {
        this.logger.warn(
          { serverVersion: version },
          "Qdrant server predates the Query API and sparse IDF (1.10)",
        );
      } else {
        this.logger.debug({ serverVersion: version }, "connected to Qdrant");
      }
      const { exists } = await this.client.collectionExists(this.collection);
      if (exists) {
        await this.checkExistingCollection();
      } else {
        await this.createCollection();
      }
      // Creating an index that already exists is a no-op in Qdrant, so this also repairs a collection
      // created by an older version without them.
      await this.client.createPayloadIndex(this.collection, {
        wait: true,
        field_name: "workspace",
        field_schema: { type: "keyword", is_tenant: true },
      });
      for (const field of ["channel", "document_id"]) {
        await this.client.createPayloadIndex(this.collection, {
          wait: true,
          field_name: field,
          field_schema: "keyword",
        });
      }
    });
  }

  async replaceDocument(documentId: string, scope: DocumentScope, chunks: ChunkWrite[]): Promise<void> {
    requireText(documentId, "documentId");
    const workspace = workspaceKey(scope);
    const channel = scope.channelId ?? WORKSPACE_WIDE_CHANNEL;
    if (channel === WORKSPACE_WIDE_CHANNEL && scope.channelId !== undefined) {
      throw new AppError(
        "input_invalid",
        `Channel id ${WORKSPACE_WIDE_CHANNEL} is reserved for workspace-wide documents`,
      );
    }
    const points = chunks.map((chunk) => {
      if (chunk.documentId !== documentId) {
        throw new AppError(
          "input_invalid",
          `Chunk ${chunk.id} belongs to ${chunk.documentId}, not ${documentId}`,
        );
      }
      const payload: ChunkPayload = {
        workspace,
        channel,
        platform: scope.platform,
        workspace_id: scope.workspaceId,
        document_id: documentId,
        chunk_id: chunk.id,
        position: chunk.position,
        title: chunk.title,
        heading_path: chunk.headingPath,
        source: chunk.source,
        text: chunk.text,
        ...(chunk.tokens === undefined ? {} : { tokens: chunk.tokens }),
      };
      const vector: Record<string, number[] | Schemas["SparseVector"]> = {
        [SPARSE_VECTOR]: documentSparseVector(termCountsOf(chunk)),
      };
      if (this.denseDimensions !== undefined && chunk.dense !== undefined) {
        vector[DENSE_VECTOR] = this.checkDense(chunk.dense);
      }
      return { id: pointId(workspace, chunk.id), vector, payload: { ...payload } };
    });
    await this.prepare();
    // Upsert first, then trim positions past the new end: a crash in between leaves a stale tail that
    // the re-run removes, whereas delete-then-upsert could leave the document missing altogether.
    await this.call("upsert chunks", async () => {
      for (let start = 0; start < points.length; start += UPSERT_BATCH) {
        await this.client.upsert(this.collection, {
          wait: true,
          points: points.slice(start, start + UPSERT_BATCH),
        });
      }
      await this.client.delete(this.collection, {
        wait: true,
        filter: {
          must: [
            ...documentConditions(workspace, documentId),
            { key: "position", range: { gte: chunks.length } },
          ],
        },
      });
    });
  }

  /**
   * Document by document: a Qdrant write has no per-commit cost worth sharing, and each document's
   * upsert-then-trim keeps its own crash safety. Different documents are written at once (as the
   * concurrent writes that a batch stands for were); a document named twice, in order.
   */
  async replaceDocuments(documents: readonly DocumentReplacement[]): Promise<void> {
    const byDocument = new Map<string, DocumentReplacement[]>();
    for (const document of documents) {
      const key = `${workspaceKey(document.scope)}\u0000${document.documentId}`;
      const replacements = byDocument.get(key);
      if (replacements) replacements.push(document);
      else byDocument.set(key, [document]);
    }
    const results = await Promise.allSettled(
      [...byDocument.values()].map(async (replacements) => {
        for (const { documentId, scope, chunks } of replacements)
          await this.replaceDocument(documentId, scope, chunks);
      }),
    );
    const failed = results.find((result) => result.status === "rejected");
    if (failed) throw failed.reason;
  }

  async deleteDocument(
    scope: Pick<DocumentScope, "platform" | "workspaceId">,
    documentId: string,
  ): Promise<number> {
    requireText(documentId, "documentId");
    const filter: Filter = { must: documentConditions(workspaceKey(scope), documentId) };
    await this.prepare();
    return this.call("delete document", async () => {
      const { count } = await this.client.count(this.collection, { filter, exact: true });
      if (count === 0) return 0;
      await this.client.delete(this.collection, { wait: true, filter });
      return count;
    });
  }

  async search(query: VectorQuery): Promise<ScoredChunk[]> {
    if (query.limit <= 0) return [];
    const filter = scopeFilter(query.scope);
    const sparse = querySparseVector(query.terms);
    const dense =
      this.denseDimensions === undefined || query.dense === undefined
        ? undefined
        : this.checkDense(query.dense);
    if (sparse.indices.length === 0 && dense === undefined) return [];
    await this.prepare();
    const sparsePrefetch = {
      query: sparse,
      using: SPARSE_VECTOR,
      filter,
      score_threshold: MINIMUM_SPARSE_SCORE,
    };
    const response = await this.call("search", () => {
      if (dense === undefined) {
        return this.client.query(this.collection, {
          ...sparsePrefetch,
          limit: query.limit,
          with_payload: true,
        });
      }
      const candidates = Math.max(query.limit * 4, 40);
      const prefetch: Schemas["Prefetch"][] = [
        { query: dense, using: DENSE_VECTOR, filter, limit: candidates },
      ];
      if (sparse.indices.length > 0) prefetch.push({ ...sparsePrefetch, limit: candidates });
      // The top-level filter repeats the scope so no future prefetch can widen what a channel sees.
      return this.client.query(this.collection, {
        prefetch,
        query: { rrf: { k: RRF_K } },
        filter,
        limit: query.limit,
        with_payload: true,
      });
    });
    return response.points.map((point) => ({ chunk: chunkFromPayload(point.payload), score: point.score }));
  }

  async listDocuments(scope: QueryScope): Promise<DocumentSummary[]> {
    const filter = scopeFilter(scope);
    await this.prepare();
    const documents = new Map<string, DocumentSummary & { firstPosition: number }>();
    await this.call("list documents", async () => {
      let offset: Schemas["ExtendedPointId"] | undefined;
      do {
        const page = await this.client.scroll(this.collection, {
          filter,
          limit: SCROLL_PAGE,
          with_payload: ["document_id", "title", "source", "position", "platform", "workspace_id", "channel"],
          with_vector: false,
          ...(offset === undefined ? {} : { offset }),
        });
        for (const point of page.points) {
          const payload = point.payload ?? {};
          const documentId = String(payload.document_id);
          const position = Number(payload.position);
          const known = documents.get(documentId);
          if (known) {
            known.chunkCount += 1;
            // Title and source come from the first chunk, as the other stores report them.
            if (position < known.firstPosition) {
              known.firstPosition = position;
              known.title = String(payload.title);
              known.source = String(payload.source);
            }
          } else {
            documents.set(documentId, {
              documentId,
              title: String(payload.title),
              source: String(payload.source),
              scope: scopeFromPayload(payload),
              chunkCount: 1,
              firstPosition: position,
            });
          }
        }
        const next = page.next_page_offset;
        offset = typeof next === "string" || typeof next === "number" ? next : undefined;
      } while (offset !== undefined);
    });
    return [...documents.values()]
      .map(({ firstPosition: _firstPosition, ...summary }) => summary)
      .sort((a, b) => a.title.localeCompare(b.title) || a.documentId.localeCompare(b.documentId));
  }

  /**
   * Qdrant's count API under the scope filter: answered from the payload indexes (`workspace` is the
   * tenant key), so its cost does not grow with what a workspace holds, unlike scrolling the points.
   */
  async hasChunks(scope: QueryScope): Promise<boolean> {
    const filter = scopeFilter(scope);
    await this.prepare();
    return this.call("count chunks", async () => {
      const { count } = await this.client.count(this.collection, { filter, exact: true });
      return count > 0;
    });
  }

  /** The REST client keeps no open resources beyond idle keep-alive sockets, which close on their own. */
  async close(): Promise<void> {
    this.closed = true;
  }

  private prepare(): Promise<void> {
    if (this.closed)
      return Promise.reject(new AppError("store_unavailable", "Qdrant vector store is closed"));
    if (!this.ready) {
      this.ready = this.ensureCollection().catch((error: unknown) => {
        this.ready = undefined;
        throw error;
      });
    }
    return this.ready;
  }

  private async createCollection(): Promise<void> {
    try {
      await this.client.createCollection(this.collection, {
        ...(this.denseDimensions === undefined
          ? {}
          : { vectors: { [DENSE_VECTOR]: { size: this.denseDimensions, distance: "Cosine" } } }),
        sparse_vectors: { [SPARSE_VECTOR]: { modifier: "idf" } },
      });
      this.logger.info({ denseDimensions: this.denseDimensions ?? null }, "created Qdrant collection");
    } catch (error) {
      // Another process may have created it between our check and our request.
      const { exists } = await this.client.collectionExists(this.collection);
      if (!exists) throw error;
      await this.checkExistingCollection();
    }
  }

  private async checkExistingCollection(): Promise<void> {
    const info = await this.client.getCollection(this.collection);
    const params = info.config.params;
    const sparse = params.sparse_vectors?.[SPARSE_VECTOR];
    if (!sparse) {
      throw new AppError(
        "config_invalid",
        `Qdrant collection ${this.collection} has no sparse vector "${SPARSE_VECTOR}"; use another QDRANT_COLLECTION`,
      );
    }
    if (this.denseDimensions === undefined) return;
    const vectors = params.vectors as Record<string, { size?: number } | undefined> | undefined;
    const size = vectors?.[DENSE_VECTOR]?.size;
    if (size !== this.denseDimensions) {
      throw new AppError(
        "config_invalid",
        `Qdrant collection ${this.collection} holds ${size === undefined ? "no" : `${size}-dimensional`} dense vectors but the embedding model gives ${this.denseDimensions}; re-index into another QDRANT_COLLECTION`,
      );
    }
  }

  private checkDense(vector: number[]): number[] {
    if (vector.length !== this.denseDimensions) {
      throw new AppError(
        "input_invalid",
        `Dense vector has ${vector.length} dimensions; the collection expects ${this.denseDimensions}`,
      );
    }
    return vector;
  }

  private async call<T>(action: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw this.translate(action, error);
    }
  }

  private translate(action: string, error: unknown): AppError {
    if (error instanceof AppError) return error;
    const scrub = (text: string) => redactSecrets(text, this.apiKey ? [this.apiKey] : []);
    const status = (error as { status?: unknown }).status;
    if (typeof status === "number") {
      const detail = scrub(qdrantErrorText((error as { data?: unknown }).data) ?? `HTTP ${status}`);
      const message = `Qdrant ${action} failed at ${this.displayUrl}: ${detail}`;
      if (status === 401 || status === 403) {
        return new AppError(
          "store_unavailable",
          `Qdrant ${action} was refused at ${this.displayUrl}: check QDRANT_API_KEY`,
          {
            category: "third_party",
          },
        );
      }
      if (status === 404) return new AppError("not_found", message, { category: "system" });
      if (status === 429 || status >= 500) {
        return new AppError("store_unavailable", message, { retryable: true, category: "third_party" });
      }
      return new AppError("internal", message, { category: "system" });
    }
    const name = error instanceof Error ? error.name : "";
    const reason = networkReason(error);
    const retryable = true;
    if (name === "QdrantClientTimeoutError") {
      return new AppError("store_unavailable", `Qdrant ${action} timed out at ${this.displayUrl}`, {
        retryable,
        category: "third_party",
      });
    }
    if (name === "QdrantClientResourceExhaustedError") {
      return new AppError("store_unavailable", `Qdrant ${action} was rate limited at ${this.displayUrl}`, {
        retryable,
        category: "third_party",
      });
    }
    const message = error instanceof Error ? scrub(error.message.split("\n")[0] ?? "") : "";
    return new AppError(
      "store_unavailable",
      `Qdrant ${action} failed at ${this.displayUrl}: ${reason ?? (message || "unknown error")}`,
      { retryable, category: "third_party" },
    );
  }
}

function requireText(value: string, name: string): void {
  if (value.trim() === "") throw new AppError("input_invalid", `${name} must not be empty`);
}

function workspaceKey(scope: Pick<DocumentScope, "platform" | "workspaceId">): string {
  requireText(scope.workspaceId, "workspaceId");
  return `${scope.platform}:${scope.workspaceId}`;
}

function documentConditions(workspace: string, documentId: string): Schemas["Condition"][] {
  return [
    { key: "workspace", match: { value: workspace } },
    { key: "document_id", match: { value: documentId } },
  ];
}

/** The asker's workspace, and the asker's channel or (unless left out) workspace-wide documents. */
function scopeFilter(scope: QueryScope): Filter {
  const channels = scope.channelDocumentsOnly ? [scope.channelId] : [scope.channelId, WORKSPACE_WIDE_CHANNEL];
  return {
    must: [
      { key: "workspace", match: { value: workspaceKey(scope) } },
      { key: "channel", match: { any: channels } },
    ],
  };
}

/**
 * A point id per (workspace, chunk id), shaped as a name-based UUID (version 5 layout over SHA-1).
 * Chunk ids derive from document id + position, and two workspaces may index the same document id;
 * keying points by workspace too means one tenant's re-index can never overwrite another's points.
 */
export function pointId(workspace: string, chunkId: string): string {
  const hash = createHash("sha1").update(workspace).update("\u0000").update(chunkId).digest();
  hash[6] = ((hash[6] ?? 0) & 0x0f) | 0x50;
  hash[8] = ((hash[8] ?? 0) & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

function scopeFromPayload(payload: Record<string, unknown>): DocumentScope {
  const channel = String(payload.channel);
  return {
    platform: payload.platform as Platform,
    workspaceId: String(payload.workspace_id),
    ...(channel === WORKSPACE_WIDE_CHANNEL ? {} : { channelId: channel }),
  };
}

function chunkFromPayload(payload: Record<string, unknown> | null | undefined): ScoredChunk["chunk"] {
  const data = payload ?? {};
  return {
    id: String(data.chunk_id),
    documentId: String(data.document_id),
    position: Number(data.position),
    title: String(data.title),
    headingPath: Array.isArray(data.heading_path) ? data.heading_path.map(String) : [],
    source: String(data.source),
    text: String(data.text),
    scope: scopeFromPayload(data),
    ...(typeof data.tokens === "number" ? { tokens: data.tokens } : {}),
  };
}

function qdrantErrorText(data: unknown): string | undefined {
  const error = (data as { status?: { error?: unknown } } | undefined)?.status?.error;
  return typeof error === "string" ? error : undefined;
}

/** The socket-level reason (`ECONNREFUSED`, …) or the innermost cause's message of a failed fetch. */
function networkReason(error: unknown): string | undefined {
  let current: unknown = error;
  let innermost: string | undefined;
  for (let depth = 0; depth < 5 && current; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string") return code;
    if (current instanceof Error && current !== error) innermost = current.message;
    current = (current as { cause?: unknown }).cause;
  }
  return innermost;
}

/** The URL without credentials, path or query, for messages. */
function displayUrl(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return "(invalid URL)";
  }
}
