import type { Attachment, Platform } from "../types.js";

/** A file attached to a question, reduced to text the model can read. */
export interface AttachmentText {
  /** The file's name as it arrived: the title of its source entry. */
  name: string;
  /** Clean text; a CSV file comes as a Markdown table (header row first). */
  text: string;
  /** `table` for CSV, so core cuts it at a row and says how many rows it kept. */
  kind: "document" | "table";
}

/** An image attached to a question, ready to go to a model that accepts image input. */
export interface AttachmentImage {
  name: string;
  /** `image/png`, `image/jpeg`, `image/gif` or `image/webp`. */
  mediaType: string;
  /** A `data:` URL holding the bytes (the model cannot reach the platform's private file URLs). */
  dataUrl: string;
}

/**
 * Reads a file attached to a question, for that answer only (nothing is indexed). Implementations
 * download with the arriving platform's rules (Slack's bot token only for files of that event, on
 * Slack's file hosts), enforce the size limit and extract text off the main thread. Failures are an
 * `AppError` whose `userMessage` can go to chat; core puts the file's name in front of it.
 */
export interface AttachmentReader {
  /** Largest attached file read, in bytes. */
  readonly maxBytes: number;
  readText(attachment: Attachment, platform: Platform, signal?: AbortSignal): Promise<AttachmentText>;
  readImage(attachment: Attachment, platform: Platform, signal?: AbortSignal): Promise<AttachmentImage>;
}
