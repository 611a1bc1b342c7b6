import { TextDecoder } from "node:util";
import { AppError } from "../../core/errors.js";
import type { LoadedDocument } from "../../core/ports/document-loader.js";
import { extractCsv } from "./csv-extractor.js";
import { detectDocumentFormat, MEDIA_TYPE_OF_FORMAT } from "./detect-document-format.js";
import { type ExtractedText, extractMarkdown } from "./markdown-extractor.js";
import { normalizeNewlines, trimLineEnds } from "./text-cleanup.js";

/** Raw content and what is known about it. */
export interface RawDocument {
  body: Uint8Array;
  /** Media type without parameters, if the source declared one. */
  mediaType: string | undefined;
  charset: string | undefined;
  /** File name or last path segment: the fallback title, and the format hint for generic media types. */
  fileName: string | undefined;
  /** The URL or path as given, reported back as `LoadedDocument.source`. */
  source: string;
  /** Base for resolving relative links in HTML. */
  baseUrl?: string | undefined;
  /** A title known from elsewhere (a data set's own), which then wins over the one read from the content. */
  title?: string | undefined;
}

function decoderFor(label: string | undefined): TextDecoder {
  try {
    return new TextDecoder(label ?? "utf-8");
  } catch {
    return new TextDecoder("utf-8");
  }
}

// An HTML page without a charset in its Content-Type usually declares one in a <meta> tag near the top.
function htmlCharset(body: Uint8Array): string | undefined {
  const head = new TextDecoder("latin1").decode(body.subarray(0, 2048));
  return /<meta[^>]+charset\s*=\s*["']?([\w-]+)/i.exec(head)?.[1];
}

function plainText(source: string): ExtractedText {
  return { title: undefined, text: trimLineEnds(normalizeNewlines(source)).trim() };
}

function titleFromName(fileName: string | undefined, source: string): string {
  const name = fileName?.replace(/\.[a-z0-9]+$/i, "").trim();
  return name || source;
}

/**
 * Reduces raw content to a `LoadedDocument`: picks the format, decodes text with the declared
 * charset, extracts, and refuses content with no readable text (a scanned PDF, an empty page).
 */
/**
 * Loads the libraries `extractDocument` will need for this document (PDF.js, the HTML parser), which
 * are otherwise loaded on the first such document. Extraction threads call it before their memory
 * watch begins, so a fresh thread's loading is never charged to the document it reads.
 */
export async function loadExtractorFor(raw: RawDocument): Promise<void> {
  const format = detectDocumentFormat(raw);
  if (format === "pdf") await (await import("./pdf-extractor.js")).loadPdfEngine();
  if (format === "html") await import("./html-extractor.js");
}

export async function extractDocument(raw: RawDocument): Promise<LoadedDocument> {
  const format = detectDocumentFormat(raw);
  if (!format) {
    throw new AppError(
      "unsupported_content",
      `cannot read ${raw.mediaType ?? "unknown"} content (${raw.fileName ?? "no name"})`,
      {
        category: "user",
        userMessage: "I can only read Markdown, plain text, HTML, CSV and PDF documents.",
      },
    );
  }
  let extracted: ExtractedText;
  switch (format) {
    // The PDF and HTML libraries are loaded on the first such document, not by every process at start-up.
    case "pdf": {
      const { extractPdf } = await import("./pdf-extractor.js");
      extracted = await extractPdf(raw.body, raw.fileName ?? raw.source);
      break;
    }
    case "html": {
      const { extractHtml } = await import("./html-extractor.js");
      extracted = extractHtml(decoderFor(raw.charset ?? htmlCharset(raw.body)).decode(raw.body), {
        baseUrl: raw.baseUrl,
      });
      break;
    }
    case "markdown":
      extracted = extractMarkdown(decoderFor(raw.charset).decode(raw.body));
      break;
    case "text":
      extracted = plainText(decoderFor(raw.charset).decode(raw.body));
      break;
    case "csv":
      extracted = extractCsv(decoderFor(raw.charset).decode(raw.body));
      break;
  }
  if (extracted.text === "") {
    throw new AppError("unsupported_content", `no extractable text in ${format} document`, {
      category: "user",
      userMessage:
        format === "pdf"
          ? "That file has no text I can read — is it a scanned PDF?"
          : "That document has no text I can read.",
    });
  }
  return {
    title: raw.title ?? extracted.title ?? titleFromName(raw.fileName, raw.source),
    text: extracted.text,
    format: format === "text" || format === "pdf" ? "text" : "markdown",
    source: raw.source,
    contentType: MEDIA_TYPE_OF_FORMAT[format],
    bytes: raw.body.length,
  };
}
