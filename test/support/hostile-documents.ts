/**
 * Hostile inputs that once froze or bloated the bot, built in memory (no binary fixtures): shared by the
 * tests that prove each one is handled and by `npm run bench -- hostile`.
 */
import { constants, createDeflate } from "node:zlib";

/**
 * A one-page PDF whose page content is a Flate stream inflating to `inflatedMegabytes` MB of blanks after
 * one line of real text: a decompression bomb (128 MB inflated is about 130 KB on the wire). The stream is
 * compressed piece by piece, so building it never holds the inflated content.
 */
export async function buildPdfBomb(inflatedMegabytes: number): Promise<Uint8Array> {
  const deflate = createDeflate({ level: constants.Z_BEST_COMPRESSION });
  const parts: Buffer[] = [];
  deflate.on("data", (part: Buffer) => parts.push(part));
  const finished = new Promise<void>((resolve, reject) => {
    deflate.on("end", resolve);
    deflate.on("error", reject);
  });
  deflate.write(Buffer.from("BT /F1 12 Tf 72 720 Td (Quarterly report) Tj ET\n", "latin1"));
  const blanks = Buffer.alloc(1024 * 1024, 0x20);
  for (let written = 0; written < inflatedMegabytes; written += 1) {
    if (!deflate.write(blanks)) await new Promise((resolve) => deflate.once("drain", resolve));
  }
  deflate.end();
  await finished;
  const stream = Buffer.concat(parts);
  const objects = [
    "<< /Type /Catalog /Pages 2 0 R >>",
    "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
    undefined,
    "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
  ];
  const chunks: Buffer[] = [Buffer.from("%PDF-1.4\n", "latin1")];
  let length = chunks[0]?.length ?? 0;
  const offsets: number[] = [];
  objects.forEach((object, index) => {
    offsets.push(length);
    const body =
      object === undefined
        ? Buffer.concat([
            Buffer.from(
              `${index + 1} 0 obj\n<< /Length ${stream.length} /Filter /FlateDecode >>\nstream\n`,
              "latin1",
            ),
            stream,
            Buffer.from("\nendstream\nendobj\n", "latin1"),
          ])
        : Buffer.from(`${index + 1} 0 obj\n${object}\nendobj\n`, "latin1");
    chunks.push(body);
    length += body.length;
  });
  let trailer = `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const offset of offsets) trailer += `${String(offset).padStart(10, "0")} 00000 n \n`;
  trailer += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${length}\n%%EOF\n`;
  chunks.push(Buffer.from(trailer, "latin1"));
  return new Uint8Array(Buffer.concat(chunks));
}

/** Markdown whose first heading line is `spaces` blanks between two words: cubic for the old title regex. */
export function redosMarkdown(spaces = 8_000): string {
  return `# a${" ".repeat(spaces)}b${" ".repeat(spaces)}c\n\nThe onboarding checklist lives in the wiki.\n`;
}

/** A page of `depth` nested `<div>`s around one sentence. */
export function nestedHtml(depth: number): string {
  return `<html><head><title>Deep page</title></head><body>${"<div>".repeat(depth)}The deep fact is forty-two.${"</div>".repeat(depth)}</body></html>`;
}
