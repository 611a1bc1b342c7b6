import o200kRanks from "gpt-tokenizer/bpeRanks/o200k_base";
import { describe, expect, it } from "vitest";
import { BytePairRanks, NO_RANK } from "../../src/core/byte-pair-ranks.js";
import { tokenizerTable } from "../../src/core/tokens.js";
import { pickWith, seededRandom } from "../support/seeded-random.js";

// The sequences of o200k_base as byte strings (one character, 0-255, per UTF-8 byte), indexed by rank.
const encoder = new TextEncoder();
const sequences = (o200kRanks as ReadonlyArray<string | readonly number[] | undefined>).map((entry) =>
  entry === undefined
    ? undefined
    : String.fromCharCode(...(typeof entry === "string" ? encoder.encode(entry) : entry)),
);
const rankBySequence = new Map<string, number>();
/** A byte string's bytes (one character, 0-255, per byte), as the table is asked with. */
const bytesOf = (byteString: string) => Uint8Array.from(byteString, (character) => character.charCodeAt(0));
sequences.forEach((sequence, rank) => {
  if (sequence !== undefined) rankBySequence.set(sequence, rank);
});

describe("byte-pair rank table", () => {
  // The table tokens.ts counts with (built there, or handed to a thread), read as a thread reads it.
  const table = new BytePairRanks(tokenizerTable());

  it("reads back the rank of every sequence, alone and as a span of a longer string", () => {
    let wrong = 0;
    for (const [sequence, rank] of rankBySequence) {
      if (table.rankOf(bytesOf(sequence), 0, sequence.length) !== rank) wrong += 1;
      if (table.rankOf(bytesOf(`\u00ff\0${sequence}\0`), 2, 2 + sequence.length) !== rank) wrong += 1;
    }
    expect(rankBySequence.size).toBe(199_998);
    expect(wrong).toBe(0);
  });

  it("answers NO_RANK for absent sequences of every length, those that agree with a present one in their first eight bytes too", () => {
    const absentByLength = new Map<number, number>();
    let wrong = 0;
    const check = (bytes: string) => {
      if (rankBySequence.has(bytes)) return;
      absentByLength.set(bytes.length, (absentByLength.get(bytes.length) ?? 0) + 1);
      if (table.rankOf(bytesOf(`\0${bytes}\u00ff`), 1, 1 + bytes.length) !== NO_RANK) wrong += 1;
    };
    const random = seededRandom(3);
    for (let length = 0; length <= 300; length += 1) {
      check("\0".repeat(length));
      check(Array.from({ length }, () => String.fromCharCode(Math.floor(random() * 256))).join(""));
    }
    for (const sequence of rankBySequence.keys()) {
      const last = sequence.charCodeAt(sequence.length - 1);
      // The same bytes with the last one changed, a zero byte added or removed (zero bytes are what a
      // packed key pads with), and the sequence doubled.
      check(sequence.slice(0, -1) + String.fromCharCode((last + 1) & 0xff));
      check(`${sequence}\0`);
      check(`\0${sequence}`);
      check(sequence.slice(0, -1));
      check(sequence + sequence);
    }
    expect(wrong).toBe(0);
    for (let length = 2; length <= 300; length += 1)
      expect(absentByLength.get(length) ?? 0).toBeGreaterThan(0);
  });

  it("answers random byte strings, and spans of them, as a Map of the sequences does", () => {
    const random = seededRandom(14);
    const pick = pickWith(random);
    const keys = [...rankBySequence.keys()];
    let wrong = 0;
    for (let round = 0; round < 50_000; round += 1) {
      // Glue pieces of real sequences (the look-ups a merge makes join two tokens) or random bytes.
      let text = "";
      while (text.length < 24) {
        if (random() < 0.2) text += String.fromCharCode(Math.floor(random() * 256));
        else text += pick(keys);
      }
      const start = Math.floor(random() * 8);
      const end = Math.min(text.length, start + 1 + Math.floor(random() * 16));
      const expected = rankBySequence.get(text.slice(start, end)) ?? NO_RANK;
      if (table.rankOf(bytesOf(text), start, end) !== expected) wrong += 1;
    }
    expect(wrong).toBe(0);
  });

  it("builds the same answers from the sequences directly, and refuses a sequence too long for it", () => {
    const built = BytePairRanks.build(sequences);
    expect(Buffer.from(built.buffer).equals(Buffer.from(table.buffer))).toBe(true);
    expect(() => BytePairRanks.build(["\0".repeat(256)])).toThrow(RangeError);
  });
});
