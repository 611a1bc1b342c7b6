/**
 * An in-memory inverted index over one scope's chunks, built from the forward index stored in SQLite
 * (`knowledge_chunks.term_frequencies`) and scored with BM25 (Lucene's IDF, which stays positive).
 *
 * Posting lists hold chunk slots (0..n-1) rather than rowids, so scoring accumulates into a dense
 * Float64Array; growable plain arrays of small integers stay compact in V8.
 */
export class Bm25Index {
  /** Chunk slot → SQLite rowid. Removals rebuild the index instead (re-indexing is rare next to adding). */
  private readonly rowids: number[] = [];
  private readonly lengths: number[] = [];
  private readonly postings = new Map<number, { slots: number[]; frequencies: number[] }>();
  private liveCount = 0;
  private liveLength = 0;

  get chunkCount(): number {
    return this.liveCount;
  }

  get totalLength(): number {
    return this.liveLength;
  }

  add(rowid: number, length: number, termFrequencies: Uint32Array): void {
    const slot = this.rowids.length;
    this.rowids.push(rowid);
    this.lengths.push(length);
    this.liveCount++;
    this.liveLength += length;
    const distinct = termFrequencies.length / 2;
    for (let index = 0; index < distinct; index++) {
      const termId = termFrequencies[index] as number;
      let list = this.postings.get(termId);
      if (!list) {
        list = { slots: [], frequencies: [] };
        this.postings.set(termId, list);
      }
      list.slots.push(slot);
      list.frequencies.push(termFrequencies[distinct + index] as number);
    }
  }

  documentFrequency(termId: number): number {
    return this.postings.get(termId)?.slots.length ?? 0;
  }

  /**
   * Adds this index's BM25 contributions for the query to `into` (rowid → score). Corpus statistics
   * (`documentCount`, `averageLength`, document frequencies) are those of everything the asker sees,
   * which may span several indexes.
   */
  score(
    query: Array<{ termId: number; weight: number; documentFrequency: number }>,
    statistics: { documentCount: number; averageLength: number; k1: number; b: number },
    limit: number,
  ): Array<[number, number]> {
    const { documentCount, averageLength, k1, b } = statistics;
    const scores = new Float64Array(this.rowids.length);
    const touched: number[] = [];
    const lengthWeight = (b * k1) / averageLength;
    const constantWeight = (1 - b) * k1;
    for (const { termId, weight, documentFrequency } of query) {
      const list = this.postings.get(termId);
      if (!list || documentFrequency === 0) continue;
      const idf = Math.log(1 + (documentCount - documentFrequency + 0.5) / (documentFrequency + 0.5));
      const termWeight = idf * weight * (k1 + 1);
      const { slots, frequencies } = list;
      for (let index = 0; index < slots.length; index++) {
        const slot = slots[index] as number;
        const frequency = frequencies[index] as number;
        if (scores[slot] === 0) touched.push(slot);
        scores[slot] =
          (scores[slot] as number) +
          (termWeight * frequency) /
            (frequency + constantWeight + lengthWeight * (this.lengths[slot] as number));
      }
    }
    const best = new TopEntries(limit);
    for (const slot of touched) {
      best.offer(this.rowids[slot] as number, scores[slot] as number);
    }
    return best.sorted();
  }
}

/** Keeps the `limit` highest scores seen (a binary min-heap on score); ties prefer the lower rowid. */
export class TopEntries {
  private readonly heap: Array<[number, number]> = [];

  constructor(private readonly limit: number) {}

  offer(rowid: number, score: number): void {
    if (this.limit <= 0) return;
    const heap = this.heap;
    if (heap.length < this.limit) {
      heap.push([rowid, score]);
      this.siftUp(heap.length - 1);
      return;
    }
    const root = heap[0] as [number, number];
    if (!worse(root, [rowid, score])) return;
    heap[0] = [rowid, score];
    this.siftDown(0);
  }

  sorted(): Array<[number, number]> {
    return [...this.heap].sort((left, right) => right[1] - left[1] || left[0] - right[0]);
  }

  private siftUp(index: number): void {
    const heap = this.heap;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!worse(heap[index] as [number, number], heap[parent] as [number, number])) return;
      [heap[index], heap[parent]] = [heap[parent] as [number, number], heap[index] as [number, number]];
      index = parent;
    }
  }

  private siftDown(index: number): void {
    const heap = this.heap;
    for (;;) {
      const left = index * 2 + 1;
      const right = left + 1;
      let smallest = index;
      if (left < heap.length && worse(heap[left] as [number, number], heap[smallest] as [number, number])) {
        smallest = left;
      }
      if (right < heap.length && worse(heap[right] as [number, number], heap[smallest] as [number, number])) {
        smallest = right;
      }
      if (smallest === index) return;
      [heap[index], heap[smallest]] = [heap[smallest] as [number, number], heap[index] as [number, number]];
      index = smallest;
    }
  }
}

function worse(left: [number, number], right: [number, number]): boolean {
  return left[1] < right[1] || (left[1] === right[1] && left[0] > right[0]);
}
