import { join } from "node:path";
import { Redis } from "ioredis";
import { createDocumentLoader } from "./adapters/documents/create-document-loader.js";
import { createMcpToolSource, readMcpConfig } from "./adapters/mcp/mcp-tool-source.js";
import {
  instrumentAssistant,
  instrumentLlm,
  PrometheusMetrics,
} from "./adapters/metrics/prometheus-metrics.js";
import { OpenAiLlmProvider } from "./adapters/openai/openai-llm-provider.js";
import { QdrantVectorStore } from "./adapters/qdrant/qdrant-vector-store.js";
import { RedisMemoryStore } from "./adapters/redis/redis-memory-store.js";
import { closeRedis, logRedisErrorsOnce } from "./adapters/redis/wait-for-redis.js";
import { withSlackFileCredentials } from "./adapters/slack/slack-file-credentials.js";
import { openSqliteDatabase } from "./adapters/sqlite/open-sqlite-database.js";
import { SqliteMemoryStore } from "./adapters/sqlite/sqlite-memory-store.js";
import { SqliteVectorStore } from "./adapters/sqlite/sqlite-vector-store.js";
import { type Config, hasLlm } from "./config.js";
import { createInMemoryApprovalGate } from "./core/agent/approval-gate.js";
import { type Assistant, createAssistant } from "./core/assistant.js";
import type { AgentSetup } from "./core/chains/answer-chain.js";
import { createKnowledgeCommands } from "./core/commands/knowledge-commands.js";
import { AppError, toAppError } from "./core/errors.js";
import { createIngestEnqueuer } from "./core/jobs/enqueue-ingest-documents.js";
import { KnowledgeBase } from "./core/knowledge/knowledge-base.js";
import { createRetriever } from "./core/knowledge/retriever.js";
import type { DocumentLoader } from "./core/ports/document-loader.js";
import type { Retriever } from "./core/ports/knowledge.js";
import type { LlmProvider } from "./core/ports/llm-provider.js";
import type { Logger } from "./core/ports/logger.js";
import type { MemoryStore } from "./core/ports/memory-store.js";
import type { VectorStore } from "./core/ports/vector-store.js";
import { countTokens } from "./core/tokens.js";
import { createToolRegistry } from "./core/tools/tool-registry.js";
import { createJobServices, type JobServices } from "./job-services.js";
import { createBuiltInTools } from "./tools/built-in-tools.js";

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
  vectors: VectorStore;
  loader: DocumentLoader;
  knowledge: KnowledgeBase;
  retriever: Retriever;
  /** Job queue, notifier and fine-tuning state (see `src/job-services.ts`). */
  jobs: JobServices;
  /** Prometheus metrics of this process, served at `/metrics`. */
  metrics: PrometheusMetrics;
  close(): Promise<void>;
}

export interface ApplicationOptions {
  /** Run job processors in this process: `npm run worker` does; the bot does only without REDIS_URL. */
  runJobWorkers?: boolean | undefined;
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

/**
 * The embedding size: `EMBEDDING_DIMENSIONS`, or what the endpoint returns for one probe text. Either
 * way a store then refuses vectors of another size instead of mixing them.
 */
async function embeddingDimensions(config: Config, llm: LlmProvider): Promise<number> {
  if (config.EMBEDDING_DIMENSIONS !== undefined) return config.EMBEDDING_DIMENSIONS;
  try {
    const [vector] = await llm.embed(["dimension probe"]);
    if (!vector || vector.length === 0) throw new Error("the endpoint returned no vector");
    return vector.length;
  } catch (error) {
    throw new AppError(
      "config_invalid",
      `Could not learn the size of ${config.EMBEDDING_MODEL ?? "the embedding model"}'s vectors from the endpoint (${toAppError(error).message}); set EMBEDDING_DIMENSIONS or check OPENAI_BASE_URL`,
      { cause: error },
    );
  }
}

export async function createApplication(
  config: Config,
  logger: Logger,
  options: ApplicationOptions = {},
): Promise<Application> {
  // Loading the tokenizer's ranks takes a second or two; pay it at start-up, not on the first message.
  countTokens("warm up");
  const closers: Array<() => Promise<void> | void> = [];
  const database = openSqliteDatabase(join(config.DATA_DIR, "teammate.sqlite"));
  closers.push(() => {
    database.close();
  });

  let store: MemoryStore;
  if (config.REDIS_URL) {
    const redis = new Redis(config.REDIS_URL, { lazyConnect: false, maxRetriesPerRequest: 3 });
    logRedisErrorsOnce(redis, logger, "memory store");
    closers.push(() => closeRedis(redis));
    store = new RedisMemoryStore({ client: redis });
  } else {
    store = new SqliteMemoryStore(database);
  }

  // Metrics wrap the LLM (tokens) and the assistant (messages, latency); the jobs gauge reads the queue.
  const metrics = new PrometheusMetrics();
  const plainLlm = createLlm(config, logger);
  const llm = plainLlm && instrumentLlm(plainLlm, metrics);

  // --- knowledge index (begin) ---
  let vectors: VectorStore;
  let denseDimensions: number | undefined;
  try {
    denseDimensions = llm?.embeddingModel ? await embeddingDimensions(config, llm) : undefined;
  } catch (error) {
    for (const close of closers.reverse()) await close();
    throw error;
  }
  if (config.QDRANT_URL) {
    const qdrant = new QdrantVectorStore({
      url: config.QDRANT_URL,
      apiKey: config.QDRANT_API_KEY,
      collection: config.QDRANT_COLLECTION,
      denseDimensions,
      logger: logger.child({ component: "qdrant" }),
    });
    // At start-up, so a collection made for another embedding size stops the process with one line
    // instead of failing every question.
    try {
      await qdrant.ensureCollection();
    } catch (error) {
      for (const close of closers.reverse()) await close();
      throw error;
    }
    vectors = qdrant;
  } else {
    let embedded: SqliteVectorStore;
    try {
      embedded = new SqliteVectorStore(database, { denseDimensions });
    } catch (error) {
      for (const close of closers.reverse()) await close();
      throw error;
    }
    // The index loads in the background, yielding between segments; a question that needs it waits.
    // The worker only writes, so it never holds the index in memory.
    if (options.runJobWorkers !== true) {
      const warming = embedded.warmUp().catch((error: unknown) => {
        logger.warn({ err: error }, "knowledge index warm-up failed; it loads on the first question");
      });
      closers.push(() => warming);
    }
    vectors = embedded;
  }
  closers.push(() => vectors.close());
  // --- knowledge index (end) ---
  const loader = createDocumentLoader({
    baseDirectory: process.cwd(),
    maxFileBytes: config.MAX_DOCUMENT_BYTES,
    fetcher: { allowedHosts: config.FETCH_ALLOWED_HOSTS, maxBytes: config.MAX_DOCUMENT_BYTES },
  });
  // Indexing (in the bot or in a worker) may download Slack files, whose token never travels in job
  // data; the answer tools' fetcher stays without it, so a prompt cannot make it read private files.
  const indexingLoader = config.SLACK_BOT_TOKEN
    ? withSlackFileCredentials(loader, { botToken: config.SLACK_BOT_TOKEN, apiUrl: config.SLACK_API_URL })
    : loader;
  const knowledge = new KnowledgeBase({
    store: vectors,
    loader: indexingLoader,
    llm,
    logger: logger.child({ component: "knowledge" }),
  });
  const retriever: Retriever = createRetriever({
    store: vectors,
    embed: llm?.embeddingModel ? (texts, signal) => llm.embed(texts, signal) : undefined,
    logger: logger.child({ component: "retriever" }),
  });

  // --- jobs and fine-tuning (begin) ---
  const jobs = createJobServices({
    config,
    logger,
    database,
    knowledge,
    runWorkers: options.runJobWorkers ?? config.REDIS_URL === undefined,
  });
  closers.push(() => jobs.close());
  metrics.watchJobs(jobs.jobs);
  // --- jobs and fine-tuning (end) ---

  let agent: AgentSetup | undefined;
  // The worker answers no messages, so it starts no tools (and no MCP server processes).
  if (config.ENABLE_TOOLS && llm && options.runJobWorkers !== true) {
    const tools = createToolRegistry();
    for (const tool of createBuiltInTools({
      retriever,
      memory: store,
      fetchDocument: (url, signal) => loader.load({ kind: "url", url }, signal),
    })) {
      tools.register(tool);
    }
    const mcp = await createMcpToolSource({
      config: await readMcpConfig(config.MCP_CONFIG_PATH),
      logger: logger.child({ component: "mcp" }),
    });
    closers.push(() => mcp.close());
    const builtIn = new Set(tools.list().map((tool) => tool.name));
    for (const tool of mcp.tools()) tools.register(tool);
    agent = {
      tools,
      toolsFor: (channel) => tools.select((tool) => builtIn.has(tool.name) || mcp.allows(channel, tool.name)),
      approvals: createInMemoryApprovalGate({ timeoutMs: config.APPROVAL_TIMEOUT_MS }),
      budgets: {
        maxSteps: config.AGENT_MAX_STEPS,
        maxTokens: config.AGENT_MAX_TOKENS,
        maxMilliseconds: config.AGENT_MAX_MILLISECONDS,
      },
    };
  }

  const assistant = createAssistant({
    store,
    llm,
    retriever,
    agent,
    commands: [
      // With REDIS_URL the bot only queues indexing; `npm run worker` runs it and edits the status.
      ...createKnowledgeCommands(
        knowledge,
        config.REDIS_URL
          ? createIngestEnqueuer({
              jobs: jobs.jobs,
              notifier: jobs.notifier,
              logger: logger.child({ component: "index" }),
            })
          : undefined,
      ),
      ...jobs.commands,
    ],
    logger: logger.child({ component: "assistant" }),
    promptTokenBudget: config.PROMPT_TOKEN_BUDGET,
    allowGeneralKnowledge: config.ALLOW_GENERAL_KNOWLEDGE,
  });

  return {
    config,
    logger,
    assistant: instrumentAssistant(assistant, metrics),
    store,
    llm,
    vectors,
    loader,
    knowledge,
    retriever,
    jobs,
    metrics,
    async close() {
      await store.close();
      for (const close of closers.reverse()) await close();
    },
  };
}
