import { Buffer } from "node:buffer";
import { constants, inflateSync } from "node:zlib";

/** More than the text of any PDF a team indexes (a 1,000-page manual has a few MB of page content). */
export const MAX_PDF_INFLATED_BYTES = 128 * 1024 * 1024;

const STREAM_KEYWORD = /stream\r?\n/g;
const FLATE = /\/FlateDecode\b/g;

/**
 * Whether the Flate-compressed streams that text extraction decodes (everything but images) inflate to
 * more than `limitBytes` together. PDF.js inflates a stream whole into growing ArrayBuffers, which a
 * worker's heap limit does not bound: 262 KB of PDF grew the process by 966 MB. No PDF library offers a
 * cap, so this pass finds the streams by their keywords and inflates each with zlib under
 * `maxOutputLength` (fast, and never more than the limit in memory) before PDF.js sees the file.
 * A stream zlib cannot read is left to PDF.js; the extraction pool's memory watch is the backstop.
 */
export function inflatesPast(body: Uint8Array, limitBytes = MAX_PDF_INFLATED_BYTES): boolean {
  const bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const text = bytes.toString("latin1");
  let remaining = limitBytes;
  STREAM_KEYWORD.lastIndex = 0;
  for (let match = STREAM_KEYWORD.exec(text); match !== null; match = STREAM_KEYWORD.exec(text)) {
    const keyword = match.index;
    if (text.startsWith("end", keyword - 3)) continue;
    const start = keyword + match[0].length;
    const end = text.indexOf("endstream", start);
    if (end < 0) break;
    STREAM_KEYWORD.lastIndex = end + "endstream".length;
    // The stream's dictionary: from its object header to the keyword.
    const dictionary = text.slice(Math.max(0, text.lastIndexOf("obj", keyword), keyword - 65_536), keyword);
    if (dictionary.includes("/Image")) continue;
    const filters = dictionary.match(FLATE)?.length ?? 0;
    let data: Buffer = bytes.subarray(start, end);
    for (let pass = 0; pass < filters; pass += 1) {
      try {
        data = inflateSync(data, { maxOutputLength: remaining + 1, finishFlush: constants.Z_SYNC_FLUSH });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") return true;
        break;
      }
      if (data.length > remaining) return true;
    }
    if (filters > 0) remaining -= data.length;
  }
  return false;
}
