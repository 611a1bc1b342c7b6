import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { chunkDocument, chunkId, toChunkRecords } from "../../../src/core/knowledge/chunker.js";
import { countTokens } from "../../../src/core/tokens.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function sentences(count: number, topic: string): string {
  return Array.from(
    { length: count },
    (_, index) => `Sentence ${index} explains ${topic} in some detail.`,
  ).join(" ");
}

describe("chunkId", () => {
  it("is deterministic, UUID-shaped and distinct per document and position", () => {
    expect(chunkId("doc", 0)).toBe(chunkId("doc", 0));
    expect(chunkId("doc", 0)).toMatch(UUID);
    const ids = new Set([chunkId("doc", 0), chunkId("doc", 1), chunkId("doc1", 0), chunkId("do", 10)]);
    expect(ids.size).toBe(4);
  });

  it("stays the id stored chunks already have: sha256 of document id, NUL and position, shaped as a UUID", () => {
    expect(chunkId("doc", 0)).toBe("9c5a538b-3628-8413-87ee-4ce5533dd44d");
    expect(chunkId("guide", 7)).toBe("48b0eb24-44f8-8dcf-ae23-1fee137dd843");
    const reference = (documentId: string, position: number) => {
      const hex = createHash("sha256").update(`${documentId}\u0000${position}`).digest("hex");
      const variant = ((Number.parseInt(hex[16] ?? "0", 16) & 0x3) | 0x8).toString(16);
      return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
    };
    for (const documentId of ["doc", "déjà vu 🙂", "\ud800 lone", "x".repeat(10_000), ""]) {
      for (const position of [0, 1, 99_999])
        expect(chunkId(documentId, position)).toBe(reference(documentId, position));
    }
  });
});

describe("chunkDocument", () => {
  const base = { id: "guide", title: "Guide", source: "docs/guide.md", format: "markdown" as const };

  it("follows Markdown headings into heading paths and keeps metadata", () => {
    const chunks = chunkDocument({
      ...base,
      text: "Intro text.\n\n# Setup\n\nInstall it.\n\n## Linux\n\nUse apt.\n\n# Usage\n\nRun it.",
    });
    expect(chunks.map((chunk) => [chunk.headingPath, chunk.text])).toEqual([
      [[], "Intro text."],
      [["Setup"], "Install it."],
      [["Setup", "Linux"], "Use apt."],
      [["Usage"], "Run it."],
    ]);
    expect(chunks.map((chunk) => chunk.position)).toEqual([0, 1, 2, 3]);
    for (const chunk of chunks) expect(chunk.tokens).toBe(countTokens(chunk.text));
    expect(chunks[2]).toMatchObject({
      id: chunkId("guide", 2),
      documentId: "guide",
      title: "Guide",
      source: "docs/guide.md",
    });
  });

  it("keeps a fenced code block whole, even with a heading-like line inside", () => {
    const code = "```sh\n# not a heading\nnpm install\nnpm start\n```";
    const chunks = chunkDocument(
      { ...base, text: `# Run\n\n${sentences(30, "running")}\n\n${code}\n\nAfter.` },
      { maxTokens: 120 },
    );
    expect(chunks.some((chunk) => chunk.text.includes(code))).toBe(true);
    expect(chunks.every((chunk) => chunk.headingPath.join("/") === "Run")).toBe(true);
  });

  it("packs long sections into token-bounded chunks that overlap", () => {
    const chunks = chunkDocument(
      { ...base, format: "text", text: `${sentences(40, "billing")}\n\n${sentences(40, "payroll")}` },
      { maxTokens: 100, overlapTokens: 20 },
    );
    expect(chunks.length).toBeGreaterThan(5);
    for (const chunk of chunks) expect(countTokens(chunk.text)).toBeLessThanOrEqual(100);
    // Each chunk carries its exact count, so prompts never count stored passages again.
    for (const chunk of chunks) expect(chunk.tokens).toBe(countTokens(chunk.text));
    for (let index = 1; index < chunks.length; index++) {
      const previous = chunks[index - 1]!.text.split(/(?<=\.)\s+/);
      const next = chunks[index]!.text.split(/(?<=\.)\s+/);
      // The next chunk opens with the previous chunk's closing sentences.
      expect(next.slice(0, 3)).toContain(previous.at(-1));
      expect(previous.slice(-3)).toContain(next[0]);
    }
  });

  it("cuts a single oversized paragraph without spaces into pieces within the budget", () => {
    const text = "가".repeat(3000);
    const chunks = chunkDocument({ ...base, format: "text", text }, { maxTokens: 64, overlapTokens: 0 });
    expect(chunks.length).toBeGreaterThan(1);
    for (const chunk of chunks) expect(countTokens(chunk.text)).toBeLessThanOrEqual(64);
    for (const chunk of chunks) expect(chunk.tokens).toBe(countTokens(chunk.text));
    expect(chunks.map((chunk) => chunk.text).join("")).toBe(text);
  });

  it("gives the same ids when the same document is chunked again", () => {
    const document = { ...base, text: `# A\n\n${sentences(50, "alpha")}` };
    const first = chunkDocument(document, { maxTokens: 80 });
    expect(chunkDocument(document, { maxTokens: 80 }).map((chunk) => chunk.id)).toEqual(
      first.map((chunk) => chunk.id),
    );
  });

  it("returns no chunk for an empty document", () => {
    expect(chunkDocument({ ...base, text: "  \n\n " })).toEqual([]);
  });
});

describe("toChunkRecords", () => {
  it("adds the scope and terms from title, heading path and text", () => {
    const [chunk] = chunkDocument({
      id: "d",
      title: "Payroll",
      source: "p.md",
      format: "markdown",
      text: "# Dates\n\nMonthly.",
    });
    const [record] = toChunkRecords([chunk!], { platform: "slack", workspaceId: "T1" }, [[1, 0]]);
    expect(record).toMatchObject({ scope: { platform: "slack", workspaceId: "T1" }, dense: [1, 0] });
    expect(record?.terms).toEqual(["payrol", "date", "monthli"]);
  });
});
