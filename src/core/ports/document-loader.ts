import type { ChunkOptions } from "../knowledge/chunker.js";
import type { WorkspaceRef } from "../types.js";

/**
 * Where a document to index comes from. URLs cover web pages and chat attachments alike: platform
 * adapters hand attachments in as their download URL plus the headers the download needs.
 */
export type DocumentReference =
  | {
      kind: "url";
      url: string;
      /**
       * Headers for the download, added by a platform's credential loader just before it downloads
       * (Slack's `Authorization: Bearer …` for `url_private`). Sent only to the URL's own origin, never
       * across a redirect to another one; never logged or stored, and never set by core.
       */
      headers?: Record<string, string>;
      /**
       * The workspace whose event carried this file (a chat attachment); absent for a URL someone
       * typed. Only such a file may be downloaded with that platform's credentials.
       */
      arrivedIn?: WorkspaceRef;
      /** The attachment's file name, a hint for the format when the server says `application/octet-stream`. */
      name?: string;
    }
  | {
      kind: "path";
      /** A path relative to the loader's base directory (or an absolute one inside it). */
      path: string;
    };

/** A document reduced to clean text, ready for chunking. */
export interface LoadedDocument {
  title: string;
  /** Markdown keeps its headings (`#` lines), so the chunker can follow the structure. */
  text: string;
  format: "markdown" | "text";
  /** The URL as given (before redirects) or the path as given. */
  source: string;
  /** The media type the content was read as (`text/html`, `application/pdf`, …). */
  contentType: string;
  /** Size of the raw content in bytes, before extraction. */
  bytes: number;
}

/** What `loadPrepared` cuts a document into chunks with: the id it is indexed under and the chunk sizes. */
export interface ChunkPreparation {
  documentId: string;
  chunking?: ChunkOptions | undefined;
}

/**
 * A document's chunks with their BM25 terms counted (core `prepareChunks`), laid out to cross a thread
 * boundary cheaply: strings only where a chunk needs them, every number in typed arrays.
 */
export interface PreparedChunks {
  /** Per chunk, in position order. */
  ids: string[];
  texts: string[];
  /** Chunks of one section share their heading path (one array, which a thread boundary keeps shared). */
  headingPaths: string[][];
  /** Per chunk, three numbers: its tokens, its BM25 length (terms in all), its distinct terms. */
  counts: Uint32Array;
  /** Each chunk's `TermCounts.frequencies`, one after the other in position order. */
  frequencies: Uint32Array;
}

/** A document as `loadPrepared` gives it: what `load` tells of it, and its chunks instead of its text. */
export interface PreparedDocument {
  document: Omit<LoadedDocument, "text">;
  chunks: PreparedChunks;
}

/**
 * Turns a URL or a local path into clean text. Implementations enforce the safety limits (address
 * guard, size, time, content types) and fail with an `AppError` (`fetch_refused`, `fetch_failed`,
 * `input_too_large`, `unsupported_content`, `not_found`) whose `userMessage` can go straight to chat.
 * Indexing is deliberately not part of this port; chunking only through `loadPrepared`.
 */
export interface DocumentLoader {
  load(reference: DocumentReference, signal?: AbortSignal): Promise<LoadedDocument>;
  /**
   * `load`, and the text cut into chunks with their terms counted (`prepareChunks`) where it was
   * extracted: a document extracted on another thread (a PDF, a page, a big file) comes back chunked, and
   * the calling thread only writes. Optional: without it, the knowledge base chunks what `load` returns
   * itself. Both give the same chunks.
   */
  loadPrepared?(
    reference: DocumentReference,
    preparation: ChunkPreparation,
    signal?: AbortSignal,
  ): Promise<PreparedDocument>;
  /**
   * The document files in a local folder, as `path` references' paths, sorted; undefined when `path`
   * is not a folder. Optional: only a loader that reads local paths has folders.
   */
  listFolder?(path: string, signal?: AbortSignal): Promise<string[] | undefined>;
}
