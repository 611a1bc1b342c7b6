import { O200K_TOKEN_SPLIT_REGEX } from "gpt-tokenizer/encodingParams/constants";
import { Tiktoken } from "js-tiktoken/lite";
import o200kBase from "js-tiktoken/ranks/o200k_base";
import { describe, expect, it } from "vitest";
import { asciiPieceEnd, countTokens, truncateToTokens } from "../../src/core/tokens.js";
import { seededRandom } from "../support/seeded-random.js";

// js-tiktoken is the reference port of OpenAI's tiktoken; the counts here must be its counts.
const reference = new Tiktoken(o200kBase);
const referenceCount = (text: string) => reference.encode(text, [], []).length;

const PRE_TOKENS = new RegExp(O200K_TOKEN_SPLIT_REGEX.source, "gu");
/**
 * What tokens.ts promises for `text`, from js-tiktoken: each pre-token's count, one longer than 64 characters
 * counted in slices of 32. Undefined where that cannot be had from js-tiktoken: a long pre-token that is not
 * ASCII (partly counted by its byte length), or a slice js-tiktoken would split further.
 */
// js-tiktoken takes about 0.1 ms for a slice of 32 letters; the long runs below repeat theirs.
const sliceCounts = new Map<string, number>();
function slicedReferenceCount(text: string): number | undefined {
  let total = 0;
  for (const [piece] of text.matchAll(PRE_TOKENS)) {
    if (piece.length <= 64) {
      total += referenceCount(piece);
      continue;
    }
    if (/[^\0-\x7f]/.test(piece)) return undefined;
    for (let from = 0; from < piece.length; from += 32) {
      const slice = piece.slice(from, from + 32);
      if ([...slice.matchAll(PRE_TOKENS)].length !== 1) return undefined;
      let count = sliceCounts.get(slice);
      if (count === undefined) {
        count = referenceCount(slice);
        sliceCounts.set(slice, count);
      }
      total += count;
    }
  }
  return total;
}

/** The cache's hash of a piece (FNV-1a over its UTF-16 units), to show that a pair of pieces collides. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5 | 0;
  for (let index = 0; index < text.length; index += 1)
    hash = Math.imul(hash ^ text.charCodeAt(index), 0x01000193);
  return hash;
}

const REAL_TEXT = [
  "Every employee gets sixteen weeks of paid parental leave, to be taken within the first year.",
  "Alterations of the architecture of cerebral white matter in the developing human brain can affect " +
    "cortical development and result in functional disabilities. A line scan diffusion-weighted MRI " +
    "sequence with diffusion tensor analysis was applied to measure the apparent diffusion coefficient.",
  "고엽제 후유의증 수당 대상은 월남참전자 및 국내 DMZ 근무자 중 고엽제후유의증 장애 판정을 받은 사람입니다.\n\n" +
    "고도의 경우 111만 9,000원 , 중등도의 경우 82만 5,000원, 경도의 경우 54만 1,000원이 지급됩니다.",
  "## Setup\n\n```ts\nconst answer = await client.chat.completions.create({ model: 'gpt-4o' });\n```\n\n" +
    "| col | value |\n|---|---|\n| a | 1 |\n\nDon't forget: it's   spaced\t\tout   \n\n\n",
  "東京は日本の首都です。人口は約1400万人で、世界有数の大都市圏を形成しています。",
  "Emoji 👍🏽 and 👨‍👩‍👧‍👦 families, accents déjà vu, Ünïcödé, and numbers 1234567890 3.14159.",
];

describe("token counting", () => {
  it("counts real text exactly like js-tiktoken, word caches warm or cold", () => {
    expect(countTokens("")).toBe(0);
    expect(countTokens("hello world")).toBe(2);
    for (const text of REAL_TEXT) {
      expect(countTokens(text)).toBe(referenceCount(text));
      expect(countTokens(text)).toBe(referenceCount(text));
    }
  });

  it("merges byte pairs as tiktoken does on text of every kind: random mixes of scripts, bytes split mid-character, lone surrogates", () => {
    // The merge is written in tokens.ts; a seeded generator makes a few thousand short texts from
    // characters that stress it: multi-byte UTF-8, combining marks, emoji pairs, digits, apostrophes.
    const alphabet = [..."ab Z1.'s\n\t-éß가힣東語🙂👍🏽\u0301\u200d", "\ud800", "\udfff", "ing", " the", "’"];
    let seed = 7;
    const next = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed;
    };
    for (let sample = 0; sample < 3_000; sample += 1) {
      let text = "";
      const length = 1 + (next() % 48);
      for (let index = 0; index < length; index += 1) text += alphabet[next() % alphabet.length];
      expect(countTokens(text), JSON.stringify(text)).toBe(referenceCount(text));
    }
  });

  it("matches by hand the pre-tokens the o200k expression matches, and leaves to it those next to non-ASCII", () => {
    const expression = new RegExp(O200K_TOKEN_SPLIT_REGEX.source, "gu");
    const byExpression = (text: string) =>
      [...text.matchAll(expression)].map((match) => match.index + match[0].length);
    const byHand = (text: string) => {
      const ends: number[] = [];
      for (let start = 0; start < text.length; ) {
        let end = text.charCodeAt(start) < 0x80 ? asciiPieceEnd(text, start) : -1;
        if (end < 0) end = start + ([...text.slice(start).matchAll(expression)][0]?.[0].length ?? 1);
        ends.push(end);
        start = end;
      }
      return ends;
    };
    // Every class the expression tells apart, ASCII and not: letters of each case, contractions, digits,
    // blanks and line breaks, punctuation and slashes, controls, and non-ASCII letters, digits and blanks.
    const alphabet = [
      ..."aZbY09 \t\n\r\v\f.'!/-_sStTdDlLvVeErRmM\u0000\u001f\u007f",
      "é",
      "Σ",
      "\u00a0",
      "٣",
      "—",
      "가",
      "\u0301",
    ];
    let seed = 23;
    const next = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed;
    };
    let byHandPieces = 0;
    for (let sample = 0; sample < 20_000; sample += 1) {
      let text = "";
      const length = 1 + (next() % 24);
      for (let index = 0; index < length; index += 1)
        text += sample % 2 === 0 ? alphabet[next() % alphabet.length] : String.fromCharCode(next() % 128);
      expect(byHand(text), JSON.stringify(text)).toEqual(byExpression(text));
      for (let start = 0; start < text.length; start += 1)
        if (asciiPieceEnd(text, start) >= 0) byHandPieces += 1;
      if (sample % 50 === 0) expect(countTokens(text), JSON.stringify(text)).toBe(referenceCount(text));
    }
    expect(byHandPieces).toBeGreaterThan(100_000);
  });

  it("counts text that holds special tokens as the characters they are made of", () => {
    const question = "why does my model print <|endoftext|> and <|fim_prefix|> at the end?";
    expect(countTokens(question)).toBe(referenceCount(question));
    expect(countTokens("<|endoftext|>")).toBeGreaterThan(1);
    expect(truncateToTokens(question, 1000)).toBe(question);
  });

  it("counts what a hostile member can paste (12,000 `!`, 40,000 random syllables, 40,000 spaces) in slices", () => {
    // On the old tokenizer the first of these took 30-40 s; each now costs about as much as its length.
    const bangs = "!".repeat(12_000);
    expect(countTokens(bangs)).toBeGreaterThan(0);
    expect(countTokens(bangs)).toBeLessThanOrEqual(12_000);
    let syllables = "";
    for (let index = 0; index < 40_000; index += 1)
      syllables += String.fromCharCode(0xac00 + ((index * 7919) % 11_172));
    // Slicing only adds tokens at the cuts: never fewer than a whole-run encoding would give.
    const sample = syllables.slice(0, 600);
    expect(countTokens(sample)).toBeGreaterThanOrEqual(referenceCount(sample));
    expect(countTokens(syllables)).toBeGreaterThan(40_000);
    expect(countTokens(" ".repeat(40_000))).toBeGreaterThan(0);
    expect(countTokens("🙂".repeat(20_000))).toBeGreaterThan(0);
  });

  it("truncates to the budget, keeping a prefix, and does no work past the cut", () => {
    expect(truncateToTokens("one two three four five", 2)).toBe("one two");
    expect(truncateToTokens("short", 100)).toBe("short");
    expect(truncateToTokens("anything", 0)).toBe("");
    const blob = "가나다라마바사아자차카타파하".repeat(300) + "Qm9vbXMgYW5kIGJsb2Jz".repeat(300);
    const truncated = truncateToTokens(blob, 500);
    expect(countTokens(truncated)).toBeLessThanOrEqual(500);
    expect(countTokens(truncated)).toBeGreaterThan(480);
    expect(blob.startsWith(truncated)).toBe(true);
    // A cut inside a multi-byte character or a surrogate pair keeps only whole characters.
    for (let budget = 0; budget < 12; budget += 1) {
      const cut = truncateToTokens("똠방각하 👨‍👩‍👧‍👦 끝", budget);
      expect(cut).not.toContain("\uFFFD");
      expect(countTokens(cut)).toBeLessThanOrEqual(budget);
      expect(/[\uD800-\uDBFF]$/.test(cut)).toBe(false);
    }
  });

  it("counts random ASCII-heavy text, words short and long, exactly, cold and warm", () => {
    // The hand-written matcher, the in-slot cache keys (Latin-1 pieces up to 24 characters) and the slicing
    // of pre-tokens longer than 64 characters, on text built to cross each of their edges.
    const random = seededRandom(41);
    const below = (count: number) => Math.floor(random() * count);
    const small = "abcdefghijklmnopqrstuvwxyz";
    const capitals = small.toUpperCase();
    const rare = ["é", "ÿ", "ß", "\u00a0", "Ā", "μ", "—", "가", "🙂", "\ud800", "’"];
    const separators = [" ", " ", " ", "  ", "\n", "\n\n", "\t", ", ", ". ", " (", ") ", "/", "'s ", "'LL "];
    const word = () => {
      const kind = below(20);
      const length =
        kind < 14
          ? 1 + below(10)
          : kind < 17
            ? 20 + below(10)
            : kind < 19
              ? 58 + below(12)
              : 100 + below(600);
      let text = "";
      if (below(12) === 0) {
        const mark = "!?.-*=#"[below(7)] as string;
        while (text.length < length) text += mark;
        return text;
      }
      if (below(10) === 0) {
        while (text.length < Math.min(length, 12)) text += String(below(10));
        return text;
      }
      // One case per word (a capital may open it), so that a long word is one long pre-token.
      const alphabet = below(8) === 0 ? capitals : small;
      if (below(4) === 0) text += capitals[below(capitals.length)];
      while (text.length < length)
        text += below(150) === 0 ? rare[below(rare.length)] : alphabet[below(alphabet.length)];
      return text;
    };
    let checked = 0;
    for (let sample = 0; sample < 400; sample += 1) {
      let text = word();
      for (let words = below(30); words > 0; words -= 1)
        text += separators[below(separators.length)] + word();
      const expected = slicedReferenceCount(text);
      if (expected === undefined) continue;
      checked += 1;
      expect(countTokens(text), JSON.stringify(text.slice(0, 200))).toBe(expected);
      expect(countTokens(text), JSON.stringify(text.slice(0, 200))).toBe(expected);
    }
    expect(checked).toBeGreaterThan(200);
  });

  it("counts 100,000-character pre-tokens in slices, exactly", () => {
    for (const long of ["ab".repeat(50_000), "Zq".repeat(50_000), "!".repeat(100_000), " ".repeat(100_000)]) {
      expect(countTokens(long)).toBe(slicedReferenceCount(long));
      expect(countTokens(`x ${long} y`)).toBe(slicedReferenceCount(`x ${long} y`));
    }
  });

  it("tells remembered pieces apart by their characters when their hashes collide", () => {
    // Pairs of pieces with the same length and hash but different counts (found by a birthday search):
    // short ones are kept in the cache's slots, long ones in strings of their own.
    const pairs = [
      [" hqibei", " umddcq"],
      [" etcyqm", " hqcojx"],
      [" jgrsibuxxrqkapgwgqfrkvwznrcyww", " nzcrgmcxmtldkzcbctzatinqrsvfre"],
      [" jjjfilhrtomsnhaonxklhjlaguuoop", " ngykhannffvynkgpilvykqntkqjxiu"],
    ] as const;
    for (const [first, second] of pairs) {
      expect(fnv1a(first)).toBe(fnv1a(second));
      expect(referenceCount(first)).not.toBe(referenceCount(second));
      for (const text of [first, second, first, second, `${second}${first}`])
        expect(countTokens(text), text).toBe(referenceCount(text));
    }
  });

  it("counts the same after the cache fills and is cleared (more distinct pieces than it keeps)", () => {
    const words: string[] = [];
    for (let index = 0; index < 120_000; index += 1) {
      let word = " ";
      for (let rest = index; word.length === 1 || rest > 0; rest = Math.floor(rest / 26))
        word += String.fromCharCode(0x61 + (rest % 26));
      words.push(word);
    }
    const batches: string[] = [];
    for (let index = 0; index < words.length; index += 10_000)
      batches.push(words.slice(index, index + 10_000).join(""));
    const counts = batches.map((batch) => countTokens(batch));
    expect(counts.map((count, index) => count - referenceCount(batches[index] as string))).toEqual(
      counts.map(() => 0),
    );
    expect(batches.map((batch) => countTokens(batch))).toEqual(counts);
  });
});
