import { basename } from "node:path";
import type { Attachment } from "../../core/types.js";

/**
 * Splits `--file <path> [--file <path>…] <question>` into the files and the question, for the
 * terminal chat. A path with spaces goes in quotes (`--file "my notes.pdf"`). The files are read by
 * the loader inside the folder the chat was started in, like `index <path>`.
 */
export function parseFileFlags(line: string): { text: string; attachments: Attachment[] } {
  const attachments: Attachment[] = [];
  let rest = line.trimStart();
  for (;;) {
    const match = /^--file\s+(?:"([^"]+)"|'([^']+)'|(\S+))\s*/.exec(rest);
    if (!match) break;
    const path = match[1] ?? match[2] ?? match[3] ?? "";
    attachments.push({ name: basename(path), url: "", localPath: path });
    rest = rest.slice(match[0].length);
  }
  return { text: rest.trim(), attachments };
}
