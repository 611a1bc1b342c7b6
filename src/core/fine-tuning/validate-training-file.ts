import { countTokens, MESSAGE_OVERHEAD_TOKENS } from "../tokens.js";

export interface DatasetProblem {
  /** 1-based line of the JSONL file; absent for a problem of the whole file. */
  line?: number | undefined;
  message: string;
}

export interface DatasetCheck {
  problems: DatasetProblem[];
  exampleCount: number;
  /** Tokens of every example as counted here (o200k), before the per-example cap. */
  totalTokens: number;
  /** Tokens billed per epoch: each example counts up to the per-example limit. */
  billedTokensPerEpoch: number;
  epochs: number;
  /** Estimated training cost in US dollars, when the base model's price is known. */
  estimatedCostUsd: number | undefined;
}

export interface DatasetCheckOptions {
  baseModel: string;
  /** Longest example accepted, in tokens. OpenAI's limit for current models is 65 536. */
  maxTokensPerExample?: number | undefined;
  /** Fixed epochs; default: OpenAI's automatic choice for the dataset size. */
  epochs?: number | undefined;
}

/** OpenAI refuses training files with fewer examples than this. */
const MIN_EXAMPLES = 10;
const ROLES = new Set(["system", "user", "assistant", "tool"]);

/**
 * Training prices in US dollars per million tokens (OpenAI's price list, supervised fine-tuning).
 * An unknown base model gets no cost estimate rather than a wrong one.
 */
const TRAINING_PRICE_PER_MILLION: ReadonlyArray<[prefix: string, dollars: number]> = [
  ["gpt-4.1-nano", 1.5],
  ["gpt-4.1-mini", 5],
  ["gpt-4.1", 25],
  ["gpt-4o-mini", 3],
  ["gpt-4o", 25],
  ["gpt-3.5-turbo", 8],
];

function trainingPricePerMillion(baseModel: string): number | undefined {
  return TRAINING_PRICE_PER_MILLION.find(([prefix]) => baseModel.startsWith(prefix))?.[1];
}

/**
 * The epochs OpenAI picks when none are given: 3, raised so small sets see about 100 examples in
 * all and lowered so huge sets stay under about 25 000 (the cookbook's data-preparation rules).
 */
export function defaultEpochs(exampleCount: number): number {
  if (exampleCount <= 0) return 0;
  if (exampleCount * 3 < 100) return Math.min(25, Math.floor(100 / exampleCount));
  if (exampleCount * 3 > 25_000) return Math.max(1, Math.floor(25_000 / exampleCount));
  return 3;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Checks one example; returns its problems and its token count. */
function checkExample(example: unknown): { problems: string[]; tokens: number } {
  const problems: string[] = [];
  if (!isObject(example) || !Array.isArray(example.messages)) {
    return { problems: ["each line needs an object with a `messages` array"], tokens: 0 };
  }
  if (example.messages.length === 0) return { problems: ["`messages` is empty"], tokens: 0 };
  let tokens = 0;
  let assistantMessages = 0;
  const toolCallIds = new Set<string>();
  example.messages.forEach((message: unknown, index) => {
    const where = `message ${index + 1}`;
    if (!isObject(message)) {
      problems.push(`${where} is not an object`);
      return;
    }
    const role = message.role;
    if (typeof role !== "string" || !ROLES.has(role)) {
      problems.push(`${where} has role ${JSON.stringify(role)}; use system, user, assistant or tool`);
      return;
    }
    const content = message.content;
    const hasToolCalls = Array.isArray(message.tool_calls) && message.tool_calls.length > 0;
    if (typeof content === "string") {
      if (content.trim().length === 0 && !(role === "assistant" && hasToolCalls))
        problems.push(`${where} (${role}) has empty content`);
      tokens += countTokens(content);
    } else if (!(role === "assistant" && hasToolCalls && (content === null || content === undefined))) {
      problems.push(`${where} (${role}) needs text content`);
    }
    tokens += MESSAGE_OVERHEAD_TOKENS;
    if (role === "assistant") assistantMessages += 1;
    if (message.tool_calls !== undefined) {
      if (role !== "assistant") problems.push(`${where}: only assistant messages may have tool_calls`);
      else if (!Array.isArray(message.tool_calls)) problems.push(`${where}: tool_calls must be an array`);
      else {
        message.tool_calls.forEach((call: unknown, callIndex) => {
          const label = `${where}, tool call ${callIndex + 1}`;
          if (!isObject(call) || typeof call.id !== "string" || call.id.length === 0) {
            problems.push(`${label} needs an id`);
            return;
          }
          toolCallIds.add(call.id);
          if (call.type !== "function") problems.push(`${label} must have type "function"`);
          const fn = call.function;
          if (!isObject(fn) || typeof fn.name !== "string" || fn.name.length === 0) {
            problems.push(`${label} needs function.name`);
            return;
          }
          if (typeof fn.arguments !== "string") {
            problems.push(`${label}: function.arguments must be a JSON string`);
            return;
          }
          try {
            JSON.parse(fn.arguments);
          } catch {
            problems.push(`${label}: function.arguments is not valid JSON`);
          }
          tokens += countTokens(fn.name) + countTokens(fn.arguments);
        });
      }
    }
    if (role === "tool") {
      if (typeof message.tool_call_id !== "string" || !toolCallIds.has(message.tool_call_id)) {
        problems.push(`${where} (tool) must answer an earlier tool call by its tool_call_id`);
      }
    }
  });
  if (assistantMessages === 0) problems.push("no assistant message to learn from");
  return { problems, tokens };
}

/**
 * Validates a chat-format JSONL training file the way OpenAI will, before anything is uploaded:
 * each problem names its line. Also counts tokens and estimates the cost of the planned epochs.
 */
export function validateTrainingFile(jsonl: string, options: DatasetCheckOptions): DatasetCheck {
  const maxTokens = options.maxTokensPerExample ?? 65_536;
  const problems: DatasetProblem[] = [];
  const lines = jsonl.split("\n");
  if (lines.at(-1) === "") lines.pop();
  let exampleCount = 0;
  let totalTokens = 0;
  let billedTokensPerEpoch = 0;
  lines.forEach((text, index) => {
    const line = index + 1;
    if (text.trim().length === 0) {
      problems.push({ line, message: "empty line" });
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      problems.push({ line, message: "not valid JSON" });
      return;
    }
    const checked = checkExample(parsed);
    for (const message of checked.problems) problems.push({ line, message });
    if (checked.tokens > maxTokens) {
      problems.push({ line, message: `the example has ${checked.tokens} tokens; the limit is ${maxTokens}` });
    }
    exampleCount += 1;
    totalTokens += checked.tokens;
    billedTokensPerEpoch += Math.min(checked.tokens, maxTokens);
  });
  if (exampleCount < MIN_EXAMPLES) {
    problems.push({
      message: `${exampleCount} example${exampleCount === 1 ? "" : "s"}; fine-tuning needs at least ${MIN_EXAMPLES}`,
    });
  }
  const epochs = options.epochs ?? defaultEpochs(exampleCount);
  const price = trainingPricePerMillion(options.baseModel);
  return {
    problems,
    exampleCount,
    totalTokens,
    billedTokensPerEpoch,
    epochs,
    estimatedCostUsd: price === undefined ? undefined : (billedTokensPerEpoch * epochs * price) / 1_000_000,
  };
}

/** Problems as chat lines, the first `limit` of them. */
export function describeProblems(problems: DatasetProblem[], limit = 10): string {
  const lines = problems
    .slice(0, limit)
    .map(
      (problem) => `• ${problem.line === undefined ? "file" : `line ${problem.line}`}: ${problem.message}`,
    );
  if (problems.length > limit) lines.push(`• …and ${problems.length - limit} more`);
  return lines.join("\n");
}
