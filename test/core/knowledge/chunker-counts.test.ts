import { O200K_TOKEN_SPLIT_REGEX } from "gpt-tokenizer/encodingParams/constants";
import { describe, expect, it } from "vitest";
import { chunkDocument } from "../../../src/core/knowledge/chunker.js";
import { countTokens, countTokensOfPieces, tokensJoinedAfter } from "../../../src/core/tokens.js";
import { pickWith, seededRandom } from "../../support/seeded-random.js";

// The chunker stores a count with every chunk that prompt budgets rely on; it derives most of them from
// the counts of the chunk's sentences (see `tokensJoinedAfter`). These tests hold every derivation to a
// count of the joined text, on generated text of the kinds the chunker meets.

const WORDS = [
  "the",
  "The",
  "cells",
  "HIV",
  "p53",
  "don't",
  "it's",
  "1,000",
  "3.14",
  "42",
  "(see",
  "Fig.",
  "e.g.",
  "—",
  "±",
  "μm",
  "déjà",
  "Über",
  "고엽제",
  "수당은",
  "東京は",
  "🙂",
  "/usr/bin",
  "x/y",
  '"quoted"',
  "!",
  "?",
  "...",
  "'s",
  "A.",
  "B",
  "ǅ",
  "٣٤",
];

function generator(seed: number) {
  let state = seed;
  return (below: number) => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state % below;
  };
}

function sentence(next: (below: number) => number): string {
  const words = Array.from({ length: 1 + next(12) }, () => WORDS[next(WORDS.length)] as string);
  return `${words.join(" ")}${[".", "!", "?", "", ":"][next(5)]}`;
}

describe("token counts the chunker derives", () => {
  it("adds a sentence's count to its neighbour's only where that is the joined text's count", () => {
    const next = generator(3);
    let derived = 0;
    let tried = 0;
    for (let sample = 0; sample < 4_000; sample += 1) {
      const before = sentence(next);
      const text = sentence(next);
      for (const separator of [" ", "\n\n"]) {
        tried += 1;
        const added = tokensJoinedAfter(before, separator, text, countTokensOfPieces(text));
        if (added < 0) continue;
        derived += 1;
        expect(countTokens(before) + added, JSON.stringify([before, separator, text])).toBe(
          countTokens(`${before}${separator}${text}`),
        );
      }
    }
    // Most joins of real prose are derived; a derivation that gave up everywhere would pass the loop above.
    expect(derived).toBeGreaterThan(tried / 3);
  });

  it("derives the joins of prose and declines the ones a pre-token would cross", () => {
    const count = (text: string) => countTokensOfPieces(text);
    expect(tokensJoinedAfter("It works.", " ", "Then it stops.", count("Then it stops."))).toBeGreaterThan(0);
    expect(tokensJoinedAfter("in 2019", " ", "42 cases.", count("42 cases."))).toBeGreaterThan(0);
    expect(tokensJoinedAfter("First paragraph", "\n\n", "Second.", count("Second."))).toBeGreaterThan(0);
    // `.` takes the line breaks after it (`[\r\n/]*`), so this join is counted whole.
    expect(tokensJoinedAfter("First paragraph.", "\n\n", "Second.", count("Second."))).toBe(-1);
    // After a space, `(` opens a punctuation pre-token instead of a word.
    expect(tokensJoinedAfter("It works.", " ", "(see below)", count("(see below)"))).toBe(-1);
    // A non-ASCII run longer than a slice is counted in part by its byte length: never derived.
    const run = "가".repeat(600);
    expect(countTokensOfPieces(run)).toBe(-1);
    expect(tokensJoinedAfter("It works.", " ", run, countTokensOfPieces(run))).toBe(-1);
  });

  it("stores with every chunk the count of its text, whatever the spacing, scripts and budget", () => {
    const next = generator(11);
    const spaces = [" ", " ", " ", "  ", "\n", " \n"];
    for (let sample = 0; sample < 300; sample += 1) {
      const paragraphs = Array.from({ length: 1 + next(6) }, () => {
        let paragraph = sentence(next);
        for (let count = next(10); count > 0; count -= 1)
          paragraph += `${spaces[next(spaces.length)]}${sentence(next)}`;
        return paragraph;
      });
      if (next(4) === 0) paragraphs.push("```\nconst x = 1;\n```");
      if (next(8) === 0) paragraphs.push("語".repeat(70 + next(200)));
      const text = paragraphs.join(next(2) === 0 ? "\n\n" : "\n\n\n");
      const format = next(2) === 0 ? "markdown" : "text";
      const maxTokens = 24 + next(200);
      const chunks = chunkDocument({ id: "d", title: "T", text, format, source: "s" }, { maxTokens });
      expect(chunks.length).toBeGreaterThan(0);
      for (const chunk of chunks)
        expect(chunk.tokens, JSON.stringify(chunk.text)).toBe(countTokens(chunk.text));
    }
  });

  it("stores the count of its text where sentences are parted by any white space, none, or a blank piece", () => {
    // The chunker takes a section to be its sentences joined by single spaces only when every cut dropped
    // exactly one U+0020; any other parting (a tab, a no-break space, a CJK mark with nothing after it, a
    // blank last piece) must send the section to a count of its own text.
    const partings = [" ", " ", " ", "\t", "\n", "\u00a0", "\u2003", "\u3000", "\ufeff", "  ", " \u00a0", ""];
    const marks = [".", "!", "?", "。", "！", "？"];
    const random = seededRandom(23);
    const pick = pickWith(random);
    for (let sample = 0; sample < 1_000; sample += 1) {
      let paragraph = `${pick(WORDS)} ${pick(WORDS)}`;
      for (let count = Math.floor(random() * 6); count > 0; count -= 1) {
        paragraph += `${pick(marks)}${pick(partings)}${random() < 0.1 ? `${pick(marks)} ` : ""}${pick(WORDS)} ${pick(WORDS)}`;
      }
      // A Markdown line keeps its trailing blanks: the split's last piece is then blank.
      if (random() < 0.3) paragraph += `${pick(marks)}${pick(partings)}`;
      const format = random() < 0.5 ? "markdown" : "text";
      const maxTokens = random() < 0.5 ? 350 : 16 + Math.floor(random() * 30);
      const chunks = chunkDocument(
        { id: "d", title: "T", text: paragraph, format, source: "s" },
        { maxTokens },
      );
      for (const chunk of chunks)
        expect(chunk.tokens, JSON.stringify(chunk.text)).toBe(countTokens(chunk.text));
    }
  });

  it("derives and declines exactly where the split expression's classes say so, ASCII by table or not", () => {
    // The expression-based rule tokensJoinedAfter follows (its ASCII characters are classed by a table).
    const firstPreToken = new RegExp(O200K_TOKEN_SPLIT_REGEX.source, "uy");
    const reference = (before: string, separator: string, text: string, textTokens: number) => {
      const code = before.charCodeAt(before.length - 1);
      const last = before.slice(code >= 0xdc00 && code <= 0xdfff ? -2 : -1);
      if (textTokens < 0 || before === "" || /^\s$/u.test(last) || /^\s/u.test(text)) return -1;
      if (separator === "\n\n") return /^[\p{L}\p{N}]$/u.test(last) ? 1 + textTokens : -1;
      if (separator !== " ") return -1;
      if (/^\p{N}/u.test(text)) return 1 + textTokens;
      if (!/^\p{L}/u.test(text)) return -1;
      firstPreToken.lastIndex = 0;
      const first = firstPreToken.exec(text)?.[0] ?? "";
      if (first.length + 1 > 64) return -1;
      return textTokens - countTokens(first) + countTokens(` ${first}`);
    };
    const ends = [
      ..."aZ5 \n\t\r\v.!'(/-_",
      "é",
      "ǅ",
      "٣",
      "Ⅻ",
      "가",
      "\u00a0",
      "\u2003",
      "—",
      "\u0301",
      "\ud800",
      "\udc00",
      "x\udc00",
      "🙂",
      "",
    ];
    const middles = ["", "word", "Word's", "HIV", "42", "x".repeat(70), "déjà", "語"];
    const random = seededRandom(5);
    const pick = pickWith(random);
    for (let sample = 0; sample < 3_000; sample += 1) {
      const before = `${pick(middles)}${pick(ends)}`;
      const text = `${pick(ends)}${pick(middles)}${pick(ends)}`;
      const separator = pick([" ", "\n\n", "\n"]);
      const textTokens = random() < 0.1 ? -1 : countTokensOfPieces(text);
      expect(
        tokensJoinedAfter(before, separator, text, textTokens),
        JSON.stringify([before, separator, text]),
      ).toBe(reference(before, separator, text, textTokens));
    }
  });
});
