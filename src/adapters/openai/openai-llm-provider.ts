import type OpenAI from "openai";
import { APIConnectionError, APIError } from "openai";
import type {
  ChatCompletionChunk,
  ChatCompletionContentPart,
  ChatCompletionCreateParamsBase,
  ChatCompletionMessageParam,
  ChatCompletionTool,
} from "openai/resources/chat/completions";
import { followAbort } from "../../core/deadline.js";
import { AppError } from "../../core/errors.js";
import type {
  ChatCompletion,
  ChatMessage,
  ChatRequest,
  ChatStreamPart,
  FinishReason,
  LlmProvider,
  TokenUsage,
  ToolCall,
} from "../../core/ports/llm-provider.js";
import { type Logger, silentLogger } from "../../core/ports/logger.js";
import { createOpenAiClient } from "./openai-client.js";
import { type RetryPolicy, withRetries } from "./retry-policy.js";
import { redact, translateOpenAiError } from "./translate-openai-error.js";

export interface OpenAiLlmProviderOptions {
  /** Sent as the bearer token. Servers that need none (Ollama, llama.cpp) accept any placeholder. */
  apiKey: string;
  /** Any OpenAI-compatible `/v1` root; the SDK's default (api.openai.com) when absent. */
  baseURL?: string | undefined;
  model: string;
  /** Without one, `embed()` refuses and retrieval is BM25 only. */
  embeddingModel?: string | undefined;
  /**
   * The longest one call may take, every attempt, wait and streamed chunk included: past it the call
   * fails with `llm_timeout`, whatever the server does. Default 600 000 ms.
   */
  timeoutMs?: number | undefined;
  /** Retries of 408/409/429/5xx and connection errors, with the SDK's backoff. Default 2. */
  maxRetries?: number | undefined;
  /**
   * The longest wait before a retry. A server whose `Retry-After` asks for more gets no retry: the
   * call fails at once with its error rather than sitting silent. Default 10 000 ms.
   */
  maxRetryDelayMs?: number | undefined;
  /** Inputs per embeddings request. Default 128, which every common server accepts. */
  embeddingBatchSize?: number | undefined;
  logger?: Logger | undefined;
  /**
   * The endpoint's shared client (`createOpenAiClient`, also used by fine-tuning); made from
   * `apiKey` and `baseURL` when absent. `apiKey` is still needed: it is redacted from errors.
   */
  client?: OpenAI | undefined;
}

const DEFAULT_TIMEOUT_MS = 600_000;
const DEFAULT_MAX_RETRY_DELAY_MS = 10_000;

const FINISH_REASONS: Record<string, FinishReason> = {
  stop: "stop",
  length: "length",
  tool_calls: "tool_calls",
  // The pre-tools name some OpenAI-compatible servers still send.
  function_call: "tool_calls",
  content_filter: "content_filter",
};

function toFinishReason(reason: string): FinishReason {
  // Servers outside OpenAI invent their own (`eos`, `abort`…); any other completed turn counts as a stop.
  return FINISH_REASONS[reason] ?? "stop";
}

function toUsage(usage: { prompt_tokens: number; completion_tokens: number } | null | undefined) {
  if (!usage) return undefined;
  return { promptTokens: usage.prompt_tokens, completionTokens: usage.completion_tokens };
}

function toMessageParam(message: ChatMessage): ChatCompletionMessageParam {
  switch (message.role) {
    case "system":
      return { role: "system", content: message.content };
    case "user": {
      // With images the content becomes parts: the text first, then one `image_url` part per image.
      const content: string | ChatCompletionContentPart[] =
        message.images && message.images.length > 0
          ? [
              { type: "text", text: message.content },
              ...message.images.map(
                (image): ChatCompletionContentPart => ({ type: "image_url", image_url: { url: image.url } }),
              ),
            ]
          : message.content;
      return message.name === undefined
        ? { role: "user", content }
        : { role: "user", content, name: message.name };
    }
    case "assistant":
      if (!message.toolCalls || message.toolCalls.length === 0) {
        return { role: "assistant", content: message.content ?? "" };
      }
      return {
        role: "assistant",
        content: message.content,
        tool_calls: message.toolCalls.map((call) => ({
          id: call.id,
          type: "function",
          function: { name: call.name, arguments: call.arguments },
        })),
      };
    case "tool":
      return { role: "tool", content: message.content, tool_call_id: message.toolCallId };
  }
}

interface CallDeadline {
  /** The caller's signal and the deadline together: what every attempt and wait listens to. */
  signal: AbortSignal;
  /** Whether the deadline itself passed. */
  readonly expired: boolean;
  dispose(): void;
}

interface PartialToolCall {
  id: string;
  name: string;
  arguments: string;
}

/**
 * The LlmProvider over the `openai` SDK. Requests keep to the subset every OpenAI-compatible server
 * understands (OpenAI, Azure, Ollama, vLLM, llama.cpp): `messages`, `tools`, `temperature`,
 * `max_tokens` (not `max_completion_tokens`, which older servers reject), `stream_options.include_usage`,
 * and float embeddings (the SDK would otherwise ask for base64, which several servers do not speak).
 */
export class OpenAiLlmProvider implements LlmProvider {
  readonly defaultModel: string;
  readonly embeddingModel: string | undefined;
  private readonly client: OpenAI;
  private readonly secrets: string[];
  private readonly baseUrl: string | undefined;
  private readonly logger: Logger;
  private readonly timeoutMs: number;
  private readonly retryPolicy: RetryPolicy;
  private readonly embeddingBatchSize: number;

  constructor(options: OpenAiLlmProviderOptions) {
    if (!options.model.trim()) {
      throw new AppError("config_invalid", "OpenAiLlmProvider needs a model name", {
        category: "user",
        userMessage: "No language model is configured; set LLM_MODEL.",
      });
    }
    this.defaultModel = options.model;
    this.embeddingModel = options.embeddingModel || undefined;
    this.secrets = [options.apiKey];
    this.baseUrl = withoutCredentials(options.baseURL);
    this.logger = (options.logger ?? silentLogger).child({ component: "openai-llm-provider" });
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.retryPolicy = {
      maxRetries: options.maxRetries ?? 2,
      maxDelayMs: options.maxRetryDelayMs ?? DEFAULT_MAX_RETRY_DELAY_MS,
    };
    this.embeddingBatchSize = Math.max(1, options.embeddingBatchSize ?? 128);
    this.client =
      options.client ??
      createOpenAiClient({
        apiKey: options.apiKey,
        baseURL: options.baseURL,
        timeoutMs: this.timeoutMs,
        logger: this.logger,
      });
  }

  /**
   * Text deltas as they arrive; tool calls once whole, after the text; one `finish` last. Throws
   * `llm_stream_cut` if the stream ends or drops before a finish reason, `llm_timeout` if the whole
   * call (retries and chunks included) outlasts `timeoutMs`, and the signal's own reason when the
   * caller aborts.
   */
  async *stream(request: ChatRequest): AsyncGenerator<ChatStreamPart> {
    const model = request.model ?? this.defaultModel;
    const started = Date.now();
    this.logger.debug(
      { model, messages: request.messages.length, tools: request.tools?.length ?? 0 },
      "chat stream start",
    );
    const call = this.callDeadline(request.signal);
    let stream: AsyncIterable<ChatCompletionChunk> & { controller: AbortController };
    try {
      stream = await this.attempt(model, call.signal, () =>
        this.client.chat.completions.create(
          { ...this.baseParams(request, model), stream: true, stream_options: { include_usage: true } },
          { signal: call.signal },
        ),
      );
    } catch (error) {
      call.dispose();
      throw this.translate(error, model, request.signal, call);
    }

    const calls = new Map<number, PartialToolCall>();
    let lastToolIndex = -1;
    let finishReason: FinishReason | undefined;
    let usage: TokenUsage | undefined;
    let responseModel = model;
    try {
      for await (const chunk of stream) {
        if (chunk.model) responseModel = chunk.model;
        usage = toUsage(chunk.usage) ?? usage;
        // Some servers omit `choices` on their usage chunk.
        for (const choice of chunk.choices ?? []) {
          // One completion is requested (`n` defaults to 1); any other index is not ours.
          if (choice.index !== 0) continue;
          const content = choice.delta?.content;
          if (content) yield { type: "text-delta", text: content };
          for (const delta of choice.delta?.tool_calls ?? []) {
            // `index` is required by the spec, but some servers (older Ollama) leave it out and send
            // each call whole; a delta with a new id then starts a new call.
            let index = typeof delta.index === "number" ? delta.index : lastToolIndex;
            if (typeof delta.index !== "number" && (delta.id || index < 0)) index = calls.size;
            lastToolIndex = index;
            const call = calls.get(index) ?? { id: "", name: "", arguments: "" };
            if (delta.id) call.id = delta.id;
            if (delta.function?.name) call.name += delta.function.name;
            if (delta.function?.arguments) call.arguments += delta.function.arguments;
            calls.set(index, call);
          }
          if (choice.finish_reason) finishReason = toFinishReason(choice.finish_reason);
        }
      }
    } catch (error) {
      if (call.signal.aborted) throw this.translate(error, model, request.signal, call);
      // A connection dropped after the finish reason loses only the usage chunk; the answer is whole.
      if (finishReason === undefined) throw this.streamCut(model, error);
      this.logger.warn({ model }, "chat stream ended abruptly after its finish reason; usage unknown");
    } finally {
      call.dispose();
    }
    if (call.signal.aborted) throw this.translate(undefined, model, request.signal, call);
    if (finishReason === undefined) throw this.streamCut(model, undefined);

    for (const [index, call] of [...calls.entries()].sort(([left], [right]) => left - right)) {
      yield {
        type: "tool-call",
        call: { id: call.id || `call_${index}`, name: call.name, arguments: call.arguments },
      };
    }
    this.logger.debug(
      { model: responseModel, finishReason, usage, durationMs: Date.now() - started },
      "chat stream finished",
    );
    yield { type: "finish", reason: finishReason, usage, model: responseModel };
  }

  async complete(request: ChatRequest): Promise<ChatCompletion> {
    const model = request.model ?? this.defaultModel;
    const started = Date.now();
    let response: OpenAI.Chat.Completions.ChatCompletion;
    const call = this.callDeadline(request.signal);
    try {
      response = await this.attempt(model, call.signal, () =>
        this.client.chat.completions.create(
          { ...this.baseParams(request, model), stream: false },
          { signal: call.signal },
        ),
      );
    } catch (error) {
      throw this.translate(error, model, request.signal, call);
    } finally {
      call.dispose();
    }
    const choice = response.choices[0];
    if (!choice) {
      throw new AppError("llm_unavailable", `LLM ${model} returned no choices`, {
        retryable: true,
        category: "third_party",
        userMessage: "The language model returned an empty answer; please try again.",
      });
    }
    const toolCalls: ToolCall[] = [];
    for (const [index, call] of (choice.message.tool_calls ?? []).entries()) {
      if (call.type !== "function") continue;
      toolCalls.push({
        id: call.id || `call_${index}`,
        name: call.function.name,
        arguments: call.function.arguments,
      });
    }
    const result: ChatCompletion = {
      text: choice.message.content ?? "",
      toolCalls,
      finishReason: toFinishReason(choice.finish_reason ?? "stop"),
      usage: toUsage(response.usage),
      model: response.model || model,
    };
    this.logger.debug(
      {
        model: result.model,
        finishReason: result.finishReason,
        usage: result.usage,
        durationMs: Date.now() - started,
      },
      "chat completion finished",
    );
    return result;
  }

  async embed(texts: string[], signal?: AbortSignal): Promise<number[][]> {
    const model = this.embeddingModel;
    if (!model) {
      throw new AppError("llm_not_configured", "embed() called without an embedding model", {
        category: "system",
        userMessage: "No embedding model is configured; set EMBEDDING_MODEL to enable semantic search.",
      });
    }
    const empty = texts.findIndex((text) => text.trim() === "");
    if (empty !== -1) {
      // OpenAI answers 400 to an empty input; saying which one is more useful than its message.
      throw new AppError("input_invalid", `embed() input ${empty} is empty`, {
        category: "user",
        userMessage: "One of the texts to embed is empty.",
      });
    }
    const vectors: number[][] = [];
    for (let start = 0; start < texts.length; start += this.embeddingBatchSize) {
      const batch = texts.slice(start, start + this.embeddingBatchSize);
      let response: OpenAI.Embeddings.CreateEmbeddingResponse;
      const call = this.callDeadline(signal);
      try {
        response = await this.attempt(model, call.signal, () =>
          this.client.embeddings.create(
            { model, input: batch, encoding_format: "float" },
            { signal: call.signal },
          ),
        );
      } catch (error) {
        throw this.translate(error, model, signal, call);
      } finally {
        call.dispose();
      }
      if (response.data.length !== batch.length) {
        throw new AppError(
          "llm_unavailable",
          `Embeddings from ${model} returned ${response.data.length} vectors for ${batch.length} inputs`,
          { retryable: true, category: "third_party" },
        );
      }
      // Servers may answer out of order; `index` is the only promise of which vector is whose.
      const ordered = [...response.data].sort((left, right) => left.index - right.index);
      for (const item of ordered) vectors.push(item.embedding);
    }
    return vectors;
  }

  private baseParams(request: ChatRequest, model: string): ChatCompletionCreateParamsBase {
    const params: ChatCompletionCreateParamsBase = {
      model,
      messages: request.messages.map(toMessageParam),
    };
    if (request.temperature !== undefined) params.temperature = request.temperature;
    if (request.maxTokens !== undefined) params.max_tokens = request.maxTokens;
    // An empty `tools` array is rejected by OpenAI and some compatible servers, so it is left out.
    if (request.tools && request.tools.length > 0) {
      params.tools = request.tools.map(
        (tool): ChatCompletionTool => ({
          type: "function",
          function: { name: tool.name, description: tool.description, parameters: tool.parameters },
        }),
      );
    }
    return params;
  }

  /**
   * One deadline for a whole call: every attempt, every wait between attempts and every streamed
   * chunk, so a slow, stalled or rate-limiting server can never hold a caller longer than `timeoutMs`.
   */
  private callDeadline(callerSignal: AbortSignal | undefined): CallDeadline {
    const controller = new AbortController();
    let expired = false;
    const timer = setTimeout(() => {
      expired = true;
      controller.abort();
    }, this.timeoutMs);
    const release = followAbort(controller, callerSignal);
    return {
      signal: controller.signal,
      get expired() {
        return expired;
      },
      dispose: () => {
        clearTimeout(timer);
        release();
      },
    };
  }

  private attempt<T>(model: string, signal: AbortSignal, work: () => Promise<T>): Promise<T> {
    return withRetries(this.retryPolicy, signal, work, ({ retry, delayMs, error }) => {
      const status = error instanceof APIError ? error.status : undefined;
      this.logger.warn({ model, retry, delayMs: Math.round(delayMs), status }, "LLM call failed; retrying");
    });
  }

  private translate(
    error: unknown,
    model: string,
    signal: AbortSignal | undefined,
    call: CallDeadline,
  ): unknown {
    // A caller's abort is not a failure to translate: it goes back as the caller's own reason.
    if (signal?.aborted) return signal.reason;
    if (call.expired) {
      const seconds = Math.round(this.timeoutMs / 1000);
      return new AppError("llm_timeout", `LLM call to ${model} took longer than ${this.timeoutMs} ms`, {
        retryable: true,
        category: "third_party",
        userMessage: `The language model did not finish answering within ${seconds} seconds; please try again.`,
      });
    }
    return translateOpenAiError(error, { secrets: this.secrets, model, baseUrl: this.baseUrl });
  }

  private streamCut(model: string, error: unknown): AppError {
    // An error event inside the stream means the server said why; that keeps its own code.
    if (error instanceof APIError && error.status === undefined && !(error instanceof APIConnectionError)) {
      return translateOpenAiError(error, { secrets: this.secrets, model });
    }
    const reason = error === undefined ? "ended without a finish reason" : "connection dropped";
    const detail = error instanceof Error ? `: ${redact(error.message, this.secrets)}` : "";
    return new AppError("llm_stream_cut", `LLM stream from ${model} ${reason}${detail}`, {
      retryable: true,
      category: "third_party",
      userMessage:
        "My answer was cut off because the connection to the language model dropped; please ask again.",
    });
  }
}

/** The endpoint as it may appear in a log line: no user name or password. */
function withoutCredentials(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const parsed = new URL(url);
    parsed.username = "";
    parsed.password = "";
    return parsed.toString().replace(/\/$/, "");
  } catch {
    return undefined;
  }
}
