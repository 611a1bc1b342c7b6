import type {
  ChatCompletion,
  ChatRequest,
  ChatStreamPart,
  LlmProvider,
  TokenUsage,
  ToolCall,
} from "../../src/core/ports/llm-provider.js";

/** One scripted model turn: text, tool calls, or both; or a function of the request it answers. */
interface ScriptedTurn {
  text?: string;
  toolCalls?: Array<{ name: string; arguments: unknown; id?: string }>;
  usage?: TokenUsage;
  /** Waits this long before answering (honouring the request's abort signal). */
  delayMs?: number;
}

export type ScriptStep = ScriptedTurn | ((request: ChatRequest) => ScriptedTurn);

/**
 * A fake LLM that replays a script and records every request (a deep copy, so later mutation of the
 * agent's message list cannot rewrite history). When the script runs out it repeats `fallback`, or
 * throws, so a test notices an unexpected extra call.
 */
export class ScriptedLlmProvider implements LlmProvider {
  readonly defaultModel = "scripted-model";
  readonly embeddingModel = undefined;
  readonly requests: ChatRequest[] = [];
  private position = 0;
  private callCounter = 0;

  constructor(
    private readonly script: ScriptStep[],
    private readonly fallback?: ScriptStep,
  ) {}

  async *stream(request: ChatRequest): AsyncIterable<ChatStreamPart> {
    const { signal, ...rest } = request;
    this.requests.push(structuredClone(rest));
    const step = this.script[this.position] ?? this.fallback;
    this.position += 1;
    if (!step) throw new Error(`ScriptedLlmProvider: no scripted turn for request ${this.requests.length}`);
    const turn = typeof step === "function" ? step(request) : step;
    if (turn.delayMs) await sleep(turn.delayMs, signal);
    signal?.throwIfAborted();
    const text = turn.text ?? "";
    // Two deltas, so streaming is actually exercised.
    const middle = Math.ceil(text.length / 2);
    for (const piece of [text.slice(0, middle), text.slice(middle)]) {
      if (piece) yield { type: "text-delta", text: piece };
    }
    const calls: ToolCall[] = (turn.toolCalls ?? []).map((call) => {
      this.callCounter += 1;
      return {
        id: call.id ?? `call_${this.callCounter}`,
        name: call.name,
        arguments: typeof call.arguments === "string" ? call.arguments : JSON.stringify(call.arguments),
      };
    });
    for (const call of calls) yield { type: "tool-call", call };
    yield {
      type: "finish",
      reason: calls.length > 0 ? "tool_calls" : "stop",
      usage: turn.usage ?? { promptTokens: 100, completionTokens: 10 },
      model: this.defaultModel,
    };
  }

  async complete(request: ChatRequest): Promise<ChatCompletion> {
    let text = "";
    const toolCalls: ToolCall[] = [];
    let finish: ChatCompletion = { text, toolCalls, finishReason: "stop", model: this.defaultModel };
    for await (const part of this.stream(request)) {
      if (part.type === "text-delta") text += part.text;
      else if (part.type === "tool-call") toolCalls.push(part.call);
      else finish = { text, toolCalls, finishReason: part.reason, usage: part.usage, model: part.model };
    }
    return { ...finish, text };
  }

  async embed(texts: string[]): Promise<number[][]> {
    return texts.map(() => [0]);
  }
}

function sleep(milliseconds: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, milliseconds);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}
