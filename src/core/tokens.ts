import { Tiktoken } from "js-tiktoken/lite";
import o200kBase from "js-tiktoken/ranks/o200k_base";

/**
 * Token counting with a real tokenizer (o200k_base, the GPT-4o/4.1 family encoding). Other
 * OpenAI-compatible models tokenize differently, so budgets keep a margin; o200k is a close
 * enough estimate for Llama/Qwen-class vocabularies too. The ranks ship inside the npm package,
 * so nothing is downloaded at run time.
 */
let encoder: Tiktoken | undefined;

function getEncoder(): Tiktoken {
  encoder ??= new Tiktoken(o200kBase);
  return encoder;
}

// js-tiktoken's byte-pair merge is quadratic in the length of a run without spaces or punctuation
// (2,000 Hangul characters, or a pasted base64 blob, take seconds), so such runs are encoded in
// short slices. Slicing can only add tokens at the cuts, so budgets stay on the safe side.
const LONG_RUN = /[^\s\p{P}]{64,}/gu;
const SLICE = 32;

/** The text in pieces that are each cheap to encode, in order; concatenated they are the text. */
function pieces(text: string): string[] {
  const result: string[] = [];
  let last = 0;
  for (const match of text.matchAll(LONG_RUN)) {
    const start = match.index;
    if (start > last) result.push(text.slice(last, start));
    for (let offset = 0; offset < match[0].length; offset += SLICE) {
      result.push(match[0].slice(offset, offset + SLICE));
    }
    last = start + match[0].length;
  }
  if (last < text.length) result.push(text.slice(last));
  return result;
}

export function countTokens(text: string): number {
  if (text.length === 0) return 0;
  let total = 0;
  for (const piece of pieces(text)) total += getEncoder().encode(piece).length;
  return total;
}

/** Every chat message costs a few tokens of framing on top of its content. */
export const MESSAGE_OVERHEAD_TOKENS = 4;

/** Cuts text to at most `maxTokens` tokens, on a token boundary. */
export function truncateToTokens(text: string, maxTokens: number): string {
  const budget = Math.max(0, maxTokens);
  let used = 0;
  let kept = "";
  for (const piece of pieces(text)) {
    const tokens = getEncoder().encode(piece);
    if (used + tokens.length <= budget) {
      kept += piece;
      used += tokens.length;
      continue;
    }
    return kept + getEncoder().decode(tokens.slice(0, budget - used));
  }
  return kept;
}
