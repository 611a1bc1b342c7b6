import { O200K_TOKEN_SPLIT_REGEX } from "gpt-tokenizer/encodingParams/constants";
import { BytePairRanks, NO_RANK } from "./byte-pair-ranks.js";

/**
 * Token counting with a real tokenizer (o200k_base, the GPT-4o/4.1 family encoding, from
 * gpt-tokenizer, whose ranks ship inside the npm package). Other OpenAI-compatible models tokenize
 * differently, so budgets keep a margin; o200k is a close enough estimate for Llama/Qwen-class
 * vocabularies too.
 *
 * Any text a person can type is countable: special tokens such as `<|endoftext|>` are ordinary text
 * here (nothing this project sends is meant to contain a control token).
 */

// A tokenizer splits text into pre-tokens with one regular expression and byte-pair-merges each one on its
// own, so the count of a text is the sum of the counts of its pre-tokens. Splitting here with the same
// expression lets a count be remembered per pre-token: natural text repeats its words, and a cache hit
// costs one look-up instead of a merge. The cache is an open-addressing table keyed by the characters of a
// span of the text being counted, so a hit neither copies the piece into a string of its own nor hashes
// one (with a Map, those two were most of a warm count); it is cleared when full, so its memory stays bounded.
const CACHE_LIMIT = 100_000;
const CACHE_SLOTS = 1 << 18; // a power of two, well above CACHE_LIMIT so that probes stay short
// A slot is 32 bytes, half a cache line, and holds its key too, so that a hit reads one line: a table with
// the keys in strings of their own missed the processor's caches twice per piece (the slot, then the
// string), which was half of counting warm text. Per slot: the key's hash; its count plus one (0: the slot
// is empty) in the low 16 bits, its length in the next 8, and IN_SLOT when the key is held in the slot's
// last 24 bytes, one byte per character (pieces of Latin-1 text up to 24 characters long: most words);
// other keys are held in `slotKeys`.
const SLOT_BYTES = 32;
const SLOT_WORDS = SLOT_BYTES / 4;
const KEY_OFFSET = 8;
const LONGEST_KEY_IN_SLOT = SLOT_BYTES - KEY_OFFSET;
const IN_SLOT = 1 << 24;
const slotMemory = new ArrayBuffer(CACHE_SLOTS * SLOT_BYTES);
const slotWords = new Int32Array(slotMemory);
const slotBytes = new Uint8Array(slotMemory);
const slotKeys: Array<string | undefined> = new Array(CACHE_SLOTS);
let cachedPieces = 0;

// The byte-pair merge itself is written here, over gpt-tokenizer's o200k ranks and split expression (the
// data of OpenAI's tiktoken, shipped in the package). gpt-tokenizer merges a new word at 14-22 µs, because
// it decodes every candidate byte pair into a string (TextDecoder) before looking its rank up; the same
// algorithm over "byte strings" (one character per UTF-8 byte, so a pair is a `slice`) gives the same
// counts at about a tenth of the cost, which is what let chunking keep pace with the index. Counts are
// checked against js-tiktoken (test/core/tokens.test.ts) on real and random text.
// Special tokens are not in the ranks: text such as `<|endoftext|>` counts as the characters it is made of.
// The ranks live in a table threads can share (see `BytePairRanks`). A thread that counts for its parent is
// handed the parent's table (`tokenizerTable`) on `globalThis`, under this key, before this module loads
// (the extraction threads' entry does so): it then never loads the ranks' module (2 MB of source) at all.
const HANDED_TABLE = Symbol.for("teammate.tokenizerTable");
const handedTable = (globalThis as Record<symbol, unknown>)[HANDED_TABLE];
let ranks = handedTable instanceof SharedArrayBuffer ? new BytePairRanks(handedTable) : undefined;
const o200kRanks: ReadonlyArray<string | readonly number[] | undefined> | undefined = ranks
  ? undefined
  : (await import("gpt-tokenizer/bpeRanks/o200k_base")).default;

/** The rank table of o200k_base, built on first use (about 0.1 s) unless one was handed over. */
function rankTable(): BytePairRanks {
  if (ranks) return ranks;
  ranks = BytePairRanks.build(
    (o200kRanks ?? []).map((entry) =>
      entry === undefined
        ? undefined
        : typeof entry === "string"
          ? byteString(entry)
          : String.fromCharCode(...entry),
    ),
  );
  return ranks;
}

/** The tokenizer's rank table, for a thread that counts tokens too (building it if need be). */
export function tokenizerTable(): SharedArrayBuffer {
  return rankTable().buffer;
}

/** `text` as UTF-8 bytes, one character (0-255) per byte; ASCII text is returned as it is. */
function byteString(text: string): string {
  let ascii = true;
  for (let index = 0; index < text.length; index += 1) {
    if (text.charCodeAt(index) > 0x7f) {
      ascii = false;
      break;
    }
  }
  if (ascii) return text;
  // Through the merge's byte buffer: only the rank table's build calls this, before any merge reads it.
  const length = pieceBytesOf(text, 0, text.length);
  let bytes = "";
  for (let index = 0; index < length; index += 1) bytes += String.fromCharCode(pieceBytes[index] as number);
  return bytes;
}

// The parts of the piece being merged: partStarts[i] is where part i begins (and the entry after the last part
// where the piece ends); pairRanks[i] is the rank of parts i and i + 1 joined. Reused typed arrays rather than
// arrays spliced per merge: a fifth less time per merge, and merging the words a document brings for the first
// time is about a fifth of counting it cold. (Most of what is left is reading the rank table, see BytePairRanks.)
let partStarts = new Int32Array(256);
let pairRanks = new Float64Array(256);

// The UTF-8 bytes of the piece being merged (see `pieceBytesOf`).
let pieceBytes = new Uint8Array(256);

/**
 * Writes the UTF-8 bytes of `text[start, end)` to `pieceBytes` (a lone surrogate as U+FFFD, as
 * TextEncoder does) and answers how many there are.
 */
function pieceBytesOf(text: string, start: number, end: number): number {
  // At most three bytes per UTF-16 unit (a surrogate pair, two units, is four).
  if (pieceBytes.length < 3 * (end - start)) pieceBytes = new Uint8Array(3 * (end - start));
  const bytes = pieceBytes;
  let length = 0;
  for (let index = start; index < end; index += 1) {
    let code = text.charCodeAt(index);
    if (code <= 0x7f) {
      bytes[length++] = code;
      continue;
    }
    if (code >= 0xd800 && code <= 0xdbff && index + 1 < end) {
      const low = text.charCodeAt(index + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
        index += 1;
      }
    }
    if (code >= 0xd800 && code <= 0xdfff) code = 0xfffd;
    if (code <= 0x7ff) {
      bytes[length++] = 0xc0 | (code >> 6);
    } else if (code <= 0xffff) {
      bytes[length++] = 0xe0 | (code >> 12);
      bytes[length++] = 0x80 | ((code >> 6) & 0x3f);
    } else {
      bytes[length++] = 0xf0 | (code >> 18);
      bytes[length++] = 0x80 | ((code >> 12) & 0x3f);
      bytes[length++] = 0x80 | ((code >> 6) & 0x3f);
    }
    bytes[length++] = 0x80 | (code & 0x3f);
  }
  return length;
}

/**
 * Tokens of the pre-token `text[start, end)`: tiktoken's `byte_pair_merge` (the lowest-ranked adjacent
 * pair merges first, the leftmost on a tie) over the piece's UTF-8 bytes. Quadratic in the piece's
 * length, which `LONGEST_WHOLE_PIECE` and `SLICE` keep short. The bytes are copied out once into a typed
 * array (no piece string cut, no byte string built) and every rank look-up reads them there.
 */
function mergeCount(text: string, start: number, end: number): number {
  const table = rankTable();
  const length = pieceBytesOf(text, start, end);
  const bytes = pieceBytes;
  if (length <= 1) return length;
  if (table.rankOf(bytes, 0, length) !== NO_RANK) return 1;
  if (partStarts.length <= length) {
    partStarts = new Int32Array(length + 1);
    pairRanks = new Float64Array(length + 1);
  }
  const starts = partStarts;
  const ranks = pairRanks;
  for (let index = 0; index <= length; index += 1) starts[index] = index;
  for (let index = 0; index + 1 < length; index += 1) ranks[index] = table.rankOf(bytes, index, index + 2);
  ranks[length - 1] = NO_RANK;
  let parts = length;
  while (parts > 1) {
    let lowest = NO_RANK;
    let at = -1;
    for (let part = 0; part < parts - 1; part += 1) {
      const rank = ranks[part] as number;
      if (rank < lowest) {
        lowest = rank;
        at = part;
      }
    }
    if (at < 0) break;
    // Parts `at` and `at + 1` become one: the later entries move down by one.
    for (let part = at + 1; part < parts; part += 1) starts[part] = starts[part + 1] as number;
    for (let part = at + 1; part < parts - 1; part += 1) ranks[part] = ranks[part + 1] as number;
    parts -= 1;
    ranks[at] =
      at + 1 < parts ? table.rankOf(bytes, starts[at] as number, starts[at + 2] as number) : NO_RANK;
    if (at > 0) ranks[at - 1] = table.rankOf(bytes, starts[at - 1] as number, starts[at + 1] as number);
  }
  return parts;
}

// Every byte-pair merge in JavaScript (gpt-tokenizer, js-tiktoken) is quadratic in the length of a
// pre-token: 12,000 `!` or 4,000 random Hangul syllables without a space take seconds. Pre-tokens that long
// are not words (a pasted blob, a line of punctuation, a script written without spaces), so they are
// encoded in short slices. Slicing only adds tokens at the cuts, so budgets stay on the safe side.
const LONGEST_WHOLE_PIECE = 64;
const SLICE = 32;
// gpt-tokenizer merges non-ASCII bytes through a UTF-8 decoder call per candidate pair, about 20 µs per
// character of random Hangul or CJK: 40,000 such characters would hold the event loop for most of a second.
// So each count encodes at most this many characters of long non-ASCII runs exactly (a sentence of Thai or
// Chinese, which has no spaces, is far shorter); past it, a slice costs its length in UTF-8 bytes, which no
// count can exceed (every token stands for at least one byte), so this too errs on the safe side.
const EXACT_LONG_RUN_CHARACTERS = 512;

function isAscii(text: string): boolean {
  for (let index = 0; index < text.length; index += 1) if (text.charCodeAt(index) > 0x7f) return false;
  return true;
}

/** FNV-1a over the UTF-16 units of `text` from `start` to `end`. */
function spanHash(text: string, start: number, end: number): number {
  let hash = FNV_OFFSET;
  for (let index = start; index < end; index += 1) hash = Math.imul(hash ^ text.charCodeAt(index), FNV_PRIME);
  return hash;
}

/** The slot that holds the piece `text[start, end)`, or the empty slot where it would go. */
function slotOf(text: string, start: number, end: number, hash: number): number {
  const length = end - start;
  for (let slot = hash & (CACHE_SLOTS - 1); ; slot = (slot + 1) & (CACHE_SLOTS - 1)) {
    const at = slot * SLOT_WORDS;
    const entry = slotWords[at + 1] as number;
    if (entry === 0) return slot;
    if (slotWords[at] !== hash || ((entry >> 16) & 0xff) !== length) continue;
    let same = true;
    if ((entry & IN_SLOT) !== 0) {
      const key = slot * SLOT_BYTES + KEY_OFFSET - start;
      for (let index = start; index < end && same; index += 1)
        same = slotBytes[key + index] === text.charCodeAt(index);
    } else {
      const key = slotKeys[slot] as string;
      for (let index = 0; index < length && same; index += 1)
        same = key.charCodeAt(index) === text.charCodeAt(start + index);
    }
    if (same) return slot;
  }
}

/**
 * Tokens of the piece `text[start, end)`: remembered, or merged when `merge` allows it (and then
 * remembered); -1 when it is unknown and may not be merged.
 */
function pieceTokens(text: string, start: number, end: number, merge = true): number {
  return hashedPieceTokens(text, start, end, spanHash(text, start, end), merge);
}

/** `pieceTokens`, given the piece's hash (`spanHash`). The piece is at most `LONGEST_WHOLE_PIECE` long. */
function hashedPieceTokens(text: string, start: number, end: number, hash: number, merge: boolean): number {
  let slot = slotOf(text, start, end, hash);
  const known = (slotWords[slot * SLOT_WORDS + 1] as number) & 0xffff;
  if (known !== 0) return known - 1;
  if (!merge) return -1;
  const count = mergeCount(text, start, end);
  if (cachedPieces >= CACHE_LIMIT) {
    slotKeys.fill(undefined);
    slotWords.fill(0);
    cachedPieces = 0;
    slot = slotOf(text, start, end, hash);
  }
  const length = end - start;
  let inSlot = length <= LONGEST_KEY_IN_SLOT;
  for (let index = start; index < end && inSlot; index += 1) inSlot = text.charCodeAt(index) <= 0xff;
  if (inSlot) {
    const key = slot * SLOT_BYTES + KEY_OFFSET - start;
    for (let index = start; index < end; index += 1) slotBytes[key + index] = text.charCodeAt(index);
  } else {
    // A copy, not a view into the text, keeps the cache from holding documents alive.
    slotKeys[slot] = ownCopy(text.slice(start, end));
  }
  slotWords[slot * SLOT_WORDS] = hash;
  slotWords[slot * SLOT_WORDS + 1] = (count + 1) | (length << 16) | (inSlot ? IN_SLOT : 0);
  cachedPieces += 1;
  return count;
}

/**
 * The text in a string of its own. A substring can be a view into the string it was cut from (V8 keeps
 * substrings as slices of their parent), so a cache that kept one would keep its whole parent alive:
 * a document, or a prompt. Joining flattens into a new string, and the slice after it views that one.
 */
export function ownCopy(text: string): string {
  return ` ${text}`.slice(1);
}

function utf8Length(text: string): number {
  let bytes = 0;
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    // A surrogate pair is one 4-byte character: 2 bytes for each half.
    bytes += code <= 0x7f ? 1 : code <= 0x7ff ? 2 : code >= 0xd800 && code <= 0xdfff ? 2 : 3;
  }
  return bytes;
}

// Classes of the ASCII characters as the o200k split expression sees them.
const OTHER = 0; // punctuation, symbols and control characters: `[^\s\p{L}\p{N}]`
const UPPER = 1;
const LOWER = 2;
const DIGIT = 3;
const BLANK = 4; // whitespace other than a line break: it may open a word, as `[^\r\n\p{L}\p{N}]` allows
const BREAK = 5; // \r and \n
const NON_ASCII = 6; // any class at all: a pre-token that depends on one is left to the expression
const END = 7;
const ASCII_CLASS = new Uint8Array(128).map((_, code) => {
  if (code >= 0x41 && code <= 0x5a) return UPPER;
  if (code >= 0x61 && code <= 0x7a) return LOWER;
  if (code >= 0x30 && code <= 0x39) return DIGIT;
  if (code === 0x0a || code === 0x0d) return BREAK;
  if (code === 0x09 || code === 0x0b || code === 0x0c || code === 0x20) return BLANK;
  return OTHER;
});

// FNV-1a, the cache's hash: over the UTF-16 units of a piece, from this offset, with this prime.
const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;

/** The class of the character code `code` read at an index of a text (-1 past its end). */
function classOf(code: number): number {
  return code < 0 ? END : code < 0x80 ? (ASCII_CLASS[code] as number) : NON_ASCII;
}

/** The character code at `index` of `text`, or -1 past its end. */
function codeAt(text: string, index: number): number {
  return index < text.length ? text.charCodeAt(index) : -1;
}

// The hash (`spanHash`) of the piece the last `asciiPieceEnd` matched, computed while finding its end: one
// pass over the piece's characters instead of two.
let scannedHash = 0;

/**
 * End of the pre-token that starts at `start` (an ASCII character): the match the o200k split expression
 * would make there, or -1 when that match depends on a non-ASCII character (the expression decides those),
 * when a word is followed by an apostrophe (a possible contraction, also left to the expression) or when
 * `start` holds none. Sets `scannedHash` to the hash of the piece it matched.
 * Written out by hand because the expression, matched by the regular-expression engine with Unicode
 * classes, cost about 26 ns a character, more than half of counting warm text; and in one pass that
 * classifies each character and hashes it as it goes (finding the end, then hashing, read each piece twice).
 * The alternatives are tried in the expression's order (test/core/tokens.test.ts holds the two to each other):
 * 1. `[^\r\n\p{L}\p{N}]?[\p{Lu}…]*[\p{Ll}…]+('s|…)?` and 2. `[^\r\n\p{L}\p{N}]?[\p{Lu}…]+[\p{Ll}…]*('s|…)?`:
 *    an optional opener, capitals, small letters, a contraction (left to the expression);
 * 3. `\p{N}{1,3}`; 4. ` ?[^\s\p{L}\p{N}]+[\r\n/]*`; 5. `\s*[\r\n]+`; 6. `\s+(?!\S)`; 7. `\s+`.
 * A run ends at the first character outside its class; when that one is not ASCII, it might belong to the
 * run (é is a small letter, U+00A0 a blank), so the answer is -1.
 */
export function asciiPieceEnd(text: string, start: number): number {
  const first = codeAt(text, start);
  if (first < 0 || first >= 0x80) return -1;
  const kind = ASCII_CLASS[first] as number;
  let hash = Math.imul(FNV_OFFSET ^ first, FNV_PRIME);
  let index = start + 1;
  let code = codeAt(text, index);
  let next = classOf(code);
  // 1 and 2: a word (capitals, then small letters), opened by one character that is neither a letter, a
  // digit nor a line break. Capitals alone (2) or small letters after any capitals (1) end the same way.
  const opener =
    (kind === OTHER || kind === BLANK) && (next === UPPER || next === LOWER || next === NON_ASCII);
  if (kind === UPPER || kind === LOWER || opener) {
    if (next === NON_ASCII) return -1;
    if (kind !== LOWER)
      while (next === UPPER) {
        hash = Math.imul(hash ^ code, FNV_PRIME);
        code = codeAt(text, ++index);
        next = classOf(code);
      }
    while (next === LOWER) {
      hash = Math.imul(hash ^ code, FNV_PRIME);
      code = codeAt(text, ++index);
      next = classOf(code);
    }
    // A word followed by an apostrophe may end in a contraction (`'s`, `'ll`, …, any case): rare, it is
    // left to the expression. (Matched here, behind a branch taken only after an apostrophe, its code had
    // no type feedback when this was optimized, and the first contraction deoptimized it, --trace-deopt.)
    if (next === NON_ASCII || code === 0x27) return -1;
    scannedHash = hash;
    return index;
  }
  if (kind === DIGIT) {
    for (; index < start + 3 && next === DIGIT; next = classOf(code)) {
      hash = Math.imul(hash ^ code, FNV_PRIME);
      code = codeAt(text, ++index);
    }
    if (index < start + 3 && next === NON_ASCII) return -1;
    scannedHash = hash;
    return index;
  }
  // 4: a run of punctuation, after one optional space, with the line breaks and slashes that follow it.
  if (kind === OTHER || (first === 0x20 && next === OTHER)) {
    while (next === OTHER) {
      hash = Math.imul(hash ^ code, FNV_PRIME);
      code = codeAt(text, ++index);
      next = classOf(code);
    }
    if (next === NON_ASCII) return -1;
    while (code === 0x0a || code === 0x0d || code === 0x2f) {
      hash = Math.imul(hash ^ code, FNV_PRIME);
      code = codeAt(text, ++index);
    }
    scannedHash = hash;
    return index;
  }
  // 5, 6 and 7: whitespace (the hash is taken once the end is known, which may fall before the run's end).
  // The run is walked from its first character, so that the loop's body runs for every whitespace piece:
  // walked from the second, it ran only for runs of two or more, had no type feedback when this was
  // optimized, and the first such run deoptimized it (--trace-deopt, once per cold SciFact ingest).
  let lastBreak = -1;
  index = start;
  for (next = kind; next === BLANK || next === BREAK; next = classOf(codeAt(text, index))) {
    if (next === BREAK) lastBreak = index;
    index += 1;
  }
  if (next === NON_ASCII) return -1;
  // `\s+(?!\S)` gives the run's last blank back when a non-blank follows a run of two or more. Both
  // candidate ends are computed for every run, for the same reason as above (the arithmetic of the
  // rarer one, a run of blanks before a word, deoptimized this when it came).
  const afterBreak = lastBreak + 1;
  const givenBack = next !== END && index - start > 1 ? 1 : 0;
  const end = lastBreak >= 0 ? afterBreak : index - givenBack;
  scannedHash = spanHash(text, start, end);
  return end;
}

// Pre-tokens the hand-written matcher leaves to the expression are matched where they start (sticky).
const PRE_TOKEN_AT = new RegExp(O200K_TOKEN_SPLIT_REGEX.source, "uy");

/** End of the pre-token of `text` that starts at `start`, when `asciiPieceEnd` left it to the expression. */
function expressionPieceEnd(text: string, start: number): number {
  PRE_TOKEN_AT.lastIndex = start;
  // Every character starts a match of the expression (letters, digits, blanks, and `[^\s\p{L}\p{N}]+`).
  return start + (PRE_TOKEN_AT.exec(text)?.[0].length ?? 1);
}

/** End of the pre-token of `text` that starts at `start`. */
function pieceEnd(text: string, start: number): number {
  const end = asciiPieceEnd(text, start);
  return end >= 0 ? end : expressionPieceEnd(text, start);
}

// State of the count under way (counting is synchronous, so one at a time): the non-ASCII characters of long
// runs it may still merge exactly, and whether every piece so far was counted on its own.
let exactAllowance = 0;
let ownCounts = true;

/** Tokens of a slice of a pre-token longer than `LONGEST_WHOLE_PIECE`. */
function sliceTokens(text: string, from: number, to: number): number {
  const tokens = pieceTokens(text, from, to, false);
  if (tokens >= 0) return tokens;
  const slice = text.slice(from, to);
  if (isAscii(slice)) return pieceTokens(text, from, to);
  if (exactAllowance <= 0) return utf8Length(slice);
  exactAllowance -= slice.length;
  return pieceTokens(text, from, to);
}

/** Where the slice of a long pre-token `text[from, end)` that starts at `from` ends: never inside a surrogate pair. */
function sliceEnd(text: string, from: number, end: number): number {
  const to = Math.min(end, from + SLICE);
  const last = text.charCodeAt(to - 1);
  return to < end && last >= 0xd800 && last <= 0xdbff ? to - 1 : to;
}

/**
 * Tokens of `text` when at most `limit`; otherwise some number above `limit`, found without counting past it.
 * Sets `ownCounts`. One loop without a callback per piece (under tsx every closure created costs a
 * `__name` call too): this is where chunking spends its time.
 */
function sumTokens(text: string, limit: number): number {
  exactAllowance = EXACT_LONG_RUN_CHARACTERS;
  ownCounts = true;
  let total = 0;
  // Read once: texts come in many string representations, and `length` is a megamorphic load here.
  const length = text.length;
  for (let start = 0, end = 0; start < length && total <= limit; start = end) {
    end = asciiPieceEnd(text, start);
    // The hand-written matcher hashed its piece as it went; the expression's are hashed when counted.
    const hashed = end >= 0;
    if (!hashed) end = expressionPieceEnd(text, start);
    if (end - start <= LONGEST_WHOLE_PIECE) {
      total += hashed
        ? hashedPieceTokens(text, start, end, scannedHash, true)
        : pieceTokens(text, start, end);
      continue;
    }
    if (!hashed && !isAscii(text.slice(start, end))) ownCounts = false;
    for (let from = start, to = 0; from < end && total <= limit; from = to) {
      to = sliceEnd(text, from, end);
      total += sliceTokens(text, from, to);
    }
  }
  return total;
}

/**
 * Calls `visit` with each piece of `text` that is counted on its own and its token count, in order;
 * together, the pieces are the text. Stops when `visit` returns false.
 */
function walk(text: string, visit: (start: number, end: number, tokens: number) => boolean): void {
  exactAllowance = EXACT_LONG_RUN_CHARACTERS;
  for (let start = 0, end = 0; start < text.length; start = end) {
    end = pieceEnd(text, start);
    if (end - start <= LONGEST_WHOLE_PIECE) {
      if (!visit(start, end, pieceTokens(text, start, end))) return;
      continue;
    }
    for (let from = start, to = 0; from < end; from = to) {
      to = sliceEnd(text, from, end);
      if (!visit(from, to, sliceTokens(text, from, to))) return;
    }
  }
}

export function countTokens(text: string): number {
  return sumTokens(text, Number.POSITIVE_INFINITY);
}

/**
 * `countTokens(text)` when it is at most `limit`; otherwise some number above `limit`, found without
 * counting past it (a chunker asking "does this fit?" of a long section stops at the budget).
 */
export function countTokensUpTo(text: string, limit: number): number {
  return sumTokens(text, limit);
}

/**
 * `countTokens(text)`, or -1 when that count is not the sum of the counts of the text's pre-tokens taken
 * one by one (a non-ASCII run longer than `LONGEST_WHOLE_PIECE`, counted in part by its UTF-8 length). A
 * count that is such a sum may be added to the counts of neighbouring texts where the pre-tokens of the
 * joined text are those of its parts (the chunker's joins, see chunker.ts).
 */
export function countTokensOfPieces(text: string): number {
  const total = sumTokens(text, Number.POSITIVE_INFINITY);
  return ownCounts ? total : -1;
}

const STARTS_WITH_LETTER = /^\p{L}/u;
const STARTS_WITH_DIGIT = /^\p{N}/u;
const STARTS_WITH_BLANK = /^\s/u;
const BLANK_CHARACTER = /^\s$/u;
const LETTER_OR_DIGIT = /^[\p{L}\p{N}]$/u;
const SPACE_TOKENS = 1; // " " and "\n\n" are tokens of o200k (test/core/knowledge/chunker-counts.test.ts)
const PARAGRAPH_BREAK_TOKENS = 1;

/** The last character of `text`, a surrogate pair kept whole (an expression ending in `$` would scan all of it). */
function lastCharacter(text: string): string {
  const code = text.charCodeAt(text.length - 1);
  return text.slice(code >= 0xdc00 && code <= 0xdfff ? -2 : -1);
}

/**
 * The tokens `separator + text` adds when joined after `before`: `countTokens(before + separator + text)
 * - countTokens(before)`, derived from `textTokens` (`countTokensOfPieces(text)`) without counting the
 * joined text, or -1 where it cannot be derived so. `before` must be counted piece by piece too.
 *
 * The split expression has no look-behind, so the pre-tokens of a text from the end of one of them on
 * are those of that rest taken alone; and a match reaches past where it starts only through its own
 * characters or through `\s+(?!\S)`'s look-ahead at a blank. So when `before` ends with a non-blank:
 * - ` ` stays out of `before`'s last pre-token (no alternative takes a space after its first character);
 *   before a letter it opens the word's pre-token (`[^\r\n\p{L}\p{N}]?` then the same letters), before a
 *   digit it is a pre-token of its own (`\s+`); anything else is not derived.
 * - `\n\n` after a letter or digit is one pre-token (`\s*[\r\n]+`) when `text` starts with a non-blank;
 *   after punctuation, `[\r\n/]*` would take it into `before`'s last pre-token, so that is not derived.
 * test/core/knowledge/chunker-counts.test.ts holds these to `countTokens` of the joined text.
 */
export function tokensJoinedAfter(
  before: string,
  separator: string,
  text: string,
  textTokens: number,
): number {
  if (textTokens < 0 || before === "") return -1;
  // The chunker asks this of every sentence: ASCII characters are classed by table, the expressions
  // (which cost more than the rest of a join) are left to the others.
  const lastCode = before.charCodeAt(before.length - 1);
  const lastClass = lastCode < 0x80 ? (ASCII_CLASS[lastCode] as number) : NON_ASCII;
  const last = lastClass === NON_ASCII ? lastCharacter(before) : "";
  if (lastClass === NON_ASCII ? BLANK_CHARACTER.test(last) : lastClass === BLANK || lastClass === BREAK)
    return -1;
  const firstClass = startClass(text);
  if (firstClass === BLANK) return -1;
  if (separator === "\n\n") {
    const letterOrDigit =
      lastClass === NON_ASCII
        ? LETTER_OR_DIGIT.test(last)
        : lastClass === UPPER || lastClass === LOWER || lastClass === DIGIT;
    return letterOrDigit ? PARAGRAPH_BREAK_TOKENS + textTokens : -1;
  }
  if (separator !== " ") return -1;
  if (firstClass === DIGIT) return SPACE_TOKENS + textTokens;
  if (firstClass !== LOWER) return -1;
  const end = pieceEnd(text, 0);
  // A word as long as a slice is counted in slices, which the space would shift.
  if (end + 1 > LONGEST_WHOLE_PIECE) return -1;
  // The word alone is that pre-token of `text`, counted as it was.
  return textTokens - pieceTokens(text, 0, end) + countTokens(` ${text.slice(0, end)}`);
}

/** What `text` starts with, as the split expression sees it: LOWER (any letter), DIGIT, BLANK, or OTHER. */
function startClass(text: string): number {
  const code = text.charCodeAt(0);
  if (code < 0x80) {
    const kind = ASCII_CLASS[code] as number;
    return kind === UPPER ? LOWER : kind === BREAK ? BLANK : kind;
  }
  if (text === "") return OTHER;
  if (STARTS_WITH_LETTER.test(text)) return LOWER;
  if (STARTS_WITH_DIGIT.test(text)) return DIGIT;
  return STARTS_WITH_BLANK.test(text) ? BLANK : OTHER;
}

/** Every chat message costs a few tokens of framing on top of its content. */
export const MESSAGE_OVERHEAD_TOKENS = 4;

const SPAN_PRE_TOKEN = new RegExp(O200K_TOKEN_SPLIT_REGEX.source, "gu");

/** Tokens of a short text, split into pre-tokens as the tokenizer does, without the cache. */
function countSpan(text: string): number {
  let total = 0;
  SPAN_PRE_TOKEN.lastIndex = 0;
  for (let match = SPAN_PRE_TOKEN.exec(text); match !== null; match = SPAN_PRE_TOKEN.exec(text)) {
    const piece = match[0];
    total += mergeCount(piece, 0, piece.length);
  }
  return total;
}

/** The longest prefix of a short piece that costs at most `budget` tokens, never cut inside a surrogate pair. */
function fittingPrefix(piece: string, budget: number): string {
  // A binary search over lengths; the piece is at most a slice or a pre-token long, so this is a few counts.
  // (Decoding a prefix of the piece's tokens instead would need a decoder that drops a half character,
  // and gpt-tokenizer's keeps that half for its next call.)
  let fits = 0;
  let tooLong = piece.length;
  while (tooLong - fits > 1) {
    let middle = Math.floor((fits + tooLong) / 2);
    const code = piece.charCodeAt(middle - 1);
    if (code >= 0xd800 && code <= 0xdbff) middle -= 1;
    if (middle <= fits) break;
    if (countSpan(piece.slice(0, middle)) <= budget) fits = middle;
    else tooLong = middle;
  }
  return piece.slice(0, fits);
}

/** Cuts text to at most `maxTokens` tokens. Work stops at the cut, whatever the text's length. */
export function truncateToTokens(text: string, maxTokens: number): string {
  const budget = Math.max(0, maxTokens);
  let used = 0;
  let keptLength = 0;
  let cut: string | undefined;
  walk(text, (start, end, tokens) => {
    if (used + tokens > budget) {
      cut = text.slice(0, keptLength) + fittingPrefix(text.slice(start, end), budget - used);
      return false;
    }
    keptLength += end - start;
    used += tokens;
    return true;
  });
  return cut ?? text;
}
