import { Marked } from "marked";
import { markedTerminal } from "marked-terminal";

/**
 * Markdown → ANSI for the terminal chat, through marked and marked-terminal (bold, italics, lists,
 * code with highlighting, links with their address, tables drawn with box characters). Answers are
 * written in the same Markdown the chat platforms get, so nothing is rewritten by hand here.
 */
export function createMarkdownRenderer(width: number): (markdown: string) => string {
  const marked = new Marked(
    // @types/marked-terminal lags the package's extension type; the runtime value is a MarkedExtension.
    markedTerminal({ width: Math.max(40, width), reflowText: true, tab: 2 }) as Parameters<Marked["use"]>[0],
  );
  // A single line break is a line break, as in Slack and Discord (help and lists of `•` lines rely on it).
  marked.use({ breaks: true, gfm: true });
  return (markdown) => marked.parse(markdown, { async: false });
}
