import { getEventListeners } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  OpenAiLlmProvider,
  type OpenAiLlmProviderOptions,
} from "../../src/adapters/openai/openai-llm-provider.js";
import { AppError, describeForUser } from "../../src/core/errors.js";
import type { ChatStreamPart } from "../../src/core/ports/llm-provider.js";
import type { Logger } from "../../src/core/ports/logger.js";
import { hashedEmbedding, type OpenAiStandIn, startOpenAiStandIn } from "../support/openai-stand-in.js";

const API_KEY = "sk-test-0123456789abcdefSECRET";

let standIn: OpenAiStandIn;

beforeEach(async () => {
  standIn = await startOpenAiStandIn();
});

afterEach(async () => {
  await standIn.close();
});

function provider(options: Partial<OpenAiLlmProviderOptions> = {}): OpenAiLlmProvider {
  return new OpenAiLlmProvider({
    apiKey: API_KEY,
    baseURL: standIn.baseUrl,
    model: "gpt-4o-mini",
    embeddingModel: "text-embedding-3-small",
    maxRetries: 0,
    ...options,
  });
}

async function collect(parts: AsyncIterable<ChatStreamPart>): Promise<ChatStreamPart[]> {
  const collected: ChatStreamPart[] = [];
  for await (const part of parts) collected.push(part);
  return collected;
}

async function failureOf(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    return error as AppError;
  }
  throw new Error("expected a failure");
}

const ask = (text: string) => ({ messages: [{ role: "user" as const, content: text }] });

function chatAttempts(): number {
  return standIn.requests.filter((request) => request.path === "/v1/chat/completions").length;
}

describe("OpenAiLlmProvider.stream", () => {
  it("streams text in several deltas and finishes with stop and usage", async () => {
    standIn.enqueue({ kind: "text", text: "Teal is a lovely colour for a wall.", deltas: 4 });
    const parts = await collect(provider().stream(ask("what colour?")));

    const deltas = parts.filter((part) => part.type === "text-delta");
    expect(deltas.length).toBeGreaterThanOrEqual(3);
    expect(deltas.map((part) => part.text).join("")).toBe("Teal is a lovely colour for a wall.");
    const finish = parts.at(-1);
    expect(finish).toMatchObject({ type: "finish", reason: "stop", model: "gpt-4o-mini" });
    expect(finish?.type === "finish" && finish.usage?.completionTokens).toBeGreaterThan(0);

    const [sent] = standIn.chatRequests();
    expect(sent).toMatchObject({
      model: "gpt-4o-mini",
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: "user", content: "what colour?" }],
    });
    expect(standIn.requests[0]?.hasAuthorization).toBe(true);
    standIn.assertNoViolations();
  });

  it("reassembles the two parallel tool calls of the recorded fixture", async () => {
    standIn.enqueue({ kind: "fixture", name: "parallel-tool-calls" });
    const parts = await collect(
      provider().stream({
        ...ask("weather in Edinburgh, and the AAPL price?"),
        tools: [
          {
            name: "GetWeatherArgs",
            description: "Current weather in a city",
            parameters: {
              type: "object",
              properties: { city: { type: "string" }, country: { type: "string" } },
              required: ["city", "country"],
            },
          },
        ],
      }),
    );

    const calls = parts.flatMap((part) => (part.type === "tool-call" ? [part.call] : []));
    expect(calls).toHaveLength(2);
    expect(calls).toEqual([
      {
        id: "call_JMW1whyEaYG438VE1OIflxA2",
        name: "GetWeatherArgs",
        arguments: '{"city": "Edinburgh", "country": "GB", "units": "c"}',
      },
      {
        id: "call_DNYTawLBoN8fj3KN6qU9N1Ou",
        name: "get_stock_price",
        arguments: '{"ticker": "AAPL", "exchange": "NASDAQ"}',
      },
    ]);
    expect(parts.at(-1)).toMatchObject({ type: "finish", reason: "tool_calls", model: "gpt-4o-2024-08-06" });
    expect(parts.findIndex((part) => part.type === "finish")).toBe(parts.length - 1);
    expect(standIn.chatRequests()[0]?.tools).toEqual([
      {
        type: "function",
        function: {
          name: "GetWeatherArgs",
          description: "Current weather in a city",
          parameters: expect.objectContaining({ type: "object" }),
        },
      },
    ]);
    standIn.assertNoViolations();
  });

  it("tolerates servers that send whole tool calls without an index (older Ollama)", async () => {
    const chunk = (delta: Record<string, unknown>, finishReason: string | null = null) =>
      JSON.stringify({
        id: "chatcmpl-ollama",
        object: "chat.completion.chunk",
        created: 1,
        model: "llama3.1",
        choices: [{ index: 0, delta, finish_reason: finishReason }],
      });
    standIn.enqueue({
      kind: "raw",
      events: [
        chunk({ role: "assistant", content: "" }),
        chunk({ tool_calls: [{ id: "call_x", function: { name: "lookup", arguments: '{"q":"a"}' } }] }),
        chunk({ tool_calls: [{ id: "call_y", function: { name: "lookup", arguments: '{"q":"b"}' } }] }),
        chunk({}, "tool_calls"),
        "[DONE]",
      ],
    });
    const parts = await collect(provider().stream(ask("two lookups")));
    expect(parts.flatMap((part) => (part.type === "tool-call" ? [part.call] : []))).toEqual([
      { id: "call_x", name: "lookup", arguments: '{"q":"a"}' },
      { id: "call_y", name: "lookup", arguments: '{"q":"b"}' },
    ]);
    expect(parts.at(-1)).toMatchObject({
      type: "finish",
      reason: "tool_calls",
      usage: undefined,
      model: "llama3.1",
    });
  });

  it("keeps the error a server sends inside a stream instead of calling it a cut", async () => {
    standIn.enqueue({
      kind: "raw",
      events: [JSON.stringify({ error: { message: "model overloaded", type: "server_error", code: null } })],
    });
    const error = await failureOf(collect(provider().stream(ask("hi"))));
    expect(error.code).toBe("llm_unavailable");
    expect(error.message).toContain("model overloaded");
  });

  it("reports a length finish from the recorded fixture, with its usage", async () => {
    standIn.enqueue({ kind: "fixture", name: "finish-length" });
    const parts = await collect(provider().stream({ ...ask("write a lot"), maxTokens: 1 }));
    expect(parts.filter((part) => part.type === "text-delta").map((part) => part.text)).toEqual(['{"']);
    expect(parts.at(-1)).toEqual({
      type: "finish",
      reason: "length",
      usage: { promptTokens: 79, completionTokens: 1 },
      model: "gpt-4o-2024-08-06",
    });
    expect(standIn.chatRequests()[0]?.max_tokens).toBe(1);
  });

  it("retries a 429 maxRetries times, then surfaces llm_rate_limited with a clear sentence", async () => {
    standIn.injectFault({ status: 429, times: 10, retryAfterMs: 1 });
    const error = await failureOf(collect(provider({ maxRetries: 2 }).stream(ask("hello"))));

    expect(chatAttempts()).toBe(3);
    expect(standIn.requests.every((request) => request.status === 429)).toBe(true);
    expect(error.code).toBe("llm_rate_limited");
    expect(error.retryable).toBe(true);
    expect(error.category).toBe("third_party");
    expect(error.userMessage).toMatch(/too many requests.*try again/);
    expect(describeForUser(error, "ref-1")).toContain("try again in a minute");
  });

  it("succeeds when a 500 is followed by a good answer", async () => {
    standIn.injectFault({ status: 500, times: 1, retryAfterMs: 1 });
    const parts = await collect(provider({ maxRetries: 2 }).stream(ask("ping")));
    expect(parts.at(-1)).toMatchObject({ type: "finish", reason: "stop" });
    expect(standIn.requests.map((request) => request.status)).toEqual([500, 200]);
  });

  it("surfaces 503s beyond the retries as llm_unavailable", async () => {
    standIn.injectFault({ status: 503, times: 5, retryAfterMs: 1 });
    const error = await failureOf(collect(provider({ maxRetries: 1 }).stream(ask("ping"))));
    expect(error.code).toBe("llm_unavailable");
    expect(error.retryable).toBe(true);
    expect(chatAttempts()).toBe(2);
  });

  it("does not wait out a Retry-After longer than its cap: the rate-limit error comes at once", async () => {
    standIn.injectFault({ status: 429, times: 5, retryAfterMs: 30_000 });
    const started = Date.now();
    const error = await failureOf(collect(provider({ maxRetries: 2, timeoutMs: 60_000 }).stream(ask("hi"))));
    expect(error.code).toBe("llm_rate_limited");
    expect(chatAttempts()).toBe(1);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("waits a short Retry-After, then succeeds", async () => {
    standIn.injectFault({ status: 429, times: 1, retryAfterMs: 300 });
    const started = Date.now();
    const parts = await collect(provider({ maxRetries: 2 }).stream(ask("ping")));
    expect(parts.at(-1)).toMatchObject({ type: "finish", reason: "stop" });
    expect(standIn.requests.map((request) => request.status)).toEqual([429, 200]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(280);
  });

  it("ends a wait between retries as soon as the caller aborts", async () => {
    standIn.injectFault({ status: 503, times: 5, retryAfterMs: 9_000 });
    const controller = new AbortController();
    const reason = new Error("the answer's deadline passed");
    const started = Date.now();
    const pending = collect(provider({ maxRetries: 3 }).stream({ ...ask("hi"), signal: controller.signal }));
    setTimeout(() => controller.abort(reason), 200);
    await expect(pending).rejects.toBe(reason);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(chatAttempts()).toBe(1);
  });

  it("keeps one deadline for the whole call: retries of a failing server stop at timeoutMs", async () => {
    standIn.injectFault({ status: 500, times: 50, retryAfterMs: 400 });
    const started = Date.now();
    const error = await failureOf(collect(provider({ maxRetries: 10, timeoutMs: 1_000 }).stream(ask("hi"))));
    expect(error.code).toBe("llm_timeout");
    expect(error.userMessage).toMatch(/within 1 seconds/);
    expect(Date.now() - started).toBeLessThan(2_500);
  });

  it("stops a stream that keeps trickling past timeoutMs, though no single gap is long", async () => {
    standIn.enqueue({
      kind: "text",
      text: "one two three four five six seven eight",
      deltas: 8,
      chunkDelayMs: 300,
    });
    const started = Date.now();
    const error = await failureOf(collect(provider({ timeoutMs: 1_000 }).stream(ask("hi"))));
    expect(error.code).toBe("llm_timeout");
    expect(Date.now() - started).toBeLessThan(2_500);
  });

  it("turns a connection cut mid-stream into llm_stream_cut, after the deltas already streamed", async () => {
    standIn.enqueue({
      kind: "text",
      text: "one two three four five six seven eight",
      deltas: 8,
      cutAfterChunks: 3,
    });
    const seen: ChatStreamPart[] = [];
    const error = await failureOf(
      (async () => {
        for await (const part of provider().stream(ask("count"))) seen.push(part);
      })(),
    );
    expect(error.code).toBe("llm_stream_cut");
    expect(error.userMessage).toMatch(/cut off/);
    expect(seen.map((part) => part.type)).toEqual(["text-delta", "text-delta"]);
  });

  it("treats a stream that ends without a finish reason as cut", async () => {
    standIn.enqueue({ kind: "text", text: "half an answer", omitFinish: true });
    const error = await failureOf(collect(provider().stream(ask("hi"))));
    expect(error.code).toBe("llm_stream_cut");
  });

  it("gives up on a server slower than timeoutMs with llm_timeout", async () => {
    standIn.enqueue({ kind: "text", text: "too late", delayMs: 5_000 });
    const started = Date.now();
    const error = await failureOf(collect(provider({ timeoutMs: 200 }).stream(ask("hi"))));
    expect(error.code).toBe("llm_timeout");
    expect(error.retryable).toBe(true);
    expect(Date.now() - started).toBeLessThan(4_000);
  });

  it("gives up on a stream that goes silent between chunks for longer than timeoutMs", async () => {
    standIn.enqueue({ kind: "text", text: "slow words here", chunkDelayMs: 1_000 });
    const error = await failureOf(collect(provider({ timeoutMs: 200 }).stream(ask("hi"))));
    expect(error.code).toBe("llm_timeout");
  });

  it("maps context_length_exceeded to llm_context_too_long, a user error", async () => {
    standIn.injectFault({
      status: 400,
      body: {
        message:
          "This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens.",
        type: "invalid_request_error",
        param: "messages",
        code: "context_length_exceeded",
      },
    });
    const error = await failureOf(collect(provider({ maxRetries: 2 }).stream(ask("a very long question"))));
    expect(error.code).toBe("llm_context_too_long");
    expect(error.category).toBe("user");
    expect(error.retryable).toBe(false);
    expect(chatAttempts()).toBe(1);
    expect(describeForUser(error, "ref")).toMatch(/more text than the model can read/);
  });

  it("recognises a context error by its message when the server sends no code (vLLM, llama.cpp)", async () => {
    standIn.injectFault({
      status: 400,
      body: {
        message: "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens.",
        type: "BadRequestError",
      },
    });
    const error = await failureOf(provider().complete(ask("long")));
    expect(error.code).toBe("llm_context_too_long");
  });

  it("maps 401 to llm_auth_failed, other 4xx to llm_bad_request, and an exhausted quota to a non-retryable error", async () => {
    standIn.injectFault({ status: 401 });
    expect((await failureOf(provider().complete(ask("hi")))).code).toBe("llm_auth_failed");
    standIn.injectFault({ status: 422 });
    expect((await failureOf(provider().complete(ask("hi")))).code).toBe("llm_bad_request");
    standIn.injectFault({
      status: 429,
      body: {
        message: "You exceeded your current quota.",
        type: "insufficient_quota",
        code: "insufficient_quota",
      },
    });
    const quota = await failureOf(provider({ maxRetries: 0 }).complete(ask("hi")));
    expect(quota.code).toBe("llm_rate_limited");
    expect(quota.retryable).toBe(false);
    expect(quota.userMessage).toMatch(/run out of quota/);
  });

  it("never lets the API key into error messages, causes or logs, even when the server echoes it", async () => {
    const lines: string[] = [];
    const logger: Logger = {
      debug: (...args: unknown[]) => lines.push(JSON.stringify(args)),
      info: (...args: unknown[]) => lines.push(JSON.stringify(args)),
      warn: (...args: unknown[]) => lines.push(JSON.stringify(args)),
      error: (...args: unknown[]) => lines.push(JSON.stringify(args)),
      child: () => logger,
    };
    standIn.injectFault({
      status: 401,
      body: {
        message: `Incorrect API key provided: ${API_KEY}.`,
        type: "invalid_request_error",
        code: "invalid_api_key",
      },
    });
    standIn.injectFault({
      status: 500,
      times: 5,
      retryAfterMs: 1,
      body: { message: `boom ${API_KEY}`, type: "x" },
    });
    const llm = provider({ logger, maxRetries: 1 });
    const errors = [
      await failureOf(llm.complete(ask("hi"))),
      await failureOf(collect(llm.stream(ask("hi")))),
    ];
    expect(errors.map((error) => error.code)).toEqual(["llm_auth_failed", "llm_unavailable"]);
    expect(lines.length).toBeGreaterThan(0);
    for (const error of errors) {
      const everything = [
        error.message,
        error.userMessage,
        String(error.cause),
        JSON.stringify(error),
        describeForUser(error, "r"),
        error.stack,
      ].join("\n");
      expect(everything).not.toContain(API_KEY);
      expect(everything).not.toContain("0123456789abcdef");
    }
    expect(errors[0]?.message).toContain("[redacted]");
    expect(lines.join("\n")).not.toContain(API_KEY);
    // The recorded request headers hold no key either.
    expect(JSON.stringify(standIn.requests)).not.toContain(API_KEY);
  });

  it("passes an abort signal through as the caller's own reason", async () => {
    standIn.enqueue({ kind: "text", text: "a b c d e f g h", deltas: 8, chunkDelayMs: 200 });
    const controller = new AbortController();
    const parts: ChatStreamPart[] = [];
    const outcome = (async () => {
      for await (const part of provider().stream({ ...ask("hi"), signal: controller.signal })) {
        parts.push(part);
        controller.abort(new Error("user left"));
      }
    })();
    await expect(outcome).rejects.toThrow("user left");
    expect(parts).toHaveLength(1);
  });

  it("lets go of the caller's signal when a call ends", async () => {
    standIn.enqueue({ kind: "text", text: "a b", deltas: 2 });
    standIn.enqueue({ kind: "text", text: "c d", deltas: 1 });
    const controller = new AbortController();
    let listenedWhileStreaming = 0;
    for await (const part of provider().stream({ ...ask("hi"), signal: controller.signal })) {
      if (part.type === "text-delta")
        listenedWhileStreaming = getEventListeners(controller.signal, "abort").length;
    }
    expect(listenedWhileStreaming).toBe(1);
    expect(getEventListeners(controller.signal, "abort")).toHaveLength(0);
    await provider().complete({ ...ask("hi"), signal: controller.signal });
    expect(getEventListeners(controller.signal, "abort")).toHaveLength(0);
  });
});

describe("OpenAiLlmProvider.complete", () => {
  it("returns tool calls, finish reason and usage of a non-streamed completion", async () => {
    standIn.enqueue({
      kind: "tool-calls",
      calls: [
        { id: "call_a", name: "lookup", arguments: '{"query":"teal"}' },
        { id: "call_b", name: "calculator", arguments: '{"expression":"2+2"}' },
      ],
    });
    const result = await provider().complete({
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "hi", name: "alice" },
        { role: "assistant", content: null, toolCalls: [{ id: "call_0", name: "lookup", arguments: "{}" }] },
        { role: "tool", content: "nothing", toolCallId: "call_0" },
        { role: "user", content: "again" },
      ],
      tools: [{ name: "lookup", description: "Search", parameters: { type: "object", properties: {} } }],
      temperature: 0.2,
    });
    expect(result.toolCalls).toEqual([
      { id: "call_a", name: "lookup", arguments: '{"query":"teal"}' },
      { id: "call_b", name: "calculator", arguments: '{"expression":"2+2"}' },
    ]);
    expect(result.finishReason).toBe("tool_calls");
    expect(result.text).toBe("");
    expect(result.usage?.promptTokens).toBeGreaterThan(0);
    const [sent] = standIn.chatRequests();
    expect(sent?.stream).toBeFalsy();
    expect(sent?.messages[2]).toEqual({
      role: "assistant",
      content: null,
      tool_calls: [{ id: "call_0", type: "function", function: { name: "lookup", arguments: "{}" } }],
    });
    expect(sent?.messages[3]).toEqual({ role: "tool", content: "nothing", tool_call_id: "call_0" });
    standIn.assertNoViolations();
  });

  it("answers with the stand-in's echo when nothing is scripted, using a per-request model", async () => {
    const result = await provider().complete({ ...ask("hello there"), model: "ft:gpt-4o-mini:teammate::x1" });
    expect(result).toMatchObject({
      text: "Echo: hello there",
      finishReason: "stop",
      model: "ft:gpt-4o-mini:teammate::x1",
    });
  });
});

describe("OpenAiLlmProvider.embed", () => {
  it("keeps input order across batches even when the server answers out of order", async () => {
    await standIn.close();
    standIn = await startOpenAiStandIn({ embeddingsOutOfOrder: true });
    const texts = ["the cat sat", "on the mat", "quarterly revenue grew", "the cat sat on the mat", "hello"];
    const vectors = await provider({ embeddingBatchSize: 2 }).embed(texts);
    expect(vectors).toHaveLength(5);
    for (const [index, text] of texts.entries()) {
      const expected = hashedEmbedding(text, 64);
      expect(vectors[index]?.map((value) => Number(value.toFixed(5)))).toEqual(
        expected.map((value) => Number(value.toFixed(5))),
      );
    }
    const embeddingRequests = standIn.requests.filter((request) => request.path === "/v1/embeddings");
    expect(embeddingRequests.map((request) => (request.body as { input: string[] }).input.length)).toEqual([
      2, 2, 1,
    ]);
    expect(embeddingRequests[0]?.body).toMatchObject({
      model: "text-embedding-3-small",
      encoding_format: "float",
    });
    standIn.assertNoViolations();
  });

  it("refuses without an embedding model and for empty inputs, with clear errors", async () => {
    expect((await failureOf(provider({ embeddingModel: undefined }).embed(["x"]))).code).toBe(
      "llm_not_configured",
    );
    const empty = await failureOf(provider().embed(["fine", "  "]));
    expect(empty.code).toBe("input_invalid");
    expect(empty.message).toContain("input 1");
    expect(await provider().embed([])).toEqual([]);
  });
});

describe("OpenAiLlmProvider: a server that is not there", () => {
  it("names the endpoint, the reason and the variable to check", async () => {
    // A port that was just free: nothing listens there.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const provider = new OpenAiLlmProvider({
      apiKey: "sk-unreachable-test",
      baseURL: `http://127.0.0.1:${port}/v1`,
      model: "gpt-4o-mini",
      maxRetries: 0,
    });
    const error = await (async () => {
      for await (const _part of provider.stream({ messages: [{ role: "user", content: "hi" }] })) {
        // nothing arrives
      }
    })().then(
      () => undefined,
      (reason: unknown) => reason as AppError,
    );
    expect(error).toBeInstanceOf(AppError);
    expect(error?.code).toBe("llm_unavailable");
    expect(error?.message).toContain(`LLM server unreachable at http://127.0.0.1:${port}/v1`);
    expect(error?.message).toContain("ECONNREFUSED");
    expect(error?.message).toContain("OPENAI_BASE_URL");
  });
});
