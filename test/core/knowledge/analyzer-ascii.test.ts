import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { analyze } from "../../../src/core/knowledge/analyzer.js";
import { SPECS_DIR } from "../../support/openapi-validator.js";

/**
 * Real English prose with numbers, units, code words and punctuation: the description fields of the
 * API specs committed under `test/fixtures/specs/` (hundreds of paragraphs, licences noted there).
 */
function specDescriptions(): string[] {
  const texts = new Set<string>();
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === "object") {
      for (const [key, value] of Object.entries(node)) {
        if (key === "description" && typeof value === "string") texts.add(value);
        else walk(value);
      }
    }
  };
  for (const file of ["openai/openapi.subset.json", "qdrant/openapi-v1.19.x.subset.json"]) {
    walk(JSON.parse(readFileSync(join(SPECS_DIR, file), "utf8")));
  }
  return [...texts];
}

describe("analyze: the ASCII fast path", () => {
  it("gives exactly the tokens of the Unicode path on real English text", () => {
    const corpus = specDescriptions().filter((text) =>
      [...text].every((character) => character.charCodeAt(0) <= 0x7f),
    );
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
