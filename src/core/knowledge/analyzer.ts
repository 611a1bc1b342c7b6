import { stemmer } from "stemmer";
import type { TermCounts } from "../ports/vector-store.js";
import { ENGLISH_STOPWORDS } from "./english-stopwords.js";
import { termId } from "./sparse.js";

/**
 * The one text analyzer for BM25, used for documents and queries alike so that every store computes
 * the same sparse vectors.
 *
 * - NFKC folds compatibility forms (full-width Latin, ligatures, circled digits) before lower-casing.
 * - Words are runs of letters, marks and digits; hyphens and other punctuation split them.
 * - English: possessive `'s` dropped, stopwords removed, Porter stemming (`stemmer`).
 * - Numbers are kept; thousands separators are dropped so `9,000` and `9000` agree.
 * - Hangul, Han and Kana have no reliable spaces between words (Korean attaches particles to nouns),
 *   so each run of those scripts becomes overlapping character bigrams, which match compounds and
 *   stems without a dictionary. A single-character run is kept as a unigram.
 *
 * Hand-written because no maintained JavaScript library combines Unicode-aware segmentation with
 * CJK n-grams and English stemming in one small, dependency-free pass.
 */
export function analyze(text: string): string[] {
  const terms: string[] = [];
  // ASCII text is already in NFKC and has no CJK, so the Unicode-class regex (the costly part of
  // analysis) can give way to an equivalent ASCII one: same tokens, several times faster.
  if (isAscii(text)) {
    for (const token of text.toLowerCase().match(ASCII_TOKEN_PATTERN) ?? []) addWord(token, terms);
    return terms;
  }
  const normalized = text.normalize("NFKC").toLowerCase();
  for (const token of normalized.match(TOKEN_PATTERN) ?? []) {
    if (mayContainCjk(token) && CJK_CHARACTER.test(token)) {
      splitByScript(token, terms);
    } else {
      addWord(token, terms);
    }
  }
  return terms;
}

// A word: letters/marks/digits, with inner apostrophes; or a number with inner separators.
const TOKEN_PATTERN = /\p{N}+(?:[.,]\p{N}+)*|[\p{L}\p{M}\p{N}]+(?:['’][\p{L}\p{M}\p{N}]+)*/gu;
// TOKEN_PATTERN restricted to ASCII: the same alternatives in the same order.
const ASCII_TOKEN_PATTERN = /[0-9]+(?:[.,][0-9]+)*|[a-z0-9]+(?:'[a-z0-9]+)*/g;
// Script_Extensions, so that marks shared by these scripts (the Katakana length mark ー, 々) stay in the run.
const CJK_CHARACTER = /[\p{scx=Hangul}\p{scx=Han}\p{scx=Hiragana}\p{scx=Katakana}]/u;
const NUMBER = /^\p{N}+(?:[.,]\p{N}+)*$/u;

function isAscii(text: string): boolean {
  for (let index = 0; index < text.length; index++) {
    if (text.charCodeAt(index) > 0x7f) return false;
  }
  return true;
}

// Every CJK script sits at or above U+1100 (Hangul Jamo); a cheap scan spares the regex for Latin text.
function mayContainCjk(token: string): boolean {
  for (let index = 0; index < token.length; index++) {
    if (token.charCodeAt(index) >= 0x1100) return true;
  }
  return false;
}

function splitByScript(token: string, terms: string[]): void {
  let run = "";
  let runIsCjk = false;
  for (const character of token) {
    const isCjk = CJK_CHARACTER.test(character);
    if (run.length > 0 && isCjk !== runIsCjk) {
      if (runIsCjk) addCjkRun(run, terms);
      else addWord(run, terms);
      run = "";
    }
    run += character;
    runIsCjk = isCjk;
  }
  if (run.length === 0) return;
  if (runIsCjk) addCjkRun(run, terms);
  else addWord(run, terms);
}

function addCjkRun(run: string, terms: string[]): void {
  const characters = [...run];
  if (characters.length === 1) {
    terms.push(run);
    return;
  }
  for (let index = 0; index + 1 < characters.length; index++) {
    terms.push(`${characters[index]}${characters[index + 1]}`);
  }
}

// Word forms repeat heavily across chunks, and stemming is the costly step of analysis.
const wordCache = new Map<string, string | null>();
const WORD_CACHE_LIMIT = 200_000;

function addWord(word: string, terms: string[]): void {
  let term = wordCache.get(word);
  if (term === undefined) {
    term = analyzeWord(word);
    if (wordCache.size >= WORD_CACHE_LIMIT) wordCache.clear();
    wordCache.set(word, term);
  }
  if (term !== null) terms.push(term);
}

function analyzeWord(word: string): string | null {
  if (NUMBER.test(word)) return word.replaceAll(",", "");
  let folded = word.replaceAll("’", "'");
  if (folded.endsWith("'s")) folded = folded.slice(0, -2);
  folded = folded.replaceAll("'", "");
  if (folded.length === 0 || ENGLISH_STOPWORDS.has(folded)) return null;
  return /^[a-z]+$/.test(folded) ? stemmer(folded) : folded;
}

/**
 * `countTerms(analyze(lines.join("\n")))`, computed without the term strings for ASCII text: indexing counts the
 * terms of every chunk, and for ASCII text (most of it) the strings were most of the cost: a token
 * string cut by the regular expression for each word, its look-up in the word cache, the term string's
 * hash (`termId`) and a map to count them. Here the words are found by a scan equivalent to
 * `ASCII_TOKEN_PATTERN` over the lower-cased text, looked up in a table keyed by the characters of the
 * text itself (a hit allocates nothing) that holds the word's term id, and counted in a reused table.
 * Hand-written for that reason; a line with other characters takes `analyze`. test/core/knowledge/analyzer-counts.test.ts
 * holds the two to each other.
 */
export function countAnalyzedTerms(lines: readonly string[]): TermCounts {
  // Analysis never reaches across a line break (a line break is no word character, normalization and
  // lower-casing never join it with a neighbour), so the lines are counted one by one, each by the scan
  // when it is ASCII, and the joined text is never built.
  startCount();
  for (const line of lines) countLine(line);
  return finishCount();
}

/**
 * Counts a line's terms. Nor does analysis reach across ASCII blanks, so a line with other characters
 * is cut at them: each piece that is ASCII goes to the scan, each other piece through `analyze` (a
 * line of English with one "µ" or "–" is no longer analyzed whole on the slow path).
 */
function countLine(line: string): void {
  if (isAscii(line)) {
    countAsciiWords(line, 0, line.length);
    return;
  }
  const length = line.length;
  for (let start = 0; start < length; ) {
    let end = start;
    let ascii = true;
    for (let code = line.charCodeAt(end); end < length && !isAsciiBlank(code); code = line.charCodeAt(++end))
      if (code > 0x7f) ascii = false;
    if (ascii) countAsciiWords(line, start, end);
    else for (const term of analyze(line.slice(start, end))) countTerm(termId(term));
    start = end + 1;
  }
}

function isAsciiBlank(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;
}

/** Counts the terms of the ASCII words of `text[from, to)`. */
function countAsciiWords(text: string, from: number, to: number): void {
  const length = to;
  for (let start = from; start < length; ) {
    const kind = WORD_CLASS[text.charCodeAt(start)] as number;
    if (kind === OUTSIDE) {
      start += 1;
      continue;
    }
    let end = start + 1;
    if (kind === DIGIT) {
      // `[0-9]+(?:[.,][0-9]+)*`
      while (end < length && WORD_CLASS[text.charCodeAt(end)] === DIGIT) end += 1;
      while (end + 1 < length) {
        const separator = text.charCodeAt(end);
        if ((separator !== 0x2e && separator !== 0x2c) || WORD_CLASS[text.charCodeAt(end + 1)] !== DIGIT)
          break;
        end += 2;
        while (end < length && WORD_CLASS[text.charCodeAt(end)] === DIGIT) end += 1;
      }
    } else {
      // `[a-z0-9]+(?:'[a-z0-9]+)*`
      while (end < length && WORD_CLASS[text.charCodeAt(end)] !== OUTSIDE) end += 1;
      while (
        end + 1 < length &&
        text.charCodeAt(end) === 0x27 &&
        WORD_CLASS[text.charCodeAt(end + 1)] !== OUTSIDE
      ) {
        end += 2;
        while (end < length && WORD_CLASS[text.charCodeAt(end)] !== OUTSIDE) end += 1;
      }
    }
    const slot = wordSlot(text, start, end);
    if (wordStates[slot] === HAS_TERM) countTerm(wordIds[slot] as number);
    start = end;
  }
}

// Character classes of the ASCII word scan: outside words, letters (either case), digits.
const OUTSIDE = 0;
const LETTER = 1;
const DIGIT = 2;
const WORD_CLASS = new Uint8Array(128).map((_, code) =>
  (code >= 0x61 && code <= 0x7a) || (code >= 0x41 && code <= 0x5a)
    ? LETTER
    : code >= 0x30 && code <= 0x39
      ? DIGIT
      : OUTSIDE,
);

// The word table: open addressing over the lower-cased characters of a word, holding its term id;
// cleared when half full, so that its memory stays bounded and probes short.
const WORD_SLOTS = 1 << 17;
const EMPTY = 0;
const NO_TERM = 1; // a stopword, or a word that analyzes to nothing
const HAS_TERM = 2;
const wordKeys: Array<string | undefined> = new Array(WORD_SLOTS);
const wordHashes = new Int32Array(WORD_SLOTS);
const wordIds = new Uint32Array(WORD_SLOTS);
const wordStates = new Uint8Array(WORD_SLOTS);
let wordsKnown = 0;

function lowerAt(text: string, index: number): number {
  const code = text.charCodeAt(index);
  return code >= 0x41 && code <= 0x5a ? code | 0x20 : code;
}

/** The slot of the word `text[start, end)` lower-cased, filled (analyzed as `addWord` does) if it was not. */
function wordSlot(text: string, start: number, end: number): number {
  let hash = 0x811c9dc5 | 0;
  for (let index = start; index < end; index += 1) hash = Math.imul(hash ^ lowerAt(text, index), 0x01000193);
  const length = end - start;
  for (let slot = hash & (WORD_SLOTS - 1); ; slot = (slot + 1) & (WORD_SLOTS - 1)) {
    if (wordStates[slot] === EMPTY) return rememberWord(text, start, end, hash, slot);
    if (wordHashes[slot] !== hash) continue;
    const key = wordKeys[slot] as string;
    if (key.length !== length) continue;
    let same = true;
    for (let index = 0; index < length && same; index += 1)
      same = key.charCodeAt(index) === lowerAt(text, start + index);
    if (same) return slot;
  }
}

function rememberWord(text: string, start: number, end: number, hash: number, free: number): number {
  const word = text.slice(start, end).toLowerCase();
  const term = analyzeWord(word);
  let slot = free;
  if (wordsKnown >= WORD_SLOTS / 2) {
    wordKeys.fill(undefined);
    wordStates.fill(EMPTY);
    wordsKnown = 0;
    slot = hash & (WORD_SLOTS - 1);
  }
  wordKeys[slot] = word;
  wordHashes[slot] = hash;
  wordStates[slot] = term === null ? NO_TERM : HAS_TERM;
  wordIds[slot] = term === null ? 0 : termId(term);
  wordsKnown += 1;
  return slot;
}

// The count under way (counting is synchronous, so one at a time): distinct ids in first-occurrence order
// with their frequencies, and an open-addressing index over them whose slots count as empty unless they
// carry the current stamp, so that starting a count clears nothing.
let countSlots = 1 << 10;
let countSlotIds = new Uint32Array(countSlots);
let countSlotPositions = new Int32Array(countSlots);
let countSlotStamps = new Int32Array(countSlots);
let countStamp = 0;
const countedIds: number[] = [];
const countedFrequencies: number[] = [];
let countedTotal = 0;

function startCount(): void {
  countedIds.length = 0;
  countedFrequencies.length = 0;
  countedTotal = 0;
  countStamp += 1;
  if (countStamp === 0x7fffffff) {
    countSlotStamps.fill(0);
    countStamp = 1;
  }
}

function countTerm(id: number): void {
  countedTotal += 1;
  for (let slot = Math.imul(id, 0x9e3779b1) & (countSlots - 1); ; slot = (slot + 1) & (countSlots - 1)) {
    if (countSlotStamps[slot] !== countStamp) {
      countSlotStamps[slot] = countStamp;
      countSlotIds[slot] = id;
      countSlotPositions[slot] = countedIds.length;
      countedIds.push(id);
      countedFrequencies.push(1);
      if (countedIds.length * 2 > countSlots) growCountIndex();
      return;
    }
    if (countSlotIds[slot] === id) {
      const position = countSlotPositions[slot] as number;
      countedFrequencies[position] = (countedFrequencies[position] as number) + 1;
      return;
    }
  }
}

/** Doubles the count index, re-entering the ids counted so far. */
function growCountIndex(): void {
  countSlots *= 2;
  countSlotIds = new Uint32Array(countSlots);
  countSlotPositions = new Int32Array(countSlots);
  countSlotStamps = new Int32Array(countSlots);
  countedIds.forEach((id, position) => {
    let slot = Math.imul(id, 0x9e3779b1) & (countSlots - 1);
    while (countSlotStamps[slot] === countStamp) slot = (slot + 1) & (countSlots - 1);
    countSlotStamps[slot] = countStamp;
    countSlotIds[slot] = id;
    countSlotPositions[slot] = position;
  });
}

function finishCount(): TermCounts {
  const distinct = countedIds.length;
  const frequencies = new Uint32Array(distinct * 2);
  for (let index = 0; index < distinct; index += 1) {
    frequencies[index] = countedIds[index] as number;
    frequencies[distinct + index] = countedFrequencies[index] as number;
  }
  return { frequencies, total: countedTotal };
}
