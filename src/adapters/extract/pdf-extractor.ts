import { extractText, getDocumentProxy, getMeta } from "unpdf";
import { AppError } from "../../core/errors.js";
import type { ExtractedText } from "./markdown-extractor.js";

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
 * The title comes from the document information dictionary when the author set one.
 */
export async function extractPdf(body: Uint8Array): Promise<ExtractedText> {
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
      .map((page) => page.replace(/[ \t]+$/gm, "").trim())
      .filter((page) => page !== "")
      .join("\n\n");
    return { title: title === "" ? undefined : title, text };
  } catch (error) {
    throw unreadable(error);
  } finally {
    await document.destroy();
  }
}
