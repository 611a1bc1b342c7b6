/** How raw content is read; each one has its own extractor. */
export type SourceFormat = "markdown" | "text" | "html" | "pdf" | "csv";

const BY_MEDIA_TYPE: Record<string, SourceFormat> = {
  "text/markdown": "markdown",
  "text/x-markdown": "markdown",
  "text/plain": "text",
  "text/html": "html",
  "application/xhtml+xml": "html",
  "application/pdf": "pdf",
  "text/csv": "csv",
};

const BY_EXTENSION: Record<string, SourceFormat> = {
  md: "markdown",
  markdown: "markdown",
  mdx: "markdown",
  txt: "text",
  text: "text",
  log: "text",
  csv: "csv",
  html: "html",
  htm: "html",
  xhtml: "html",
  pdf: "pdf",
};

export const MEDIA_TYPE_OF_FORMAT: Record<SourceFormat, string> = {
  markdown: "text/markdown",
  text: "text/plain",
  html: "text/html",
  pdf: "application/pdf",
  csv: "text/csv",
};

function extensionOf(fileName: string | undefined): string | undefined {
  const match = /\.([a-z0-9]+)$/i.exec(fileName ?? "");
  return match?.[1]?.toLowerCase();
}

function startsWith(body: Uint8Array, prefix: string): boolean {
  if (body.length < prefix.length) return false;
  for (let index = 0; index < prefix.length; index += 1) {
    if (body[index] !== prefix.charCodeAt(index)) return false;
  }
  return true;
}

function looksLikeText(body: Uint8Array): boolean {
  const sample = body.subarray(0, 4096);
  if (sample.includes(0)) return false;
  try {
    // `stream` tolerates a character cut in half at the end of the sample.
    new TextDecoder("utf-8", { fatal: true }).decode(sample, { stream: true });
    return true;
  } catch {
    return false;
  }
}

/**
 * Decides how to read content. A specific media type wins, except that a `.md` file served as
 * `text/plain` (how many servers and chat platforms serve Markdown) is read as Markdown. A generic
 * type (`application/octet-stream`, none) falls back to the file extension, then to the bytes
 * themselves: `%PDF-`, or UTF-8 text without NULs. `undefined` means the content is not readable.
 */
export function detectDocumentFormat(input: {
  mediaType: string | undefined;
  fileName: string | undefined;
  body: Uint8Array;
}): SourceFormat | undefined {
  const byExtension = BY_EXTENSION[extensionOf(input.fileName) ?? ""];
  const byMediaType = BY_MEDIA_TYPE[input.mediaType ?? ""];
  if (byMediaType === "text" && (byExtension === "markdown" || byExtension === "csv")) return byExtension;
  if (byMediaType) return byMediaType;
  if (input.mediaType && input.mediaType !== "application/octet-stream") return undefined;
  if (byExtension) return byExtension;
  if (startsWith(input.body, "%PDF-")) return "pdf";
  return looksLikeText(input.body) ? "text" : undefined;
}
