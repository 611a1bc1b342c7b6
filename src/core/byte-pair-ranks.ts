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
 * then open-addressing slots of three words each (FNV-1a hash of the bytes; their offset in the pool;
 * their length plus, above the low 8 bits, rank + 1, 0 when the slot is empty); then the pool of the
 * sequences' bytes.
 */

const PAIRS = 1 << 16;
const SLOTS = 1 << 19; // a power of two, about 2.6 times the entries: probes stay short, misses too
const SLOT_WORDS = 3;
const HEADER_BYTES = (PAIRS + SLOTS * SLOT_WORDS) * 4;

/** Rank returned for a byte sequence that is not a token. */
export const NO_RANK = Number.POSITIVE_INFINITY;

/** FNV-1a over the character codes (bytes, 0-255) of `bytes[start, end)`. */
function hashOf(bytes: string, start: number, end: number): number {
  let hash = 0x811c9dc5 | 0;
  for (let index = start; index < end; index += 1)
    hash = Math.imul(hash ^ bytes.charCodeAt(index), 0x01000193);
  return hash;
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
    let poolBytes = 0;
    for (const sequence of sequences) poolBytes += sequence?.length ?? 0;
    const buffer = new SharedArrayBuffer(HEADER_BYTES + poolBytes);
    const words = new Int32Array(buffer, 0, HEADER_BYTES / 4);
    const pool = new Uint8Array(buffer, HEADER_BYTES);
    words.fill(-1, 0, PAIRS);
    let offset = 0;
    for (let rank = 0; rank < sequences.length; rank += 1) {
      const bytes = sequences[rank];
      if (bytes === undefined) continue;
      const length = bytes.length;
      if (length > 0xff) throw new RangeError(`a byte sequence of ${length} bytes is too long for the table`);
      if (length === 2) words[(bytes.charCodeAt(0) << 8) | bytes.charCodeAt(1)] = rank;
      for (let index = 0; index < length; index += 1) pool[offset + index] = bytes.charCodeAt(index);
      const hash = hashOf(bytes, 0, length);
      let slot = hash & (SLOTS - 1);
      while (words[PAIRS + slot * SLOT_WORDS + 2] !== 0) slot = (slot + 1) & (SLOTS - 1);
      const at = PAIRS + slot * SLOT_WORDS;
      words[at] = hash;
      words[at + 1] = offset;
      words[at + 2] = length | ((rank + 1) << 8);
      offset += length;
    }
    return new BytePairRanks(buffer);
  }

  /** Rank of the byte sequence `bytes[start, end)` (a byte string), or `NO_RANK`. */
  rankOf(bytes: string, start: number, end: number): number {
    const length = end - start;
    const words = this.words;
    if (length === 2) {
      const rank = words[(bytes.charCodeAt(start) << 8) | bytes.charCodeAt(start + 1)] as number;
      return rank < 0 ? NO_RANK : rank;
    }
    const hash = hashOf(bytes, start, end);
    const pool = this.pool;
    for (let slot = hash & (SLOTS - 1); ; slot = (slot + 1) & (SLOTS - 1)) {
      const at = PAIRS + slot * SLOT_WORDS;
      const entry = words[at + 2] as number;
      if (entry === 0) return NO_RANK;
      if (words[at] !== hash || (entry & 0xff) !== length) continue;
      const offset = words[at + 1] as number;
      let same = true;
      for (let index = 0; index < length && same; index += 1)
        same = pool[offset + index] === bytes.charCodeAt(start + index);
      if (same) return (entry >>> 8) - 1;
    }
  }
}
