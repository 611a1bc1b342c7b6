import { AppError, isAppError } from "../../core/errors.js";
import type {
  ChatCompletion,
  ChatRequest,
  ChatStreamPart,
  LlmProvider,
} from "../../core/ports/llm-provider.js";
import type { Logger } from "../../core/ports/logger.js";

/** One endpoint in the order they are tried. */
export interface FallbackEndpoint {
  /** How `why` and the logs name it: `primary (api.openai.com)`, `fallback 1 (backup)`. Never a key. */
  label: string;
  /** Answers with its own model; only the first endpoint is given a request's model (a channel's `config model`). */
  provider: LlmProvider;
}

export interface FallbackLlmProviderOptions {
  /** The primary first, then the fallbacks in order. */
  endpoints: FallbackEndpoint[];
  /**
   * How long an endpoint may send nothing (no text, no tool call, no finish) before the next one is
   * tried. It covers the endpoint's own retries too: a 429 with a long `retry-after` moves on.
   */
  firstPartTimeoutMs: number;
  logger: Logger;
}

/**
 * The failures that say "this endpoint, not this request": rate limits (429, quota), 5xx and
 * unreachable servers, timeouts and streams cut before they said anything. A bad request, a
 * context too long or a rejected key would fail the same way everywhere, so they are not retried.
 */
const SWITCHING_CODES = new Set(["llm_rate_limited", "llm_unavailable", "llm_timeout", "llm_stream_cut"]);

function canSwitch(error: unknown): boolean {
  return isAppError(error) && SWITCHING_CODES.has(error.code);
}

/** `host:port` of a base URL, for labels: identifies the endpoint without its path or any credential. */
export function endpointHost(baseUrl: string | undefined): string {
  if (!baseUrl) return "api.openai.com";
  try {
    return new URL(baseUrl).host;
  } catch {
    return "configured endpoint";
  }
}

/**
 * An LlmProvider over an ordered list of endpoints. A request goes to the first; if it fails with a
 * rate limit, a 5xx or a timeout before its first part arrives, the next one gets the same request,
 * and so on. Once a part has been passed on, the answer is committed to that endpoint: switching
 * midway would show the user two half answers, so later errors surface as they are. Every finish
 * names the endpoint that answered, which `why` shows.
 *
 * Embeddings always use the primary: vectors from another model would not match the index.
 */
export class FallbackLlmProvider implements LlmProvider {
  readonly defaultModel: string;
  readonly embeddingModel: string | undefined;
  private readonly endpoints: FallbackEndpoint[];
  private readonly timeoutMs: number;
  private readonly logger: Logger;

  constructor(options: FallbackLlmProviderOptions) {
    const [primary] = options.endpoints;
    if (!primary) throw new AppError("config_invalid", "FallbackLlmProvider needs at least one endpoint");
    this.endpoints = options.endpoints;
    this.defaultModel = primary.provider.defaultModel;
    this.embeddingModel = primary.provider.embeddingModel;
    this.timeoutMs = options.firstPartTimeoutMs;
    this.logger = options.logger;
  }

  async *stream(request: ChatRequest): AsyncGenerator<ChatStreamPart> {
    // The first part decides the endpoint; the rest of the stream stays with it.
    const { endpoint, value } = await this.firstAnswering(request, async (provider, attempt) => {
      const parts = provider.stream(attempt)[Symbol.asyncIterator]();
      return { parts, first: await parts.next() };
    });
    const { parts, first } = value;
    try {
      for (let next = first; !next.done; next = await parts.next()) {
        yield next.value.type === "finish" ? { ...next.value, endpoint: endpoint.label } : next.value;
      }
    } finally {
      // A consumer that stops early (a cancelled turn) closes the endpoint's stream too.
      await parts.return?.();
    }
  }

  async complete(request: ChatRequest): Promise<ChatCompletion> {
    const { endpoint, value } = await this.firstAnswering(request, (provider, attempt) =>
      provider.complete(attempt),
    );
    return { ...value, endpoint: endpoint.label };
  }

  /**
   * Runs `call` on each endpoint in turn, under its first-part timeout, until one answers: a failure
   * that says "this endpoint" moves on to the next, any other failure (or the last endpoint's) is thrown.
   * Only the first endpoint is given the request's model.
   */
  private async firstAnswering<Value>(
    request: ChatRequest,
    call: (provider: LlmProvider, attemptRequest: ChatRequest) => Promise<Value>,
  ): Promise<{ endpoint: FallbackEndpoint; value: Value }> {
    for (const [index, endpoint] of this.endpoints.entries()) {
      const attempt = this.startAttempt(endpoint, request);
      try {
        const value = await call(endpoint.provider, {
          ...request,
          model: index === 0 ? request.model : undefined,
          signal: attempt.signal,
        });
        return { endpoint, value };
      } catch (error) {
        const failure = attempt.failure(error);
        if (this.moveOn(index, endpoint, failure)) continue;
        throw failure;
      } finally {
        attempt.settle();
      }
    }
    throw new AppError("llm_unavailable", "no LLM endpoint is configured");
  }

  embed(texts: string[], signal?: AbortSignal): Promise<number[][]> {
    return (this.endpoints[0] as FallbackEndpoint).provider.embed(texts, signal);
  }

  /** One endpoint's try: its own abort signal, armed to fire if nothing arrives in time. */
  private startAttempt(endpoint: FallbackEndpoint, request: ChatRequest) {
    const controller = new AbortController();
    const timer = setTimeout(() => {
      controller.abort(
        new AppError("llm_timeout", `${endpoint.label} sent nothing within ${this.timeoutMs} ms`, {
          retryable: true,
          category: "third_party",
          userMessage: "The language model took too long to answer; please try again.",
        }),
      );
    }, this.timeoutMs);
    const signal = request.signal ? AbortSignal.any([request.signal, controller.signal]) : controller.signal;
    return {
      signal,
      settle: () => clearTimeout(timer),
      /** What the attempt failed with: the caller's own abort stays the caller's; our timeout is ours. */
      failure: (error: unknown): unknown => {
        if (request.signal?.aborted) return request.signal.reason ?? error;
        if (controller.signal.aborted) return controller.signal.reason;
        return error;
      },
    };
  }

  private moveOn(index: number, endpoint: FallbackEndpoint, failure: unknown): boolean {
    const next = this.endpoints[index + 1];
    if (!next || !canSwitch(failure)) return false;
    this.logger.warn(
      { endpoint: endpoint.label, code: (failure as AppError).code, next: next.label },
      "LLM endpoint failed before its first token; trying the next one",
    );
    return true;
  }
}
