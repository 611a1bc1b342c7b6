import { describe, expect, it } from "vitest";
import { analyze, countAnalyzedTerms } from "../../../src/core/knowledge/analyzer.js";
import { countTerms, termId } from "../../../src/core/knowledge/sparse.js";
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

  it("counts as analyze does on words of every length, in any case, past what the word table remembers", () => {
    const next = seededRandom(1414);
    const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    const separators = [" ", " ", " ", "\t", "'", ".", ",", "-", "'s ", "''", ".,", "\r"];
    const word = (length: number): string => {
      let result = "";
      for (let index = 0; index < length; index++) result += alphabet[Math.floor(next() * alphabet.length)];
      return result;
    };
    // Lengths around the four-character steps of the comparison and past the longest remembered word;
    // a word recurs (in another case, too) so that it is found as well as remembered.
    const vocabulary = Array.from({ length: 400 }, () =>
      word(next() < 0.1 ? 4_090 + Math.floor(next() * 12) : 1 + Math.floor(next() * 14)),
    );
    for (let round = 0; round < 300; round++) {
      let line = "";
      for (let index = Math.floor(next() * 60); index > 0; index--) {
        const chosen = vocabulary[Math.floor(next() * vocabulary.length)] as string;
        line += next() < 0.3 ? chosen.toUpperCase() : chosen;
        line += separators[Math.floor(next() * separators.length)];
      }
      expect(countAnalyzedTerms([line]), line).toEqual(countTerms(analyze(line)));
    }
  });

  it("counts a 100,000-character word and number, and lines longer than the scan buffer, as analyze does", () => {
    const letters = "Ab".repeat(50_000);
    const number = "1,234".repeat(20_000);
    const prose = "The payroll EXPORTS run nightly, it's 9,000 rows. ".repeat(3_000);
    for (const line of [letters, `${letters} ${letters}`, number, `${prose}${letters} x ${number}`, prose]) {
      expect(countAnalyzedTerms([line, line])).toEqual(countTerms(analyze(`${line}\n${line}`)));
    }
    // A character beyond ASCII in the middle of a long line, a lone surrogate, and one at each end.
    for (const odd of ["é", "\ud800", "\udc00x", "–"]) {
      const line = `${odd}${prose}${odd}${prose.slice(0, 7_001)}${odd}${letters}${odd}`;
      expect(countAnalyzedTerms([line])).toEqual(countTerms(analyze(line)));
    }
  });

  it("keeps counting right after the remembered characters fill their pool", () => {
    const next = seededRandom(2024);
    // Distinct 200-character words fill a megabyte of characters in about 5,000 words, before the table
    // is half full; a common sentence is counted before, between and after.
    const common = "Payroll exports ran nightly at 9,000 rows; it's the employee's report.";
    for (let part = 0; part < 4; part++) {
      const words = Array.from({ length: 2_000 }, (_, index) =>
        `${part}x${index}`.padEnd(200, String.fromCharCode(97 + Math.floor(next() * 26))),
      );
      const line = `${common} ${words.join(" ")} ${common}`;
      expect(countAnalyzedTerms([line])).toEqual(countTerms(analyze(line)));
      expect(countAnalyzedTerms([common])).toEqual(countTerms(analyze(common)));
    }
  });

  it("ends a line's last word at the line's end, whatever a longer line counted before left after it", () => {
    // The scan looks one character past an apostrophe; at a line's end that is past the text, where the
    // buffer still holds the letters of a longer line counted before. Taken for a letter, it would keep
    // the apostrophe in the word: `us's'` would be the term `uss` instead of the stopword `us` ('s dropped).
    for (const line of ["us's'", "mind's'", "dog'", "o'"]) {
      countAnalyzedTerms(["abcdefghijklmnopqrstuvwxyz"]);
      expect(countAnalyzedTerms([line]), line).toEqual(countTerms(analyze(line)));
      countAnalyzedTerms(["abcdefghijklmnopqrstuvwxyz ".repeat(4)]);
      expect(countAnalyzedTerms([line, line]), line).toEqual(countTerms(analyze(`${line}\n${line}`)));
    }
  });

  it("tells apart words of one length whose hashes collide, in either case", () => {
    // Pairs found by a birthday search: the same 32-bit FNV-1a hash (termId of the lower-cased word, which
    // the word table is keyed by) and length, and different terms, so that taking one for the other shows.
    const pairs = [
      ["yacxas", "glbvss"],
      ["urrggls", "sarksys"],
      ["myqunuys", "keawtjns"],
      ["bawibifrs", "tqmxkcass"],
      ["japmmfjgqmns", "ieczfhbxgiys"],
      ["hwwvpkdtbvjqs", "rzlsufetatcss"],
      // Alike in their first four or sixteen characters, and (but for one) with no partial group of four
      // characters at the end to tell them apart: found by a search over five-letter blocks after a prefix.
      ["tranxplvfers", "tranbumxters"],
      ["interdisciplinarfvlyics", "interdisciplinaromcegds"],
      ["interdisciplinarmumxeers", "interdisciplinarwplvwers"],
    ];
    for (const [first, second] of pairs as [string, string][]) {
      expect(termId(first)).toBe(termId(second));
      expect(termId(analyze(first)[0] as string)).not.toBe(termId(analyze(second)[0] as string));
      for (const line of [
        `${first} ${second} ${first}`,
        `${second.toUpperCase()} ${first} ${second}`,
        `${first.toUpperCase()}, ${second.toUpperCase()}`,
      ]) {
        expect(countAnalyzedTerms([line]), line).toEqual(countTerms(analyze(line)));
      }
    }
  });
});
