/**
 * The knowledge base the sync benchmarks drive: the real SQLite store and OpenAI client (at a stand-in),
 * wrapped to count the embedding calls and document writes a sync makes — the figures that prove an
 * unchanged re-sync costs nothing. `counters` may be reset between syncs.
 */
import type { Database } from "better-sqlite3";
import { OpenAiLlmProvider } from "../src/adapters/openai/openai-llm-provider.js";
import { SqliteVectorStore } from "../src/adapters/sqlite/sqlite-vector-store.js";
import { KnowledgeBase } from "../src/core/knowledge/knowledge-base.js";
import type { LlmProvider } from "../src/core/ports/llm-provider.js";
import { silentLogger } from "../src/core/ports/logger.js";
import type { VectorStore } from "../src/core/ports/vector-store.js";

export interface SyncCounters {
  embeddingCalls: number;
  chunkWrites: number;
}

export function countingKnowledge(
  database: Database,
  openaiUrl: string,
): { knowledge: KnowledgeBase; counters: SyncCounters } {
  const store = new SqliteVectorStore(database, { denseDimensions: 64 });
  const counters: SyncCounters = { embeddingCalls: 0, chunkWrites: 0 };
  const vectors: VectorStore = {
    replaceDocument: async (...call) => {
      counters.chunkWrites += 1;
      return store.replaceDocument(...call);
    },
    replaceDocuments: async (documents) => {
      counters.chunkWrites += documents.length;
      return store.replaceDocuments(documents);
    },
    deleteDocument: (...call) => store.deleteDocument(...call),
    search: (query) => store.search(query),
    listDocuments: (scope) => store.listDocuments(scope),
    hasChunks: (scope) => store.hasChunks(scope),
    close: () => store.close(),
  };
  const openai = new OpenAiLlmProvider({
    apiKey: "sk-bench",
    baseURL: openaiUrl,
    model: "gpt-4o-mini",
    embeddingModel: "text-embedding-3-small",
  });
  const llm: LlmProvider = {
    defaultModel: openai.defaultModel,
    embeddingModel: openai.embeddingModel,
    stream: (request) => openai.stream(request),
    complete: (request) => openai.complete(request),
    embed: (texts, signal) => {
      counters.embeddingCalls += 1;
      return openai.embed(texts, signal);
    },
  };
  const knowledge = new KnowledgeBase({
    store: vectors,
    loader: { load: async () => Promise.reject(new Error("not used")) },
    llm,
    logger: silentLogger,
  });
  return { knowledge, counters };
}
