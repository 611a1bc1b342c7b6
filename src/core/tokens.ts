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

export function countTokens(text: string): number {
  if (text.length === 0) return 0;
  return getEncoder().encode(text).length;
}

/** Every chat message costs a few tokens of framing on top of its content. */
export const MESSAGE_OVERHEAD_TOKENS = 4;

/** Cuts text to at most `maxTokens` tokens, on a token boundary. */
export function truncateToTokens(text: string, maxTokens: number): string {
  const tokens = getEncoder().encode(text);
  if (tokens.length <= maxTokens) return text;
  return getEncoder().decode(tokens.slice(0, Math.max(0, maxTokens)));
}
