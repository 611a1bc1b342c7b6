import { describe, expect, it } from "vitest";
import { splitAtBlankLines } from "../../../src/core/knowledge/split-at-blank-lines.js";
import { randomText, seededRandom } from "../../support/seeded-random.js";

// The expression the chunker cut plain text into paragraphs with before: the reference.
const BLANK_LINE = /\r?\n[ \t]*\r?\n/;

describe("splitAtBlankLines", () => {
  it("cuts where the reference expression cuts, on random text rich in line breaks and blanks", () => {
    const alphabet = ["\n", "\n", "\r", "\r\n", " ", "\t", "a", "b c", "\u00a0", "\u2028", "\v", "\ud83d"];
    const random = seededRandom(31);
    for (let round = 0; round < 20_000; round++) {
      const text = randomText(random, alphabet, 20);
      expect(splitAtBlankLines(text), JSON.stringify(text)).toEqual(text.split(BLANK_LINE));
    }
  });

  it("cuts where the reference expression cuts, on paragraphs, edges and hostile text", () => {
    const cases = [
      "",
      "\n",
      "\n\n",
      "\r\n\r\n",
      "one\n\ntwo",
      "one\r\n \t \r\ntwo\n\n\nthree",
      "no line break at all",
      "\n".repeat(100_000),
      `a${" ".repeat(100_000)}\nb`,
      `${"\n \t".repeat(30_000)}x`,
      "\r\n".repeat(50_000),
      "x".repeat(100_000),
    ];
    for (const text of cases) {
      expect(splitAtBlankLines(text), JSON.stringify(text.slice(0, 40))).toEqual(text.split(BLANK_LINE));
    }
  });
});
