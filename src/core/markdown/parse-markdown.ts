import { Lexer, type Token, type Tokens } from "marked";

/**
 * Markdown → its blocks (paragraphs, headings, lists and their items, fenced code, GitHub tables,
 * block quotes) with their places in the source, read by marked's lexer: the parser the terminal
 * renderer already uses, CommonMark with GitHub's extensions, and fast enough to run on a whole
 * answer at every paced edit (micromark/mdast took eight times as long on the same text).
 */

/** A block and where it sits: `text` is `source.slice(start, end)`, without the whitespace after it. */
export interface MarkdownBlock {
  token: Token;
  start: number;
  end: number;
  text: string;
}

/** The top-level blocks of `markdown`, in order; the blank lines between them are not blocks. */
export function markdownBlocks(markdown: string): MarkdownBlock[] {
  return placed(Lexer.lex(markdown, { gfm: true }), 0);
}

/** The items of a list block, placed in the same source. */
export function listItemBlocks(list: MarkdownBlock): MarkdownBlock[] {
  if (list.token.type !== "list") return [];
  return placed((list.token as Tokens.List).items, list.start);
}

/** Tokens whose raw texts follow one another from `from`, with their places. */
function placed(tokens: readonly { type: string; raw: string }[], from: number): MarkdownBlock[] {
  const blocks: MarkdownBlock[] = [];
  let offset = from;
  for (const token of tokens) {
    const text = token.raw.trimEnd();
    if (token.type !== "space" && text !== "") {
      blocks.push({ token: token as Token, start: offset, end: offset + text.length, text });
    }
    offset += token.raw.length;
  }
  return blocks;
}

const FENCE = /^ {0,3}(`{3,}|~{3,})/;

/** The fence marker (```` ``` ````, `~~~~`, …) of a fenced code block's text, or undefined for indented code. */
export function fenceMarkerOf(code: string): string | undefined {
  return FENCE.exec(code)?.[1];
}

/** Whether `line` closes a code block opened with `marker`. */
export function isClosingFence(line: string, marker: string): boolean {
  const trimmed = line.trim();
  return trimmed.startsWith(marker) && trimmed.replace(/[`~]/g, "") === "";
}
