/**
 * Sealed index segments as persisted: version 2 stores each list's score bound with the k1 and b it
 * was computed with; a version 1 segment (written before) and a segment read with other parameters
 * derive their bounds instead, and every form scores the same.
 */
import { describe, expect, it } from "vitest";
import {
  Bm25Scorer,
  emptyPostingList,
  type QueryTerm,
  SealedSegment,
  TopEntries,
} from "../../src/adapters/sqlite/bm25-index.js";

const PARAMETERS = { k1: 1.2, b: 0.75 };
const TERMS = [11, 22, 33, 44, 55, 66];

function chunks(count: number) {
  return Array.from({ length: count }, (_, index) => {
    const distinct = TERMS.filter((_term, term) => (index * 7 + term * 3) % 5 < 3);
    const frequencies = distinct.map((_term, term) => 1 + ((index + term) % 4));
    return {
      rowid: 100 + index,
      length: 5 + ((index * 13) % 40),
      termFrequencies: Uint32Array.from([...distinct, ...frequencies]),
    };
  });
}

/** The same segment in the version 1 layout: the arrays before the bounds, format field 1. */
function asVersion1(bytes: Uint8Array, termCount: number): Uint8Array {
  const old = bytes.slice(0, bytes.byteLength - 16 - termCount * 8);
  new Uint32Array(old.buffer, 0, 1)[0] = 1;
  return old;
}

function search(
  segment: SealedSegment,
  query: QueryTerm[],
  parameters = PARAMETERS,
): Array<[number, number]> {
  const best = new TopEntries(5);
  const documentCount = segment.liveCount;
  new Bm25Scorer().score(
    [segment],
    query,
    { documentCount, averageLength: segment.liveLength / documentCount, ...parameters },
    best,
  );
  return best.sorted();
}

describe("sealed segment format", () => {
  const built = SealedSegment.build(chunks(300), PARAMETERS);
  const bounds = (segment: SealedSegment) =>
    TERMS.map((term) => {
      const list = emptyPostingList();
      return segment.readList(term, list) ? list.maximumImpact : undefined;
    });

  it("stores the bounds: a loaded segment reads them, equal to what building computed", () => {
    const header = new Uint32Array(built.bytes.buffer, built.bytes.byteOffset, 4);
    expect(header[0]).toBe(2);
    const { bytes } = built;
    const stored = new Float64Array(
      bytes.buffer,
      bytes.byteOffset + bytes.byteLength - TERMS.length * 8,
      TERMS.length,
    );
    expect([...stored]).toEqual(bounds(built));
    const loaded = SealedSegment.load(built.bytes, PARAMETERS);
    expect(bounds(loaded)).toEqual(bounds(built));
    for (const bound of bounds(loaded)) expect(bound).toBeGreaterThan(0);
  });

  it("loads a version 1 segment (bounds derived on first use) and scores it the same", () => {
    const version1 = SealedSegment.load(asVersion1(built.bytes, TERMS.length), PARAMETERS);
    expect(bounds(version1)).toEqual(bounds(built));
    const query = TERMS.slice(1, 4).map((termId) => ({ termId, weight: 1 }));
    expect(search(version1, query)).toEqual(search(built, query));
  });

  it("derives bounds anew when read with other k1 and b than it was written with", () => {
    const other = { k1: 2, b: 0.3 };
    const reread = SealedSegment.load(built.bytes, other);
    expect(bounds(reread)).toEqual(bounds(SealedSegment.build(chunks(300), other)));
    expect(bounds(reread)).not.toEqual(bounds(built));
  });

  it("refuses a segment whose length does not match its header", () => {
    expect(() => SealedSegment.load(built.bytes.slice(0, built.bytes.byteLength - 8), PARAMETERS)).toThrow(
      /truncated/,
    );
  });
});

type SegmentInput = Array<{ rowid: number; length: number; termFrequencies: Uint32Array }>;

/**
 * The layout written out plainly, with the `Map`s that `SealedSegment.build` used before its typed
 * table: the reference every segment built must equal byte for byte.
 */
function referenceBytes(chunks: SegmentInput, { k1, b }: { k1: number; b: number }): Uint8Array {
  const listSizes = new Map<number, number>();
  let postingCount = 0;
  for (const chunk of chunks) {
    const distinct = chunk.termFrequencies.length / 2;
    postingCount += distinct;
    for (let index = 0; index < distinct; index++) {
      const termId = chunk.termFrequencies[index] as number;
      listSizes.set(termId, (listSizes.get(termId) ?? 0) + 1);
    }
  }
  const termIds = Uint32Array.from(listSizes.keys()).sort();
  const chunkCount = chunks.length;
  const termCount = termIds.length;
  const unaligned = 16 + chunkCount * 12 + termCount * 12 + 4 + postingCount * 4 + termCount * 2;
  const base = Math.ceil(unaligned / 8) * 8;
  const bytes = new Uint8Array(base + 16 + termCount * 8);
  const buffer = bytes.buffer;
  new Uint32Array(buffer, 0, 4).set([2, chunkCount, termCount, postingCount]);
  let at = 16;
  const next = <T>(make: (offset: number) => T, byteLength: number): T => {
    const array = make(at);
    at += byteLength;
    return array;
  };
  const rowids = next((offset) => new Float64Array(buffer, offset, chunkCount), chunkCount * 8);
  const lengths = next((offset) => new Uint32Array(buffer, offset, chunkCount), chunkCount * 4);
  const ids = next((offset) => new Uint32Array(buffer, offset, termCount), termCount * 4);
  const offsets = next((offset) => new Uint32Array(buffer, offset, termCount + 1), (termCount + 1) * 4);
  const minimumLengths = next((offset) => new Uint32Array(buffer, offset, termCount), termCount * 4);
  const slots = next((offset) => new Uint16Array(buffer, offset, postingCount), postingCount * 2);
  const frequencies = next((offset) => new Uint16Array(buffer, offset, postingCount), postingCount * 2);
  const maximumFrequencies = new Uint16Array(buffer, at, termCount);
  ids.set(termIds);
  const termIndex = new Map<number, number>();
  let offset = 0;
  termIds.forEach((termId, index) => {
    termIndex.set(termId, index);
    offsets[index] = offset;
    offset += listSizes.get(termId) as number;
  });
  offsets[termCount] = offset;
  minimumLengths.fill(0xffffffff);
  const cursors = offsets.slice(0, termCount);
  chunks.forEach((chunk, slot) => {
    rowids[slot] = chunk.rowid;
    lengths[slot] = chunk.length;
    const distinct = chunk.termFrequencies.length / 2;
    for (let index = 0; index < distinct; index++) {
      const list = termIndex.get(chunk.termFrequencies[index] as number) as number;
      const frequency = Math.min(0xffff, chunk.termFrequencies[distinct + index] as number);
      const position = cursors[list] as number;
      cursors[list] = position + 1;
      slots[position] = slot;
      frequencies[position] = frequency;
      if (frequency > (maximumFrequencies[list] as number)) maximumFrequencies[list] = frequency;
      if (chunk.length < (minimumLengths[list] as number)) minimumLengths[list] = chunk.length;
    }
  });
  let totalLength = 0;
  for (const length of lengths) totalLength += length;
  const referenceAverage = chunkCount > 0 && totalLength > 0 ? totalLength / chunkCount : 1;
  new Float64Array(buffer, base, 2).set([k1, b]);
  const impacts = new Float64Array(buffer, base + 16, termCount);
  for (let index = 0; index < termCount; index++) {
    let highest = 0;
    for (let position = offsets[index] as number; position < (offsets[index + 1] as number); position++) {
      const frequency = frequencies[position] as number;
      const impact =
        frequency /
        (frequency +
          k1 * (1 - b) +
          ((k1 * b) / referenceAverage) * (lengths[slots[position] as number] as number));
      if (impact > highest) highest = impact;
    }
    impacts[index] = highest;
  }
  return bytes;
}

/** A small deterministic generator (the same inputs on every run). */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32;
  };
}

/**
 * `count` chunks of up to `perChunk` distinct term ids drawn by `pick`: skewed like words in text,
 * a few ids at the ends of the range, now and then a frequency beyond 16 bits.
 */
function randomChunks(seed: number, count: number, perChunk: number, pick: (random: number) => number) {
  const random = generator(seed);
  const chunks: SegmentInput = [];
  let rowid = 0;
  for (let index = 0; index < count; index++) {
    const wanted = Math.floor(random() * perChunk);
    const ids = new Set<number>();
    for (let tries = 0; ids.size < wanted && tries < wanted * 4; tries++) {
      const edge = random();
      ids.add(edge < 0.005 ? 0 : edge < 0.01 ? 0xffffffff : pick(random()) >>> 0);
    }
    const frequencies = [...ids].map(() =>
      random() < 0.002 ? 0x10000 + Math.floor(random() * 1e6) : 1 + Math.floor(12 * random() ** 4),
    );
    rowid += 1 + Math.floor(random() * 3);
    chunks.push({
      rowid,
      length: random() < 0.01 ? 0x10000 + Math.floor(random() * 1e6) : Math.floor(random() * 4000),
      termFrequencies: Uint32Array.from([...ids, ...frequencies]),
    });
  }
  return chunks;
}

describe("building a segment", () => {
  const expectSameBytes = (chunks: SegmentInput, parameters = PARAMETERS) => {
    const built = SealedSegment.build(chunks, parameters).bytes;
    const reference = referenceBytes(chunks, parameters);
    expect(built.byteLength).toBe(reference.byteLength);
    // Compared as a whole (a first differing byte would be hard to read as a diff of 100 kB).
    expect(Buffer.from(built).equals(Buffer.from(reference))).toBe(true);
  };

  it("writes the same bytes as the plain layout for empty and tiny segments", () => {
    expectSameBytes([]);
    expectSameBytes([{ rowid: 7, length: 0, termFrequencies: new Uint32Array(0) }]);
    expectSameBytes(chunks(300));
    expectSameBytes(chunks(300), { k1: 2, b: 0.3 });
  });

  it("writes the same bytes for text-shaped segments of one and of eight segments' worth", () => {
    // Zipf-like: a few ids in most chunks, a long tail seen once.
    const wordLike = (vocabulary: number) => (random: number) =>
      Math.floor(vocabulary * random ** 3) * 2654435761;
    expectSameBytes(randomChunks(1, 1_000, 200, wordLike(20_000)));
    expectSameBytes(randomChunks(2, 8_000, 150, wordLike(60_000)));
  });

  it("writes the same bytes when ids share their low or high bits, or are all distinct", () => {
    expectSameBytes(randomChunks(3, 2_000, 100, (random) => Math.floor(random * 3_000) * 0x10000));
    expectSameBytes(randomChunks(4, 2_000, 100, (random) => Math.floor(random * 0x10000)));
    // Every id new: the table grows many times over.
    expectSameBytes(randomChunks(5, 1_500, 300, (random) => random * 2 ** 32));
  });

  it("writes the same bytes for a term repeated within a chunk (two postings, as before)", () => {
    expectSameBytes([
      { rowid: 1, length: 4, termFrequencies: Uint32Array.from([5, 9, 5, 2, 1, 3]) },
      { rowid: 2, length: 2, termFrequencies: Uint32Array.from([9, 5, 1, 1]) },
    ]);
  });

  it("builds the largest segment (65,535 chunks) the same", () => {
    expectSameBytes(randomChunks(6, 65_535, 24, (random) => Math.floor(100_000 * random ** 2) * 2654435761));
  });
});
