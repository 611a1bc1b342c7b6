/**
 * The body of an extraction worker thread (see `ExtractionPool`): one document in, its text or a
 * plain description of the failure out. `AppError`s do not survive a thread boundary (structured clone
 * keeps only an error's message), so their fields travel as data and the pool rebuilds them.
 */
import { parentPort } from "node:worker_threads";
import { type ErrorCategory, type ErrorCode, isAppError } from "../../core/errors.js";
import { prepareDocument } from "../../core/knowledge/prepare-chunks.js";
import type { ChunkPreparation, LoadedDocument, PreparedDocument } from "../../core/ports/document-loader.js";
import { extractDocument, loadExtractorFor, type RawDocument } from "./extract-document.js";

export interface ExtractionFailure {
  code: ErrorCode;
  message: string;
  category: ErrorCategory;
  userMessage: string | undefined;
}

export type ExtractionOutcome =
  | { ok: true; document: LoadedDocument }
  | { ok: true; prepared: PreparedDocument }
  | { ok: false; failure: ExtractionFailure };

/**
 * One document for a thread, with the id the thread reports back when it begins on it (none: the
 * pool does not watch its memory), and how to chunk it when it is to come back chunked.
 */
export interface ExtractionTask {
  raw: RawDocument;
  taskId: number | undefined;
  preparation?: ChunkPreparation | undefined;
}

/** What every thread of the pool is given when it starts. */
export interface ExtractionThreadData {
  /**
   * The parent's token rank table (`tokenizerTable`), which the thread counts with; the entry module
   * puts it where `core/tokens.ts` looks for it before this body loads.
   */
  tokenizerTable: SharedArrayBuffer;
}

const STARTED = "teammateExtractionStarted";

/** The id in a thread's "began on this document" message, if that is what `message` is. */
export function startedTaskId(message: unknown): number | undefined {
  if (typeof message !== "object" || message === null || !(STARTED in message)) return undefined;
  const taskId = (message as Record<string, unknown>)[STARTED];
  return typeof taskId === "number" ? taskId : undefined;
}

export default async function extractInThread({
  raw,
  taskId,
  preparation,
}: ExtractionTask): Promise<ExtractionOutcome> {
  try {
    // The pool measures the document's memory from the message below: the thread's own start-up,
    // loading the extractor's libraries included (PDF.js: tens of MB, far more under a test runner's
    // transpiling loader), is not the document's doing.
    await loadExtractorFor(raw);
    if (taskId !== undefined) parentPort?.postMessage({ [STARTED]: taskId });
    const document = await extractDocument(raw);
    if (!preparation) return { ok: true, document };
    return { ok: true, prepared: prepareDocument(document, preparation) };
  } catch (error) {
    if (isAppError(error)) {
      return {
        ok: false,
        failure: {
          code: error.code,
          message: error.message,
          category: error.category,
          userMessage: error.userMessage,
        },
      };
    }
    return {
      ok: false,
      failure: { code: "internal", message: String(error), category: "system", userMessage: undefined },
    };
  }
}
