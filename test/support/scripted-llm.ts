import type {
  ChatCompletion,
  ChatRequest,
  ChatStreamPart,
  LlmProvider,
  ToolCall,
} from "../../src/core/ports/llm-provider.js";

export interface ScriptedReply {
  text?: string;
  toolCalls?: ToolCall[];
  finishReason?: "stop" | "length" | "tool_calls";
}

export type Script = (
  request: ChatRequest,
  callIndex: number,
) => ScriptedReply | string | Promise<ScriptedReply | string>;

/**
 * An in-process LLM for core unit tests: answers from a script and records every request it was
 * asked, so tests assert on the prompts. Protocol-level behaviour is tested against the HTTP stand-in.
 */
export class ScriptedLlm implements LlmProvider {
  readonly defaultModel = "scripted-model";
  readonly embeddingModel = undefined;
  readonly requests: ChatRequest[] = [];

  constructor(private readonly script: Script) {}

  private async reply(request: ChatRequest): Promise<ScriptedReply> {
    this.requests.push(structuredClone({ ...request, signal: undefined }));
    const result = await this.script(request, this.requests.length - 1);
    return typeof result === "string" ? { text: result } : result;
  }

  async *stream(request: ChatRequest): AsyncIterable<ChatStreamPart> {
    const reply = await this.reply(request);
    const text = reply.text ?? "";
    // Several deltas, like a real stream.
    for (const piece of text.match(/.{1,12}/gs) ?? []) yield { type: "text-delta", text: piece };
    for (const call of reply.toolCalls ?? []) yield { type: "tool-call", call };
    yield {
      type: "finish",
      reason: reply.finishReason ?? (reply.toolCalls?.length ? "tool_calls" : "stop"),
      model: request.model ?? this.defaultModel,
      usage: { promptTokens: 0, completionTokens: 0 },
    };
  }

  async complete(request: ChatRequest): Promise<ChatCompletion> {
    const reply = await this.reply(request);
    return {
      text: reply.text ?? "",
      toolCalls: reply.toolCalls ?? [],
      finishReason: reply.finishReason ?? (reply.toolCalls?.length ? "tool_calls" : "stop"),
      model: request.model ?? this.defaultModel,
    };
  }

  async embed(): Promise<number[][]> {
    throw new Error("ScriptedLlm has no embeddings");
  }

  /** The text of every message of a request, joined: handy for "does the prompt contain X". */
  static promptText(request: ChatRequest): string {
    return request.messages.map((message) => message.content ?? "").join("\n");
  }
}
