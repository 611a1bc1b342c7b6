import { join } from "node:path";
import { Redis } from "ioredis";
import { OpenAiLlmProvider } from "./adapters/openai/openai-llm-provider.js";
import { RedisMemoryStore } from "./adapters/redis/redis-memory-store.js";
import { openSqliteDatabase } from "./adapters/sqlite/open-sqlite-database.js";
import { SqliteMemoryStore } from "./adapters/sqlite/sqlite-memory-store.js";
import { type Config, hasLlm } from "./config.js";
import { type Assistant, createAssistant } from "./core/assistant.js";
import type { LlmProvider } from "./core/ports/llm-provider.js";
import type { Logger } from "./core/ports/logger.js";
import type { MemoryStore } from "./core/ports/memory-store.js";

/**
 * The composition root shared by the bot (`src/main.ts`), the terminal chat (`src/chat.ts`) and
 * the worker: the only place that knows both the core and the adapters. With no REDIS_URL and no
 * QDRANT_URL everything lives in one SQLite file under DATA_DIR.
 */
export interface Application {
  config: Config;
  logger: Logger;
  assistant: Assistant;
  store: MemoryStore;
  llm: LlmProvider | undefined;
  close(): Promise<void>;
}

export function createLlm(config: Config, logger: Logger): LlmProvider | undefined {
  if (!hasLlm(config)) return undefined;
  return new OpenAiLlmProvider({
    // Local servers (Ollama, vLLM, llama.cpp) ignore the key but the SDK insists on one.
    apiKey: config.OPENAI_API_KEY ?? "not-needed",
    baseURL: config.OPENAI_BASE_URL,
    model: config.LLM_MODEL,
    embeddingModel: config.EMBEDDING_MODEL,
    timeoutMs: config.LLM_TIMEOUT_MS,
    maxRetries: config.LLM_MAX_RETRIES,
    logger: logger.child({ component: "llm" }),
  });
}

export async function createApplication(config: Config, logger: Logger): Promise<Application> {
  const closers: Array<() => Promise<void> | void> = [];
  const database = openSqliteDatabase(join(config.DATA_DIR, "teammate.sqlite"));
  closers.push(() => {
    database.close();
  });

  let store: MemoryStore;
  if (config.REDIS_URL) {
    const redis = new Redis(config.REDIS_URL, { lazyConnect: false, maxRetriesPerRequest: 3 });
    closers.push(async () => {
      await redis.quit();
    });
    store = new RedisMemoryStore({ client: redis });
  } else {
    store = new SqliteMemoryStore(database);
  }

  const llm = createLlm(config, logger);
  const assistant = createAssistant({
    store,
    llm,
    logger: logger.child({ component: "assistant" }),
    promptTokenBudget: config.PROMPT_TOKEN_BUDGET,
    allowGeneralKnowledge: config.ALLOW_GENERAL_KNOWLEDGE,
  });

  return {
    config,
    logger,
    assistant,
    store,
    llm,
    async close() {
      await store.close();
      for (const close of closers.reverse()) await close();
    },
  };
}
