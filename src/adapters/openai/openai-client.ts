import OpenAI, { type ClientOptions } from "openai";
import type { Logger } from "../../core/ports/logger.js";
import { redact } from "./translate-openai-error.js";

export interface OpenAiClientOptions {
  /** Sent as the bearer token. Servers that need none (Ollama, llama.cpp) accept any placeholder. */
  apiKey: string;
  /** Any OpenAI-compatible `/v1` root; the SDK's default (api.openai.com) when absent. */
  baseURL?: string | undefined;
  /** The SDK's per-request timeout. */
  timeoutMs: number;
  /** Where the SDK's own log lines go (redacted, message line only). */
  logger: Logger;
}

/**
 * One `openai` client per endpoint, shared by chat, embeddings and fine-tuning. Retries are off:
 * the chat/embeddings provider retries itself (the SDK's sleep ignores the abort signal and any
 * Retry-After), and fine-tuning asks for the SDK's retries per call with `withOptions`.
 */
export function createOpenAiClient(options: OpenAiClientOptions): OpenAI {
  const sdkLogger = options.logger.child({ source: "openai-sdk" });
  const secrets = [options.apiKey];
  // Only the SDK's message line is forwarded: its extra arguments carry request details.
  const forward =
    (level: "debug" | "warn" | "error") =>
    (message: string): void =>
      sdkLogger[level](redact(message, secrets));
  const clientOptions: ClientOptions = {
    apiKey: options.apiKey,
    timeout: options.timeoutMs,
    maxRetries: 0,
    logLevel: "info",
    logger: {
      debug: forward("debug"),
      info: forward("debug"),
      warn: forward("warn"),
      error: forward("error"),
    },
  };
  if (options.baseURL) clientOptions.baseURL = options.baseURL;
  return new OpenAI(clientOptions);
}
