/**
 * The body of an extraction worker thread (see `ExtractionPool`): one document in, its text or a
 * plain description of the failure out. `AppError`s do not survive a thread boundary (structured clone
 * keeps only an error's message), so their fields travel as data and the pool rebuilds them.
 */
import { type ErrorCategory, type ErrorCode, isAppError } from "../../core/errors.js";
import type { LoadedDocument } from "../../core/ports/document-loader.js";
import { extractDocument, type RawDocument } from "./extract-document.js";

export interface ExtractionFailure {
  code: ErrorCode;
  message: string;
  category: ErrorCategory;
  userMessage: string | undefined;
}

export type ExtractionOutcome =
  | { ok: true; document: LoadedDocument }
  | { ok: false; failure: ExtractionFailure };

export default async function extractInThread(raw: RawDocument): Promise<ExtractionOutcome> {
  try {
    return { ok: true, document: await extractDocument(raw) };
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
