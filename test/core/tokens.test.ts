import { O200K_TOKEN_SPLIT_REGEX } from "gpt-tokenizer/encodingParams/constants";
import { Tiktoken } from "js-tiktoken/lite";
import o200kBase from "js-tiktoken/ranks/o200k_base";
import { describe, expect, it } from "vitest";
import { asciiPieceEnd, countTokens, truncateToTokens } from "../../src/core/tokens.js";

// js-tiktoken is the reference port of OpenAI's tiktoken; the counts here must be its counts.
const reference = new Tiktoken(o200kBase);
const referenceCount = (text: string) => reference.encode(text, [], []).length;

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
});
