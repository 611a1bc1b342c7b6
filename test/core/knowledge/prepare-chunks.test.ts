import { describe, expect, it } from "vitest";
import {
  type ChunkableDocument,
  chunkDocument,
  chunkId,
  toChunkRecords,
} from "../../../src/core/knowledge/chunker.js";
import {
  countedRecords,
  prepareChunks,
  prepareDocument,
} from "../../../src/core/knowledge/prepare-chunks.js";
import { countTerms } from "../../../src/core/knowledge/sparse.js";
import type { DocumentScope } from "../../../src/core/ports/vector-store.js";

const scope: DocumentScope = { platform: "slack", workspaceId: "T1", channelId: "C1" };

const english: ChunkableDocument = {
  id: "d-english",
  title: "Payroll handbook",
  source: "docs/payroll.md",
  format: "markdown",
  text: [
    "# Payroll",
    "",
    ...Array.from(
      { length: 40 },
      (_, index) =>
        `Payroll runs on the ${index + 1}th; the employee's export (9,000 rows) goes to finance. Don't re-run it twice.`,
    ),
    "",
    "## Corrections",
    "",
    "```sql\nSELECT * FROM payroll WHERE corrected = 1;\n```",
    "",
    "Corrections are filed by the 25th, and reviewed by HR's team.",
  ].join("\n"),
};

const korean: ChunkableDocument = {
  id: "d-korean",
  title: "복지 안내",
  source: "docs/welfare.txt",
  format: "text",
  text: Array.from(
    { length: 30 },
    (_, index) =>
      `기초생활수급자는 매월 ${index + 20}일에 생계급여를 받습니다. 신청은 주민센터에서 하며, ＡＢＣ 서류와 신분증이 필요합니다.\n\n문의: 129 (보건복지상담센터)`,
  ).join("\n\n"),
};

// Many distinct terms: its packed term counts (ids and frequencies, two integers per distinct term of each
// chunk) outgrow the array prepareChunks starts with (4,096 integers) in the middle of the document.
const numbered: ChunkableDocument = {
  id: "d-numbered",
  title: "Ledger entries",
  source: "docs/ledger.txt",
  format: "text",
  text: Array.from(
    { length: 1_000 },
    (_, index) => `Entry ${index + 1000} lists code ${index + 51000} and batch ${index + 91000}.`,
  ).join(" "),
};

/** Holds `prepareChunks(document)` to `chunkDocument` + `toChunkRecords` with its terms counted. */
function expectChunkRecords(document: ChunkableDocument) {
  const options = { maxTokens: 120, overlapTokens: 20 };
  const expected = toChunkRecords(chunkDocument(document, options), scope);
  const prepared = prepareChunks(document, options);
  const described = { title: document.title, source: document.source };
  const records = countedRecords({ document: described, chunks: prepared }, document.id, scope);
  // More than one chunk, so that positions, overlaps and the packing of frequencies are exercised.
  expect(expected.length).toBeGreaterThan(2);
  expect(records.map(({ termCounts, ...chunk }) => chunk)).toEqual(
    expected.map(({ terms, ...chunk }) => chunk),
  );
  expect(records.map((record) => record.termCounts)).toEqual(
    expected.map((record) => countTerms(record.terms)),
  );
  return prepared;
}

describe("prepareChunks", () => {
  // First in the file: the packed array grows during this document, not before it.
  it("packs term counts that outgrow the array it starts with, chunk after chunk (d-numbered)", () => {
    expect(expectChunkRecords(numbered).frequencies.length).toBeGreaterThan(2 * 4_096);
  });

  for (const document of [english, korean]) {
    it(`gives the chunks, token counts and term counts of chunkDocument + toChunkRecords (${document.id})`, () => {
      expectChunkRecords(document);
    });
  }
});

describe("prepareDocument", () => {
  it("answers the document without its text, and the chunks of the text under the id it is indexed as", () => {
    for (const { id, ...fields } of [english, korean]) {
      const loaded = { ...fields, contentType: "text/plain", bytes: 1234 };
      const chunking = { maxTokens: 120, overlapTokens: 20 };
      const prepared = prepareDocument(loaded, { documentId: id, chunking });
      const { text, ...document } = loaded;
      expect(prepared.document).toStrictEqual(document);
      expect(prepared.chunks).toEqual(prepareChunks({ ...fields, id }, chunking));
      expect(prepared.chunks.ids[0]).toBe(chunkId(id, 0));
    }
  });
});
