/**
 * The ranks of a byte-pair encoding (o200k_base's, see tokens.ts) as one hash table in a
 * `SharedArrayBuffer`, so that every thread that counts tokens reads the table one thread built: a
 * thread that chunks documents starts counting at once, instead of loading the ranks' module and
 * building a table of its own (0.2-0.3 s of each new thread, and more under a transpiling loader).
 *
 * Written by hand because a `Map` cannot be shared between threads, and a table of bytes can also be
 * probed with the bytes of a span of text (no string sliced and hashed for each look-up, which was
 * most of a merge's time).
 *
 * Layout (32-bit words): the rank of every two-byte sequence (-1: none), read directly by its bytes;
 * then a filter of the other sequences (see FILTER_WORDS); then open-addressing slots of three words
 * for those sequences: the length (high 8 bits) and rank + 1 (low 24 bits; 0 when the slot is empty);
 * then, for a sequence of up to 8 bytes, its bytes themselves (the first four, the next four;
 * little-endian, zero past the end), or else its hash and where its bytes are in the pool that
 * follows the slots.
 *
 * Why this shape: a merge's look-ups land at random in the table, and on this machine a random read
 * costs about 20 ns within a few megabytes and 150-200 ns beyond (measured by a pointer chase; the
 * processor's cache is shared with other processes). The table this replaced had 2^19 slots of three
 * words with a hash and every sequence's bytes in a pool: 8 MB, and each hit read the pool too. This
 * one keeps the two-byte sequences (the commonest look-ups) out of the slots, holds the whole key of
 * the 148,000 sequences of up to 8 bytes in the slot (nine look-ups in ten when merging SciFact's
 * words), and has 2^18 slots for the 195,000 others: 4.1 MB in all, filter included. Three quarters
 * full, probing is longer, but the probes are neighbours in one or two cache lines, which is what
 * costs.
 */

const PAIRS = 1 << 16;
const SLOTS = 1 << 18; // a power of two above the 195,000 sequences that are not two bytes long
const SLOT_WORDS = 3;
// A filter of the slotted sequences (two bits of one word set per sequence, a blocked Bloom filter) in
// 128 KB, small enough to stay in the processor's nearer caches: merging SciFact's words looks up 146,000
// absent sequences of more than two bytes (two look-ups in five), and the filter answers 130,000 of them
// without reading the slots (where a miss walks to an empty slot, about eight slots at three quarters full).
const FILTER_WORDS = 1 << 15;
const SLOTS_AT = PAIRS + FILTER_WORDS;
const HEADER_BYTES = (SLOTS_AT + SLOTS * SLOT_WORDS) * 4;
const IN_SLOT_BYTES = 8;
const RANK_BITS = 0xffffff;

/** Rank returned for a byte sequence that is not a token. */
export const NO_RANK = Number.POSITIVE_INFINITY;

// `keyOf` leaves the sequence's first four and next four bytes here, for the comparison with a slot.
let keyLow = 0;
let keyHigh = 0;

/**
 * Hash of the byte sequence `bytes[start, end)`, and its first eight bytes packed into `keyLow` and
 * `keyHigh`. The packed words are mixed (murmur3's finalizer) rather than the bytes one by one, so the
 * bytes are read once for both.
 */
function keyOf(bytes: Uint8Array, start: number, end: number): number {
  let low = 0;
  let high = 0;
  const lowEnd = Math.min(end, start + 4);
  const highEnd = Math.min(end, start + IN_SLOT_BYTES);
  let index = start;
  for (let shift = 0; index < lowEnd; index += 1, shift += 8) low |= (bytes[index] as number) << shift;
  for (let shift = 0; index < highEnd; index += 1, shift += 8) high |= (bytes[index] as number) << shift;
  let hash = Math.imul(low ^ Math.imul(end - start, 0x9e3779b1), 0xcc9e2d51);
  hash = Math.imul(hash ^ (hash >>> 15) ^ high, 0x1b873593);
  for (; index < end; index += 1) hash = Math.imul(hash ^ (bytes[index] as number), 0x01000193);
  hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b);
  hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2ae35);
  keyLow = low;
  keyHigh = high;
  return hash ^ (hash >>> 16);
}

/** The filter word (an index into the table's words) that holds the bits of the sequence hashed to `hash`. */
function filterWordOf(hash: number): number {
  return PAIRS + (Math.imul(hash, 0x9e3779b1) >>> 17);
}

/** The two bits of its filter word that the sequence hashed to `hash` sets. */
function filterBitsOf(hash: number): number {
  const mixed = Math.imul(hash, 0x9e3779b1);
  return (1 << (mixed & 31)) | (1 << ((mixed >>> 5) & 31));
}

export class BytePairRanks {
  private readonly words: Int32Array;
  private readonly pool: Uint8Array;

  /** Reads a table that `build` made, possibly on another thread. */
  constructor(readonly buffer: SharedArrayBuffer) {
    this.words = new Int32Array(buffer, 0, HEADER_BYTES / 4);
    this.pool = new Uint8Array(buffer, HEADER_BYTES);
  }

  /**
   * A table of `sequences`, each a byte string (one character, 0-255, per byte) whose rank is its
   * index; an undefined entry has no sequence. Sequences are at most 255 bytes long.
   */
  static build(sequences: ReadonlyArray<string | undefined>): BytePairRanks {
    if (sequences.length >= RANK_BITS)
      throw new RangeError(`${sequences.length} ranks are too many for the table`);
    let poolBytes = 0;
    let slotted = 0;
    for (const sequence of sequences) {
      if (sequence === undefined || sequence.length === 2) continue;
      slotted += 1;
      if (sequence.length > IN_SLOT_BYTES) poolBytes += sequence.length;
    }
    if (slotted >= SLOTS) throw new RangeError(`${slotted} byte sequences are too many for the table`);
    const buffer = new SharedArrayBuffer(HEADER_BYTES + poolBytes);
    const words = new Int32Array(buffer, 0, HEADER_BYTES / 4);
    const pool = new Uint8Array(buffer, HEADER_BYTES);
    words.fill(-1, 0, PAIRS);
    let offset = 0;
    const bytes = new Uint8Array(0xff);
    for (let rank = 0; rank < sequences.length; rank += 1) {
      const sequence = sequences[rank];
      if (sequence === undefined) continue;
      const length = sequence.length;
      if (length > 0xff) throw new RangeError(`a byte sequence of ${length} bytes is too long for the table`);
      for (let index = 0; index < length; index += 1) bytes[index] = sequence.charCodeAt(index);
      if (length === 2) {
        words[((bytes[0] as number) << 8) | (bytes[1] as number)] = rank;
        continue;
      }
      const hash = keyOf(bytes, 0, length);
      const filterAt = filterWordOf(hash);
      words[filterAt] = (words[filterAt] as number) | filterBitsOf(hash);
      let slot = hash & (SLOTS - 1);
      while (words[SLOTS_AT + slot * SLOT_WORDS] !== 0) slot = (slot + 1) & (SLOTS - 1);
      const at = SLOTS_AT + slot * SLOT_WORDS;
      words[at] = (length << 24) | (rank + 1);
      if (length <= IN_SLOT_BYTES) {
        words[at + 1] = keyLow;
        words[at + 2] = keyHigh;
        continue;
      }
      words[at + 1] = hash;
      words[at + 2] = offset;
      pool.set(bytes.subarray(0, length), offset);
      offset += length;
    }
    return new BytePairRanks(buffer);
  }

  /**
   * Rank of the byte sequence `bytes[start, end)`, or `NO_RANK`. Bytes, not a byte string: a merge looks
   * up spans of one piece dozens of times, and strings come in many representations (sequential or
   * sliced, one or two bytes a character, concatenated), which made every `charCodeAt` here a megamorphic
   * property load in the optimized code (--log-ic), where a typed array's element is one load.
   */
  rankOf(bytes: Uint8Array, start: number, end: number): number {
    const length = end - start;
    const words = this.words;
    if (length === 2) {
      const rank = words[((bytes[start] as number) << 8) | (bytes[start + 1] as number)] as number;
      return rank < 0 ? NO_RANK : rank;
    }
    const hash = keyOf(bytes, start, end);
    const bits = filterBitsOf(hash);
    if (((words[filterWordOf(hash)] as number) & bits) !== bits) return NO_RANK;
    if (length <= IN_SLOT_BYTES) {
      const low = keyLow;
      const high = keyHigh;
      for (let slot = hash & (SLOTS - 1); ; slot = (slot + 1) & (SLOTS - 1)) {
        const at = SLOTS_AT + slot * SLOT_WORDS;
        const entry = words[at] as number;
        if (entry === 0) return NO_RANK;
        if (entry >>> 24 === length && words[at + 1] === low && words[at + 2] === high)
          return (entry & RANK_BITS) - 1;
      }
    }
    const pool = this.pool;
    for (let slot = hash & (SLOTS - 1); ; slot = (slot + 1) & (SLOTS - 1)) {
      const at = SLOTS_AT + slot * SLOT_WORDS;
      const entry = words[at] as number;
      if (entry === 0) return NO_RANK;
      if (entry >>> 24 !== length || words[at + 1] !== hash) continue;
      const offset = (words[at + 2] as number) - start;
      let same = true;
      for (let index = start; index < end && same; index += 1) same = pool[offset + index] === bytes[index];
      if (same) return (entry & RANK_BITS) - 1;
    }
  }
}
