/**
 * Builds a small valid PDF (one page per entry, Helvetica text, optional Info title) with a correct
 * cross-reference table, so PDF extraction is tested on real PDF bytes without a binary fixture.
 */
export function buildMinimalPdf(pages: string[][], options: { title?: string } = {}): Uint8Array {
  const escapeText = (text: string) => text.replace(/[\\()]/g, (character) => `\\${character}`);
  const objects: string[] = [];
  const fontId = 3;
  const firstPageId = 4;
  const pageIds = pages.map((_, index) => firstPageId + index * 2);
  objects[1] = "<< /Type /Catalog /Pages 2 0 R >>";
  objects[2] = `<< /Type /Pages /Kids [${pageIds.map((id) => `${id} 0 R`).join(" ")}] /Count ${pages.length} >>`;
  objects[fontId] = "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>";
  pages.forEach((lines, index) => {
    const pageId = pageIds[index] ?? 0;
    const contentId = pageId + 1;
    const stream = [
      "BT",
      "/F1 12 Tf",
      "16 TL",
      "72 720 Td",
      ...lines.map((line, lineIndex) =>
        lineIndex === 0 ? `(${escapeText(line)}) Tj` : `T* (${escapeText(line)}) Tj`,
      ),
      "ET",
    ].join("\n");
    objects[pageId] =
      `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 ${fontId} 0 R >> >> /Contents ${contentId} 0 R >>`;
    objects[contentId] = `<< /Length ${Buffer.byteLength(stream, "latin1")} >>\nstream\n${stream}\nendstream`;
  });
  let infoId: number | undefined;
  if (options.title !== undefined) {
    infoId = objects.length;
    objects[infoId] = `<< /Title (${escapeText(options.title)}) >>`;
  }
  let output = "%PDF-1.4\n";
  const offsets: number[] = [];
  for (let id = 1; id < objects.length; id += 1) {
    offsets[id] = Buffer.byteLength(output, "latin1");
    output += `${id} 0 obj\n${objects[id]}\nendobj\n`;
  }
  const xrefOffset = Buffer.byteLength(output, "latin1");
  output += `xref\n0 ${objects.length}\n0000000000 65535 f \n`;
  for (let id = 1; id < objects.length; id += 1) {
    output += `${String(offsets[id]).padStart(10, "0")} 00000 n \n`;
  }
  output += `trailer\n<< /Size ${objects.length} /Root 1 0 R${infoId ? ` /Info ${infoId} 0 R` : ""} >>\n`;
  output += `startxref\n${xrefOffset}\n%%EOF\n`;
  return new Uint8Array(Buffer.from(output, "latin1"));
}
