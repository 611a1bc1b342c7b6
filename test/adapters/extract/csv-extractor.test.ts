import { describe, expect, it } from "vitest";
import { extractCsv, MAX_CSV_ROWS } from "../../../src/adapters/extract/csv-extractor.js";
import { extractDocument } from "../../../src/adapters/extract/extract-document.js";

describe("extractCsv: a CSV file as a Markdown table", () => {
  it("keeps quoted commas and newlines in their cell, escapes pipes, and pads short rows", () => {
    const { text } = extractCsv('name,comment,score\n"Smith, Ann","line one\nline two",9\nBob,a | b\n');
    expect(text.split("\n")).toEqual([
      "| name | comment | score |",
      "| --- | --- | --- |",
      "| Smith, Ann | line one line two | 9 |",
      "| Bob | a \\| b |  |",
    ]);
  });

  it("guesses a semicolon or tab separator from the header line", () => {
    expect(extractCsv("a;b\n1;2\n").text).toContain("| 1 | 2 |");
    expect(extractCsv("a\tb\n1\t2\n").text).toContain("| 1 | 2 |");
  });

  it("stops after MAX_CSV_ROWS rows and says so", () => {
    const rows = Array.from({ length: MAX_CSV_ROWS + 10 }, (_, index) => `${index},x`).join("\n");
    const { text } = extractCsv(`n,v\n${rows}\n`);
    expect(text.split("\n").filter((line) => line.startsWith("| ")).length).toBe(MAX_CSV_ROWS + 2); // header and separator too
    expect(text).toContain(`(Only the first ${MAX_CSV_ROWS} rows were read.)`);
  });

  it("is how extractDocument reads text/csv, and a .csv served as text/plain", async () => {
    const body = new TextEncoder().encode("city,people\nLyon,522000\n");
    for (const mediaType of ["text/csv", "text/plain", "application/octet-stream"]) {
      const document = await extractDocument({
        body,
        mediaType,
        charset: undefined,
        fileName: "cities.csv",
        source: "cities.csv",
      });
      expect(document.contentType).toBe("text/csv");
      expect(document.text).toContain("| Lyon | 522000 |");
    }
  });
});
