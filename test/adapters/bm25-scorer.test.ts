/**
 * The pruned BM25 scorer against visiting every posting, on random corpora shaped like the ones that
 * stress it: many parts, Zipf-skewed terms (long lists of common terms, short ones of rare terms),
 * chunks repeated exactly across parts (ties, which prefer the lower rowid), removed chunks, long and
 * short questions. Pruned and exhaustive scoring must return the same rowids with the same scores in
 * the same order.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import {
  Bm25Scorer,
  emptyPostingList,
  type IndexPart,
  Leaders,
  MAXIMUM_SEGMENT_CHUNKS,
  type QueryTerm,
  SealedSegment,
  sortSlots,
  TailPart,
  type TermFrequencies,
  TopEntries,
} from "../../src/adapters/sqlite/bm25-index.js";
import { seededRandom } from "../support/seeded-random.js";

const PARAMETERS = { k1: 1.2, b: 0.75 };

interface Chunk {
  rowid: number;
  length: number;
  termFrequencies: TermFrequencies;
}

/** A chunk of `length` terms drawn Zipf-like from `vocabulary` term ids (1 … vocabulary). */
function chunkTerms(next: () => number, length: number, vocabulary: number): TermFrequencies {
  const counts = new Map<number, number>();
  for (let index = 0; index < length; index++) {
    const term = 1 + Math.floor(vocabulary * next() ** 3);
    counts.set(term, (counts.get(term) ?? 0) + 1);
  }
  return Uint32Array.from([...counts.keys(), ...counts.values()]);
}

interface Corpus {
  parts: Array<SealedSegment | TailPart>;
  vocabulary: number;
}

/**
 * `originals` distinct chunks, each repeated `copies` times under new rowids (as a replicated data
 * set), split into segments of random sizes and a tail; then a share of them removed.
 */
function corpus(seed: number, originals: number, copies: number, vocabulary: number): Corpus {
  const next = seededRandom(seed);
  const distinct = Array.from({ length: originals }, () => {
    const length = 1 + Math.floor(next() * 60);
    return { length, termFrequencies: chunkTerms(next, length, vocabulary) };
  });
  const chunks: Chunk[] = [];
  for (let copy = 0; copy < copies; copy++) {
    for (const chunk of distinct) chunks.push({ rowid: chunks.length + 1, ...chunk });
  }
  const parts: Array<SealedSegment | TailPart> = [];
  let from = 0;
  while (from < chunks.length) {
    const size = Math.min(chunks.length - from, 50 + Math.floor(next() * 1_500));
    const run = chunks.slice(from, from + size);
    from += size;
    if (from >= chunks.length) {
      const tail = new TailPart();
      for (const chunk of run) tail.add(chunk.rowid, chunk.length, chunk.termFrequencies);
      parts.push(tail);
    } else {
      parts.push(SealedSegment.build(run, PARAMETERS));
    }
  }
  for (const chunk of chunks) {
    if (next() >= 0.08) continue;
    for (const part of parts) {
      if (part.remove(chunk.rowid, chunk.termFrequencies)) break;
    }
  }
  return { parts, vocabulary };
}

function search(scorer: Bm25Scorer, parts: IndexPart[], query: QueryTerm[], limit: number) {
  let documentCount = 0;
  let totalLength = 0;
  for (const part of parts as Array<SealedSegment | TailPart>) {
    documentCount += part.liveCount;
    totalLength += part.liveLength;
  }
  const best = new TopEntries(limit);
  scorer.score(
    parts,
    query,
    { documentCount, averageLength: totalLength / documentCount, ...PARAMETERS },
    best,
  );
  return best.sorted();
}

function question(next: () => number, vocabulary: number): QueryTerm[] {
  const terms = new Set<number>();
  const length = 1 + Math.floor(next() * 20);
  // Mostly rarer terms, as questions are, with some common ones among them.
  for (let index = 0; index < length; index++) terms.add(1 + Math.floor(vocabulary * next() ** 1.5));
  return [...terms].map((termId) => ({ termId, weight: 1 }));
}

describe("Bm25Scorer pruning", () => {
  const pruned = new Bm25Scorer();
  const exhaustive = new Bm25Scorer(false);

  for (const [seed, originals, copies, vocabulary] of [
    [1, 400, 12, 300],
    [2, 2_000, 3, 2_000],
    [3, 150, 40, 60],
    [4, 3_000, 1, 800],
  ] as const) {
    it(`equals exhaustive scoring (corpus ${seed}: ${originals} chunks × ${copies} copies, ${vocabulary} terms)`, () => {
      const { parts } = corpus(seed, originals, copies, vocabulary);
      const next = seededRandom(seed * 101);
      let nonEmpty = 0;
      for (let query = 0; query < 80; query++) {
        const terms = question(next, vocabulary);
        for (const limit of [1, 7, 20, 60]) {
          const expected = search(exhaustive, parts, terms, limit);
          expect(search(pruned, parts, terms, limit)).toEqual(expected);
          if (expected.length > 0) nonEmpty++;
        }
      }
      expect(nonEmpty).toBeGreaterThan(200);
    });
  }

  it("equals exhaustive scoring for a question of hundreds of terms (the seed's search budget spent)", () => {
    const { parts } = corpus(6, 3_000, 2, 500);
    const next = seededRandom(606);
    for (let query = 0; query < 5; query++) {
      const terms = Array.from({ length: 400 }, () => 1 + Math.floor(500 * next()));
      const question = [...new Set(terms)].map((termId) => ({ termId, weight: 1 }));
      expect(question.length).toBeGreaterThan(200);
      expect(search(pruned, parts, question, 20)).toEqual(search(exhaustive, parts, question, 20));
    }
  });

  it("equals exhaustive scoring when the chunks that lead on the rarest terms are not the best", () => {
    // Terms 1 and 2 are rare; 3 … 8 are common. Decoys hold both rare terms in long chunks; the
    // best chunks hold one rare term and the common ones in short chunks, in later parts too.
    const next = seededRandom(77);
    const chunks: Chunk[] = [];
    for (let index = 0; index < 6_000; index++) {
      const kind = next();
      const terms: number[] = [];
      if (kind < 0.01) terms.push(1, 2, ...Array.from({ length: 200 }, () => 100 + Math.floor(next() * 50)));
      else if (kind < 0.02) terms.push(1, 3, 4, 5, 6, 7, 8);
      else
        for (let term = 3; term <= 8; term++)
          if (next() < 0.3) terms.push(term, 100 + Math.floor(next() * 50));
      const counts = new Map<number, number>();
      for (const term of terms) counts.set(term, (counts.get(term) ?? 0) + 1);
      chunks.push({
        rowid: index + 1,
        length: terms.length,
        termFrequencies: Uint32Array.from([...counts.keys(), ...counts.values()]),
      });
    }
    const parts: IndexPart[] = [];
    for (let from = 0; from < chunks.length; from += 400) {
      parts.push(SealedSegment.build(chunks.slice(from, from + 400), PARAMETERS));
    }
    const question = [1, 2, 3, 4, 5, 6, 7, 8].map((termId) => ({ termId, weight: 1 }));
    for (const limit of [1, 5, 20, 40, 200]) {
      const expected = search(exhaustive, parts, question, limit);
      expect(expected.length).toBe(limit);
      expect(search(pruned, parts, question, limit)).toEqual(expected);
    }
  });

  it("equals exhaustive scoring when the rarest term of a question is in nearly every chunk", () => {
    // Its lists hold more postings than the threshold seed reads, so the seed leaves parts out.
    const { parts } = corpus(8, 4_000, 12, 4);
    const next = seededRandom(808);
    for (let query = 0; query < 10; query++) {
      const question = [1, 2, 3, 4].filter(() => next() < 0.7).map((termId) => ({ termId, weight: 1 }));
      for (const limit of [1, 20]) {
        expect(search(pruned, parts, question, limit)).toEqual(search(exhaustive, parts, question, limit));
      }
    }
  });

  it("equals exhaustive scoring when the rarest lists hold fewer chunks than asked for", () => {
    const { parts } = corpus(9, 2_000, 4, 3_000);
    const next = seededRandom(909);
    for (let query = 0; query < 40; query++) {
      // One very rare term (a handful of chunks at most) among common ones.
      const question = [2_900 + Math.floor(next() * 100), 1, 2, 3].map((termId) => ({ termId, weight: 1 }));
      for (const limit of [60, 300]) {
        expect(search(pruned, parts, question, limit)).toEqual(search(exhaustive, parts, question, limit));
      }
    }
  });

  it("follows removals made after the lists were first read (document frequencies included)", () => {
    const next = seededRandom(66);
    const chunks: Chunk[] = Array.from({ length: 900 }, (_, index) => {
      const length = 1 + Math.floor(next() * 30);
      return { rowid: index + 1, length, termFrequencies: chunkTerms(next, length, 50) };
    });
    const segment = SealedSegment.build(chunks.slice(0, 600), PARAMETERS);
    const tail = new TailPart();
    for (const chunk of chunks.slice(600)) tail.add(chunk.rowid, chunk.length, chunk.termFrequencies);
    const parts = [segment, tail];
    const questions = Array.from({ length: 20 }, () => question(next, 50));
    const before = questions.map((terms) => search(pruned, parts, terms, 10));
    for (const chunk of chunks) {
      if (chunk.rowid % 3 === 0)
        (chunk.rowid <= 600 ? segment : tail).remove(chunk.rowid, chunk.termFrequencies);
    }
    // The scores move with the document frequencies: parts rebuilt from the live chunks score alike.
    const live = chunks.filter((chunk) => chunk.rowid % 3 !== 0);
    const rebuiltTail = new TailPart();
    for (const chunk of live.filter((chunk) => chunk.rowid > 600)) {
      rebuiltTail.add(chunk.rowid, chunk.length, chunk.termFrequencies);
    }
    const rebuilt = [
      SealedSegment.build(
        live.filter((chunk) => chunk.rowid <= 600),
        PARAMETERS,
      ),
      rebuiltTail,
    ];
    questions.forEach((terms, index) => {
      const after = search(pruned, parts, terms, 10);
      expect(after).toEqual(search(exhaustive, parts, terms, 10));
      // Summed in another order (the rebuilt lists have other bounds), so equal to rounding.
      const reference = search(exhaustive, rebuilt, terms, 10);
      expect(after.map(([rowid]) => rowid)).toEqual(reference.map(([rowid]) => rowid));
      after.forEach(([, score], rank) => {
        expect(score).toBeCloseTo(reference[rank]?.[1] ?? Number.NaN, 9);
      });
      for (const [rowid] of after) expect(rowid % 3).not.toBe(0);
      if ((before[index] as Array<[number, number]>).length > 0) expect(after).not.toEqual(before[index]);
    });
  });

  it("keeps the lowest rowids among exact ties", () => {
    const { parts } = corpus(5, 100, 30, 40);
    const next = seededRandom(55);
    for (let query = 0; query < 30; query++) {
      const ranked = search(pruned, parts, question(next, 40), 20);
      for (let index = 1; index < ranked.length; index++) {
        const [rowid, score] = ranked[index] as [number, number];
        const [previousRowid, previousScore] = ranked[index - 1] as [number, number];
        expect(score).toBeLessThanOrEqual(previousScore);
        if (score === previousScore) expect(rowid).toBeGreaterThan(previousRowid);
      }
    }
  });
});

describe("Bm25Scorer matched terms", () => {
  it("counts, for each chunk it keeps, the question's terms the chunk holds, as its part's lists say", () => {
    const { parts, vocabulary } = corpus(8, 1_500, 4, 400);
    const statistics = (live: Array<SealedSegment | TailPart>) => {
      const documentCount = live.reduce((sum, part) => sum + part.liveCount, 0);
      const totalLength = live.reduce((sum, part) => sum + part.liveLength, 0);
      return { documentCount, averageLength: totalLength / documentCount, ...PARAMETERS };
    };
    const next = seededRandom(808);
    let counted = 0;
    const seen = new Set<number>();
    for (const scorer of [new Bm25Scorer(), new Bm25Scorer(false)]) {
      for (let query = 0; query < 60; query++) {
        const terms = question(next, vocabulary);
        // Terms no chunk holds, and a part left out, count as nothing.
        terms.push({ termId: vocabulary + 1, weight: 1 });
        const asked = query % 3 === 0 ? parts.slice(1) : parts;
        const best = new TopEntries(1 + (query % 40));
        const held = new Map<number, number>();
        scorer.score(asked, terms, statistics(asked), best, held);
        const results = best.sorted();
        expect([...held.keys()].sort((left, right) => left - right)).toEqual(
          results.map(([rowid]) => rowid).sort((left, right) => left - right),
        );
        const termIds = terms.map((term) => term.termId);
        for (const [rowid] of results) {
          const expected = Math.max(...asked.map((part) => part.termsHeld(rowid, termIds)));
          expect(held.get(rowid), `rowid ${rowid}`).toBe(expected);
          seen.add(expected);
          counted++;
        }
      }
    }
    expect(counted).toBeGreaterThan(1_000);
    // Chunks holding one, several and many of the terms were all counted.
    expect(Math.max(...seen)).toBeGreaterThan(4);
    expect(seen.has(1)).toBe(true);
  });

  it("counts nothing when the entries kept were offered before the question", () => {
    const { parts, vocabulary } = corpus(9, 300, 2, 100);
    const documentCount = parts.reduce((sum, part) => sum + part.liveCount, 0);
    const totalLength = parts.reduce((sum, part) => sum + part.liveLength, 0);
    const terms = question(seededRandom(909), vocabulary);
    const best = new TopEntries(5);
    best.offer(1, 0.001);
    const held = new Map<number, number>();
    new Bm25Scorer().score(
      parts,
      terms,
      { documentCount, averageLength: totalLength / documentCount, ...PARAMETERS },
      best,
      held,
    );
    expect(best.sorted().length).toBe(5);
    expect(held.size).toBe(0);
  });
});

describe("TopEntries", () => {
  it("keeps the highest scores, the lowest rowids among ties, as sorting every entry would", () => {
    const next = seededRandom(77);
    for (let round = 0; round < 300; round++) {
      const count = Math.floor(next() * 200);
      const limit = Math.floor(next() * 30);
      // Few distinct scores, so ties are common; rowids in random order, as parts offer them.
      const distinctScores = 1 + Math.floor(next() * 12);
      const rowids = Array.from({ length: count }, (_, index) => index + 1).sort(() => next() - 0.5);
      const entries = rowids.map((rowid): [number, number] => [
        rowid,
        Math.floor(next() * distinctScores) / 4,
      ]);
      const best = new TopEntries(limit);
      for (const [rowid, score] of entries) {
        best.offer(rowid, score);
        const kept = best.sorted();
        if (limit > 0)
          expect(best.threshold()).toBe(kept.length < limit ? 0 : (kept.at(-1) as [number, number])[1]);
      }
      const expected = [...entries]
        .sort((left, right) => right[1] - left[1] || left[0] - right[0])
        .slice(0, limit);
      expect(best.sorted()).toEqual(expected);
    }
  });
});

describe("Bm25Scorer reuse", () => {
  it("scores a question as a fresh scorer does after questions of other lengths over other parts", () => {
    // The scorer keeps its lists between questions: none of one question's may reach the next.
    const corpora = [corpus(11, 600, 3, 400), corpus(12, 300, 1, 90), corpus(13, 900, 6, 1_500)];
    const reused = new Bm25Scorer();
    const next = seededRandom(1_111);
    for (let query = 0; query < 60; query++) {
      const { parts, vocabulary } = corpora[query % corpora.length] as Corpus;
      // A shrinking and growing run of parts and of terms, so stale lists sit past the counts in use.
      const used = parts.slice(0, 1 + Math.floor(next() * parts.length));
      const terms = question(next, vocabulary);
      for (const limit of [1, 20]) {
        expect(search(reused, used, terms, limit)).toEqual(search(new Bm25Scorer(false), used, terms, limit));
        expect(search(reused, used, terms, limit)).toEqual(search(new Bm25Scorer(), used, terms, limit));
      }
    }
  });
});

describe("Bm25Scorer after a question", () => {
  it("holds no part's posting arrays, so a part the index let go of can be collected", async () => {
    // The scorer keeps its list objects from question to question; the parts' arrays must not stay
    // in them (a compacted segment's arrays would otherwise live on until a later question overwrote them).
    setFlagsFromString("--expose-gc");
    const collect = runInNewContext("gc") as () => void;
    const scorer = new Bm25Scorer();
    const held: Array<WeakRef<Uint16Array>> = [];
    (() => {
      const { parts, vocabulary } = corpus(21, 500, 2, 200);
      const next = seededRandom(2_121);
      const list = emptyPostingList();
      for (const part of parts) {
        let termId = 1;
        while (!part.readList(termId, list)) termId++;
        held.push(new WeakRef(list.slots));
      }
      list.slots = new Uint16Array(0);
      for (let query = 0; query < 20; query++) search(scorer, parts, question(next, vocabulary), 20);
    })();
    expect(held.length).toBeGreaterThan(1);
    // WeakRefs read in this job stay alive until it ends: let it end before collecting.
    await new Promise((resolve) => setImmediate(resolve));
    collect();
    expect(held.filter((reference) => reference.deref() !== undefined)).toHaveLength(0);
  });
});

describe("Bm25Scorer summing order", () => {
  it("adds the contributions of lists of equal bounds in the question's order", () => {
    // Terms 1, 2 and 3 have lists of equal bounds (same document frequency, highest frequency and
    // shortest chunk) but other frequencies per chunk; floating-point sums depend on their order.
    const tf = [
      [1, 2, 3],
      [3, 1, 2],
      [2, 3, 1],
    ];
    const chunks = tf.map((frequencies, index) => ({
      rowid: index + 1,
      length: 6,
      termFrequencies: Uint32Array.of(1, 2, 3, ...frequencies),
    }));
    for (let index = 0; index < 20; index++) {
      chunks.push({ rowid: chunks.length + 1, length: 4, termFrequencies: Uint32Array.of(9, 4) });
    }
    const parts = [SealedSegment.build(chunks, PARAMETERS)];
    const { k1, b } = PARAMETERS;
    const averageLength = (3 * 6 + 20 * 4) / 23;
    const termWeight = Math.log(1 + (23 - 3 + 0.5) / (3 + 0.5)) * (k1 + 1);
    const contribution = (frequency: number) =>
      (termWeight * frequency) / (frequency + (1 - b) * k1 + ((b * k1) / averageLength) * 6);
    let orderMatters = false;
    let firstOrder: Map<number, number> | undefined;
    for (const order of [
      [1, 2, 3],
      [3, 2, 1],
      [2, 3, 1],
      [1, 3, 2],
      [3, 1, 2],
      [2, 1, 3],
    ]) {
      const query = order.map((termId) => ({ termId, weight: 1 }));
      const expected = tf
        .map((frequencies, index): [number, number] => {
          let score = 0;
          for (const termId of order) score = score + contribution(frequencies[termId - 1] as number);
          return [index + 1, score];
        })
        .sort((left, right) => right[1] - left[1] || left[0] - right[0]);
      const inQuestionOrder = new Map(expected);
      firstOrder ??= inQuestionOrder;
      for (const [rowid, score] of inQuestionOrder) if (firstOrder.get(rowid) !== score) orderMatters = true;
      for (const scorer of [new Bm25Scorer(), new Bm25Scorer(false)]) {
        expect(search(scorer, parts, query, 3)).toEqual(expected);
      }
    }
    expect(orderMatters).toBe(true);
  });
});

describe("Leaders", () => {
  it("keeps the entries of the highest scores and orders them by part, then slot", () => {
    const next = seededRandom(4_242);
    const leaders = new Leaders();
    for (let round = 0; round < 50; round++) {
      const capacity = 1 + Math.floor(next() * 120);
      const count = Math.floor(next() * 400);
      // Distinct scores; parts past 2^15 and slots up to the largest a segment has.
      const entries = Array.from({ length: count }, (_, index) => ({
        score: index + next() / 2,
        part: Math.floor(next() ** 2 * 70_000),
        slot: next() < 0.1 ? MAXIMUM_SEGMENT_CHUNKS - 1 : Math.floor(next() * MAXIMUM_SEGMENT_CHUNKS),
      })).sort(() => next() - 0.5);
      leaders.reset(capacity);
      for (const { score, part, slot } of entries) leaders.offer(score, part, slot);
      leaders.sortByPlace();
      const expected = [...entries]
        .sort((left, right) => right.score - left.score)
        .slice(0, capacity)
        .sort((left, right) => left.part - right.part || left.slot - right.slot)
        .map(({ part, slot }) => [part, slot]);
      const placed = Array.from({ length: leaders.size }, (_, index) => [
        leaders.parts[index],
        leaders.slots[index],
      ]);
      expect(placed).toEqual(expected);
    }
  });
});

describe("sortSlots", () => {
  it("sorts 16-bit slots ascending in place, as a numeric sort does", () => {
    const next = seededRandom(5_151);
    const scratch = new Int32Array(70_000);
    const digitCounts = new Int32Array(256);
    for (let round = 0; round < 40; round++) {
      const count = round === 0 ? 0 : Math.floor(next() * (round < 30 ? 600 : 65_535));
      // Runs that ascend, as the completion's candidates do, and slots in random order, largest included.
      const slots = new Int32Array(count + 5).fill(-7);
      for (let index = 0; index < count; index++) {
        slots[index] = next() < 0.5 ? (index * 97) % MAXIMUM_SEGMENT_CHUNKS : Math.floor(next() * 0x10000);
      }
      const expected = [...slots.subarray(0, count)].sort((left, right) => left - right);
      sortSlots(slots, count, scratch, digitCounts);
      expect([...slots.subarray(0, count)]).toEqual(expected);
      // What lies past the count is left as it was.
      expect([...slots.subarray(count)]).toEqual([-7, -7, -7, -7, -7]);
    }
  });
});
