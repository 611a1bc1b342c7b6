/**
 * The embedded BM25 index of one scope, as parts that each hold the postings of a run of chunks:
 * sealed segments (immutable typed arrays, persisted in SQLite as blobs, loaded at start instead of
 * rebuilt) and one growable tail for the chunks added since the last seal. Removing a chunk only sets
 * its tombstone and adjusts the counts of its own terms, so adding, replacing or forgetting a document
 * touches its own postings and nothing else.
 *
 * Written by hand because no maintained JavaScript library offers an inverted index that updates in
 * place, persists as typed arrays and scores with exact top-k pruning; MiniSearch, Lunr, wink-bm25 and
 * Orama all rebuild or hold plain objects (measured in issue 14 and `npm run bench -- retrieval`).
 *
 * Scoring is BM25 with Lucene's IDF (which stays positive), term at a time over typed arrays, with
 * MaxScore pruning (Turtle & Flood, 1995): lists are visited from the highest score bound down; once
 * the bounds of the lists left cannot lift an unseen chunk to the current k-th score, only the chunks
 * already seen are completed: by more passes over lists while a list is short against the chunks
 * that may still make it, then chunk by chunk in slot order by galloping search into the lists left,
 * each chunk dropped as soon as it cannot make it. The threshold is carried from part to part and
 * seeded before the first from the whole index: the chunks that lead on each part's rarest lists,
 * scored in full. Block-max bounds (per 128 postings) were tried and left out: on short chunks a
 * block's best posting is nearly the list's (a third of the candidates fell away, at more cost than
 * it saved). The pruning is exact: the same chunks with the same scores as visiting every posting in
 * the same order (tested).
 */

/** Chunk slots of a segment are 16-bit: at most this many chunks per segment. */
export const MAXIMUM_SEGMENT_CHUNKS = 0xffff;

/** Version 2 adds each list's score bound and the k1, b it was computed with; version 1 still loads. */
const FORMAT_VERSION = 2;
const HEADER_BYTES = 16;
// A bound computed in another order than the contribution it bounds may round below it.
const BOUND_SLACK = 1 + 1e-9;

export interface QueryTerm {
  termId: number;
  /** Per-term weight of the query (1 per distinct term). */
  weight: number;
}

export interface Bm25Statistics {
  documentCount: number;
  averageLength: number;
  k1: number;
  b: number;
}

/**
 * One posting list as the scorer reads it (typed arrays only, so its loops stay monomorphic). A part
 * fills one the scorer keeps (`readList`), so looking a term up allocates nothing.
 */
export interface PostingList {
  slots: Uint16Array;
  frequencies: Uint16Array;
  start: number;
  end: number;
  maximumFrequency: number;
  minimumLength: number;
  /** Live chunks of the part in the list: the part's share of the term's document frequency. */
  documentFrequency: number;
  /**
   * The list's highest tf / (tf + k1·(1 − b) + k1·b·length / referenceAverage): with the corpus
   * average at `referenceAverage` no posting scores more. At another average A it bounds the list
   * by itself times max(1, A / referenceAverage) (the denominator shrinks by at most that factor).
   * -1 when the part keeps no such bound (the tail).
   */
  maximumImpact: number;
  referenceAverage: number;
}

/** What a kept list holds between questions. */
const NO_POSTINGS = new Uint16Array(0);

/** An empty list to fill, of the one shape every list has (fractions, so its numbers are doubles). */
export function emptyPostingList(): PostingList {
  return {
    slots: NO_POSTINGS,
    frequencies: NO_POSTINGS,
    start: 0,
    end: 0,
    maximumFrequency: 0,
    minimumLength: 0,
    documentFrequency: 0,
    maximumImpact: -0.5,
    referenceAverage: 0.5,
  };
}

/** BM25 parameters a segment computes its score bounds with. */
export interface Bm25Parameters {
  k1: number;
  b: number;
}

/** What the scorer needs of a part: its postings, lengths, rowids and tombstones. */
export interface IndexPart {
  readonly size: number;
  /** Chunks not removed (below `size` when some are). */
  readonly liveCount: number;
  /** Fills `into` with the term's posting list; false (and `into` untouched) when it has none. */
  readList(termId: number, into: PostingList): boolean;
  /** Length per slot (terms in the chunk). */
  readonly lengths: Uint32Array;
  /** 1 per removed slot. */
  readonly deleted: Uint8Array;
  rowidOf(slot: number): number;
}

/** Distinct term ids then their frequencies, as stored with each chunk (`term_frequencies`). */
export type TermFrequencies = Uint32Array;

interface Tombstones {
  deleted: Uint8Array;
  deletedFrequency: Map<number, number>;
}

function markDeleted(tombstones: Tombstones, slot: number, termFrequencies: TermFrequencies): void {
  tombstones.deleted[slot] = 1;
  const distinct = termFrequencies.length / 2;
  for (let index = 0; index < distinct; index++) {
    const termId = termFrequencies[index] as number;
    tombstones.deletedFrequency.set(termId, (tombstones.deletedFrequency.get(termId) ?? 0) + 1);
  }
}

/** Index of `rowid` in an ascending array, or -1. */
function findRowid(rowids: ArrayLike<number>, count: number, rowid: number): number {
  let low = 0;
  let high = count - 1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    const value = rowids[middle] as number;
    if (value === rowid) return middle;
    if (value < rowid) low = middle + 1;
    else high = middle - 1;
  }
  return -1;
}

/** Whether `slots` (ascending) holds `slot` between `start` and `end`. */
function hasSlot(slots: ArrayLike<number>, start: number, end: number, slot: number): boolean {
  let low = start;
  let high = end - 1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    const value = slots[middle] as number;
    if (value === slot) return true;
    if (value < slot) low = middle + 1;
    else high = middle - 1;
  }
  return false;
}

/**
 * What a sealed segment and the tail keep alike: their chunks' rowids in ascending order, and the
 * chunks removed since (tombstones, with their count and total length for the BM25 statistics).
 */
abstract class RowidPart {
  protected abstract readonly rowids: ArrayLike<number>;
  protected abstract readonly tombstones: Tombstones;
  protected abstract readonly totalLength: number;
  abstract readonly lengths: Uint32Array;
  /**
   * Chunks removed and their total length, as elements rather than fields: V8 compiles code that reads
   * a field never written since its object was made with the field's value folded in, and the first
   * removal of a process then threw away the scorer's compiled code (bm25, scorePart, the seed, every
   * function that read the live count), leaving the first queries after a re-index to the interpreter
   * (3–20 ms at 100k chunks instead of ~2).
   */
  private readonly removedTotals = new Float64Array(2);

  get size(): number {
    return this.rowids.length;
  }

  get lastRowid(): number {
    return this.rowids[this.rowids.length - 1] ?? 0;
  }

  get liveCount(): number {
    return this.rowids.length - (this.removedTotals[0] as number);
  }

  get liveLength(): number {
    return this.totalLength - (this.removedTotals[1] as number);
  }

  get deleted(): Uint8Array {
    return this.tombstones.deleted;
  }

  rowidOf(slot: number): number {
    return this.rowids[slot] as number;
  }

  /** Whether the term's posting list holds `slot`; reads no list (unlike `readList`). */
  protected abstract holds(termId: number, slot: number): boolean;

  /**
   * How many of `termIds` the chunk at `rowid` holds, read from the posting lists; -1 when the
   * chunk is not in this part.
   */
  termsHeld(rowid: number, termIds: readonly number[]): number {
    const slot = findRowid(this.rowids, this.rowids.length, rowid);
    if (slot < 0) return -1;
    let held = 0;
    for (const termId of termIds) if (this.holds(termId, slot)) held++;
    return held;
  }

  /** Tombstones a chunk of this part; false when it is not here or already gone. */
  remove(rowid: number, termFrequencies: TermFrequencies): boolean {
    const slot = findRowid(this.rowids, this.rowids.length, rowid);
    if (slot < 0 || this.tombstones.deleted[slot] === 1) return false;
    markDeleted(this.tombstones, slot, termFrequencies);
    this.removedTotals[0] = (this.removedTotals[0] as number) + 1;
    this.removedTotals[1] = (this.removedTotals[1] as number) + (this.lengths[slot] as number);
    return true;
  }
}

/**
 * An immutable run of chunks in typed arrays. Layout of the serialized form (little-endian, every
 * array aligned to its element size): a 16-byte header (format, chunks, terms, postings), rowids
 * (Float64), lengths (Uint32), term ids ascending (Uint32), list offsets (Uint32, terms + 1), minimum
 * length per list (Uint32), slots (Uint16), frequencies (Uint16), maximum frequency per list (Uint16);
 * from version 2, at the next multiple of 8: k1 and b (Float64) and each list's highest impact
 * (Float64, see `maximumImpact`), so a restart reads the bounds instead of passing over every posting.
 */
export class SealedSegment extends RowidPart implements IndexPart {
  protected readonly tombstones: Tombstones;

  private constructor(
    readonly bytes: Uint8Array,
    protected readonly rowids: Float64Array,
    readonly lengths: Uint32Array,
    private readonly termIds: Uint32Array,
    private readonly offsets: Uint32Array,
    private readonly minimumLengths: Uint32Array,
    private readonly slots: Uint16Array,
    private readonly frequencies: Uint16Array,
    private readonly maximumFrequencies: Uint16Array,
    protected readonly totalLength: number,
    private readonly maximumImpacts: Float64Array,
    private readonly referenceAverage: number,
    private readonly parameters: Bm25Parameters,
  ) {
    super();
    this.tombstones = { deleted: new Uint8Array(rowids.length), deletedFrequency: new Map() };
  }

  /** Builds a segment from chunks in ascending rowid order. */
  static build(chunks: SegmentChunk[], parameters: Bm25Parameters): SealedSegment {
    if (chunks.length > MAXIMUM_SEGMENT_CHUNKS) {
      throw new RangeError(`a segment holds at most ${MAXIMUM_SEGMENT_CHUNKS} chunks`);
    }
    // Each loop is a function of its own: a segment is built a few times per ingest, so most of
    // its loops run before they are optimized, and a loop optimized within one long function gives
    // way to the interpreter again at the code after it, not yet run. What the loops need is made
    // here and handed in: on a helper's first call, the code before its loop runs before the helper
    // has a feedback vector (allocated once the loop is hot), so a helper compiled during that call
    // would have no type feedback for that code and deoptimize on its next call.
    let postingCount = 0;
    for (const chunk of chunks) postingCount += chunk.termFrequencies.length / 2;
    const lists = new TermNumbering();
    const postingTerms = new Uint32Array(postingCount);
    numberPostings(chunks, lists, postingTerms);
    const termCount = lists.size;
    const termIds = lists.keys().sort();
    const chunkCount = chunks.length;
    const bytes = new Uint8Array(
      SealedSegment.byteLength(chunkCount, termCount, postingCount, FORMAT_VERSION),
    );
    const header = new Uint32Array(bytes.buffer, 0, 4);
    header.set([FORMAT_VERSION, chunkCount, termCount, postingCount]);
    // The parameters the bounds are computed with, and the bounds themselves still unknown (-1).
    const boundsAt = SealedSegment.baseByteLength(chunkCount, termCount, postingCount);
    new Float64Array(bytes.buffer, boundsAt, 2).set([parameters.k1, parameters.b]);
    new Float64Array(bytes.buffer, boundsAt + 16, termCount).fill(-1);
    const segment = SealedSegment.view(
      bytes,
      chunkCount,
      termCount,
      postingCount,
      parameters,
      FORMAT_VERSION,
    );
    const { offsets, slots, frequencies, minimumLengths, maximumFrequencies, rowids, lengths } = segment;
    segment.termIds.set(termIds);
    const listOf = new Uint32Array(termCount);
    placeLists(lists, lists.counts, termIds, termCount, offsets, listOf);
    // The lists end where the postings do. Written here, not after placeLists' loop: that loop is
    // compiled on stack in the first build, before the code after it has run, and its compiled code
    // (kept for later builds) would deoptimize at that store at the end of every build.
    offsets[termCount] = postingCount;
    minimumLengths.fill(0xffffffff);
    placePostings(
      chunks,
      postingTerms,
      listOf,
      offsets.slice(0, termCount),
      rowids,
      lengths,
      slots,
      frequencies,
      maximumFrequencies,
      minimumLengths,
    );
    const built = SealedSegment.view(bytes, chunkCount, termCount, postingCount, parameters, FORMAT_VERSION);
    // The bounds are stored with the segment: computed here, where every posting is at hand anyway.
    built.computeMaximumImpacts(termCount);
    return built;
  }

  /**
   * Reads a serialized segment: in place when `data` is 8-byte aligned (a blob read from SQLite is a
   * buffer of its own), else copied so the views are aligned. A restart at 500k chunks reads ~0.3 GB.
   */
  static load(data: Uint8Array, parameters: Bm25Parameters): SealedSegment {
    let bytes = data;
    if (data.byteOffset % 8 !== 0) {
      bytes = new Uint8Array(data.byteLength);
      bytes.set(data);
    }
    const [format, chunkCount, termCount, postingCount] = new Uint32Array(bytes.buffer, bytes.byteOffset, 4);
    if ((format !== 1 && format !== 2) || chunkCount === undefined || termCount === undefined) {
      throw new Error(`unknown index segment format ${String(format)}`);
    }
    const expected = SealedSegment.byteLength(chunkCount, termCount, postingCount as number, format);
    if (expected !== bytes.byteLength) throw new Error("truncated index segment");
    return SealedSegment.view(bytes, chunkCount, termCount, postingCount as number, parameters, format);
  }

  /** Bytes of the version 1 arrays, padded to a multiple of 8. */
  private static baseByteLength(chunks: number, terms: number, postings: number): number {
    const unaligned = HEADER_BYTES + chunks * 12 + terms * 4 * 3 + 4 + postings * 4 + terms * 2;
    return Math.ceil(unaligned / 8) * 8;
  }

  private static byteLength(chunks: number, terms: number, postings: number, format: number): number {
    const base = SealedSegment.baseByteLength(chunks, terms, postings);
    return format === 1 ? base : base + 16 + terms * 8;
  }

  private static view(
    bytes: Uint8Array,
    chunks: number,
    terms: number,
    postings: number,
    parameters: Bm25Parameters,
    format: number,
  ): SealedSegment {
    const buffer = bytes.buffer;
    let offset = bytes.byteOffset + HEADER_BYTES;
    const take = <T>(make: (offset: number) => T, byteLength: number): T => {
      const array = make(offset);
      offset += byteLength;
      return array;
    };
    const rowids = take((at) => new Float64Array(buffer, at, chunks), chunks * 8);
    const lengths = take((at) => new Uint32Array(buffer, at, chunks), chunks * 4);
    const termIds = take((at) => new Uint32Array(buffer, at, terms), terms * 4);
    const offsets = take((at) => new Uint32Array(buffer, at, terms + 1), (terms + 1) * 4);
    const minimumLengths = take((at) => new Uint32Array(buffer, at, terms), terms * 4);
    const slots = take((at) => new Uint16Array(buffer, at, postings), postings * 2);
    const frequencies = take((at) => new Uint16Array(buffer, at, postings), postings * 2);
    const maximumFrequencies = take((at) => new Uint16Array(buffer, at, terms), terms * 2);
    let totalLength = 0;
    for (let slot = 0; slot < chunks; slot++) totalLength += lengths[slot] as number;
    const referenceAverage = chunks > 0 && totalLength > 0 ? totalLength / chunks : 1;
    // Tight score bounds for pruning: stored from version 2 when computed with these k1 and b; else
    // derived list by list when a query first asks for the list (all at once at load was a pass over
    // every posting, most of a restart).
    let maximumImpacts: Float64Array | undefined;
    if (format >= 2) {
      const at = bytes.byteOffset + SealedSegment.baseByteLength(chunks, terms, postings);
      const [k1, b] = new Float64Array(buffer, at, 2);
      const stored = new Float64Array(buffer, at + 16, terms);
      if (k1 === parameters.k1 && b === parameters.b) maximumImpacts = stored;
    }
    maximumImpacts ??= new Float64Array(terms).fill(-1);
    return new SealedSegment(
      bytes,
      rowids,
      lengths,
      termIds,
      offsets,
      minimumLengths,
      slots,
      frequencies,
      maximumFrequencies,
      totalLength,
      maximumImpacts,
      referenceAverage,
      parameters,
    );
  }

  get firstRowid(): number {
    return this.rowids[0] ?? 0;
  }

  protected holds(termId: number, slot: number): boolean {
    const index = findRowid(this.termIds, this.termIds.length, termId);
    return (
      index >= 0 &&
      hasSlot(this.slots, this.offsets[index] as number, this.offsets[index + 1] as number, slot)
    );
  }

  readList(termId: number, into: PostingList): boolean {
    const index = findRowid(this.termIds, this.termIds.length, termId);
    if (index < 0) return false;
    const start = this.offsets[index] as number;
    const end = this.offsets[index + 1] as number;
    into.slots = this.slots;
    into.frequencies = this.frequencies;
    into.start = start;
    into.end = end;
    into.maximumFrequency = this.maximumFrequencies[index] as number;
    into.minimumLength = this.minimumLengths[index] as number;
    into.documentFrequency = end - start - (this.tombstones.deletedFrequency.get(termId) ?? 0);
    into.maximumImpact = this.maximumImpact(index);
    into.referenceAverage = this.referenceAverage;
    return true;
  }

  private computeMaximumImpacts(termCount: number): void {
    for (let index = 0; index < termCount; index++) this.maximumImpact(index);
  }

  /** The list's highest tf / (tf + k1·(1 − b) + k1·b·length / referenceAverage), computed once. */
  maximumImpact(index: number): number {
    const known = this.maximumImpacts[index] as number;
    if (known >= 0) return known;
    const { k1, b } = this.parameters;
    const constantWeight = k1 * (1 - b);
    const lengthWeight = (k1 * b) / this.referenceAverage;
    const { frequencies, slots, lengths } = this;
    let highest = 0;
    const end = this.offsets[index + 1] as number;
    for (let position = this.offsets[index] as number; position < end; position++) {
      const frequency = frequencies[position] as number;
      const impact =
        frequency /
        (frequency + constantWeight + lengthWeight * (lengths[slots[position] as number] as number));
      if (impact > highest) highest = impact;
    }
    this.maximumImpacts[index] = highest;
    return highest;
  }
}

type SegmentChunk = { rowid: number; length: number; termFrequencies: TermFrequencies };

/** Pass 1 of a build: each posting's term numbered (in order of first appearance) and counted. */
function numberPostings(
  chunks: readonly SegmentChunk[],
  lists: TermNumbering,
  postingTerms: Uint32Array,
): void {
  let posting = 0;
  // Indexed, not for-of: the iterator is taken before the loop (see SealedSegment.build).
  for (let slot = 0; slot < chunks.length; slot++) {
    const termFrequencies = (chunks[slot] as SegmentChunk).termFrequencies;
    const distinct = termFrequencies.length / 2;
    for (let index = 0; index < distinct; index++) {
      postingTerms[posting++] = lists.count(termFrequencies[index] as number);
    }
  }
}

/**
 * Each list's start in `offsets` (term ids ascending) and each term number's list in `listOf`: one
 * table look-up per distinct term. `sizes` are the numbering's counts.
 */
function placeLists(
  lists: TermNumbering,
  sizes: Uint32Array,
  termIds: Uint32Array,
  termCount: number,
  offsets: Uint32Array,
  listOf: Uint32Array,
): void {
  let offset = 0;
  for (let index = 0; index < termCount; index++) {
    const number = lists.numberOf(termIds[index] as number);
    listOf[number] = index;
    offsets[index] = offset;
    offset += sizes[number] as number;
  }
}

/** Pass 2: every posting to its list's next place, so each list holds its slots in ascending order. */
function placePostings(
  chunks: readonly SegmentChunk[],
  postingTerms: Uint32Array,
  listOf: Uint32Array,
  cursors: Uint32Array,
  rowids: Float64Array,
  lengths: Uint32Array,
  slots: Uint16Array,
  frequencies: Uint16Array,
  maximumFrequencies: Uint16Array,
  minimumLengths: Uint32Array,
): void {
  let posting = 0;
  for (let slot = 0; slot < chunks.length; slot++) {
    const chunk = chunks[slot] as SegmentChunk;
    const termFrequencies = chunk.termFrequencies;
    const length = chunk.length;
    rowids[slot] = chunk.rowid;
    lengths[slot] = length;
    const distinct = termFrequencies.length / 2;
    for (let index = 0; index < distinct; index++) {
      const list = listOf[postingTerms[posting++] as number] as number;
      const frequency = Math.min(0xffff, termFrequencies[distinct + index] as number);
      const position = cursors[list] as number;
      cursors[list] = position + 1;
      slots[position] = slot;
      frequencies[position] = frequency;
      if (frequency > (maximumFrequencies[list] as number)) maximumFrequencies[list] = frequency;
      if (length < (minimumLengths[list] as number)) minimumLengths[list] = length;
    }
  }
}

// Odd multiplier of the numbering's hash, drawn per process: term ids come from text anyone may
// index, so which ids share a probe sequence must not be predictable (a `Map` is seeded the same way).
const NUMBERING_MULTIPLIER = (Math.floor(Math.random() * 0x80000000) * 2 + 1) | 0;

/**
 * Numbers distinct term ids 0, 1, 2, … in order of first appearance and counts each one's
 * appearances: an open-addressing table (linear probing, at most half full) over typed arrays.
 * Written by hand because a `Map` per posting was most of building a segment (two look-ups and a
 * boxed entry per posting, ~100 postings a chunk).
 */
class TermNumbering {
  size = 0;
  /** Appearances per number. */
  counts: Uint32Array;
  private ids: Uint32Array;
  /** Per table cell: number + 1, 0 when empty. */
  private numbers: Int32Array;
  private keyOf: Uint32Array;
  private shift: number;

  constructor() {
    // Small on purpose: the first growths happen in the first chunks of a process's first build,
    // while `count` still runs unoptimized, so its call of `grow` has type feedback when `count` is
    // optimized. A table sized for the segment would first grow in optimized code, deoptimize `count`
    // and the build loop it is inlined in, and have both compiled again. Growing costs about one
    // insert per distinct term in all.
    const bits = 8;
    this.shift = 32 - bits;
    this.numbers = new Int32Array(1 << bits);
    this.keyOf = new Uint32Array(1 << bits);
    this.ids = new Uint32Array(1 << (bits - 1));
    this.counts = new Uint32Array(1 << (bits - 1));
  }

  /** Counts one appearance of `id`; returns its number. */
  count(id: number): number {
    const numbers = this.numbers;
    const mask = numbers.length - 1;
    let cell = Math.imul(id, NUMBERING_MULTIPLIER) >>> this.shift;
    for (;;) {
      const entry = numbers[cell] as number;
      if (entry === 0) break;
      if (this.keyOf[cell] === id) {
        const number = entry - 1;
        this.counts[number] = (this.counts[number] as number) + 1;
        return number;
      }
      cell = (cell + 1) & mask;
    }
    const number = this.size++;
    numbers[cell] = number + 1;
    this.keyOf[cell] = id;
    this.ids[number] = id;
    this.counts[number] = 1;
    if (this.size * 2 >= numbers.length) this.grow();
    return number;
  }

  /** The number of an id already counted. */
  numberOf(id: number): number {
    const mask = this.numbers.length - 1;
    let cell = Math.imul(id, NUMBERING_MULTIPLIER) >>> this.shift;
    while (this.keyOf[cell] !== id || this.numbers[cell] === 0) cell = (cell + 1) & mask;
    return (this.numbers[cell] as number) - 1;
  }

  /** The distinct ids, by number (a copy). */
  keys(): Uint32Array {
    return this.ids.slice(0, this.size);
  }

  private grow(): void {
    // The rehash loop comes last: a loop compiled while running (on-stack replacement) has no type
    // feedback for code after it not yet run, and reaching that code deoptimizes it.
    const capacity = this.numbers.length * 2;
    const ids = new Uint32Array(capacity / 2);
    ids.set(this.ids.subarray(0, this.size));
    this.ids = ids;
    const counts = new Uint32Array(capacity / 2);
    counts.set(this.counts.subarray(0, this.size));
    this.counts = counts;
    this.shift--;
    const numbers = new Int32Array(capacity);
    const keyOf = new Uint32Array(capacity);
    this.numbers = numbers;
    this.keyOf = keyOf;
    const mask = capacity - 1;
    const shift = this.shift;
    for (let number = 0; number < this.size; number++) {
      const id = ids[number] as number;
      let cell = Math.imul(id, NUMBERING_MULTIPLIER) >>> shift;
      while (numbers[cell] !== 0) cell = (cell + 1) & mask;
      numbers[cell] = number + 1;
      keyOf[cell] = id;
    }
  }
}

/** The chunks added since the last seal, in growable arrays (at most one segment's worth). */
export class TailPart extends RowidPart implements IndexPart {
  protected readonly rowids: number[] = [];
  private lengthArray = new Uint32Array(256);
  private readonly postings = new Map<
    number,
    {
      slots: number[];
      frequencies: number[];
      maximumFrequency: number;
      minimumLength: number;
      /** Typed copies for the scorer, made on first use after a change. */
      typed?: { slots: Uint16Array; frequencies: Uint16Array } | undefined;
    }
  >();
  protected tombstones: Tombstones = { deleted: new Uint8Array(256), deletedFrequency: new Map() };
  protected totalLength = 0;

  get lengths(): Uint32Array {
    return this.lengthArray;
  }

  /** Appends a chunk; rowids must ascend. */
  add(rowid: number, length: number, termFrequencies: TermFrequencies): void {
    const slot = this.rowids.length;
    if (slot >= MAXIMUM_SEGMENT_CHUNKS) throw new RangeError("the index tail outgrew a segment");
    this.rowids.push(rowid);
    if (slot >= this.lengthArray.length) {
      const lengths = new Uint32Array(this.lengthArray.length * 2);
      lengths.set(this.lengthArray);
      this.lengthArray = lengths;
      const deleted = new Uint8Array(this.lengthArray.length);
      deleted.set(this.tombstones.deleted);
      this.tombstones = { ...this.tombstones, deleted };
    }
    this.lengthArray[slot] = length;
    this.totalLength += length;
    const distinct = termFrequencies.length / 2;
    for (let index = 0; index < distinct; index++) {
      const termId = termFrequencies[index] as number;
      const frequency = termFrequencies[distinct + index] as number;
      let list = this.postings.get(termId);
      if (!list) {
        list = { slots: [], frequencies: [], maximumFrequency: 0, minimumLength: length };
        this.postings.set(termId, list);
      }
      list.slots.push(slot);
      list.frequencies.push(Math.min(0xffff, frequency));
      list.typed = undefined;
      if (frequency > list.maximumFrequency) list.maximumFrequency = Math.min(0xffff, frequency);
      if (length < list.minimumLength) list.minimumLength = length;
    }
  }

  protected holds(termId: number, slot: number): boolean {
    const list = this.postings.get(termId);
    return list !== undefined && hasSlot(list.slots, 0, list.slots.length, slot);
  }

  readList(termId: number, into: PostingList): boolean {
    const list = this.postings.get(termId);
    if (!list) return false;
    list.typed ??= { slots: Uint16Array.from(list.slots), frequencies: Uint16Array.from(list.frequencies) };
    into.slots = list.typed.slots;
    into.frequencies = list.typed.frequencies;
    into.start = 0;
    into.end = list.slots.length;
    into.maximumFrequency = list.maximumFrequency;
    into.minimumLength = list.minimumLength;
    // Removals leave the copies as they are but change this.
    into.documentFrequency = list.slots.length - (this.tombstones.deletedFrequency.get(termId) ?? 0);
    into.maximumImpact = -1;
    into.referenceAverage = -1;
    return true;
  }
}

/** A posting list as one query scores it: its weight, its bound, and a cursor for the completion. */
interface WeightedList {
  slots: Uint16Array;
  frequencies: Uint16Array;
  start: number;
  end: number;
  termWeight: number;
  /** No posting of the list contributes more. */
  bound: number;
  /** Where the completion's search in this list resumes (chunks are completed in slot order). */
  position: number;
  /** The list's bound per unit of term weight (see `maximumImpact`). */
  impact: number;
  /** Index of the list's term in the question. */
  term: number;
}

/**
 * A list to fill, of the one shape every list has: the scorer keeps them from query to query. Numbers
 * that are fractions in use start as fractions, so their fields are doubles from the first.
 */
function emptyWeightedList(): WeightedList {
  return {
    slots: NO_POSTINGS,
    frequencies: NO_POSTINGS,
    start: 0,
    end: 0,
    termWeight: 0.5,
    bound: 0.5,
    position: 0,
    impact: 0.5,
    term: 0,
  };
}

/**
 * Postings the threshold seed reads over all parts (their first lists, see `seedFromLeaders`): a
 * bound on its cost when the rarest term of a question is a common one.
 */
const SEED_POSTINGS = 32_768;

/** Chunks the seed scores in full, per result asked for. */
const LEADERS_PER_RESULT = 2;

/** The seed reads a part's second list as well when it is at most this many times the first. */
const LEADER_SPREAD = 8;

/** How many postings a pass over a list reads in the time one search for a chunk in it takes. */
const SCAN_PER_SEARCH = 4;

/**
 * Scores parts that share corpus statistics into one top-k. Scratch arrays are kept between queries
 * so a query allocates little.
 */
export class Bm25Scorer {
  private accumulators = new Float64Array(1024);
  private touched = new Int32Array(1024);
  private candidateSlots = new Int32Array(1024);
  private candidateBits = new Int32Array(32);
  private sortScratch = new Int32Array(1024);
  private readonly digitCounts = new Int32Array(256);
  private heap = new Float64Array(32);
  private remaining = new Float64Array(32);
  private readonly leaders = new Leaders();
  private documentFrequencies = new Float64Array(32);
  private termWeights = new Float64Array(32);
  /** Per part: its lists, kept from query to query, of which the first `listCounts[part]` are this query's. */
  private readonly partLists: WeightedList[][] = [];
  private listCounts = new Int32Array(32);
  private readonly found = emptyPostingList();

  constructor(
    /** Off: every posting is visited (the reference the pruning is tested against). */
    private readonly pruning = true,
  ) {}

  /**
   * Offers the parts' top chunks to `best`. With `held`, and `best` empty before, also sets for each
   * chunk `best` keeps how many of the question's terms it holds.
   */
  score(
    parts: readonly IndexPart[],
    query: readonly QueryTerm[],
    statistics: Bm25Statistics,
    best: TopEntries,
    held?: Map<number, number>,
  ): void {
    const { documentCount, averageLength, k1, b } = statistics;
    if (documentCount === 0) return;
    const fresh = best.size === 0;
    const terms = query.length;
    const lengthWeight = (b * k1) / averageLength;
    const constantWeight = (1 - b) * k1;
    if (this.documentFrequencies.length < terms) {
      this.documentFrequencies = new Float64Array(terms * 2);
      this.termWeights = new Float64Array(terms * 2);
    }
    if (this.listCounts.length < parts.length) this.listCounts = new Int32Array(parts.length * 2);
    const { documentFrequencies, termWeights, listCounts, found } = this;
    documentFrequencies.fill(0, 0, terms);
    // Each term is looked up once per part: its lists give the document frequencies, then are scored.
    // The lists are the scorer's own, filled in place: a query allocates none.
    for (let partIndex = 0; partIndex < parts.length; partIndex++) {
      const part = parts[partIndex] as IndexPart;
      const lists = this.listsOf(partIndex);
      let count = 0;
      for (let term = 0; term < terms; term++) {
        if (!part.readList((query[term] as QueryTerm).termId, found)) continue;
        documentFrequencies[term] = (documentFrequencies[term] as number) + found.documentFrequency;
        if (found.end === found.start) continue;
        let impact =
          found.maximumFrequency /
          (found.maximumFrequency + constantWeight + lengthWeight * found.minimumLength);
        if (found.maximumImpact >= 0) {
          impact = Math.min(
            impact,
            found.maximumImpact * Math.max(1, averageLength / found.referenceAverage),
          );
        }
        if (count === lists.length) lists.push(emptyWeightedList());
        const list = lists[count++] as WeightedList;
        list.slots = found.slots;
        list.frequencies = found.frequencies;
        list.start = found.start;
        list.end = found.end;
        list.position = found.start;
        list.impact = impact;
        list.term = term;
      }
      listCounts[partIndex] = count;
    }
    for (let term = 0; term < terms; term++) {
      // Clamped so a damaged deletion log can never turn an IDF negative.
      const documentFrequency = Math.min(documentCount, documentFrequencies[term] as number);
      const idf = Math.log(1 + (documentCount - documentFrequency + 0.5) / (documentFrequency + 0.5));
      termWeights[term] = documentFrequency > 0 ? idf * (query[term] as QueryTerm).weight * (k1 + 1) : 0;
    }
    for (let partIndex = 0; partIndex < parts.length; partIndex++) {
      listCounts[partIndex] = weighAndOrder(
        this.partLists[partIndex] as WeightedList[],
        listCounts[partIndex] as number,
        termWeights,
      );
    }
    const seed =
      this.pruning && best.threshold() === 0
        ? this.seedFromLeaders(parts, best.limit, constantWeight, lengthWeight)
        : 0;
    for (let partIndex = 0; partIndex < parts.length; partIndex++) {
      const count = listCounts[partIndex] as number;
      if (count > 0) {
        this.scorePart(
          parts[partIndex] as IndexPart,
          this.partLists[partIndex] as WeightedList[],
          count,
          constantWeight,
          lengthWeight,
          best,
          seed,
          placeOf(partIndex, 0),
        );
      }
    }
    if (held && fresh) this.countHeld(best, held);
    this.letGoOfArrays(parts.length);
  }

  /**
   * How many of the question's terms each of `best`'s chunks holds, from the lists just scored (a
   * part's lists are its terms with postings, each once): a search in each list of the chunk's part,
   * by the place it was offered with. Looking each term up in the part's vocabulary again and the
   * chunk's rowid in its rowids, after the scoring had pushed both out of the CPU caches, cost ~7% of
   * a query at 500k chunks.
   */
  private countHeld(best: TopEntries, held: Map<number, number>): void {
    for (let index = 0; index < best.size; index++) {
      const place = best.placeAt(index);
      if (place < 0) continue;
      const partIndex = partOfPlace(place);
      const slot = slotOfPlace(place);
      const lists = this.partLists[partIndex] as WeightedList[];
      const listCount = this.listCounts[partIndex] as number;
      let terms = 0;
      for (let list = 0; list < listCount; list++) {
        const { slots, start, end } = lists[list] as WeightedList;
        if (hasSlot(slots, start, end, slot)) terms++;
      }
      held.set(best.rowidAt(index), terms);
    }
  }

  /**
   * Empties the kept lists of the parts' arrays once a question is scored: a part the index replaces
   * (a merge, a re-index) is collected then, not when a later question happens to overwrite its lists.
   */
  private letGoOfArrays(partCount: number): void {
    const none = NO_POSTINGS;
    for (let partIndex = 0; partIndex < partCount; partIndex++) {
      for (const list of this.partLists[partIndex] as WeightedList[]) {
        list.slots = none;
        list.frequencies = none;
      }
    }
    this.found.slots = none;
    this.found.frequencies = none;
  }

  /** The scorer's lists for the part at `partIndex` (the first of them in use, see `listCounts`). */
  private listsOf(partIndex: number): WeightedList[] {
    while (this.partLists.length <= partIndex) this.partLists.push([]);
    return this.partLists[partIndex] as WeightedList[];
  }

  /**
   * A threshold for every part before any is scored, from the whole index: the sums of each part's
   * first lists (the highest bounds, usually the rarest terms and short lists) pick the chunks
   * likeliest to lead, a few times k of them over all parts; those are scored in full, and the k-th
   * of their scores is one the final k-th reaches. Scored in each part's lists' order, as every
   * other path, so the scores are exactly the chunks' own. Without it the first parts are pruned
   * by the k-th of the parts before them only (the first by its own rarest list), which the top k
   * of the whole index lies well above once it has more than a few parts.
   */
  private seedFromLeaders(
    parts: readonly IndexPart[],
    k: number,
    constantWeight: number,
    lengthWeight: number,
  ): number {
    if (k <= 0) return 0;
    const leaders = this.leaders.reset(k * LEADERS_PER_RESULT);
    let read = 0;
    const { partLists, listCounts } = this;
    for (let partIndex = 0; partIndex < parts.length; partIndex++) {
      const lists = partLists[partIndex] as WeightedList[];
      const listCount = listCounts[partIndex] as number;
      if (listCount === 0) continue;
      const first = lists[0] as WeightedList;
      const firstLength = first.end - first.start;
      const second = listCount > 1 ? lists[1] : undefined;
      // The second list only while it is about as short as the first: the pass stays cheap.
      const secondLength =
        second && second.end - second.start <= LEADER_SPREAD * firstLength ? second.end - second.start : 0;
      if (read + firstLength + secondLength > SEED_POSTINGS) continue;
      read += firstLength + secondLength;
      const part = parts[partIndex] as IndexPart;
      this.reserve(part.size);
      const accumulators = this.accumulators;
      const touched = this.touched;
      // Both read on every query (see scorePart).
      const { lengths, deleted } = part;
      const removals = part.liveCount < part.size ? deleted : undefined;
      let count = add(first, accumulators, touched, 0, lengths, removals, constantWeight, lengthWeight);
      if (second && secondLength > 0) {
        count = add(second, accumulators, touched, count, lengths, removals, constantWeight, lengthWeight);
      }
      for (let index = 0; index < count; index++) {
        const slot = touched[index] as number;
        leaders.offer(accumulators[slot] as number, partIndex, slot);
        accumulators[slot] = 0;
      }
    }
    if (leaders.size < k) return 0;
    if (this.heap.length < k) this.heap = new Float64Array(k);
    const heap = this.heap;
    let size = 0;
    leaders.sortByPlace();
    for (let index = 0; index < leaders.size; index++) {
      const partIndex = leaders.parts[index] as number;
      const lists = partLists[partIndex] as WeightedList[];
      const listCount = listCounts[partIndex] as number;
      const score = scoreInFull(
        parts[partIndex] as IndexPart,
        lists,
        listCount,
        leaders.slots[index] as number,
        constantWeight,
        lengthWeight,
      );
      size = offerToMinHeap(heap, size, k, score);
      const nextPart = index + 1 < leaders.size ? leaders.parts[index + 1] : -1;
      if (nextPart !== partIndex) {
        for (let list = 0; list < listCount; list++) {
          const reset = lists[list] as WeightedList;
          reset.position = reset.start;
        }
      }
    }
    return size < k ? 0 : (heap[0] as number);
  }

  private reserve(size: number): void {
    if (this.accumulators.length < size) {
      const grown = Math.max(size, this.accumulators.length * 2);
      this.accumulators = new Float64Array(grown);
      this.touched = new Int32Array(grown);
      this.candidateSlots = new Int32Array(grown);
      this.sortScratch = new Int32Array(grown);
    }
  }

  private kthLargest(slots: Int32Array, count: number, k: number, floor: number): number {
    if (this.heap.length < k) this.heap = new Float64Array(k);
    return kthLargest(this.accumulators, slots, count, k, floor, this.heap);
  }

  /** Keeps, in order, the first `count` slots of `slots` whose score plus `rest` reaches `threshold`. */
  private keepOpen(slots: Int32Array, count: number, rest: number, threshold: number): number {
    const accumulators = this.accumulators;
    const candidates = this.candidateSlots;
    let kept = 0;
    for (let index = 0; index < count; index++) {
      const slot = slots[index] as number;
      if ((accumulators[slot] as number) + rest >= threshold) candidates[kept++] = slot;
    }
    return kept;
  }

  private scorePart(
    part: IndexPart,
    lists: WeightedList[],
    listCount: number,
    constantWeight: number,
    lengthWeight: number,
    best: TopEntries,
    seed: number,
    /** The part's first place (`placeOf(partIndex, 0)`): a chunk's is this plus its slot. */
    place: number,
  ): void {
    this.reserve(part.size);
    if (this.remaining.length <= listCount) this.remaining = new Float64Array(listCount * 2);
    const accumulators = this.accumulators;
    const touched = this.touched;
    const remaining = this.remaining;
    // Most parts have no removed chunk: their loop skips the check. `deleted` is read whether or not it
    // is used, so the first removal of a process meets a read already compiled, not one never run.
    const { lengths, deleted } = part;
    const removals = part.liveCount < part.size ? deleted : undefined;
    let touchedCount = 0;
    remaining[listCount] = 0;
    for (let index = listCount - 1; index >= 0; index--) {
      remaining[index] = (remaining[index + 1] as number) + (lists[index] as WeightedList).bound;
    }

    let next = 0;
    let threshold = Math.max(best.threshold(), seed);
    // Once a chunk not seen yet can no longer reach the threshold, the chunks seen that still may
    // are listed in `candidateSlots` (-1 until then).
    let openCount = -1;
    for (; next < listCount; next++) {
      const list = lists[next] as WeightedList;
      const length = list.end - list.start;
      if (this.pruning) {
        const rest = remaining[next] as number;
        if (openCount < 0) {
          // Finding the local k-th score costs a pass over the chunks seen; pay it only before a list
          // at least as long, so pruning never costs more than the postings it may skip.
          if (next > 0 && length >= touchedCount) {
            threshold = this.kthLargest(touched, touchedCount, best.limit, threshold);
          }
          if (rest < threshold) {
            // The lists left still complete the chunks seen: a pass over a list costs less than
            // searching it for each chunk that may still make it, until the list is several times
            // longer than they are many.
            if (length > SCAN_PER_SEARCH * touchedCount) break;
            openCount = this.keepOpen(touched, touchedCount, rest, threshold);
            if (length > SCAN_PER_SEARCH * openCount) break;
          }
        } else {
          if (length >= openCount) {
            threshold = this.kthLargest(this.candidateSlots, openCount, best.limit, threshold);
          }
          openCount = this.keepOpen(this.candidateSlots, openCount, rest, threshold);
          if (length > SCAN_PER_SEARCH * openCount) break;
        }
      }
      if (openCount >= 0) {
        addToSeen(list, accumulators, lengths, constantWeight, lengthWeight);
      } else {
        touchedCount = add(
          list,
          accumulators,
          touched,
          touchedCount,
          lengths,
          removals,
          constantWeight,
          lengthWeight,
        );
      }
    }

    if (next < listCount || openCount >= 0) {
      const candidateCount =
        openCount < 0
          ? this.keepOpen(touched, touchedCount, remaining[next] as number, threshold)
          : this.keepOpen(this.candidateSlots, openCount, remaining[next] as number, threshold);
      threshold = this.kthLargest(this.candidateSlots, candidateCount, best.limit, threshold);
      this.complete(
        part,
        lists,
        listCount,
        next,
        candidateCount,
        threshold,
        constantWeight,
        lengthWeight,
        best,
        place,
      );
    } else {
      for (let index = 0; index < touchedCount; index++) {
        const slot = touched[index] as number;
        best.offer(part.rowidOf(slot), accumulators[slot] as number, place + slot);
      }
    }
    for (let index = 0; index < touchedCount; index++) accumulators[touched[index] as number] = 0;
  }

  /**
   * Only chunks already seen can still reach the top k: completes the scores of the first
   * `candidateCount` of `candidateSlots` with the lists from `next` on, chunk by chunk in slot order (each list searched from where the chunk before left
   * it), dropping a chunk as soon as its score so far plus the bounds of the lists left cannot reach
   * the threshold, which rises with every chunk completed.
   */
  private complete(
    part: IndexPart,
    lists: WeightedList[],
    listCount: number,
    next: number,
    candidateCount: number,
    initialThreshold: number,
    constantWeight: number,
    lengthWeight: number,
    best: TopEntries,
    place: number,
  ): void {
    const accumulators = this.accumulators;
    const remaining = this.remaining;
    const candidates = this.candidateSlots;
    const { lengths } = part;
    let threshold = initialThreshold;
    if (candidateCount * 32 < part.size) {
      sortSlots(candidates, candidateCount, this.sortScratch, this.digitCounts);
    } else {
      // Many: a bitmap of the part's slots puts them in order in a pass over a 32nd of the slots
      // (sorting them, or a pass over every slot, cost a tenth of a query at 500k chunks).
      const words = (part.size + 31) >>> 5;
      if (this.candidateBits.length < words) this.candidateBits = new Int32Array(words);
      const bits = this.candidateBits;
      for (let index = 0; index < candidateCount; index++) {
        const slot = candidates[index] as number;
        bits[slot >>> 5] = (bits[slot >>> 5] as number) | (1 << (slot & 31));
      }
      let ordered = 0;
      for (let word = 0; word < words; word++) {
        let value = bits[word] as number;
        if (value === 0) continue;
        bits[word] = 0;
        while (value !== 0) {
          const lowest = value & -value;
          candidates[ordered++] = (word << 5) + 31 - Math.clz32(lowest);
          value ^= lowest;
        }
      }
    }
    const last = listCount - 1;
    for (let candidate = 0; candidate < candidateCount; candidate++) {
      const slot = candidates[candidate] as number;
      let score = accumulators[slot] as number;
      let index = next;
      for (; index <= last; index++) {
        if (score + (remaining[index] as number) < threshold) break;
        const list = lists[index] as WeightedList;
        const { slots, end } = list;
        const position = gallop(slots, list.position, end, slot);
        list.position = position;
        if (position < end && slots[position] === slot) {
          const frequency = list.frequencies[position] as number;
          score =
            score +
            (list.termWeight * frequency) /
              (frequency + constantWeight + lengthWeight * (lengths[slot] as number));
        }
      }
      if (index <= last) continue;
      best.offer(part.rowidOf(slot), score, place + slot);
      threshold = Math.max(threshold, best.threshold());
    }
  }
}

/** Adds a list's contributions; returns the count of chunks seen, those first seen here appended. */
function add(
  list: WeightedList,
  accumulators: Float64Array,
  touched: Int32Array,
  touchedCount: number,
  lengths: Uint32Array,
  removals: Uint8Array | undefined,
  constantWeight: number,
  lengthWeight: number,
): number {
  const { slots, frequencies, termWeight, end } = list;
  let count = touchedCount;
  // Two copies of the loop on purpose: this is the innermost loop of every query, and most parts have no
  // removals, so their loop carries no per-posting removal test.
  if (removals) {
    for (let position = list.start; position < end; position++) {
      const slot = slots[position] as number;
      if (removals[slot] === 1) continue;
      const frequency = frequencies[position] as number;
      const current = accumulators[slot] as number;
      if (current === 0) touched[count++] = slot;
      accumulators[slot] =
        current +
        (termWeight * frequency) / (frequency + constantWeight + lengthWeight * (lengths[slot] as number));
    }
    return count;
  }
  for (let position = list.start; position < end; position++) {
    const slot = slots[position] as number;
    const frequency = frequencies[position] as number;
    const current = accumulators[slot] as number;
    if (current === 0) touched[count++] = slot;
    accumulators[slot] =
      current +
      (termWeight * frequency) / (frequency + constantWeight + lengthWeight * (lengths[slot] as number));
  }
  return count;
}

/** V8 starts recording a function's type feedback only after its first few calls. */
const PRIMING_ROUNDS = 64;

/**
 * Runs both loops of `add`, as the module loads. The scorer's functions inline `add`; left to
 * itself, its removal loop first runs at the first removal of a process, with no type feedback, and
 * throws away the compiled scorer there (the first queries after a re-index then ran 3–20 ms at 100k
 * chunks instead of ~2). Weights are fractions so the list's fields have the representation real
 * lists give them.
 */
function primeAdd(): void {
  const list: WeightedList = {
    slots: Uint16Array.of(0, 1),
    frequencies: Uint16Array.of(1, 2),
    start: 0,
    end: 2,
    termWeight: 0.5,
    bound: 0.5,
    position: 0,
    impact: 0.5,
    term: 0,
  };
  const lengths = Uint32Array.of(3, 4);
  add(list, new Float64Array(2), new Int32Array(2), 0, lengths, Uint8Array.of(1, 0), 0.25, 0.125);
  add(list, new Float64Array(2), new Int32Array(2), 0, lengths, undefined, 0.25, 0.125);
}
for (let round = 0; round < PRIMING_ROUNDS; round++) primeAdd();

/** Adds a list's contributions to the chunks already seen only. */
function addToSeen(
  list: WeightedList,
  accumulators: Float64Array,
  lengths: Uint32Array,
  constantWeight: number,
  lengthWeight: number,
): void {
  const { slots, frequencies, termWeight, end } = list;
  for (let position = list.start; position < end; position++) {
    const slot = slots[position] as number;
    const current = accumulators[slot] as number;
    // Never seen (or removed: a removed chunk is never seen).
    if (current === 0) continue;
    const frequency = frequencies[position] as number;
    accumulators[slot] =
      current +
      (termWeight * frequency) / (frequency + constantWeight + lengthWeight * (lengths[slot] as number));
  }
}

/**
 * Sorts the first `count` of `slots` (16-bit) ascending in place: two passes of 8-bit digits through
 * `scratch`, with `digitCounts` (256) to count in. A typed array's own sort allocated ~2 KB a call
 * (a subarray and its work), once per part of every query.
 */
export function sortSlots(
  slots: Int32Array,
  count: number,
  scratch: Int32Array,
  digitCounts: Int32Array,
): void {
  placeByDigit(slots, scratch, count, 0, digitCounts);
  placeByDigit(scratch, slots, count, 8, digitCounts);
}

/** One pass of `sortSlots`: `from` into `to` by the 8-bit digit at `shift`, keeping the order within a digit. */
function placeByDigit(
  from: Int32Array,
  to: Int32Array,
  count: number,
  shift: number,
  digitCounts: Int32Array,
): void {
  digitCounts.fill(0);
  for (let index = 0; index < count; index++) {
    const digit = ((from[index] as number) >>> shift) & 0xff;
    digitCounts[digit] = (digitCounts[digit] as number) + 1;
  }
  let start = 0;
  for (let digit = 0; digit < 256; digit++) {
    const digitCount = digitCounts[digit] as number;
    digitCounts[digit] = start;
    start += digitCount;
  }
  for (let index = 0; index < count; index++) {
    const slot = from[index] as number;
    const digit = (slot >>> shift) & 0xff;
    const position = digitCounts[digit] as number;
    digitCounts[digit] = position + 1;
    to[position] = slot;
  }
}

/** First position in [from, end) whose slot is ≥ target (slots ascend within a list). */
function gallop(slots: Uint16Array, from: number, end: number, target: number): number {
  if (from >= end || (slots[from] as number) >= target) return from;
  let step = 1;
  let low = from;
  let high = from + 1;
  while (high < end && (slots[high] as number) < target) {
    low = high;
    step *= 2;
    high = from + step;
  }
  if (high > end) high = end;
  // Invariant: slots[low] < target, and slots[high] ≥ target or high = end.
  while (high - low > 1) {
    const middle = (low + high) >>> 1;
    if ((slots[middle] as number) < target) low = middle;
    else high = middle;
  }
  return high;
}

/** A chunk's score over every list, in the lists' order (each searched from its last position on). */
function scoreInFull(
  part: IndexPart,
  lists: WeightedList[],
  listCount: number,
  slot: number,
  constantWeight: number,
  lengthWeight: number,
): number {
  const length = part.lengths[slot] as number;
  let score = 0;
  for (let index = 0; index < listCount; index++) {
    const list = lists[index] as WeightedList;
    const { slots, end } = list;
    const position = gallop(slots, list.position, end, slot);
    list.position = position;
    if (position < end && slots[position] === slot) {
      const frequency = list.frequencies[position] as number;
      score = score + (list.termWeight * frequency) / (frequency + constantWeight + lengthWeight * length);
    }
  }
  return score;
}

/**
 * Gives the first `count` lists their term's weight and bound, drops those whose term weighs
 * nothing, and orders the rest by bound, highest first, lists of equal bounds in question order (as
 * a stable sort would); returns how many are left. Each list object stays in the array once.
 */
function weighAndOrder(lists: WeightedList[], count: number, termWeights: Float64Array): number {
  let kept = 0;
  for (let index = 0; index < count; index++) {
    const list = lists[index] as WeightedList;
    const termWeight = termWeights[list.term] as number;
    if (termWeight === 0) continue;
    list.termWeight = termWeight;
    list.bound = termWeight * list.impact * BOUND_SLACK;
    // The list dropped at `kept` (if any) takes this one's place, then this one sinks to its rank.
    lists[index] = lists[kept] as WeightedList;
    let at = kept++;
    while (at > 0 && (lists[at - 1] as WeightedList).bound < list.bound) {
      lists[at] = lists[at - 1] as WeightedList;
      at--;
    }
    lists[at] = list;
  }
  return kept;
}

/** Slots a part may have (16-bit), as a factor that keeps a part's places apart from the next part's. */
const SLOTS_PER_PART = 0x10000;

/** A chunk's place among all parts' slots: one number that orders chunks by part, then slot. */
function placeOf(partIndex: number, slot: number): number {
  return partIndex * SLOTS_PER_PART + slot;
}

function partOfPlace(place: number): number {
  return Math.floor(place / SLOTS_PER_PART);
}

function slotOfPlace(place: number): number {
  return place % SLOTS_PER_PART;
}

/**
 * The chunks with the highest partial scores offered (at most `capacity`, a min-heap on the score),
 * each as its part's index and its slot there.
 */
export class Leaders {
  size = 0;
  scores = new Float64Array(64);
  parts = new Int32Array(64);
  slots = new Int32Array(64);
  private places = new Float64Array(64);
  private capacity = 0;

  reset(capacity: number): this {
    if (this.scores.length < capacity) {
      this.scores = new Float64Array(capacity);
      this.parts = new Int32Array(capacity);
      this.slots = new Int32Array(capacity);
    }
    this.capacity = capacity;
    this.size = 0;
    return this;
  }

  offer(score: number, part: number, slot: number): void {
    const { scores, parts, slots } = this;
    let position: number;
    if (this.size < this.capacity) {
      position = this.size++;
      while (position > 0) {
        const parent = (position - 1) >> 1;
        if ((scores[parent] as number) <= score) break;
        this.move(parent, position);
        position = parent;
      }
    } else {
      if (score <= (scores[0] as number)) return;
      position = 0;
      for (;;) {
        const left = position * 2 + 1;
        if (left >= this.size) break;
        const right = left + 1;
        let child = left;
        if (right < this.size && (scores[right] as number) < (scores[left] as number)) child = right;
        if ((scores[child] as number) >= score) break;
        this.move(child, position);
        position = child;
      }
    }
    scores[position] = score;
    parts[position] = part;
    slots[position] = slot;
  }

  /**
   * Orders the entries by part, then slot (the order their lists are searched in); ends the heap.
   * Each place is one number, part · 2^16 + slot (slots are 16-bit), sorted in place as numbers.
   */
  sortByPlace(): void {
    const { parts, slots, size } = this;
    if (this.places.length < size) this.places = new Float64Array(this.scores.length);
    const places = this.places;
    for (let index = 0; index < size; index++) {
      places[index] = placeOf(parts[index] as number, slots[index] as number);
    }
    places.subarray(0, size).sort();
    for (let index = 0; index < size; index++) {
      const place = places[index] as number;
      slots[index] = slotOfPlace(place);
      parts[index] = partOfPlace(place);
    }
  }

  private move(from: number, to: number): void {
    this.scores[to] = this.scores[from] as number;
    this.parts[to] = this.parts[from] as number;
    this.slots[to] = this.slots[from] as number;
  }
}

/** Puts `value` into a min-heap of at most k values (the k largest offered); returns its size. */
function offerToMinHeap(heap: Float64Array, size: number, k: number, value: number): number {
  if (size < k) {
    let position = size;
    while (position > 0) {
      const parent = (position - 1) >> 1;
      const parentValue = heap[parent] as number;
      if (parentValue <= value) break;
      heap[position] = parentValue;
      position = parent;
    }
    heap[position] = value;
    return size + 1;
  }
  if (value <= (heap[0] as number)) return size;
  let position = 0;
  for (;;) {
    const left = position * 2 + 1;
    if (left >= k) break;
    const right = left + 1;
    let child = left;
    if (right < k && (heap[right] as number) < (heap[left] as number)) child = right;
    if ((heap[child] as number) >= value) break;
    heap[position] = heap[child] as number;
    position = child;
  }
  heap[position] = value;
  return size;
}

/**
 * The k-th largest accumulator among the given slots when it is above `floor`, else `floor`. A first
 * pass counts the values above the floor: when fewer than k are (the usual case once the top k holds
 * better chunks than this part's), the heap is skipped.
 */
function kthLargest(
  values: Float64Array,
  slots: Int32Array,
  count: number,
  k: number,
  floor: number,
  heap: Float64Array,
): number {
  if (k <= 0 || count < k) return floor;
  let above = 0;
  for (let index = 0; index < count; index++) {
    if ((values[slots[index] as number] as number) > floor) above++;
  }
  if (above < k) return floor;
  // A min-heap of the k largest values above the floor.
  let size = 0;
  for (let index = 0; index < count; index++) {
    const value = values[slots[index] as number] as number;
    if (value > floor) size = offerToMinHeap(heap, size, k, value);
  }
  return heap[0] as number;
}

/**
 * Keeps the `limit` highest scores seen (a binary min-heap on score); ties prefer the lower rowid.
 * Rowids and scores sit in two number arrays rather than a pair per entry: a query offers a few
 * hundred chunks, and a pair for each was most of what scoring allocated.
 */
export class TopEntries {
  private readonly rowids: number[] = [];
  private readonly scores: number[] = [];
  /** Where the scorer found each entry (see `Bm25Scorer.score`), -1 for entries offered without. */
  private readonly places: number[] = [];

  constructor(public limit: number) {}

  /** Empties the entries for another question of `limit` results. */
  reset(limit: number): this {
    this.limit = limit;
    this.rowids.length = 0;
    this.scores.length = 0;
    this.places.length = 0;
    return this;
  }

  /** The score a new entry must reach to enter (0 until the heap is full). */
  threshold(): number {
    return this.scores.length < this.limit ? 0 : (this.scores[0] as number);
  }

  offer(rowid: number, score: number, place = -1): void {
    if (this.limit <= 0) return;
    const { rowids, scores, places } = this;
    if (scores.length < this.limit) {
      rowids.push(rowid);
      scores.push(score);
      places.push(place);
      this.siftUp(scores.length - 1);
      return;
    }
    if (!this.worseThan(0, rowid, score)) return;
    rowids[0] = rowid;
    scores[0] = score;
    places[0] = place;
    this.siftDown(0);
  }

  get size(): number {
    return this.scores.length;
  }

  /** The rowid of the entry at `index` (entries in heap order). */
  rowidAt(index: number): number {
    return this.rowids[index] as number;
  }

  /** The place the entry at `index` was offered with, -1 if none. */
  placeAt(index: number): number {
    return this.places[index] as number;
  }

  sorted(): Array<[number, number]> {
    const entries: Array<[number, number]> = [];
    for (let index = 0; index < this.scores.length; index++) {
      entries.push([this.rowids[index] as number, this.scores[index] as number]);
    }
    return entries.sort((left, right) => right[1] - left[1] || left[0] - right[0]);
  }

  /** Whether the entry at `index` ranks below (`rowid`, `score`). */
  private worseThan(index: number, rowid: number, score: number): boolean {
    const held = this.scores[index] as number;
    return held < score || (held === score && (this.rowids[index] as number) > rowid);
  }

  private siftUp(index: number): void {
    const { rowids, scores } = this;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!this.worseThan(index, rowids[parent] as number, scores[parent] as number)) return;
      this.swap(index, parent);
      index = parent;
    }
  }

  private siftDown(index: number): void {
    const { rowids, scores } = this;
    const count = scores.length;
    for (;;) {
      const left = index * 2 + 1;
      const right = left + 1;
      let smallest = index;
      if (left < count && this.worseThan(left, rowids[smallest] as number, scores[smallest] as number)) {
        smallest = left;
      }
      if (right < count && this.worseThan(right, rowids[smallest] as number, scores[smallest] as number)) {
        smallest = right;
      }
      if (smallest === index) return;
      this.swap(index, smallest);
      index = smallest;
    }
  }

  private swap(first: number, second: number): void {
    const { rowids, scores, places } = this;
    const rowid = rowids[first] as number;
    const score = scores[first] as number;
    const place = places[first] as number;
    rowids[first] = rowids[second] as number;
    scores[first] = scores[second] as number;
    places[first] = places[second] as number;
    rowids[second] = rowid;
    scores[second] = score;
    places[second] = place;
  }
}
