import { reportFailure } from "../errors.js";
import type { InboundMessage } from "../ports/assistant-handler.js";
import type { AttachmentReader } from "../ports/attachment-reader.js";
import type { Passage } from "../ports/knowledge.js";
import type { ImageInput } from "../ports/llm-provider.js";
import type { Logger } from "../ports/logger.js";
import { truncateToTokens } from "../tokens.js";
import type { Attachment } from "../types.js";

/** Files read for one question; more are named in a note and left unread. */
const MAX_ATTACHMENTS_PER_QUESTION = 5;

/** The prefix of every attachment passage's document id: it is cited, never indexed. */
const ATTACHMENT_DOCUMENT_PREFIX = "attachment:";

/** What the files attached to a question gave: passages first in the prompt, images, and notes. */
export interface QuestionAttachments {
  /** Text of the readable files, each cut to its share of the budget; untrusted like any passage. */
  passages: Passage[];
  /** Images for a model that accepts them. */
  images: ImageInput[];
  /** One sentence per file that could not be used, naming it; shown above the answer. */
  notes: string[];
}

const IMAGE_EXTENSIONS = /\.(png|jpe?g|gif|webp|bmp|tiff?|heic|svg)$/i;

function isImage(attachment: Attachment): boolean {
  const type = attachment.mimeType?.toLowerCase() ?? "";
  return type.startsWith("image/") || (type === "" && IMAGE_EXTENSIONS.test(attachment.name));
}

/** The question asked when a file comes with no words at all. */
export const QUESTION_FOR_BARE_FILES = "What is in the attached file, and what matters in it?";

/**
 * Cuts a file's text to a number of tokens. The text is first cut by characters (a token is at
 * least one character), so the work is bounded by the budget, not by the file. A table is cut at a
 * row and says how many of its rows the model sees.
 */
function fitText(text: string, kind: "document" | "table", maxTokens: number): string {
  const rough = text.length > maxTokens * 8 ? text.slice(0, maxTokens * 8) : text;
  const cut = truncateToTokens(rough, maxTokens);
  if (cut.length === text.length) return text;
  if (kind === "table") {
    const kept = cut.slice(0, Math.max(0, cut.lastIndexOf("\n")));
    const keptRows = Math.max(0, kept.split("\n").length - 2);
    const allRows = text.split("\n").filter((line) => line.startsWith("|")).length - 2;
    return `${kept}\n\n(The table has ${allRows} rows; only the first ${keptRows} fit here.)`;
  }
  return `${cut}\n\n(The file is longer; only its beginning fits here.)`;
}

function fileName(name: string): string {
  // A name is attacker-written: one line, no Markdown that could style or link the sentence.
  return `“${name.replace(/[\r\n`*_[\]<>]/g, " ").slice(0, 120)}”`;
}

/**
 * Reads the files attached to a question for that answer only: text through the reader (extraction
 * off the main thread, size limits), images only where the model accepts them. A file that cannot
 * be used becomes a sentence naming it; the others still count.
 */
export async function readQuestionAttachments(input: {
  message: InboundMessage;
  reader: AttachmentReader | undefined;
  acceptsImages: boolean;
  /** Tokens all attached text may take together. */
  tokenBudget: number;
  logger: Logger;
  signal?: AbortSignal | undefined;
  /** Called before each file is read, for a status line. */
  onReading?: ((name: string) => Promise<void>) | undefined;
}): Promise<QuestionAttachments> {
  const result: QuestionAttachments = { passages: [], images: [], notes: [] };
  const all = input.message.attachments;
  const taken = all.slice(0, MAX_ATTACHMENTS_PER_QUESTION);
  if (all.length > taken.length) {
    result.notes.push(
      `I read only the first ${MAX_ATTACHMENTS_PER_QUESTION} of the ${all.length} attached files.`,
    );
  }
  const textFiles = taken.filter((attachment) => !isImage(attachment)).length;
  // Each passage also costs its fence and title in the prompt.
  const share = Math.max(0, Math.floor(input.tokenBudget / Math.max(1, textFiles)) - 50);
  for (const [position, attachment] of taken.entries()) {
    const name = fileName(attachment.name);
    if (!input.reader) {
      result.notes.push(`I can't read files attached to questions here, so I didn't open ${name}.`);
      continue;
    }
    if (isImage(attachment) && !input.acceptsImages) {
      result.notes.push(
        `The model here doesn't accept images, so I couldn't look at ${name}. Describe it in words, or ask an admin about a model that takes images.`,
      );
      continue;
    }
    try {
      await input.onReading?.(attachment.name);
      if (isImage(attachment)) {
        const image = await input.reader.readImage(attachment, input.message.platform, input.signal);
        result.images.push({ url: image.dataUrl, name: image.name });
        continue;
      }
      const read = await input.reader.readText(attachment, input.message.platform, input.signal);
      result.passages.push({
        documentId: `${ATTACHMENT_DOCUMENT_PREFIX}${position + 1}`,
        title: read.name,
        location: "attached to the question",
        headingPath: [],
        text: fitText(read.text, read.kind, share),
        score: 1,
      });
    } catch (error) {
      input.signal?.throwIfAborted();
      const reason = reportFailure(error, input.logger, "attached file not read", "warn").sentence;
      result.notes.push(`I couldn't read ${name}: ${reason}`);
    }
  }
  return result;
}
