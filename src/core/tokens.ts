import o200kRanks from "gpt-tokenizer/bpeRanks/o200k_base";
import { O200K_TOKEN_SPLIT_REGEX } from "gpt-tokenizer/encodingParams/constants";

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
// costs one map look-up instead of a merge (gpt-tokenizer's own cache is an LRU whose bookkeeping costs
// more than the look-up; ours is cleared when full, so its memory stays bounded without it).
const PRE_TOKEN = new RegExp(O200K_TOKEN_SPLIT_REGEX.source, "gu");
const CACHE_LIMIT = 100_000;
const cache = new Map<string, number>();

// The byte-pair merge itself is written here, over gpt-tokenizer's o200k ranks and split expression (the
// data of OpenAI's tiktoken, shipped in the package). gpt-tokenizer merges a new word at 14-22 µs, because
// it decodes every candidate byte pair into a string (TextDecoder) before looking its rank up; the same
// algorithm over "byte strings" (one character per UTF-8 byte, so a pair is a `slice`) gives the same
// counts at about a tenth of the cost, which is what let chunking keep pace with the index. Counts are
// checked against js-tiktoken (test/core/tokens.test.ts) on real and random text.
// Special tokens are not in the ranks: text such as `<|endoftext|>` counts as the characters it is made of.
let ranks: Map<string, number> | undefined;

/** Rank of each byte sequence of o200k_base, keyed by its byte string; built on first use (about 0.1 s). */
function rankTable(): Map<string, number> {
  if (ranks) return ranks;
  const table = new Map<string, number>();
  for (let rank = 0; rank < o200kRanks.length; rank += 1) {
    const entry = o200kRanks[rank];
    if (entry === undefined) continue;
    table.set(typeof entry === "string" ? byteString(entry) : String.fromCharCode(...entry), rank);
  }
  ranks = table;
  return table;
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
  let bytes = "";
  for (let index = 0; index < text.length; index += 1) {
    let code = text.charCodeAt(index);
    if (code >= 0xd800 && code <= 0xdbff && index + 1 < text.length) {
      const low = text.charCodeAt(index + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
        index += 1;
      }
    }
    // A lone surrogate is encoded as U+FFFD, as TextEncoder does.
    if (code >= 0xd800 && code <= 0xdfff) code = 0xfffd;
    if (code <= 0x7f) bytes += String.fromCharCode(code);
    else if (code <= 0x7ff) bytes += String.fromCharCode(0xc0 | (code >> 6), 0x80 | (code & 0x3f));
    else if (code <= 0xffff)
      bytes += String.fromCharCode(0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f));
    else
      bytes += String.fromCharCode(
        0xf0 | (code >> 18),
        0x80 | ((code >> 12) & 0x3f),
        0x80 | ((code >> 6) & 0x3f),
        0x80 | (code & 0x3f),
      );
  }
  return bytes;
}

const NO_RANK = Number.POSITIVE_INFINITY;

/**
 * Tokens of one pre-token: tiktoken's `byte_pair_merge` (the lowest-ranked adjacent pair merges first,
 * the leftmost on a tie) over the piece's byte string. Quadratic in the piece's length, which
 * `LONGEST_WHOLE_PIECE` and `SLICE` keep short.
 */
function mergeCount(piece: string): number {
  const table = rankTable();
  const bytes = byteString(piece);
  if (bytes.length <= 1 || table.has(bytes)) return Math.min(1, bytes.length);
  // starts[i] is where part i begins; pairRanks[i] is the rank of parts i and i + 1 joined.
  const starts: number[] = [];
  const pairRanks: number[] = [];
  for (let index = 0; index <= bytes.length; index += 1) starts.push(index);
  for (let index = 0; index + 1 < bytes.length; index += 1)
    pairRanks.push(table.get(bytes.slice(index, index + 2)) ?? NO_RANK);
  pairRanks.push(NO_RANK);
  const rankAt = (part: number): number => {
    const end = starts[part + 2];
    return end === undefined ? NO_RANK : (table.get(bytes.slice(starts[part], end)) ?? NO_RANK);
  };
  while (starts.length > 2) {
    let lowest = NO_RANK;
    let at = -1;
    for (let part = 0; part < pairRanks.length - 1; part += 1) {
      const rank = pairRanks[part] as number;
      if (rank < lowest) {
        lowest = rank;
        at = part;
      }
    }
    if (at < 0) break;
    starts.splice(at + 1, 1);
    pairRanks.splice(at, 1);
    pairRanks[at] = rankAt(at);
    if (at > 0) pairRanks[at - 1] = rankAt(at - 1);
  }
  return starts.length - 1;
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

/** `text` cut after at most `SLICE` UTF-16 units, never inside a surrogate pair. */
function* slices(text: string): Generator<string> {
  let offset = 0;
  while (offset < text.length) {
    let end = Math.min(text.length, offset + SLICE);
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end -= 1;
    yield text.slice(offset, end);
    offset = end;
  }
}

function isAscii(text: string): boolean {
  for (let index = 0; index < text.length; index += 1) if (text.charCodeAt(index) > 0x7f) return false;
  return true;
}

function countPiece(piece: string): number {
  const cached = cache.get(piece);
  if (cached !== undefined) return cached;
  const count = mergeCount(piece);
  if (cache.size >= CACHE_LIMIT) cache.clear();
  // A matched piece may be a view into the whole text; a copy keeps the cache from holding documents alive.
  cache.set(` ${piece}`.slice(1), count);
  return count;
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

/**
 * Calls `visit` with each piece of `text` that is counted on its own and its token count, in order;
 * concatenated, the pieces are the text. Stops when `visit` returns false.
 */
function walk(text: string, visit: (piece: string, tokens: number) => boolean): void {
  let exactAllowance = EXACT_LONG_RUN_CHARACTERS;
  PRE_TOKEN.lastIndex = 0;
  for (let match = PRE_TOKEN.exec(text); match !== null; match = PRE_TOKEN.exec(text)) {
    const piece = match[0];
    if (piece.length <= LONGEST_WHOLE_PIECE) {
      if (!visit(piece, countPiece(piece))) return;
      continue;
    }
    for (const slice of slices(piece)) {
      let tokens = cache.get(slice);
      if (tokens === undefined) {
        const ascii = isAscii(slice);
        if (ascii || exactAllowance > 0) {
          if (!ascii) exactAllowance -= slice.length;
          tokens = countPiece(slice);
        } else {
          tokens = utf8Length(slice);
        }
      }
      if (!visit(slice, tokens)) return;
    }
  }
}

export function countTokens(text: string): number {
  let total = 0;
  walk(text, (_piece, tokens) => {
    total += tokens;
    return true;
  });
  return total;
}

/**
 * `countTokens(text)` when it is at most `limit`; otherwise some number above `limit`, found without
 * counting past it (a chunker asking "does this fit?" of a long section stops at the budget).
 */
export function countTokensUpTo(text: string, limit: number): number {
  let total = 0;
  walk(text, (_piece, tokens) => {
    total += tokens;
    return total <= limit;
  });
  return total;
}

/** Every chat message costs a few tokens of framing on top of its content. */
export const MESSAGE_OVERHEAD_TOKENS = 4;

const SPAN_PRE_TOKEN = new RegExp(O200K_TOKEN_SPLIT_REGEX.source, "gu");

/** Tokens of a short text, split into pre-tokens as the tokenizer does, without the cache. */
function countSpan(text: string): number {
  let total = 0;
  SPAN_PRE_TOKEN.lastIndex = 0;
  for (let match = SPAN_PRE_TOKEN.exec(text); match !== null; match = SPAN_PRE_TOKEN.exec(text)) {
    total += mergeCount(match[0]);
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
  walk(text, (piece, tokens) => {
    if (used + tokens > budget) {
      cut = text.slice(0, keptLength) + fittingPrefix(piece, budget - used);
      return false;
    }
    keptLength += piece.length;
    used += tokens;
    return true;
  });
  return cut ?? text;
}
