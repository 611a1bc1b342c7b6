/**
 * Estimated prices per model, in US dollars per million tokens, for the cost column of `usage` and
 * for limits in dollars. They are estimates: an endpoint's bill is the truth. `LLM_PRICES` adds or
 * overrides entries; a model found nowhere costs 0 (local servers, private deployments), so its
 * tokens still count but its dollars do not.
 */
export interface ModelPrice {
  inputUsdPerMillion: number;
  outputUsdPerMillion: number;
}

export type PriceTable = Readonly<Record<string, ModelPrice>>;

const price = (input: number, output: number): ModelPrice => ({
  inputUsdPerMillion: input,
  outputUsdPerMillion: output,
});

/**
 * OpenAI's published list prices for standard (not batch, not cached) tokens when this table was
 * written. Fine-tuned models (`ft:<base>:…`) are billed at their own rates, listed under `ft:<base>`.
 * @see https://platform.openai.com/docs/pricing
 */
export const DEFAULT_MODEL_PRICES: PriceTable = {
  "gpt-5": price(1.25, 10),
  "gpt-5-mini": price(0.25, 2),
  "gpt-5-nano": price(0.05, 0.4),
  "gpt-4.1": price(2, 8),
  "gpt-4.1-mini": price(0.4, 1.6),
  "gpt-4.1-nano": price(0.1, 0.4),
  "gpt-4o": price(2.5, 10),
  "gpt-4o-mini": price(0.15, 0.6),
  o1: price(15, 60),
  o3: price(2, 8),
  "o3-mini": price(1.1, 4.4),
  "o4-mini": price(1.1, 4.4),
  "gpt-4-turbo": price(10, 30),
  "gpt-3.5-turbo": price(0.5, 1.5),
  "ft:gpt-4.1": price(3, 12),
  "ft:gpt-4.1-mini": price(0.8, 3.2),
  "ft:gpt-4.1-nano": price(0.2, 0.8),
  "ft:gpt-4o": price(3.75, 15),
  "ft:gpt-4o-mini": price(0.3, 1.2),
  "ft:gpt-3.5-turbo": price(3, 6),
};

// Endpoints answer with dated snapshots (`gpt-4o-mini-2024-07-18`); their price is the alias's.
const DATED_SUFFIX = /-\d{4}-\d{2}-\d{2}$/;

/**
 * The price of a model name as an endpoint reports it: the exact name first, then without a dated
 * suffix; a fine-tuned `ft:<base>:<org>:<suffix>:<id>` is looked up as `ft:<base>`.
 */
export function priceOf(model: string, table: PriceTable): ModelPrice | undefined {
  const exact = table[model];
  if (exact) return exact;
  if (model.startsWith("ft:")) {
    const base = model.slice(3).split(":")[0] ?? "";
    return table[`ft:${base}`] ?? table[`ft:${base.replace(DATED_SUFFIX, "")}`];
  }
  const undated = model.replace(DATED_SUFFIX, "");
  return undated === model ? undefined : table[undated];
}

/**
 * Estimated cost in nano-USD (billionths of a dollar): dollars per million tokens times tokens is
 * micro-dollars, times 1000 is nano-dollars, an integer for any price with up to three decimals.
 */
export function costNanoUsd(
  price: ModelPrice | undefined,
  promptTokens: number,
  completionTokens: number,
): number {
  if (!price) return 0;
  return Math.round(
    promptTokens * price.inputUsdPerMillion * 1_000 + completionTokens * price.outputUsdPerMillion * 1_000,
  );
}

/** "$0.0012", "$1.25", "$1,234.50": enough decimals that a small figure is not shown as $0.00. */
export function formatUsd(nanoUsd: number): string {
  const dollars = nanoUsd / 1e9;
  if (dollars === 0) return "$0";
  const digits = dollars >= 1 ? 2 : dollars >= 0.01 ? 3 : 4;
  const shown = dollars.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
  return shown === (0).toFixed(digits) ? "<$0.0001" : `$${shown}`;
}
