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
