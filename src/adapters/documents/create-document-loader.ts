import { open, realpath } from "node:fs/promises";
import { basename, isAbsolute, relative, resolve, sep } from "node:path";
import { AppError } from "../../core/errors.js";
import type {
  ChunkPreparation,
  DocumentLoader,
  DocumentReference,
  LoadedDocument,
  PreparedDocument,
} from "../../core/ports/document-loader.js";
import type { RawDocument } from "../extract/extract-document.js";
import { loadExtractionPool } from "../extract/load-extraction-pool.js";
import { SafeHttpFetcher, type SafeHttpFetcherOptions } from "../http/safe-http-fetcher.js";
import { listFolderDocuments } from "./list-folder-documents.js";

export interface DocumentLoaderOptions {
  /** Limits and allowlist for URLs, or a ready fetcher. */
  fetcher?: SafeHttpFetcherOptions | SafeHttpFetcher;
  /** `path` references are read only inside this directory (symbolic links are followed, then checked). */
  baseDirectory: string;
  /** Largest local file read. Default 25 MiB. */
  maxFileBytes?: number;
  /** Turns raw content into text; by default in the process's extraction pool, off the main thread. */
  extract?: (raw: RawDocument, signal: AbortSignal | undefined) => Promise<LoadedDocument>;
  /**
   * Turns raw content into chunks (`DocumentLoader.loadPrepared`); by default in the process's extraction
   * pool, unless `extract` is given alone (then the loader has no `loadPrepared`, and the knowledge base
   * chunks what `extract` returns).
   */
  prepare?: (
    raw: RawDocument,
    preparation: ChunkPreparation,
    signal: AbortSignal | undefined,
  ) => Promise<PreparedDocument>;
  /** Most documents `index <folder>` takes at once. Default 1000. */
  maxFolderFiles?: number;
}

function isInside(directory: string, target: string): boolean {
  const path = relative(directory, target);
  return path !== "" && path !== ".." && !path.startsWith(`..${sep}`) && !isAbsolute(path);
}

function outsideBase(path: string): AppError {
  return new AppError("fetch_refused", `path outside the base directory: ${path}`, {
    category: "user",
    userMessage: "I can only read files inside the folder I was started in.",
  });
}

async function readLimited(path: string, maxBytes: number): Promise<Uint8Array> {
  const handle = await open(path, "r");
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) {
      throw new AppError("input_invalid", `not a regular file: ${path}`, {
        category: "user",
        userMessage: `${basename(path)} is not a file I can read.`,
      });
    }
    // Read one byte past the cap so a file that grew after `stat` is still caught.
    const buffer = Buffer.alloc(Math.min(stats.size, maxBytes) + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > maxBytes) {
      throw new AppError("input_too_large", `file over ${maxBytes} bytes: ${path}`, {
        category: "user",
        userMessage: `That file is larger than the ${(maxBytes / (1024 * 1024)).toFixed(maxBytes < 1024 * 1024 ? 2 : 0)} MB limit.`,
      });
    }
    return new Uint8Array(buffer.subarray(0, length));
  } finally {
    await handle.close();
  }
}

/**
 * The `DocumentLoader` used by the bot, the workers and the terminal chat: URLs (and chat
 * attachments) through the SSRF-guarded fetcher, paths from the local disk inside one base directory.
 */
export function createDocumentLoader(options: DocumentLoaderOptions): DocumentLoader {
  const fetcher =
    options.fetcher instanceof SafeHttpFetcher ? options.fetcher : new SafeHttpFetcher(options.fetcher ?? {});
  const maxFileBytes = options.maxFileBytes ?? 25 * 1024 * 1024;
  const configuredBase = resolve(options.baseDirectory);
  const extractDocument =
    options.extract ?? (async (raw, signal) => (await loadExtractionPool()).extract(raw, signal));
  const prepareDocument =
    options.prepare ??
    (options.extract
      ? undefined
      : async (raw: RawDocument, preparation: ChunkPreparation, signal: AbortSignal | undefined) =>
          (await loadExtractionPool()).prepare(raw, preparation, signal));

  async function fetchUrl(
    reference: Extract<DocumentReference, { kind: "url" }>,
    signal: AbortSignal | undefined,
  ): Promise<RawDocument> {
    const resource = await fetcher.fetch({ url: reference.url, headers: reference.headers, signal });
    return {
      body: resource.body,
      mediaType: resource.mediaType,
      charset: resource.charset,
      fileName: reference.name ?? resource.fileName,
      source: reference.url,
      baseUrl: resource.finalUrl,
    };
  }

  async function readPath(path: string, signal: AbortSignal | undefined): Promise<RawDocument> {
    signal?.throwIfAborted();
    const base = await realpath(configuredBase);
    const requested = resolve(base, path);
    if (!isInside(base, requested)) throw outsideBase(path);
    let real: string;
    try {
      real = await realpath(requested);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") {
        throw new AppError("not_found", `no such file: ${path}`, {
          cause: error,
          category: "user",
          userMessage: `I can't find ${path}.`,
        });
      }
      throw error;
    }
    // A symbolic link inside the base may point anywhere; what counts is where it lands.
    if (!isInside(base, real)) throw outsideBase(path);
    const body = await readLimited(real, maxFileBytes);
    signal?.throwIfAborted();
    return { body, mediaType: undefined, charset: undefined, fileName: basename(real), source: path };
  }

  function read(reference: DocumentReference, signal: AbortSignal | undefined): Promise<RawDocument> {
    return reference.kind === "url" ? fetchUrl(reference, signal) : readPath(reference.path, signal);
  }

  return {
    async load(reference, signal) {
      return extractDocument(await read(reference, signal), signal);
    },
    ...(prepareDocument && {
      async loadPrepared(reference: DocumentReference, preparation: ChunkPreparation, signal?: AbortSignal) {
        return prepareDocument(await read(reference, signal), preparation, signal);
      },
    }),
    async listFolder(path, signal) {
      const base = await realpath(configuredBase);
      const requested = resolve(base, path);
      // The base itself may be listed (`index .`); anything else must lie inside it.
      if (requested !== base && !isInside(base, requested)) throw outsideBase(path);
      const real = await realpath(requested).catch(() => undefined);
      if (real === undefined) return undefined;
      if (real !== base && !isInside(base, real)) throw outsideBase(path);
      return listFolderDocuments(real, path, {
        maxFiles: options.maxFolderFiles ?? 1_000,
        signal,
      });
    },
  };
}
