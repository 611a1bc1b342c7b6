import type { Dirent } from "node:fs";
import { opendir, stat } from "node:fs/promises";
import { join, relative } from "node:path";
import { AppError } from "../../core/errors.js";

/**
 * File endings `index <folder>` picks up: the formats the extractors read (see
 * `detect-document-format.ts`), minus logs and CSV, which a docs folder rarely means to teach.
 */
const DOCUMENT_EXTENSIONS = new Set(["md", "markdown", "mdx", "txt", "text", "html", "htm", "xhtml", "pdf"]);

/** Folders that hold tooling or version control, never the team's documents. */
const SKIPPED_FOLDERS = new Set(["node_modules", "dist", "build", "coverage"]);

export interface ListFolderOptions {
  /** More documents than this is refused with a sentence, not truncated silently. */
  maxFiles: number;
  maxDepth?: number;
  signal?: AbortSignal | undefined;
}

const isDocument = (name: string) => DOCUMENT_EXTENSIONS.has(name.split(".").pop()?.toLowerCase() ?? "");

/**
 * The document files under `folder` (already resolved inside the base directory), as paths joined
 * to `shownAs`, sorted; undefined when `folder` is not a directory. Hidden entries and tooling
 * folders are skipped, symbolic links to folders are not followed (the loader checks where each
 * file really lands). The walk is asynchronous, one directory handle at a time, so a large tree
 * does not hold the event loop.
 */
export async function listFolderDocuments(
  folder: string,
  shownAs: string,
  options: ListFolderOptions,
): Promise<string[] | undefined> {
  const stats = await stat(folder).catch(() => undefined);
  if (!stats?.isDirectory()) return undefined;
  const maxDepth = options.maxDepth ?? 12;
  const found: string[] = [];
  const pending: Array<{ path: string; depth: number }> = [{ path: folder, depth: 0 }];
  while (pending.length > 0) {
    options.signal?.throwIfAborted();
    const current = pending.shift();
    if (!current) break;
    const directory = await opendir(current.path);
    for await (const entry of directory as AsyncIterable<Dirent>) {
      if (entry.name.startsWith(".")) continue;
      const path = join(current.path, entry.name);
      if (entry.isDirectory()) {
        if (!SKIPPED_FOLDERS.has(entry.name) && current.depth < maxDepth)
          pending.push({ path, depth: current.depth + 1 });
      } else if ((entry.isFile() || entry.isSymbolicLink()) && isDocument(entry.name)) {
        found.push(join(shownAs, relative(folder, path)));
        if (found.length > options.maxFiles) {
          throw new AppError("input_too_large", `more than ${options.maxFiles} documents under ${shownAs}`, {
            category: "user",
            userMessage: `${shownAs} holds more than ${options.maxFiles} documents; index its subfolders one at a time.`,
          });
        }
      }
    }
  }
  return found.sort();
}
