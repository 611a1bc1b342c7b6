import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { analyze } from "../../../src/core/knowledge/analyzer.js";

describe("analyze: the ASCII fast path", () => {
  it("gives exactly the tokens of the Unicode path on real English text", () => {
    const corpus = readFileSync(
      join(import.meta.dirname, "../../../../shared/data/scifact/corpus.jsonl"),
      "utf8",
    )
      .split("\n")
      .slice(0, 400)
      .filter(Boolean)
      .map((line) => (JSON.parse(line) as { text: string }).text)
      .filter((text) => [...text].every((character) => character.charCodeAt(0) <= 0x7f));
    expect(corpus.length).toBeGreaterThan(100);
    for (const text of corpus) {
      // A non-ASCII character at the end sends the same text down the Unicode path.
      const unicode = analyze(`${text} é`).slice(0, -1);
      expect(analyze(text)).toEqual(unicode);
    }
  });

  it("keeps numbers, apostrophes and separators the same way", () => {
    const text = "It's 9,000 COVID-19 cases in 2020's Q3.5 report, o'clock ain't";
    expect(analyze(text)).toEqual(analyze(`${text} ü`).slice(0, -1));
    expect(analyze(text)).toContain("9000");
  });
});
