import { extractText, getDocumentProxy, getMeta, getResolvedPDFJS } from "unpdf";
import { AppError } from "../../core/errors.js";
import type { ExtractedText } from "./markdown-extractor.js";
import { inflatesPast, MAX_PDF_INFLATED_BYTES } from "./pdf-inflation-check.js";
import { trimLineEnds } from "./text-cleanup.js";

function unreadable(cause: unknown): AppError {
  const password = (cause as { name?: string } | undefined)?.name === "PasswordException";
  return new AppError("unsupported_content", `PDF could not be parsed: ${String(cause)}`, {
    cause,
    category: "user",
    userMessage: password
      ? "That PDF is password-protected, so I can't read it."
      : "That PDF could not be read; it may be damaged.",
  });
}

/**
 * PDF to plain text with unpdf (PDF.js): one block per page, pages separated by a blank line.
 * The title comes from the document information dictionary when the author set one. A file whose
 * streams inflate past `MAX_PDF_INFLATED_BYTES` is refused before PDF.js reads it; `name` names it then.
 */
export async function extractPdf(body: Uint8Array, name = "That PDF"): Promise<ExtractedText> {
  if (inflatesPast(body)) {
    throw new AppError("input_too_large", `PDF inflates past ${MAX_PDF_INFLATED_BYTES} bytes`, {
      category: "user",
      userMessage: `${name} unpacks to more than ${MAX_PDF_INFLATED_BYTES / (1024 * 1024)} MB of content, more than I read from one document; it may be a decompression bomb.`,
    });
  }
  // PDF.js may take ownership of the buffer it is given, so it gets a copy; its console warnings stay off.
  const document = await getDocumentProxy(body.slice(), { verbosity: 0 }).catch((error: unknown) => {
    throw unreadable(error);
  });
  try {
    const [{ text: pages }, meta] = await Promise.all([
      extractText(document, { mergePages: false }),
      getMeta(document).catch(() => ({ info: {} as Record<string, unknown> })),
    ]);
    const title = typeof meta.info.Title === "string" ? meta.info.Title.trim() : "";
    const text = pages
      .map((page) => trimLineEnds(page).trim())
      .filter((page) => page !== "")
      .join("\n\n");
    return { title: title === "" ? undefined : title, text };
  } catch (error) {
    throw unreadable(error);
  } finally {
    await document.destroy();
  }
}

/**
 * Loads PDF.js (unpdf resolves it on first use). The extraction thread calls this before it starts
 * measuring a document's memory: loading the engine is the thread's start-up, not the document's.
 */
export async function loadPdfEngine(): Promise<void> {
  await getResolvedPDFJS();
}
