import { describe, expect, it } from "vitest";
import { analyze, countAnalyzedTerms } from "../../../src/core/knowledge/analyzer.js";
import { countTerms } from "../../../src/core/knowledge/sparse.js";
import { seededRandom } from "../../support/seeded-random.js";

// The pieces the ASCII word expression treats specially, mixed with words, stopwords and capitals.
const PIECES = [
  "The",
  "payroll",
  "EXPORTS",
  "runs",
  "it's",
  "don't",
  "employee's",
  "'s",
  "'",
  "''",
  "a'b'c",
  "rock'n'roll",
  "9,000",
  "1,000.50",
  "3.14",
  "1.",
  ".5",
  "1,,2",
  "2024-05-01",
  "abc123",
  "123abc",
  "x86_64",
  "v2.0",
  "and",
  "of",
  "to",
  "is",
  "HTTP/2",
  "e-mail",
  "C++",
  "#42",
  "(see",
  "below)",
  ";",
  ",",
  ".",
  "!",
  "?",
  "\n",
  "\n\n",
  " ",
  "  ",
  "\t",
  "'quoted'",
  "O'Neil",
  "Ms.",
  "U.S.A.",
  "00123",
  "0x1F",
  "10k",
  "k8s",
];

function text(next: () => number, words: number): string {
  let result = "";
  for (let index = 0; index < words; index++) {
    result += PIECES[Math.floor(next() * PIECES.length)];
    if (next() < 0.6) result += " ";
  }
  return result;
}

describe("countAnalyzedTerms", () => {
  it("counts exactly what countTerms(analyze(lines joined)) counts on random ASCII lines", () => {
    const next = seededRandom(14);
    for (let round = 0; round < 2000; round++) {
      const lines = Array.from({ length: 1 + Math.floor(next() * 3) }, () =>
        text(next, Math.floor(next() * 40)),
      );
      const joined = lines.join("\n");
      expect(countAnalyzedTerms(lines), JSON.stringify(lines)).toEqual(countTerms(analyze(joined)));
    }
  });

  it("counts as analyze does on lines with non-ASCII characters (which take analyze), next to ASCII ones", () => {
    const next = seededRandom(41);
    const unicode = [
      "Café",
      "ＡＢＣ",
      "ΟΔΟΣ",
      "Σ",
      "é",
      "\u0301",
      "기초생활수급자는",
      "生계",
      "ー々",
      "it’s",
      "١٢٣",
      "Ⅻ",
    ];
    for (let round = 0; round < 500; round++) {
      const lines = Array.from({ length: 1 + Math.floor(next() * 3) }, () => {
        let line = text(next, Math.floor(next() * 12));
        for (let index = Math.floor(next() * 4); index > 0; index--)
          line += `${unicode[Math.floor(next() * unicode.length)]}${next() < 0.5 ? " " : ""}`;
        return line;
      });
      expect(countAnalyzedTerms(lines), JSON.stringify(lines)).toEqual(countTerms(analyze(lines.join("\n"))));
    }
    for (const sample of [
      "Café ＡＢＣ résumé 9,000",
      "기초생활수급자는 매월 생계급여를 받습니다",
      "naïve it’s",
    ]) {
      expect(countAnalyzedTerms(["Title", sample])).toEqual(countTerms(analyze(`Title\n${sample}`)));
    }
  });

  it("keeps counting right past a thousand distinct terms in one text and seventy thousand distinct words", () => {
    const words = Array.from({ length: 70_000 }, (_, index) => `w${index.toString(36)}x`);
    const long = words.slice(0, 1_500).join(" ");
    expect(countAnalyzedTerms([long])).toEqual(countTerms(analyze(long)));
    // Enough different words to fill the word table (it is cleared when half full) and go on.
    for (let start = 0; start < words.length; start += 5_000) {
      const part = words.slice(start, start + 5_000).join(" ");
      expect(countAnalyzedTerms([part])).toEqual(countTerms(analyze(part)));
    }
    expect(countAnalyzedTerms([long])).toEqual(countTerms(analyze(long)));
  });
});
