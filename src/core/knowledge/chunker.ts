import { hash } from "node:crypto";
import type { ChunkRecord, DocumentChunk, DocumentScope } from "../ports/vector-store.js";
import { countTokens, countTokensOfPieces, countTokensUpTo, tokensJoinedAfter } from "../tokens.js";
import { analyze } from "./analyzer.js";
import { sentenceSpans } from "./sentence-spans.js";
import { splitAtBlankLines } from "./split-at-blank-lines.js";

/** A document reduced to text (see `LoadedDocument`), with the id it is indexed under. */
export interface ChunkableDocument {
  id: string;
  title: string;
  text: string;
  format: "markdown" | "text";
  /** A URL or a path. */
  source: string;
}

export interface ChunkOptions {
  /** Upper bound of a chunk's size in o200k tokens; 350 by default. */
  maxTokens?: number;
  /** Tokens of the previous chunk's tail repeated at the start of the next one in the same section; 50 by default. */
  overlapTokens?: number;
}

/**
 * A chunk's id: deterministic in (document id, position) so re-indexing overwrites instead of
 * duplicating, and shaped as a UUID (version 8, RFC 9562) because Qdrant accepts only UUIDs or
 * integers as point ids.
 */
export function chunkId(documentId: string, position: number): string {
  // The one-shot `hash` (Node 20.12+) spares the Hash object and its stream plumbing: about 2-3x cheaper
  // than createHash().update().digest() per id (6,761 SciFact ids, /tmp bench alternating).
  const hex = hash("sha256", `${documentId}\u0000${position}`, "hex");
  const variant = ((Number.parseInt(hex[16] ?? "0", 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** Fills in scope and BM25 terms (title, heading path and text analyzed together). */
export function toChunkRecords(
  chunks: DocumentChunk[],
  scope: DocumentScope,
  dense?: ReadonlyArray<number[] | undefined>,
): ChunkRecord[] {
  return chunks.map((chunk, index) => ({
    ...chunk,
    headingPath: [...chunk.headingPath],
    scope: { ...scope },
    terms: chunkTerms(chunk),
    dense: dense?.[index],
  }));
}

/** A chunk's BM25 terms: its title, heading path and text analyzed together. */
function chunkTerms(chunk: Pick<DocumentChunk, "title" | "headingPath" | "text">): string[] {
  return analyze(chunkTermsLines(chunk).join("\n"));
}

/** What a chunk's BM25 terms are analyzed from, joined by line breaks: title, heading path, text. */
export function chunkTermsLines(chunk: Pick<DocumentChunk, "title" | "headingPath" | "text">): string[] {
  return [chunk.title, chunk.headingPath.join("\n"), chunk.text];
}

interface Unit {
  text: string;
  /** Tokens of the text the unit was cut from (its sentence before trimming), which packing goes by. */
  tokens: number;
  /** What joins this unit to the previous one inside a chunk. */
  separator: string;
  /** `countTokensOfPieces(text)`: -1 when a chunk holding this unit must be counted whole. */
  textTokens: number;
}

/** A paragraph or a fenced code block, counted in tokens only when its section is too big for one chunk. */
interface Block {
  text: string;
  code: boolean;
}

interface Section {
  headingPath: string[];
  blocks: Block[];
}

// Linear: the title runs greedily to the end of the line and its trailing blanks and `#`s are cut by hand
// (`(.*?)[ \t#]*$` rescans the blanks after every character of the title: quadratic on a hostile line).
const HEADING = /^ {0,3}(#{1,6})[ \t]+(.*)$/;
const FENCE = /^ {0,3}(`{3,}|~{3,})/;

/**
 * Splits a Markdown or plain-text document into token-sized chunks that follow its structure:
 * a heading starts a new section (and the heading path of its chunks), paragraphs and sentences are
 * packed up to `maxTokens`, a fenced code block stays whole when it fits, and consecutive chunks of
 * a section share about `overlapTokens` of text so a fact cut at a boundary stays findable.
 */
export function chunkDocument(document: ChunkableDocument, options: ChunkOptions = {}): DocumentChunk[] {
  const maxTokens = Math.max(16, options.maxTokens ?? 350);
  const overlapTokens = Math.min(Math.max(0, options.overlapTokens ?? 50), Math.floor(maxTokens / 2));
  const sections =
    document.format === "markdown" ? parseMarkdown(document.text) : parsePlainText(document.text);

  const chunks: DocumentChunk[] = [];
  for (const section of sections) {
    for (const packed of packSection(section.blocks, maxTokens, overlapTokens)) {
      const position = chunks.length;
      chunks.push({
        id: chunkId(document.id, position),
        documentId: document.id,
        position,
        title: document.title,
        headingPath: section.headingPath,
        source: document.source,
        text: packed.text,
        tokens: packed.tokens,
      });
    }
  }
  return chunks;
}

function parseMarkdown(text: string): Section[] {
  const sections: Section[] = [];
  const headings: Array<{ level: number; title: string }> = [];
  let current: Section = { headingPath: [], blocks: [] };
  let paragraph: string[] = [];
  let fence: { marker: string; lines: string[] } | undefined;

  const flushParagraph = () => {
    if (paragraph.length > 0) current.blocks.push({ text: paragraph.join("\n"), code: false });
    paragraph = [];
  };

  for (const line of text.split(/\r?\n/)) {
    if (fence) {
      fence.lines.push(line);
      const closing = FENCE.exec(line);
      if (closing?.[1]?.startsWith(fence.marker) && line.trim() === closing[1]) {
        current.blocks.push({ text: fence.lines.join("\n"), code: true });
        fence = undefined;
      }
      continue;
    }
    const opening = FENCE.exec(line);
    if (opening?.[1]) {
      flushParagraph();
      fence = { marker: opening[1], lines: [line] };
      continue;
    }
    const heading = HEADING.exec(line);
    if (heading?.[1] && heading[2] !== undefined) {
      heading[2] = withoutClosingSequence(heading[2]);
      flushParagraph();
      if (current.blocks.length > 0) sections.push(current);
      const level = heading[1].length;
      while (headings.length > 0 && (headings.at(-1)?.level ?? 0) >= level) headings.pop();
      headings.push({ level, title: heading[2].trim() });
      current = { headingPath: headings.map((entry) => entry.title), blocks: [] };
      continue;
    }
    if (line.trim() === "") flushParagraph();
    else paragraph.push(line);
  }
  flushParagraph();
  // An unclosed fence runs to the end of the document, as CommonMark reads it.
  if (fence) current.blocks.push({ text: fence.lines.join("\n"), code: true });
  if (current.blocks.length > 0) sections.push(current);
  return sections;
}

/** A heading's text without the blanks and `#`s at its end. */
function withoutClosingSequence(title: string): string {
  let end = title.length;
  for (let code = title.charCodeAt(end - 1); code === 0x20 || code === 0x09 || code === 0x23; ) {
    end -= 1;
    code = title.charCodeAt(end - 1);
  }
  return title.slice(0, end);
}

// The arrays chunking hands from one function to the next are built by `push`, not `map`: `map` run from
// optimized code makes HOLEY arrays where the builtin makes PACKED ones, so once the producer was optimized
// every consumer optimized for the other kind met a "wrong map" and was thrown out and compiled again
// (packSection three times at ~40 ms of compiler time each on SciFact, --trace-deopt / --trace-opt).
function parsePlainText(text: string): Section[] {
  const blocks: Block[] = [];
  for (const paragraph of splitAtBlankLines(text)) {
    const trimmed = paragraph.trim();
    if (trimmed !== "") blocks.push({ text: trimmed, code: false });
  }
  return blocks.length > 0 ? [{ headingPath: [], blocks }] : [];
}

interface Piece {
  /** The sentence trimmed: what the chunk holds. */
  text: string;
  /** The sentence as the split cut it. */
  sentence: string;
  separator: string;
}

/**
 * Appends a paragraph's sentences, trimmed, with the untrimmed sentence each was cut from, to `pieces`;
 * answers whether the paragraph is exactly its trimmed sentences joined by single spaces (each sentence
 * untrimmed, every cut at one U+0020), which `packSection` would otherwise learn by joining and comparing.
 */
function sentences(paragraph: string, pieces: Piece[]): boolean {
  const spans = sentenceSpans(paragraph);
  let joinedBySpaces = true;
  let first = true;
  for (let index = 0; index < spans.length; index += 2) {
    const start = spans[index] as number;
    const end = spans[index + 1] as number;
    const sentence = paragraph.slice(start, end);
    const text = sentence.trim();
    if (text === "") {
      joinedBySpaces = false;
      continue;
    }
    if (
      text.length !== sentence.length ||
      (index > 0 && (start !== (spans[index - 1] as number) + 1 || paragraph.charCodeAt(start - 1) !== 0x20))
    ) {
      joinedBySpaces = false;
    }
    pieces.push({ text, sentence, separator: first ? "\n\n" : " " });
    first = false;
  }
  return joinedBySpaces;
}

function counted(piece: Piece): Unit {
  const textTokens = piece.sentence === piece.text ? countTokensOfPieces(piece.text) : -1;
  const tokens = textTokens >= 0 ? textTokens : countTokens(piece.sentence);
  return { text: piece.text, tokens, separator: piece.separator, textTokens };
}

/**
 * Appends a block's pieces to `pieces`: a code block is one unit (only a block bigger than a chunk is
 * split, between lines); a paragraph is its sentences. Answers as `sentences` does.
 */
function blockPieces(block: Block, pieces: Piece[]): boolean {
  if (!block.code) return sentences(block.text, pieces);
  pieces.push({ text: block.text, sentence: block.text, separator: "\n\n" });
  return true;
}

/**
 * Tokens of `join(units)` derived from the units' own counts (see `tokensJoinedAfter`), or -1 where a
 * join cannot be derived and the text must be counted.
 */
function joinedTokens(units: Unit[]): number {
  let total = units[0]?.textTokens ?? -1;
  for (let index = 1; index < units.length && total >= 0; index += 1) {
    const unit = units[index] as Unit;
    const added = tokensJoinedAfter(
      (units[index - 1] as Unit).text,
      unit.separator,
      unit.text,
      unit.textTokens,
    );
    total = added < 0 ? -1 : total + added;
  }
  return total;
}

/** Characters per token of the budget below which a section is counted whole first (see `packSection`). */
const SHORT_SECTION_CHARACTERS_PER_TOKEN = 3.5;

/** Chunk texts of a section with their exact token counts (stored with the chunks for prompt budgets). */
function packSection(
  blocks: Block[],
  maxTokens: number,
  overlapTokens: number,
): Array<{ text: string; tokens: number }> {
  const texts: string[] = [];
  for (const block of blocks) texts.push(block.text);
  const whole = texts.join("\n\n");
  // A section this short is almost always one chunk (English runs at four or more characters a token):
  // it is counted whole first, and returned as it is when it fits, without being cut into sentences and
  // counted by the piece. (A section that turns out too big is counted up to the budget only.)
  if (whole.length <= SHORT_SECTION_CHARACTERS_PER_TOKEN * maxTokens) {
    const tokens = countTokensUpTo(whole, maxTokens - blocks.length);
    if (tokens + blocks.length <= maxTokens) return [{ text: whole, tokens }];
  }
  const pieces: Piece[] = [];
  let joinedBySpaces = true;
  for (const block of blocks) if (!blockPieces(block, pieces)) joinedBySpaces = false;
  // Where sentences are parted by single spaces, the section is the join of its units, and its count is the
  // sum of theirs (one counting pass, which the units need anyway when the section is too big for a chunk).
  // Otherwise most sections fit in one chunk; counting them whole spares a tokenizer pass per sentence,
  // and the count stops at the budget for those that do not.
  let units: Unit[] | undefined;
  let wholeTokens = -1;
  if (joinedBySpaces || join(pieces) === whole) {
    units = countedUnits(pieces);
    wholeTokens = joinedTokens(units);
  }
  if (wholeTokens < 0) wholeTokens = countTokensUpTo(whole, maxTokens - blocks.length);
  if (wholeTokens + blocks.length <= maxTokens) return [{ text: whole, tokens: wholeTokens }];
  units ??= countedUnits(pieces);
  const chunks: Array<{ text: string; tokens: number }> = [];
  let current: Unit[] = [];
  let currentTokens = 0;
  let hasNewContent = false;

  const flush = () => {
    if (!hasNewContent) return;
    // The chunk's exact count: the sum of its units' where the joins allow, else one more pass over it.
    const text = join(current);
    const derived = joinedTokens(current);
    chunks.push({ text, tokens: derived >= 0 ? derived : countTokens(text) });
    // The units carried over are the longest tail within the overlap, sliced off `current`: a slice keeps
    // the elements kind of the array it is cut from, where a fresh `[]` left empty (no unit fits the
    // overlap) holds small integers only, and the optimized push below met it as a wrong map.
    let from = current.length;
    let carriedTokens = 0;
    while (from > 0 && carriedTokens + (current[from - 1] as Unit).tokens <= overlapTokens) {
      from -= 1;
      carriedTokens += (current[from] as Unit).tokens;
    }
    current = current.slice(from);
    currentTokens = carriedTokens;
    hasNewContent = false;
  };

  const sized: Unit[] = [];
  for (const unit of units) {
    if (unit.tokens <= maxTokens) sized.push(unit);
    else for (const piece of splitOversized(unit, maxTokens)) sized.push(piece);
  }
  for (const unit of sized) {
    // Separators cost about a token each; the budget keeps that margin.
    if (currentTokens + unit.tokens + current.length > maxTokens) flush();
    // When the units carried over leave no room for this one, none is carried: `current` (`flush`'s slice
    // or the first array, held nowhere else) is emptied in place, for the same reason as in `flush`; and
    // its length is set for every unit, so that no branch taken only then runs without type feedback.
    const keep = currentTokens + unit.tokens + current.length > maxTokens ? 0 : current.length;
    current.length = keep;
    if (keep === 0) currentTokens = 0;
    current.push(unit);
    currentTokens += unit.tokens;
    hasNewContent = true;
  }
  flush();
  return chunks;
}

function join(units: ReadonlyArray<Pick<Unit, "text" | "separator">>): string {
  const parts: string[] = [];
  for (let index = 0; index < units.length; index++) {
    const unit = units[index] as Pick<Unit, "text" | "separator">;
    parts.push(index === 0 ? unit.text : `${unit.separator}${unit.text}`);
  }
  return parts.join("");
}

/** `pieces.map(counted)`, built by `push` (see `parsePlainText`). */
function countedUnits(pieces: readonly Piece[]): Unit[] {
  const units: Unit[] = [];
  for (const piece of pieces) units.push(counted(piece));
  return units;
}

/** Cuts a unit bigger than a chunk into chunk-sized pieces: at line ends or spaces where it can. */
function splitOversized(unit: Unit, maxTokens: number): Unit[] {
  if (unit.tokens <= maxTokens) return [unit];
  const pieces: Unit[] = [];
  const budget = maxTokens - 2;
  // Each piece is measured in a window of the text a few chunks long, never in the whole rest: counting
  // the rest for every piece made a paragraph of n tokens cost n²/budget (a 1 MB CSV took minutes).
  const window = budget * 32;
  let start = 0;
  while (start < unit.text.length) {
    const rest = unit.text.slice(start, start + window);
    const restTokens = countTokens(rest);
    if (restTokens <= budget && start + rest.length >= unit.text.length) {
      pieces.push({ text: rest, tokens: restTokens, separator: "\n", textTokens: -1 });
      break;
    }
    // Shrink a character window until it fits; characters per token is estimated from what was measured.
    let length = Math.min(rest.length - 1, Math.max(1, Math.floor((budget * rest.length) / restTokens)));
    let head = rest.slice(0, length);
    let headTokens = countTokens(head);
    while (headTokens > budget && length > 1) {
      length = Math.max(1, Math.floor((length * budget) / headTokens) - 1);
      head = rest.slice(0, length);
      headTokens = countTokens(head);
    }
    const boundary = Math.max(head.lastIndexOf("\n"), head.lastIndexOf(" "));
    if (boundary > head.length / 2) {
      head = head.slice(0, boundary);
      headTokens = countTokens(head);
    }
    pieces.push({ text: head, tokens: headTokens, separator: "\n", textTokens: -1 });
    start += head.length;
    while (start < unit.text.length && /\s/.test(unit.text[start] ?? "")) start += 1;
  }
  if (pieces[0]) pieces[0].separator = unit.separator;
  return pieces;
}
