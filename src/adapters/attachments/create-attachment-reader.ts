import { AppError } from "../../core/errors.js";
import type {
  AttachmentImage,
  AttachmentReader,
  AttachmentText,
} from "../../core/ports/attachment-reader.js";
import type { DocumentLoader } from "../../core/ports/document-loader.js";
import type { Attachment, Platform, WorkspaceRef } from "../../core/types.js";
import { SafeHttpFetcher, type SafeHttpFetcherOptions } from "../http/safe-http-fetcher.js";

/** Image types the OpenAI chat API accepts as `image_url` parts. */
const IMAGE_MEDIA_TYPES: readonly string[] = ["image/png", "image/jpeg", "image/gif", "image/webp"];

export interface AttachmentReaderOptions {
  /** Reads documents (PDF, text, Markdown, HTML, CSV) through the extraction pool, with its limits. */
  loader: DocumentLoader;
  /** Largest attached file read. */
  maxBytes: number;
  /** Fetcher limits for images (allowed private hosts; the size cap is `maxBytes`). */
  fetcher?: Omit<SafeHttpFetcherOptions, "maxBytes" | "allowedMediaTypes">;
  /**
   * The download headers a platform requires for a file that arrived in its event (Slack's bot
   * token for `url_private`, from `slackFileHeaders`); undefined for anything else.
   */
  headersFor?:
    | ((url: string, arrivedIn: WorkspaceRef | undefined) => Record<string, string> | undefined)
    | undefined;
}

function size(bytes: number): string {
  return bytes < 1024 * 1024 ? `${Math.round(bytes / 1024)} KB` : `${Math.round(bytes / (1024 * 1024))} MB`;
}

/**
 * Reads the files attached to a question: documents through the same loader as indexing (so the
 * extraction pool, the address guard and the size cap all hold), images through the guarded fetcher.
 * A file the platform says is too large is refused before any download; the fetcher counts the
 * bytes again while streaming, because the platform's size is only a claim.
 */
export function createAttachmentReader(options: AttachmentReaderOptions): AttachmentReader {
  const imageFetcher = new SafeHttpFetcher({
    ...options.fetcher,
    maxBytes: options.maxBytes,
    allowedMediaTypes: [...IMAGE_MEDIA_TYPES, "application/octet-stream"],
  });

  function checkDeclaredSize(attachment: Attachment): void {
    if (attachment.sizeBytes !== undefined && attachment.sizeBytes > options.maxBytes) {
      throw new AppError("input_too_large", `attachment over ${options.maxBytes} bytes`, {
        category: "user",
        userMessage: `It is larger than the ${size(options.maxBytes)} limit for files in questions.`,
      });
    }
  }

  /** A local path is honoured only from the terminal, where the person owns the disk. */
  function localPath(attachment: Attachment, platform: Platform): string | undefined {
    if (attachment.localPath === undefined) return undefined;
    if (platform !== "local") {
      throw new AppError("fetch_refused", "a local path on a chat attachment", {
        category: "user",
        userMessage: "I can only read files from this machine's disk in the terminal chat.",
      });
    }
    return attachment.localPath;
  }

  return {
    maxBytes: options.maxBytes,

    async readText(attachment, platform, signal): Promise<AttachmentText> {
      checkDeclaredSize(attachment);
      const path = localPath(attachment, platform);
      const document = await options.loader.load(
        path !== undefined
          ? { kind: "path", path }
          : {
              kind: "url",
              url: attachment.url,
              name: attachment.name,
              ...(attachment.arrivedIn ? { arrivedIn: attachment.arrivedIn } : {}),
            },
        signal,
      );
      return {
        name: attachment.name,
        text: document.text,
        kind: document.contentType === "text/csv" ? "table" : "document",
      };
    },

    async readImage(attachment, platform, signal): Promise<AttachmentImage> {
      checkDeclaredSize(attachment);
      if (localPath(attachment, platform) !== undefined) {
        throw new AppError("unsupported_content", "local image", {
          category: "user",
          userMessage: "I can't read images from the terminal yet; attach it in Slack or Discord.",
        });
      }
      const resource = await imageFetcher.fetch({
        url: attachment.url,
        headers: options.headersFor?.(attachment.url, attachment.arrivedIn),
        signal,
      });
      const declared = attachment.mimeType?.split(";")[0]?.trim().toLowerCase();
      const mediaType = IMAGE_MEDIA_TYPES.includes(resource.mediaType)
        ? resource.mediaType
        : declared && IMAGE_MEDIA_TYPES.includes(declared)
          ? declared
          : undefined;
      if (!mediaType) {
        throw new AppError("unsupported_content", `image type ${resource.mediaType}`, {
          category: "user",
          userMessage: "I can read PNG, JPEG, GIF and WebP images only.",
        });
      }
      return {
        name: attachment.name,
        mediaType,
        dataUrl: `data:${mediaType};base64,${Buffer.from(resource.body).toString("base64")}`,
      };
    },
  };
}
