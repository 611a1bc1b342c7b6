import { afterAll, describe, expect, it } from "vitest";
import { extractDocument, type RawDocument } from "../../../src/adapters/extract/extract-document.js";
import { ExtractionPool } from "../../../src/adapters/extract/extraction-pool.js";
import { extractHtml } from "../../../src/adapters/extract/html-extractor.js";
import { limitHtmlDepth } from "../../../src/adapters/extract/limit-html-depth.js";
import { inflatesPast } from "../../../src/adapters/extract/pdf-inflation-check.js";
import { isAppError } from "../../../src/core/errors.js";
import { prepareChunks } from "../../../src/core/knowledge/prepare-chunks.js";
import { buildPdfBomb } from "../../support/hostile-documents.js";
import { buildMinimalPdf } from "../../support/minimal-pdf.js";

const pdf = (body: Uint8Array, fileName: string) => ({
  body,
  mediaType: "application/pdf",
  charset: undefined,
  fileName,
  source: `https://docs.example/${fileName}`,
});

async function failure(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (error) {
    if (isAppError(error)) return error;
    throw error;
  }
  throw new Error("expected a failure");
}

describe("extraction pool", () => {
  const pools: ExtractionPool[] = [];
  const pool = (options: ConstructorParameters<typeof ExtractionPool>[0]) => {
    const created = new ExtractionPool(options);
    pools.push(created);
    return created;
  };
  afterAll(async () => {
    for (const created of pools) await created.close();
  });

  it("prepares a document, on a thread when it is extracted on one, into exactly its in-process chunks and term counts", async () => {
    const paragraph = (index: number) =>
      `Paragraph ${index}: the payroll export (9,000 rows) runs nightly; 기초생활수급자는 매월 생계급여를 받습니다. ＡＢＣ.`;
    const text = (paragraphs: number) =>
      Array.from({ length: paragraphs }, (_, index) => paragraph(index)).join("\n\n");
    const documents: RawDocument[] = [
      // Small text and Markdown are prepared on the calling thread; a text over 64 KiB on an extraction thread.
      {
        body: Buffer.from(text(20)),
        mediaType: "text/plain",
        charset: "utf-8",
        fileName: "a.txt",
        source: "a.txt",
      },
      {
        body: Buffer.from(`# Guide\n\n${text(8)}\n\n## Part two\n\n${text(8)}`),
        mediaType: "text/markdown",
        charset: undefined,
        fileName: "b.md",
        source: "b.md",
        title: "A title of its own",
      },
      {
        body: Buffer.from(text(700)),
        mediaType: "text/plain",
        charset: "utf-8",
        fileName: "c.txt",
        source: "c.txt",
      },
    ];
    expect(documents[2]!.body.length).toBeGreaterThan(64 * 1024);
    const preparing = pool({});
    for (const raw of documents) {
      const chunking = { maxTokens: 100, overlapTokens: 20 };
      const prepared = await preparing.prepare(raw, { documentId: `id-${raw.source}`, chunking });
      const { text: extracted, ...described } = await extractDocument(raw);
      expect(prepared.document).toEqual(described);
      const expected = prepareChunks({ ...described, id: `id-${raw.source}`, text: extracted }, chunking);
      expect(expected.ids.length).toBeGreaterThan(2);
      expect(prepared.chunks).toEqual(expected);
    }
    expect((await preparing.prepare(documents[1]!, { documentId: "b" })).document.title).toBe(
      "A title of its own",
    );
  });

  it("reads a PDF in a worker thread", async () => {
    const document = await pool({}).extract(pdf(buildMinimalPdf([["Quarterly numbers"]]), "q3.pdf"));
    expect(document.text).toContain("Quarterly numbers");
  });

  it("stops a document past its time limit with a sentence naming it", async () => {
    const error = await failure(
      pool({ timeoutMs: 50 }).extract(pdf(buildMinimalPdf([["slow"]]), "slow.pdf")),
    );
    expect(error.userMessage).toMatch(/^I stopped reading slow\.pdf: it took longer than/);
  });

  it("stops a document that grows the process past the memory limit, and reads the next one", async () => {
    // 120 MB inflated passes the inflation cap; only the memory watch can stop it (PDF.js grows the process by 300 MB and more on it).
    const limited = pool({ maxMemoryGrowthBytes: 160 * 1024 * 1024 });
    const error = await failure(limited.extract(pdf(await buildPdfBomb(120), "grows.pdf")));
    expect(error.userMessage).toMatch(/^I stopped reading grows\.pdf: it needed more memory/);
    const next = await limited.extract(pdf(buildMinimalPdf([["still here"]]), "next.pdf"));
    expect(next.text).toContain("still here");
  });

  it("knows a PDF bomb by inflating its streams under a cap", async () => {
    expect(inflatesPast(await buildPdfBomb(8), 16 * 1024 * 1024)).toBe(false);
    expect(inflatesPast(await buildPdfBomb(40), 16 * 1024 * 1024)).toBe(true);
    expect(inflatesPast(buildMinimalPdf([["plain"]]))).toBe(false);
  });
});

describe("HTML depth limit", () => {
  it("keeps a normal page as html-to-text reads it", () => {
    const page =
      "<html><head><title>T &amp; Co</title></head><body><h1>Hello &lt;world&gt;</h1>" +
      '<p class=\'x"y\'>Para <a href="/x?a=1&amp;b=2">link</a><br>next<img src=x></p>' +
      "<ul><li>one<li>two</ul><!-- note --></body></html>";
    expect(extractHtml(limitHtmlDepth(page), { baseUrl: "https://e.example/" })).toEqual(
      extractHtml(page, { baseUrl: "https://e.example/" }),
    );
  });

  it("unwraps elements past the depth limit and keeps their text", () => {
    const limited = limitHtmlDepth(`${"<div>".repeat(5_000)}deep${"</div>".repeat(5_000)}`, 128);
    expect(limited.match(/<div>/g)).toHaveLength(128);
    expect(limited.match(/<\/div>/g)).toHaveLength(128);
    expect(limited).toContain("deep");
    // Stray close tags and unclosed elements cost nothing extra and leave the output balanced.
    const stray = limitHtmlDepth(`<span>${"</div>".repeat(10_000)}text`);
    expect(stray).toBe("<span>text</span>");
  });
});
