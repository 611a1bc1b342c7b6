import { describe, expect, it } from "vitest";
import { FallbackLlmProvider } from "../../../src/adapters/llm-fallback/fallback-llm-provider.js";
import { loadConfig, secretsOf } from "../../../src/config.js";
import { AppError } from "../../../src/core/errors.js";
import type { ChatRequest, ChatStreamPart, LlmProvider } from "../../../src/core/ports/llm-provider.js";
import { silentLogger } from "../../../src/core/ports/logger.js";

/** An endpoint that fails before its first part, or after it, as told; it records what it was asked. */
function endpoint(behaviour: {
  failBefore?: AppError;
  failAfterFirst?: AppError;
  text?: string;
  onRequest?: () => void;
}) {
  const requests: ChatRequest[] = [];
  const provider: LlmProvider = {
    defaultModel: "model",
    embeddingModel: undefined,
    async *stream(request): AsyncIterable<ChatStreamPart> {
      requests.push(request);
      behaviour.onRequest?.();
      if (behaviour.failBefore) throw behaviour.failBefore;
      yield { type: "text-delta", text: behaviour.text ?? "partial " };
      if (behaviour.failAfterFirst) throw behaviour.failAfterFirst;
      yield { type: "finish", reason: "stop", model: request.model ?? "model" };
    },
    async complete(request) {
      requests.push(request);
      if (behaviour.failBefore) throw behaviour.failBefore;
      return { text: behaviour.text ?? "done", toolCalls: [], finishReason: "stop", model: "model" };
    },
    embed: async (texts) => texts.map(() => [1]),
  };
  return { provider, requests };
}

const rateLimited = new AppError("llm_rate_limited", "429", { category: "third_party", retryable: true });
const cut = new AppError("llm_stream_cut", "dropped", { category: "third_party", retryable: true });
const badRequest = new AppError("llm_bad_request", "400", { category: "system" });

async function collect(stream: AsyncIterable<ChatStreamPart>) {
  const parts: ChatStreamPart[] = [];
  for await (const part of stream) parts.push(part);
  return parts;
}

function fallback(...endpoints: Array<ReturnType<typeof endpoint>>) {
  return new FallbackLlmProvider({
    endpoints: endpoints.map((each, index) => ({ label: `endpoint ${index}`, provider: each.provider })),
    firstPartTimeoutMs: 60_000,
    logger: silentLogger,
  });
}

describe("FallbackLlmProvider", () => {
  it("never switches after the first part has gone out: the error surfaces and the next endpoint is not asked", async () => {
    const first = endpoint({ failAfterFirst: cut });
    const second = endpoint({});
    const parts: ChatStreamPart[] = [];
    await expect(async () => {
      for await (const part of fallback(first, second).stream({ messages: [] })) parts.push(part);
    }).rejects.toBe(cut);
    expect(parts).toEqual([{ type: "text-delta", text: "partial " }]);
    expect(second.requests).toHaveLength(0);
  });

  it("does not switch for a request that would fail anywhere (a bad request)", async () => {
    const second = endpoint({});
    await expect(
      collect(fallback(endpoint({ failBefore: badRequest }), second).stream({ messages: [] })),
    ).rejects.toBe(badRequest);
    await expect(
      fallback(endpoint({ failBefore: badRequest }), second).complete({ messages: [] }),
    ).rejects.toBe(badRequest);
    expect(second.requests).toHaveLength(0);
  });

  it("gives the channel's model to the primary only, and names the endpoint that answered", async () => {
    const first = endpoint({ failBefore: rateLimited });
    const second = endpoint({ text: "hello" });
    const third = endpoint({});
    const parts = await collect(
      fallback(first, second, third).stream({ messages: [], model: "ft:channel-model" }),
    );
    expect(first.requests[0]?.model).toBe("ft:channel-model");
    expect(second.requests[0]?.model).toBeUndefined();
    expect(parts.at(-1)).toMatchObject({ type: "finish", endpoint: "endpoint 1" });
    expect(third.requests).toHaveLength(0);
    const completion = await fallback(endpoint({ failBefore: rateLimited }), second).complete({
      messages: [],
    });
    expect(completion.endpoint).toBe("endpoint 1");
  });

  it("reports the last endpoint's failure when every endpoint fails", async () => {
    const last = new AppError("llm_unavailable", "503", { category: "third_party", retryable: true });
    await expect(
      collect(
        fallback(endpoint({ failBefore: rateLimited }), endpoint({ failBefore: last })).stream({
          messages: [],
        }),
      ),
    ).rejects.toBe(last);
  });

  it("does not move on when the caller cancelled: the caller's reason comes back", async () => {
    const controller = new AbortController();
    const reason = new Error("turn dropped");
    // The endpoint fails in a way that would switch, but only because the turn was dropped meanwhile.
    const first = endpoint({ failBefore: rateLimited, onRequest: () => controller.abort(reason) });
    const second = endpoint({});
    await expect(
      collect(fallback(first, second).stream({ messages: [], signal: controller.signal })),
    ).rejects.toBe(reason);
    expect(second.requests).toHaveLength(0);
  });

  it("embeds with the primary only, whose vectors match the index", async () => {
    const first = endpoint({});
    const embedded = await fallback(first, endpoint({})).embed(["a", "b"]);
    expect(embedded).toEqual([[1], [1]]);
  });
});

describe("LLM_FALLBACKS configuration", () => {
  it("counts the fallbacks' keys as secrets, and never echoes a bad value in the start-up error", () => {
    const config = loadConfig({
      LLM_FALLBACKS: JSON.stringify([
        { baseUrl: "https://backup.example/v1", apiKey: "sk-fallback-secret-1234", model: "backup-model" },
      ]),
    });
    expect(secretsOf(config)).toContain("sk-fallback-secret-1234");

    for (const bad of [
      'not json: "sk-fallback-secret-1234"',
      JSON.stringify([{ baseUrl: "ftp://sk-fallback-secret-1234", model: "m" }]),
      JSON.stringify([{ baseUrl: "https://backup.example/v1", apiKey: "sk-fallback-secret-1234" }]),
    ]) {
      let message = "";
      try {
        loadConfig({ LLM_FALLBACKS: bad });
      } catch (error) {
        message = error instanceof Error ? error.message : String(error);
      }
      expect(message).toMatch(/LLM_FALLBACKS/);
      expect(message).not.toContain("sk-fallback-secret-1234");
    }
  });
});
