/**
 * A small deterministic generator (a linear congruential one), so that a failing random case can be
 * replayed from its seed: numbers in [0, 1).
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** Picks an item of `items` at random, drawing from `random`. */
export function pickWith(random: () => number): <T>(items: readonly T[]) => T {
  return (items) => items[Math.floor(random() * items.length)] as (typeof items)[number];
}

/** A text of fewer than `maxPieces` pieces of `alphabet`, drawn from `random`: its length first, then each piece. */
export function randomText(random: () => number, alphabet: readonly string[], maxPieces: number): string {
  const pick = pickWith(random);
  const length = Math.floor(random() * maxPieces);
  let text = "";
  for (let index = 0; index < length; index++) text += pick(alphabet);
  return text;
}
