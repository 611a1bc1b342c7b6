/**
 * Sealed index segments as persisted: version 2 stores each list's score bound with the k1 and b it
 * was computed with; a version 1 segment (written before) and a segment read with other parameters
 * derive their bounds instead, and every form scores the same.
 */
import { describe, expect, it } from "vitest";
import {
  Bm25Scorer,
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
  const bounds = (segment: SealedSegment) => TERMS.map((term) => segment.list(term)?.maximumImpact);

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
