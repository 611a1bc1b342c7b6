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

/**
 * The top-level blocks of `markdown`, in order; the blank lines between them are not blocks. Only
 * blocks are read: inline syntax is not needed to split, and marked's inline pass is quadratic on
 * hostile text (50 KB of `a_a_a_…` took seconds). Text nested too deeply for the lexer (thousands of
 * `> > > …` exhaust its recursion) is one plain block.
 */
export function markdownBlocks(markdown: string): MarkdownBlock[] {
  // marked reads `\n` line ends only; these replacements keep every offset where it was.
  const lines = markdown.replace(/\r\n/g, " \n").replace(/\r/g, "\n");
  if (!DEEP_NESTING.test(lines)) {
    try {
      return placed(markdown, new Lexer({ gfm: true }).blockTokens(lines), 0);
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
    }
  }
  const text = markdown.trimEnd();
  const paragraph = { type: "paragraph", raw: text } as Token;
  return text === "" ? [] : [{ token: paragraph, start: 0, end: text.length, text }];
}

/**
 * A line opening 16 or more nested quotes or lists: the lexer's time grows with the square of such
 * nesting (40 KB of `- - - …` took seconds), and no answer needs it.
 */
const DEEP_NESTING = /^[ \t]*(?:(?:[>*+-]|\d{1,9}[.)])[ \t]+){16}/m;

/** The items of a list block of `markdown`, placed in it. */
export function listItemBlocks(markdown: string, list: MarkdownBlock): MarkdownBlock[] {
  if (list.token.type !== "list") return [];
  return placed(markdown, (list.token as Tokens.List).items, list.start);
}

/** Tokens whose raw texts follow one another in `source` from `from`, with their places. */
function placed(
  source: string,
  tokens: readonly { type: string; raw: string }[],
  from: number,
): MarkdownBlock[] {
  const blocks: MarkdownBlock[] = [];
  let offset = from;
  for (const token of tokens) {
    const length = token.raw.trimEnd().length;
    if (token.type !== "space" && length > 0) {
      const end = offset + length;
      blocks.push({ token: token as Token, start: offset, end, text: source.slice(offset, end) });
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
