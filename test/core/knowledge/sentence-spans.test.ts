import { describe, expect, it } from "vitest";
import { sentenceSpans } from "../../../src/core/knowledge/sentence-spans.js";
import { randomText, seededRandom } from "../../support/seeded-random.js";

// The expression the chunker split paragraphs with before `sentenceSpans` replaced it: the reference.
const SENTENCE_END = /(?<=[.!?])\s+|(?<=[。！？])/u;

function pieces(paragraph: string): string[] {
  const spans = sentenceSpans(paragraph);
  const result: string[] = [];
  for (let index = 0; index < spans.length; index += 2) {
    result.push(paragraph.slice(spans[index], spans[index + 1]));
  }
  return result;
}

// Every character `\s` matches, and some it does not (U+180E left `\s` in Unicode 6.3, U+200B never was in).
const WHITE_SPACE = [
  " ",
  "\t",
  "\n",
  "\v",
  "\f",
  "\r",
  "\u00a0",
  "\u1680",
  ...Array.from({ length: 11 }, (_, index) => String.fromCharCode(0x2000 + index)),
  "\u2028",
  "\u2029",
  "\u202f",
  "\u205f",
  "\u3000",
  "\ufeff",
];
const ALPHABET = [
  ...WHITE_SPACE,
  "\u180e",
  "\u200b",
  "\u0085",
  ".",
  "!",
  "?",
  "。",
  "！",
  "？",
  "．",
  "…",
  "🙂",
  "\ud83d",
  "\ude42",
  "\udbff",
  "a",
  "Z",
  "é",
  "가",
  "東",
  "7",
  ",",
  "e.g.",
];

describe("sentenceSpans", () => {
  it("cuts where the reference expression cuts, on random text rich in marks, white space and surrogates", () => {
    const random = seededRandom(14);
    for (let round = 0; round < 20_000; round++) {
      const paragraph = randomText(random, ALPHABET, 24);
      expect(pieces(paragraph), JSON.stringify(paragraph)).toEqual(paragraph.split(SENTENCE_END));
    }
  });

  it("cuts where the reference expression cuts, on prose, edges and hostile text", () => {
    const cases = [
      "",
      ".",
      " ",
      "。",
      ". ",
      " .",
      "a. b",
      "a.b. c",
      "a.  \n\t b",
      "Fig. 3 shows it! Does it? Yes.",
      "東京は大きい。大阪も。 そして？終わり！",
      "a。。 b",
      "a. 。 b。",
      "tail。",
      "tail. ",
      "🙂. 🙂。🙂",
      "\ud83d. \ude42。\ud83d",
      "Expression of p53 (n = 1,000) was 3.14-fold higher; e.g. in HIV cells. The end.",
      `${"a".repeat(100_000)}. ${"b".repeat(100_000)}`,
      ". ".repeat(50_000),
      "。".repeat(50_000),
      ".".repeat(50_000) + " ".repeat(50_000),
      ` ${"\u3000".repeat(50_000)}`,
      "!?".repeat(30_000),
    ];
    for (const paragraph of cases) {
      expect(pieces(paragraph), JSON.stringify(paragraph.slice(0, 40))).toEqual(
        paragraph.split(SENTENCE_END),
      );
    }
  });

  it("leaves between two pieces exactly the white space the split dropped, or nothing after a CJK mark", () => {
    const paragraph = "One.\u00a0 Two!\nThree。Four？ Five";
    const spans = sentenceSpans(paragraph);
    const gaps: string[] = [];
    for (let index = 2; index < spans.length; index += 2) {
      gaps.push(paragraph.slice(spans[index - 1], spans[index]));
    }
    expect(gaps).toEqual(["\u00a0 ", "\n", "", ""]);
    expect(spans[0]).toBe(0);
    expect(spans.at(-1)).toBe(paragraph.length);
  });
});
