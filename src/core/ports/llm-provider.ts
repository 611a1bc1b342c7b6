/**
 * The narrow LLM port: chat completions (streamed and not) and embeddings over any
 * OpenAI-compatible endpoint. Deliberately leaves out everything core does not use (generated images, audio,
 * the Responses API), so a second implementation stays small.
 */
export interface ToolCall {
  id: string;
  name: string;
  /** The raw JSON text of the arguments, as the model produced it. */
  arguments: string;
}

/** An image shown to the model with a user message (a file attached to the question). */
export interface ImageInput {
  /** A `data:` URL (the model cannot reach a chat platform's private file URLs). */
  url: string;
  /** The file's name, for logs and traces. */
  name: string;
}

export type ChatMessage =
  | { role: "system"; content: string }
  | {
      role: "user";
      content: string;
      name?: string | undefined;
      /**
       * Images that go with the text, for a model that accepts image input (`LLM_ACCEPTS_IMAGES`).
       * Not counted in token budgets: the provider prices them by size.
       */
      images?: ImageInput[] | undefined;
    }
  | { role: "assistant"; content: string | null; toolCalls?: ToolCall[] | undefined }
  | { role: "tool"; content: string; toolCallId: string };

/** A tool as the model sees it: name, description and a JSON Schema for its arguments. */
export interface ToolDefinition {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

export interface ChatRequest {
  messages: ChatMessage[];
  /** Overrides the configured default model (a channel's fine-tuned model, for instance). */
  model?: string | undefined;
  temperature?: number | undefined;
  maxTokens?: number | undefined;
  tools?: ToolDefinition[] | undefined;
  signal?: AbortSignal | undefined;
}

export type FinishReason = "stop" | "length" | "tool_calls" | "content_filter";

export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
}

/** Stream parts are named noun-verb, after the Vercel AI SDK. */
export type ChatStreamPart =
  | { type: "text-delta"; text: string }
  /** Emitted once per call, fully reassembled from its deltas, before `finish`. */
  | { type: "tool-call"; call: ToolCall }
  | {
      type: "finish";
      reason: FinishReason;
      usage?: TokenUsage | undefined;
      model: string;
      /** Which endpoint answered, when several are configured (`LLM_FALLBACKS`); shown by `why`. */
      endpoint?: string | undefined;
    };

export interface ChatCompletion {
  text: string;
  toolCalls: ToolCall[];
  finishReason: FinishReason;
  usage?: TokenUsage | undefined;
  model: string;
  /** Which endpoint answered, when several are configured (`LLM_FALLBACKS`). */
  endpoint?: string | undefined;
}

/** A language model that chats: streamed or whole completions, with tools. */
export interface ChatModel {
  /** The model used when a request names none. */
  readonly defaultModel: string;
  /** Streams a completion. Errors surface as AppError (`llm_rate_limited`, `llm_stream_cut`, …). */
  stream(request: ChatRequest): AsyncIterable<ChatStreamPart>;
  complete(request: ChatRequest): Promise<ChatCompletion>;
}

/** A model that turns texts into dense vectors, for indexing and retrieval. */
export interface EmbeddingModel {
  /** Whether embeddings are configured (the model's name); without them retrieval is BM25 only. */
  readonly embeddingModel: string | undefined;
  embed(texts: string[], signal?: AbortSignal): Promise<number[][]>;
}

/**
 * One endpoint's chat and embedding models together, as the OpenAI-compatible adapters (and their
 * metering, tracing and fallback wrappers) provide them. Callers take the model they use.
 */
export interface LlmProvider extends ChatModel, EmbeddingModel {}
