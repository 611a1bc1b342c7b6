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
  return LETTERS.test(folded) ? stemmer(folded) : folded;
}

const LETTERS = /^[a-z]+$/;

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
  const distinct = countLinesTerms(lines);
  const frequencies = new Uint32Array(distinct * 2);
  const total = writeCountedTerms(frequencies, 0);
  return { frequencies, total };
}

/**
 * Counts the terms of `lines` (as `countAnalyzedTerms`) and answers how many distinct ones there are;
 * `writeCountedTerms` then writes them out. Two steps, so that a caller packing the counts of many chunks
 * into one array (`prepareChunks`) writes each chunk's where it goes, with no array of its own.
 */
export function countLinesTerms(lines: readonly string[]): number {
  startCount();
  for (const line of lines) countLine(line);
  return countedDistinct;
}

/**
 * Counts a line's terms. Nor does analysis reach across ASCII blanks, so a line with other characters
 * is cut at them: each piece with a character beyond ASCII goes through `analyze`, and the ASCII stretch
 * between two such pieces to the scan in one go (a line of English with one "µ" or "–" is no longer
 * analyzed whole on the slow path).
 */
function countLine(line: string): void {
  const length = line.length;
  let from = 0; // where the text not yet counted starts: the line's start, or a blank after a piece
  for (let index = nextNonAscii(line, 0); index !== -1; index = nextNonAscii(line, from)) {
    let pieceStart = index;
    while (pieceStart > from && !isAsciiBlank(line.charCodeAt(pieceStart - 1))) pieceStart -= 1;
    let pieceEnd = index + 1;
    while (pieceEnd < length && !isAsciiBlank(line.charCodeAt(pieceEnd))) pieceEnd += 1;
    countAsciiWords(line, from, pieceStart);
    for (const term of analyze(line.slice(pieceStart, pieceEnd))) countTerm(termId(term) | 0);
    from = pieceEnd;
  }
  countAsciiWords(line, from, length);
}

/**
 * The index of the first character beyond ASCII in `line` from `start`, or -1. A regular expression finds
 * it several times faster than a loop over `charCodeAt` (0.6 against 2-3 ns a character: its compiled
 * code scans the string's own representation) but costs about 60 ns a call, so the next few characters
 * are looked at by hand first: text with accents has one every few words.
 */
function nextNonAscii(line: string, start: number): number {
  const near = Math.min(line.length, start + 32);
  for (let index = start; index < near; index += 1) if (line.charCodeAt(index) > 0x7f) return index;
  if (near === line.length) return -1;
  NON_ASCII.lastIndex = near;
  return NON_ASCII.test(line) ? NON_ASCII.lastIndex - 1 : -1;
}

const NON_ASCII = /[\u0080-\uffff]/g;

function isAsciiBlank(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;
}

/**
 * Counts the terms of the ASCII words of `text[from, to)`. One pass over each word finds its end and
 * hashes its lower-cased characters on the way (every character a word holds, letters, digits, `'`,
 * `.` and `,`, lower-cases by setting bit 0x20, so no table is needed for that); the word is compared
 * with a remembered one only in a slot whose hash matches.
 */
function countAsciiWords(text: string, from: number, to: number): void {
  const end = to - from;
  if (end === 0) return;
  // A stretch longer than the reused buffer gets one of its own, garbage once counted.
  const bytes = end <= SCAN_CAPACITY ? scanBytes : new Uint8Array(end + 4);
  const view = bytes === scanBytes ? scanView : new DataView(bytes.buffer);
  if (end < SHORT_STRETCH) {
    for (let index = 0; index < end; index += 1) bytes[index] = text.charCodeAt(from + index);
  } else {
    encoder.encodeInto(from === 0 && to === text.length ? text : text.slice(from, to), bytes);
  }
  // A zero (outside words) after the stretch: the scan may look one byte past a word's end.
  bytes[end] = 0;
  let index = 0;
  while (index < end) {
    const code = bytes[index] as number;
    const kind = WORD_CLASS[code] as number;
    if (kind === OUTSIDE) {
      index += 1;
      continue;
    }
    const start = index;
    let hash = Math.imul(FNV_OFFSET ^ (code | 0x20), FNV_PRIME);
    index += 1;
    if (kind === DIGIT) {
      // `[0-9]+(?:[.,][0-9]+)*`: a separator belongs to the number when a digit follows it.
      while (index < end) {
        const code = bytes[index] as number;
        if (
          WORD_CLASS[code] !== DIGIT &&
          ((code !== 0x2e && code !== 0x2c) ||
            index + 1 === end ||
            WORD_CLASS[bytes[index + 1] as number] !== DIGIT)
        )
          break;
        hash = Math.imul(hash ^ code, FNV_PRIME);
        index += 1;
      }
    } else {
      // `[a-z0-9]+(?:'[a-z0-9]+)*`: an apostrophe belongs to the word when a letter or digit follows it.
      // The character after is looked at first, at every word's end (the zero after the stretch ends the
      // last word): looked at only after an apostrophe, its arithmetic had no type feedback when this was
      // optimized, and the first apostrophe in a word deoptimized it (--trace-deopt, each cold ingest).
      while (index < end) {
        const code = bytes[index] as number;
        if (
          WORD_CLASS[code] === OUTSIDE &&
          (WORD_CLASS[bytes[index + 1] as number] === OUTSIDE || code !== 0x27)
        )
          break;
        hash = Math.imul(hash ^ (code | 0x20), FNV_PRIME);
        index += 1;
      }
    }
    let slot = findWord(view, start, index, hash);
    if (slot < 0) slot = rememberWord(text.slice(from + start, from + index), hash, ~slot, kind === DIGIT);
    if ((wordTable[slot + SLOT_LENGTH] as number) & HAS_TERM) countTerm(wordTable[slot + SLOT_ID] as number);
  }
}

// The stretch being scanned, as bytes (ASCII text encodes to one byte a character, so an index into it
// is one into the stretch): TextEncoder copies it out natively, and a byte array is read faster than a
// string, whose every `charCodeAt` checks how the string is stored.
const encoder = new TextEncoder();
// A shorter stretch (between two words with accents, say) is copied by hand: cutting it out of its line
// and calling into the encoder would cost more than the copy.
const SHORT_STRETCH = 64;
// Four bytes beyond the capacity, so that a word at the end can be read four bytes at a time.
const SCAN_CAPACITY = 1 << 16;
const scanBytes = new Uint8Array(SCAN_CAPACITY + 4);
const scanView = new DataView(scanBytes.buffer);

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

// 32-bit FNV-1a, as `termId` hashes: the word's hash is its id when the word is its own term.
const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;

// The word table: open addressing over the lower-cased characters of a word, holding its term id.
// A slot is four neighbouring integers (the word's hash, where its characters start in `wordKeys`,
// its length shifted left by one with HAS_TERM in the low bit, 0 for an empty slot, and its term id),
// so that a probe reads one cache line. Cleared when half full or when the characters fill their pool,
// so that its memory stays bounded and probes short.
const WORD_SLOTS = 1 << 17;
const SLOT_HASH = 0;
const SLOT_START = 1;
const SLOT_LENGTH = 2;
const SLOT_ID = 3;
const HAS_TERM = 1; // not a stopword, nor a word that analyzes to nothing
// The slot after the table holds a word too long to remember, for the one count it is looked up for.
const UNREMEMBERED = WORD_SLOTS * 4;
const wordTable = new Int32Array(WORD_SLOTS * 4 + 4);
// Longer words are analyzed each time they occur (a linear cost, about 30 ns a character): such a run of
// characters is rarely a word that recurs (a blob of base64, a sequence), and a few of them would fill
// the characters' pool and flush the vocabulary.
const LONGEST_REMEMBERED_WORD = 1 << 12;
// The remembered words' lower-cased characters, four to an integer (little-endian, as DataView reads
// the scanned bytes), each word starting an integer and padded with zero bytes.
const wordKeys = new Int32Array(1 << 18);
let wordKeysUsed = 0;
let wordsKnown = 0;

/**
 * The slot of the word at `[start, end)` of the scanned bytes lower-cased, or the one's complement of the
 * free slot it would take. The word is compared four bytes at a time with the remembered one.
 */
function findWord(bytes: DataView, start: number, end: number, hash: number): number {
  const packedLength = ((end - start) << 1) | HAS_TERM;
  // The step to the next slot is taken at the top of each probe, the first included (from one slot
  // before the home slot): taken only on a collision, it had no type feedback when the table was still
  // sparse, so the first collision after countAsciiWords was optimized deoptimized it (--trace-deopt).
  let slot = ((hash & (WORD_SLOTS - 1)) << 2) - 4;
  for (;;) {
    slot = (slot + 4) & (UNREMEMBERED - 1);
    const slotLength = wordTable[slot + SLOT_LENGTH] as number;
    if (slotLength === 0) return ~slot;
    if (wordTable[slot + SLOT_HASH] !== hash || (slotLength | HAS_TERM) !== packedLength) continue;
    let key = wordTable[slot + SLOT_START] as number;
    let index = start;
    while (index + 4 <= end && wordKeys[key] === (bytes.getInt32(index, true) | LOWER_FOUR)) {
      index += 4;
      key += 1;
    }
    if (index + 4 <= end) continue;
    if (index === end) return slot;
    const tail = (bytes.getInt32(index, true) | LOWER_FOUR) & (TAIL_MASKS[end - index] as number);
    if (wordKeys[key] === tail) return slot;
  }
}

// Setting bit 0x20 of each of four bytes; and the bytes of a word's last one to three characters.
const LOWER_FOUR = 0x20202020;
const TAIL_MASKS = [0, 0xff, 0xffff, 0xffffff];

/** Analyzes `word` (as `addWord` does) and remembers it in the free slot `free`, or as `UNREMEMBERED`. */
function rememberWord(word: string, hash: number, free: number, isNumber: boolean): number {
  const lowered = word.toLowerCase();
  const term = analyzeAsciiWord(lowered, isNumber);
  const length = word.length;
  let slot = free;
  if (length > LONGEST_REMEMBERED_WORD) {
    slot = UNREMEMBERED;
  } else {
    const keyLength = (length + 3) >> 2;
    if (wordsKnown >= WORD_SLOTS / 2 || wordKeysUsed + keyLength > wordKeys.length) {
      wordTable.fill(0);
      wordsKnown = 0;
      wordKeysUsed = 0;
      slot = (hash & (WORD_SLOTS - 1)) << 2;
    }
    for (let key = 0; key < keyLength; key += 1) {
      let four = 0;
      for (let index = 4 * key; index < 4 * key + 4 && index < length; index += 1)
        four |= lowered.charCodeAt(index) << (8 * (index & 3));
      wordKeys[wordKeysUsed + key] = four;
    }
    wordTable[slot + SLOT_START] = wordKeysUsed;
    wordKeysUsed += keyLength;
    wordsKnown += 1;
  }
  wordTable[slot + SLOT_HASH] = hash;
  wordTable[slot + SLOT_LENGTH] = (length << 1) | (term === null ? 0 : HAS_TERM);
  wordTable[slot + SLOT_ID] = term === null ? 0 : termId(term);
  return slot;
}

/**
 * `analyzeWord` for a lower-cased ASCII token of the scan, with the checks its shape settles left out:
 * a token that starts with a digit is a number (`[0-9]+(?:[.,][0-9]+)*`), one that starts with a letter
 * never is, and without an apostrophe it has nothing to fold.
 */
function analyzeAsciiWord(word: string, isNumber: boolean): string | null {
  if (isNumber) return word.replaceAll(",", "");
  if (word.includes("'")) return analyzeWord(word);
  if (ENGLISH_STOPWORDS.has(word)) return null;
  return LETTERS.test(word) ? stemmer(word) : word;
}

// The count under way (counting is synchronous, so one at a time): an open-addressing index over the
// distinct ids whose slots are four neighbouring integers (a stamp, the id, its frequency and one unused)
// and count as empty unless they carry the current stamp, so that starting a count clears nothing; and
// the slots taken, in the order their ids first occurred. An id is held as the signed 32-bit integer of
// its bits, and written out unsigned.
let countSlots = 1 << 10;
let countTable = new Int32Array(countSlots * 4);
let countStamp = 0;
let countedSlots = new Int32Array(countSlots / 2);
let countedDistinct = 0;
let countedTotal = 0;

function startCount(): void {
  countedDistinct = 0;
  countedTotal = 0;
  countStamp += 1;
  if (countStamp === 0x7fffffff) {
    countTable.fill(0);
    countStamp = 1;
  }
}

function countTerm(id: number): void {
  countedTotal += 1;
  const mask = countSlots * 4 - 1;
  for (let slot = (Math.imul(id, 0x9e3779b1) << 2) & mask; ; slot = (slot + 4) & mask) {
    if (countTable[slot] !== countStamp) {
      countTable[slot] = countStamp;
      countTable[slot + 1] = id;
      countTable[slot + 2] = 1;
      countedSlots[countedDistinct] = slot;
      countedDistinct += 1;
      if (countedDistinct * 2 >= countSlots) growCountIndex();
      return;
    }
    if (countTable[slot + 1] === id) {
      countTable[slot + 2] = (countTable[slot + 2] as number) + 1;
      return;
    }
  }
}

/** Doubles the count index, re-entering the ids counted so far with their frequencies. */
function growCountIndex(): void {
  const old = countTable;
  countSlots *= 2;
  countTable = new Int32Array(countSlots * 4);
  const slots = new Int32Array(countSlots / 2);
  const mask = countSlots * 4 - 1;
  for (let position = 0; position < countedDistinct; position += 1) {
    const from = countedSlots[position] as number;
    const id = old[from + 1] as number;
    let slot = (Math.imul(id, 0x9e3779b1) << 2) & mask;
    while (countTable[slot] === countStamp) slot = (slot + 4) & mask;
    countTable[slot] = countStamp;
    countTable[slot + 1] = id;
    countTable[slot + 2] = old[from + 2] as number;
    slots[position] = slot;
  }
  countedSlots = slots;
}

/**
 * Writes the count `countLinesTerms` made to `target` from `offset`, as `countAnalyzedTerms` gives its
 * `frequencies` (the distinct ids in the order they first occurred, then their frequencies in that order:
 * twice as many integers as there are distinct terms), and answers the count's total.
 */
export function writeCountedTerms(target: Uint32Array, offset: number): number {
  const distinct = countedDistinct;
  for (let position = 0; position < distinct; position += 1) {
    const slot = countedSlots[position] as number;
    target[offset + position] = countTable[slot + 1] as number;
    target[offset + distinct + position] = countTable[slot + 2] as number;
  }
  return countedTotal;
}
