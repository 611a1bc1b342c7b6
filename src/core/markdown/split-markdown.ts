import {
  fenceMarkerOf,
  isClosingFence,
  listItemBlocks,
  type MarkdownBlock,
  markdownBlocks,
} from "./parse-markdown.js";

/**
 * Splitting Markdown for chat platforms with a message size limit, on its parsed blocks: pieces are cut
 * between blocks (paragraphs, list items, code blocks, tables) and packed up to the limit. A block
 * too big for one piece is cut inside: a fenced code block is closed at the end of a piece and
 * reopened with the same info string in the next, a table repeats its header row, anything else is
 * cut at line ends, then between words, and only a word longer than a piece is cut mid-word (never
 * inside an emoji's surrogate pair). Pieces are slices of the original text: joining them loses only
 * the whitespace at the cuts (and gains the fences that close and reopen a cut code block).
 */

/** A run of text that stays whole, and what joins it to the unit before it when both share a piece. */
interface Unit {
  separator: string;
  text: string;
}

const SMALLEST_LIMIT = 20;

/** Splits `markdown` into pieces of at most `limit` characters (see the module comment). */
export function splitMarkdown(markdown: string, limit: number): string[] {
  if (limit < SMALLEST_LIMIT) {
    throw new RangeError(`splitMarkdown needs a limit of at least ${SMALLEST_LIMIT} characters`);
  }
  if (markdown.length <= limit) return markdown.trim() === "" ? [] : [markdown];
  return pack(siblingUnits(markdown, markdownBlocks(markdown), "", limit), limit);
}

/** Greedy: each unit joins the current piece when it fits, else starts the next one. */
function pack(units: Unit[], limit: number): string[] {
  const pieces: string[] = [];
  let current = "";
  for (const unit of units) {
    if (current === "") current = unit.text;
    else if (current.length + unit.separator.length + unit.text.length <= limit) {
      current += unit.separator + unit.text;
    } else {
      pieces.push(current);
      current = unit.text;
    }
  }
  pieces.push(current);
  return pieces.filter((piece) => piece.trim() !== "");
}

/** The units of sibling blocks: what lies between two of them (blank lines) is their separator. */
function siblingUnits(source: string, blocks: MarkdownBlock[], separator: string, limit: number): Unit[] {
  return blocks.flatMap((block, index) => {
    const previous = blocks[index - 1];
    const joiner = previous === undefined ? separator : source.slice(previous.end, block.start);
    return blockUnits(source, block, joiner, limit);
  });
}

/** One block as units: whole when it fits, else cut as its kind allows. */
function blockUnits(source: string, block: MarkdownBlock, separator: string, limit: number): Unit[] {
  if (block.text.length <= limit) return [{ separator, text: block.text }];
  switch (block.token.type) {
    case "list":
      return siblingUnits(source, listItemBlocks(source, block), separator, limit);
    case "code":
      if (fenceMarkerOf(block.text) !== undefined) return codeUnits(block.text, separator, limit);
      break;
    case "table":
      return tableUnits(block.text, separator, limit);
  }
  return textUnits(block.text, separator, limit);
}

/** A fenced code block in parts of whole lines, each closed and the next reopened with the same fence line. */
function codeUnits(text: string, separator: string, limit: number): Unit[] {
  const lines = text.split("\n");
  const opening = lines[0] ?? "";
  const marker = fenceMarkerOf(opening) ?? "```";
  const last = lines.at(-1) ?? "";
  const closed = lines.length > 1 && isClosingFence(last, marker);
  const closing = closed ? last : marker;
  const reopening = opening.trimStart();
  const body = lines.slice(1, closed ? -1 : undefined);
  const room = limit - Math.max(opening.length, reopening.length) - closing.length - 2;
  if (room < SMALLEST_LIMIT / 2) return textUnits(text, separator, limit);
  const groups: string[][] = [];
  let group: string[] = [];
  let size = -1;
  for (const line of body) {
    for (const segment of line.length <= room ? [line] : hardCuts(line, room)) {
      if (group.length > 0 && size + 1 + segment.length > room) {
        groups.push(group);
        group = [];
        size = -1;
      }
      group.push(segment);
      size += 1 + segment.length;
    }
  }
  if (group.length > 0 || groups.length === 0) groups.push(group);
  return groups.map((lines, index) => ({
    separator: index === 0 ? separator : "\n",
    text: [index === 0 ? opening : reopening, ...lines, closing].join("\n"),
  }));
}

/** A table in parts of whole rows, each under the table's header and delimiter rows. */
function tableUnits(text: string, separator: string, limit: number): Unit[] {
  const lines = text.split("\n");
  const header = lines.slice(0, 2).join("\n");
  const rows = lines.slice(2);
  const room = limit - header.length - 1;
  if (room < SMALLEST_LIMIT || rows.some((row) => row.length > room))
    return textUnits(text, separator, limit);
  const parts: string[] = [];
  let current = header;
  for (const row of rows) {
    if (current !== header && current.length + 1 + row.length > limit) {
      parts.push(current);
      current = header;
    }
    current += `\n${row}`;
  }
  parts.push(current);
  return parts.map((part, index) => ({ separator: index === 0 ? separator : "\n\n", text: part }));
}

/** Text with no block inside that fits: its lines, a line too long its words, a word too long its characters. */
function textUnits(text: string, separator: string, limit: number): Unit[] {
  if (text.length <= limit) return [{ separator, text }];
  const lines = text.split("\n");
  if (lines.length > 1) {
    return lines.flatMap((line, index) => textUnits(line, index === 0 ? separator : "\n", limit));
  }
  return text.split(" ").flatMap((word, index) => {
    const joiner = index === 0 ? separator : " ";
    if (word.length <= limit) return [{ separator: joiner, text: word }];
    return hardCuts(word, limit).map((cut, part) => ({ separator: part === 0 ? joiner : "", text: cut }));
  });
}

/** `text` in slices of at most `size` characters, never splitting a surrogate pair (an emoji) in two. */
function hardCuts(text: string, size: number): string[] {
  const cuts: string[] = [];
  let start = 0;
  while (start < text.length) {
    let end = Math.min(text.length, start + size);
    const code = text.charCodeAt(end - 1);
    if (end < text.length && code >= 0xd800 && code <= 0xdbff && end - 1 > start) end -= 1;
    cuts.push(text.slice(start, end));
    start = end;
  }
  return cuts;
}

/**
 * For text that arrives in pieces (a streamed answer): the best index in `[minimum, maximum]` to cut
 * `text` at (the piece is `text.slice(0, index)`), preferring the end of a block (paragraph, list
 * item, code block, table), then a line end, then a space, then `maximum` itself (never inside a
 * surrogate pair).
 */
export function findMarkdownCut(text: string, minimum: number, maximum: number): number {
  if (text.length <= maximum) return text.length;
  let blockEnd = -1;
  for (const block of markdownBlocks(text)) {
    if (block.start > maximum) break;
    if (block.end <= maximum) blockEnd = block.end;
    else for (const item of listItemBlocks(text, block)) if (item.end <= maximum) blockEnd = item.end;
  }
  if (blockEnd >= minimum) return blockEnd;
  const lineEnd = text.lastIndexOf("\n", maximum);
  if (lineEnd >= minimum) return lineEnd;
  const space = text.lastIndexOf(" ", maximum);
  if (space >= minimum) return space;
  const code = text.charCodeAt(maximum - 1);
  return code >= 0xd800 && code <= 0xdbff ? maximum - 1 : maximum;
}

/**
 * The opening fence line (for example "```ts") when `index` lies inside a fenced code block of
 * `text`: its opening line is complete before `index`, and its closing line is not.
 */
export function openFenceAt(text: string, index: number): string | undefined {
  for (const block of markdownBlocks(text)) {
    if (block.start >= index) return undefined;
    if (block.token.type !== "code") continue;
    const marker = fenceMarkerOf(block.text);
    const lineEnd = text.indexOf("\n", block.start);
    const openingEnd = lineEnd === -1 ? text.length : lineEnd;
    if (marker === undefined || openingEnd > index) continue;
    const lastLine = block.text.slice(block.text.lastIndexOf("\n") + 1);
    const closed = openingEnd < block.end && isClosingFence(lastLine, marker);
    if (!closed || index < block.end) return text.slice(block.start, openingEnd).trim();
  }
  return undefined;
}
