/**
 * What chunking produces, pinned: every field of every chunk, token count and term count of a seeded
 * corpus of prose, Markdown and hostile text, extracted as files are and chunked at several budgets, in
 * one digest. How chunking builds its arrays (`push` rather than `map`, for the optimizer, see
 * chunker.ts) or any other change made for speed must leave it as it is.
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { extractDocument } from "../../../src/adapters/extract/extract-document.js";
import type { ChunkableDocument } from "../../../src/core/knowledge/chunker.js";
import { prepareChunks } from "../../../src/core/knowledge/prepare-chunks.js";
import { pickWith, randomText, seededRandom } from "../../support/seeded-random.js";

const PIECES = [
  "Payroll ",
  "runs ",
  "monthly",
  ". ",
  "! ",
  "? ",
  ", ",
  "the ",
  "employee's ",
  "9,000 ",
  "42",
  " ",
  "  ",
  "\t",
  "\n",
  "\n\n",
  " \n \n",
  "\r\n",
  "\r\n\r\n",
  "# Heading\n",
  "## Sub heading ##\n",
  "```\ncode line\n",
  "```\n",
  "- item\n",
  "é",
  "naïve ",
  "中文句子。",
  "한국어 문장입니다. ",
  "😀",
  "\ud800",
  "(see below) ",
  "x".repeat(90),
  "word ".repeat(40),
];

describe("chunking of a seeded corpus", () => {
  it("gives the chunks, token counts and term counts it gave before, at every budget", async () => {
    const next = seededRandom(2026);
    const pick = pickWith(next);
    const digest = createHash("sha256");
    for (let sample = 0; sample < 400; sample += 1) {
      const raw = randomText(next, PIECES, 160);
      const format = pick(["text", "markdown"] as const);
      // Extracted as a file is (line ends trimmed, line breaks normalized), then chunked.
      const extracted = await extractDocument({
        body: Buffer.from(raw, "utf8"),
        mediaType: format === "markdown" ? "text/markdown" : "text/plain",
        charset: "utf-8",
        fileName: format === "markdown" ? "sample.md" : "sample.txt",
        source: `sample-${sample}`,
      }).catch(() => undefined);
      if (!extracted) {
        digest.update("unreadable\n");
        continue;
      }
      const document: ChunkableDocument = {
        id: `doc-${sample}`,
        title: pick(["", "Title", "Payroll handbook", "Ünïcode title"]),
        text: extracted.text,
        format,
        source: `sample-${sample}`,
      };
      const options = pick([{}, { maxTokens: 16, overlapTokens: 4 }, { maxTokens: 64, overlapTokens: 0 }]);
      const chunks = prepareChunks(document, options);
      digest.update(JSON.stringify([extracted.text, chunks.ids, chunks.texts, chunks.headingPaths]));
      digest.update(Buffer.from(chunks.counts.buffer));
      digest.update(Buffer.from(chunks.frequencies.buffer));
    }
    expect(digest.digest("hex")).toBe("920b8a944665d3f1f997fdebd253ab42caa4ba83ec4a177d01b635a9d059b369");
  });
});
