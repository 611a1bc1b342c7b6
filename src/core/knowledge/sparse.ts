import type { ChunkWrite, SparseVector, TermCounts } from "../ports/vector-store.js";

/**
 * Turns analyzed terms into BM25 sparse vectors that every store agrees on.
 *
 * Term ids are a 32-bit FNV-1a hash of the term (collisions are rare at chunk-vocabulary sizes and
 * cost only a little precision). Document weights are BM25's saturated term frequency with a fixed
 * average length, because a distributed store cannot know the corpus average at write time; Qdrant
 * then applies IDF itself (`modifier: idf`). Query weights are 1 per distinct term.
 */
/**
 * The reciprocal-rank-fusion constant for hybrid (dense + BM25) search, the same in every store.
 * 60 is the original paper's value; Qdrant's own default is 2, which lets the top few ranks of one
 * list dominate, so the Qdrant store passes this constant explicitly.
 */
export const RRF_K = 60;

const BM25_K1 = 1.2;
const BM25_B = 0.75;
const BM25_AVERAGE_LENGTH = 256;

export function termId(term: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < term.length; index++) {
    hash ^= term.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** Counts analyzed terms by their `termId`, as stores keep them (see `TermCounts`). */
export function countTerms(terms: readonly string[]): TermCounts {
  const frequencies = new Map<number, number>();
  for (const term of terms) {
    const id = termId(term);
    frequencies.set(id, (frequencies.get(id) ?? 0) + 1);
  }
  const packed = new Uint32Array(frequencies.size * 2);
  let index = 0;
  for (const [id, frequency] of frequencies) {
    packed[index] = id;
    packed[frequencies.size + index] = frequency;
    index++;
  }
  return { frequencies: packed, total: terms.length };
}

/** A chunk's counted terms, whether it carries them counted or as strings. */
export function termCountsOf(chunk: ChunkWrite): TermCounts {
  return "termCounts" in chunk ? chunk.termCounts : countTerms(chunk.terms);
}

export function documentSparseVector({ frequencies, total }: TermCounts): SparseVector {
  const distinct = frequencies.length / 2;
  const lengthNorm = 1 - BM25_B + (BM25_B * total) / BM25_AVERAGE_LENGTH;
  const order = Array.from({ length: distinct }, (_, index) => index).sort(
    (a, b) => (frequencies[a] as number) - (frequencies[b] as number),
  );
  const indices = order.map((index) => frequencies[index] as number);
  const values = order.map((index) => {
    const tf = frequencies[distinct + index] as number;
    return (tf * (BM25_K1 + 1)) / (tf + BM25_K1 * lengthNorm);
  });
  return { indices, values };
}

export function querySparseVector(terms: string[]): SparseVector {
  const indices = [...new Set(terms.map(termId))].sort((a, b) => a - b);
  return { indices, values: indices.map(() => 1) };
}
