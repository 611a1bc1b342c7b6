import type {
  ChunkPreparation,
  LoadedDocument,
  PreparedChunks,
  PreparedDocument,
} from "../ports/document-loader.js";
import type { CountedChunkRecord, DocumentChunk, DocumentScope } from "../ports/vector-store.js";
import { countLinesTerms, writeCountedTerms } from "./analyzer.js";
import { type ChunkableDocument, type ChunkOptions, chunkDocument, chunkTermsLines } from "./chunker.js";

/**
 * Chunks a document and counts each chunk's BM25 terms: the work of indexing that needs no store,
 * done where the document was extracted (an extraction thread, see `DocumentLoader.loadPrepared`).
 * `countedRecords` turns the result into what the store writes; the chunks, token counts and term
 * counts are those of `toChunkRecords(chunkDocument(...))` with its terms counted.
 */
export function prepareChunks(document: ChunkableDocument, options?: ChunkOptions): PreparedChunks {
  const chunks = chunkDocument(document, options);
  const counts = new Uint32Array(chunks.length * 3);
  let length = 0;
  // Arrays by `push`, not `map` (see chunker.ts, parsePlainText): `countedRecords` reads them.
  const ids: string[] = [];
  const texts: string[] = [];
  const headingPaths: string[][] = [];
  // Each chunk's term counts are written into one reused array, packed, and copied out once per
  // document: an array of their own per chunk, then the packed copy, made two per chunk.
  for (let index = 0; index < chunks.length; index += 1) {
    const chunk = chunks[index] as DocumentChunk;
    const distinct = countLinesTerms(chunkTermsLines(chunk));
    if (packedTerms.length < length + 2 * distinct) {
      const grown = new Uint32Array(Math.max(2 * packedTerms.length, length + 2 * distinct));
      grown.set(packedTerms.subarray(0, length));
      packedTerms = grown;
    }
    counts[3 * index] = chunk.tokens ?? 0;
    counts[3 * index + 1] = writeCountedTerms(packedTerms, length);
    counts[3 * index + 2] = distinct;
    length += 2 * distinct;
    ids.push(chunk.id);
    texts.push(chunk.text);
    headingPaths.push(chunk.headingPath);
  }
  const frequencies = packedTerms.slice(0, length);
  // A huge document's counts are not kept for the life of the process.
  if (packedTerms.length > LARGEST_KEPT_PACKED_TERMS) packedTerms = new Uint32Array(INITIAL_PACKED_TERMS);
  return { ids, texts, headingPaths, counts, frequencies };
}

// The term counts of the document being prepared (preparing is synchronous, so one at a time).
const INITIAL_PACKED_TERMS = 1 << 12;
const LARGEST_KEPT_PACKED_TERMS = 1 << 20;
let packedTerms = new Uint32Array(INITIAL_PACKED_TERMS);

/** An extracted document prepared (see `prepareChunks`): what `DocumentLoader.loadPrepared` answers. */
export function prepareDocument(loaded: LoadedDocument, preparation: ChunkPreparation): PreparedDocument {
  const { text, ...document } = loaded;
  // Named fields, not `{ ...document }`: spreading the object a rest pattern made cost ~2.5 us a document
  // (SciFact's 5,183: ~12-16 ms -> ~3 ms cold, /tmp bench alternating), and the chunker reads only these.
  const chunkable: ChunkableDocument = {
    id: preparation.documentId,
    title: loaded.title,
    text,
    format: loaded.format,
    source: loaded.source,
  };
  return { document, chunks: prepareChunks(chunkable, preparation.chunking) };
}

/** The records a prepared document's write stores; each chunk's term counts are a view of `frequencies`. */
export function countedRecords(
  { document, chunks }: { document: Pick<LoadedDocument, "title" | "source">; chunks: PreparedChunks },
  documentId: string,
  scope: DocumentScope,
): CountedChunkRecord[] {
  const records: CountedChunkRecord[] = [];
  let offset = 0;
  for (let position = 0; position < chunks.ids.length; position++) {
    const distinct = chunks.counts[3 * position + 2] as number;
    records.push({
      id: chunks.ids[position] as string,
      documentId,
      position,
      title: document.title,
      headingPath: [...(chunks.headingPaths[position] as string[])],
      source: document.source,
      text: chunks.texts[position] as string,
      tokens: chunks.counts[3 * position] as number,
      scope: { ...scope },
      termCounts: {
        frequencies: chunks.frequencies.subarray(offset, offset + 2 * distinct),
        total: chunks.counts[3 * position + 1] as number,
      },
      dense: undefined,
    });
    offset += 2 * distinct;
  }
  return records;
}
