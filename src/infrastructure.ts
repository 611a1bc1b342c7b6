import { join } from "node:path";
import type { Database } from "better-sqlite3";
import type { Redis } from "ioredis";
import type OpenAI from "openai";
import type { BullMqJobQueue, JobEvent } from "./adapters/bullmq/bullmq-job-queue.js";
import { InProcessJobQueue } from "./adapters/in-process/in-process-job-queue.js";
import { endpointHost, FallbackLlmProvider } from "./adapters/llm-fallback/fallback-llm-provider.js";
import { createOpenAiClient } from "./adapters/openai/openai-client.js";
import { OpenAiFineTuningProvider } from "./adapters/openai/openai-fine-tuning-provider.js";
import { OpenAiLlmProvider } from "./adapters/openai/openai-llm-provider.js";
import type { Instrumentation } from "./adapters/opentelemetry/instrumentation.js";
import { RedisApprovalGate } from "./adapters/redis/redis-approval-gate.js";
import { RedisEditPacer } from "./adapters/redis/redis-edit-pacer.js";
import { RedisFineTuneStore } from "./adapters/redis/redis-fine-tune-store.js";
import { RedisMemoryStore } from "./adapters/redis/redis-memory-store.js";
import { RedisSourceStore } from "./adapters/redis/redis-source-store.js";
import { RedisUsageStore } from "./adapters/redis/redis-usage-store.js";
import type { WaitForRedisOptions } from "./adapters/redis/wait-for-redis.js";
import { openSqliteDatabase } from "./adapters/sqlite/open-sqlite-database.js";
import { SqliteFineTuneStore } from "./adapters/sqlite/sqlite-fine-tune-store.js";
import { SqliteMemoryStore } from "./adapters/sqlite/sqlite-memory-store.js";
import { SqliteSourceStore } from "./adapters/sqlite/sqlite-source-store.js";
import { SqliteUsageStore } from "./adapters/sqlite/sqlite-usage-store.js";
import { SqliteVectorStore } from "./adapters/sqlite/sqlite-vector-store.js";
import { startWalCheckpointer } from "./adapters/sqlite/wal-checkpointer.js";
import { type Config, hasLlm, storeKeyPrefix } from "./config.js";
import { createInMemoryApprovalGate } from "./core/agent/approval-gate.js";
import { AppError, toAppError } from "./core/errors.js";
import type { ApprovalGate } from "./core/ports/approval-gate.js";
import type { EditPacer } from "./core/ports/edit-pacer.js";
import type { FineTuneStore } from "./core/ports/fine-tune-store.js";
import type { FineTuningProvider } from "./core/ports/fine-tuning.js";
import type { LlmProvider } from "./core/ports/llm-provider.js";
import type { Logger } from "./core/ports/logger.js";
import type { MemoryStore } from "./core/ports/memory-store.js";
import type { SourceStore } from "./core/ports/source-store.js";
import type { UsageStore } from "./core/ports/usage-store.js";
import type { VectorStore } from "./core/ports/vector-store.js";

/**
 * What a process is for, which decides what it starts: `bot` answers chat platforms (and runs jobs
 * itself without REDIS_URL), `worker` only runs jobs (`npm run worker`, no tools, no index in
 * memory), `chat` is the terminal chat (`npm run chat`).
 */
export type Role = "bot" | "worker" | "chat";

export interface InfrastructureOptions {
  role: Role;
  /** Set when tracing is on: each LLM endpoint's calls get their own spans. */
  tracing?: Instrumentation | undefined;
  /** Wraps the LLM before anything uses it (metrics count its tokens). */
  decorateLlm?: ((llm: LlmProvider) => LlmProvider) | undefined;
}

interface JobQueueOptions {
  logger: Logger;
  /** Run the processors in this process (see `runsJobs`). */
  runWorkers: boolean;
  onJobEvent?: ((event: JobEvent) => void) | undefined;
  /** Told when a worker finds a job whose worker went silent (BullMQ only). */
  onJobStalled?: ((job: { id: string; name: string; data: unknown }) => Promise<void>) | undefined;
}

/**
 * The driven side of the house, chosen once: with no REDIS_URL and no QDRANT_URL every store lives
 * in one SQLite file under DATA_DIR and jobs run in this process (embedded); REDIS_URL moves memory,
 * usage, sources, fine-tunes, the queue and approvals to Redis, QDRANT_URL the index to Qdrant, so
 * any number of bot and worker processes can share them (scaled). Nothing else looks at those two
 * variables.
 */
export interface Infrastructure {
  /** True with REDIS_URL: other processes share this one's stores and queue (and one must run `npm run worker`). */
  shared: boolean;
  /** Whether this process runs the job processors: the worker does; the bot and chat only when nothing is shared. */
  runsJobs: boolean;
  /** This process's one store connection to the deployment's Redis; undefined when embedded. */
  redis: Redis | undefined;
  memory: MemoryStore;
  usage: UsageStore;
  fineTunes: FineTuneStore;
  sources: SourceStore;
  /** Spaces edits of one status message across workers; one process spaces its own without help. */
  editPacer: EditPacer | undefined;
  /** The configured endpoint(s); undefined without OPENAI_API_KEY or OPENAI_BASE_URL. */
  llm: LlmProvider | undefined;
  /** Fine-tuning on the primary endpoint's client; undefined without an endpoint. */
  fineTuning: FineTuningProvider | undefined;
  vectors: VectorStore;
  /** Which index `vectors` is, for traces. */
  vectorStoreName: "qdrant" | "sqlite";
  /** The job queue: BullMQ when shared, in-process otherwise. */
  createJobQueue(options: JobQueueOptions): BullMqJobQueue | InProcessJobQueue;
  /** Where a risky tool waits for its click: Redis when shared (the click may reach another bot process). */
  createApprovalGate(logger: Logger): ApprovalGate;
  close(): Promise<void>;
}

/**
 * Before anything connects: waits for the deployment's Redis when there is one (up to
 * REDIS_STARTUP_WAIT_MS), so a wrong REDIS_URL is one sentence, not a log of reconnections. True at
 * once when embedded; false when the wait was aborted.
 */
export async function waitForSharedServices(
  config: Config,
  options: Pick<WaitForRedisOptions, "logger" | "signal">,
): Promise<boolean> {
  if (!config.REDIS_URL) return true;
  const { waitForRedis } = await import("./adapters/redis/wait-for-redis.js");
  return waitForRedis(config.REDIS_URL, {
    ...options,
    giveUpAfterMilliseconds: config.REDIS_STARTUP_WAIT_MS,
  });
}

/**
 * ioredis and BullMQ, loaded only with REDIS_URL: some 300 modules that an embedded process never
 * uses would otherwise be part of every restart's time to its first answer (issue 14).
 */
async function loadRedisAdapters() {
  const [connection, wait, bullmq] = await Promise.all([
    import("./adapters/redis/redis-connection.js"),
    import("./adapters/redis/wait-for-redis.js"),
    import("./adapters/bullmq/bullmq-job-queue.js"),
  ]);
  return {
    createRedisConnection: connection.createRedisConnection,
    closeRedis: wait.closeRedis,
    BullMqJobQueue: bullmq.BullMqJobQueue,
  };
}

type RedisAdapters = Awaited<ReturnType<typeof loadRedisAdapters>>;

/** Closes what was opened, last first; also used when start-up fails half way. */
class Closers {
  readonly #closers: Array<() => Promise<void> | void> = [];
  add(close: () => Promise<void> | void): void {
    this.#closers.push(close);
  }
  async closeAll(): Promise<void> {
    for (const close of this.#closers.splice(0).reverse()) await close();
  }
}

export async function createInfrastructure(
  config: Config,
  logger: Logger,
  options: InfrastructureOptions,
): Promise<Infrastructure> {
  const closers = new Closers();
  // Opened on first use only: a Redis + Qdrant deployment never creates the file.
  let database: Database | undefined;
  const sqlite = (): Database => {
    if (!database) {
      const path = join(config.DATA_DIR, "teammate.sqlite");
      const opened = openSqliteDatabase(path);
      const checkpointer = startWalCheckpointer(path, opened, logger);
      closers.add(async () => {
        await checkpointer.close();
        opened.close();
      });
      database = opened;
    }
    return database;
  };
  const redisAdapters = config.REDIS_URL ? await loadRedisAdapters() : undefined;
  const redis =
    config.REDIS_URL && redisAdapters
      ? connectRedis(config.REDIS_URL, logger, closers, redisAdapters)
      : undefined;
  const keyPrefix = storeKeyPrefix(config);
  const stores = redis
    ? {
        memory: new RedisMemoryStore({ client: redis, keyPrefix }),
        usage: new RedisUsageStore({ client: redis, keyPrefix }),
        fineTunes: new RedisFineTuneStore({ client: redis, keyPrefix }),
        sources: new RedisSourceStore({ client: redis, keyPrefix }),
        editPacer: new RedisEditPacer({ client: redis, keyPrefix }) as EditPacer | undefined,
      }
    : {
        memory: new SqliteMemoryStore(sqlite()),
        usage: new SqliteUsageStore(sqlite()),
        fineTunes: new SqliteFineTuneStore(sqlite()),
        sources: new SqliteSourceStore(sqlite()),
        editPacer: undefined,
      };
  closers.add(async () => {
    await stores.memory.close();
    await stores.usage.close();
    await stores.fineTunes.close();
    await stores.sources.close();
  });

  const openai = hasLlm(config)
    ? createOpenAiClient({
        // Local servers (Ollama, vLLM, llama.cpp) ignore the key but the SDK insists on one.
        apiKey: config.OPENAI_API_KEY ?? "not-needed",
        baseURL: config.OPENAI_BASE_URL,
        timeoutMs: config.LLM_TIMEOUT_MS,
        logger: logger.child({ component: "llm" }),
      })
    : undefined;
  const plainLlm = openai && createLlm(config, logger, openai, options.tracing);
  const llm = plainLlm && options.decorateLlm ? options.decorateLlm(plainLlm) : plainLlm;

  let vectors: VectorStore;
  try {
    vectors = await openVectorStore(config, logger, llm, sqlite, options.role, closers);
  } catch (error) {
    await closers.closeAll();
    throw error;
  }

  const shared = redis !== undefined;
  return {
    shared,
    runsJobs: options.role === "worker" || !shared,
    redis,
    ...stores,
    llm,
    fineTuning: openai
      ? new OpenAiFineTuningProvider({
          apiKey: config.OPENAI_API_KEY ?? "not-needed",
          maxRetries: config.LLM_MAX_RETRIES,
          client: openai,
        })
      : undefined,
    vectors,
    vectorStoreName: config.QDRANT_URL ? "qdrant" : "sqlite",
    createJobQueue: (queueOptions) =>
      config.REDIS_URL && redisAdapters
        ? new redisAdapters.BullMqJobQueue({
            redisUrl: config.REDIS_URL,
            prefix: config.QUEUE_PREFIX,
            logger: queueOptions.logger,
            runWorkers: queueOptions.runWorkers,
            onJobEvent: queueOptions.onJobEvent,
            onJobStalled: queueOptions.onJobStalled,
          })
        : new InProcessJobQueue({ logger: queueOptions.logger }),
    createApprovalGate: (gateLogger) => {
      if (!redis) return createInMemoryApprovalGate({ timeoutMs: config.APPROVAL_TIMEOUT_MS });
      const gate = new RedisApprovalGate({
        client: redis,
        keyPrefix,
        timeoutMs: config.APPROVAL_TIMEOUT_MS,
        logger: gateLogger,
      });
      closers.add(() => gate.close());
      return gate;
    },
    close: () => closers.closeAll(),
  };
}

/**
 * The process's one store connection. One line when Redis goes away and one when it is back, not one
 * per reconnection attempt.
 */
function connectRedis(url: string, logger: Logger, closers: Closers, adapters: RedisAdapters): Redis {
  const { createRedisConnection, closeRedis } = adapters;
  const client = createRedisConnection(url, "store");
  let redisDown = false;
  client.on("error", (error: Error) => {
    if (redisDown) return;
    redisDown = true;
    logger.warn(
      { err: error },
      "memory store (Redis) unreachable: answering without memory until it is back",
    );
  });
  client.on("ready", () => {
    if (!redisDown) return;
    redisDown = false;
    logger.info("memory store (Redis) reachable again");
  });
  // Without a connection there is nothing to say goodbye on (and no offline queue to say it later).
  closers.add(() => closeRedis(client).catch(() => client.disconnect()));
  return client;
}

/** Qdrant with QDRANT_URL, else the embedded SQLite index; either refuses vectors of another size. */
async function openVectorStore(
  config: Config,
  logger: Logger,
  llm: LlmProvider | undefined,
  sqlite: () => Database,
  role: Role,
  closers: Closers,
): Promise<VectorStore> {
  const denseDimensions = llm?.embeddingModel ? await embeddingDimensions(config, llm) : undefined;
  if (config.QDRANT_URL) {
    // Loaded only with QDRANT_URL: the embedded index needs none of the Qdrant client's modules.
    const { QdrantVectorStore } = await import("./adapters/qdrant/qdrant-vector-store.js");
    const qdrant = new QdrantVectorStore({
      url: config.QDRANT_URL,
      apiKey: config.QDRANT_API_KEY,
      collection: config.QDRANT_COLLECTION,
      denseDimensions,
      logger: logger.child({ component: "qdrant" }),
    });
    closers.add(() => qdrant.close());
    // At start-up, so a collection made for another embedding size stops the process with one line
    // instead of failing every question.
    try {
      await qdrant.ensureCollection();
    } catch (error) {
      throw qdrantStartError(error);
    }
    return qdrant;
  }
  const embedded = new SqliteVectorStore(sqlite(), { denseDimensions });
  closers.add(() => embedded.close());
  // The index loads in the background, yielding between segments; a question that needs it waits.
  // The worker only writes, so it never holds the index in memory.
  if (role !== "worker") {
    const warming = embedded.warmUp().catch((error: unknown) => {
      logger.warn({ err: error }, "knowledge index warm-up failed; it loads on the first question");
    });
    closers.add(() => warming);
  }
  return embedded;
}

/**
 * The LLM: the configured endpoint (on the shared client), or with `LLM_FALLBACKS` an ordered list of
 * endpoints that a request moves along when one is rate-limited, failing or silent before its first
 * token. With tracing on, each endpoint's calls get their own spans, so a failed attempt shows in the trace.
 */
function createLlm(
  config: Config,
  logger: Logger,
  primaryClient: OpenAI,
  tracing: Instrumentation | undefined,
): LlmProvider {
  const endpoint = (endpointOptions: {
    apiKey: string | undefined;
    baseUrl: string | undefined;
    model: string;
    embeddingModel?: string | undefined;
    client?: OpenAI | undefined;
  }) => {
    const provider = new OpenAiLlmProvider({
      // Local servers (Ollama, vLLM, llama.cpp) ignore the key but the SDK insists on one.
      apiKey: endpointOptions.apiKey ?? "not-needed",
      baseURL: endpointOptions.baseUrl,
      model: endpointOptions.model,
      embeddingModel: endpointOptions.embeddingModel,
      timeoutMs: config.LLM_TIMEOUT_MS,
      maxRetries: config.LLM_MAX_RETRIES,
      logger: logger.child({ component: "llm" }),
      client: endpointOptions.client,
    });
    return tracing ? tracing.llm(provider, endpointOptions.baseUrl) : provider;
  };
  const primary = endpoint({
    apiKey: config.OPENAI_API_KEY,
    baseUrl: config.OPENAI_BASE_URL,
    model: config.LLM_MODEL,
    embeddingModel: config.EMBEDDING_MODEL,
    client: primaryClient,
  });
  const fallbacks = config.LLM_FALLBACKS ?? [];
  if (fallbacks.length === 0) return primary;
  return new FallbackLlmProvider({
    endpoints: [
      { label: `primary (${endpointHost(config.OPENAI_BASE_URL)})`, provider: primary },
      ...fallbacks.map((fallback, index) => ({
        label: `fallback ${index + 1} (${fallback.name ?? endpointHost(fallback.baseUrl)})`,
        provider: endpoint({ apiKey: fallback.apiKey, baseUrl: fallback.baseUrl, model: fallback.model }),
      })),
    ],
    firstPartTimeoutMs: config.LLM_FALLBACK_AFTER_MS,
    logger: logger.child({ component: "llm-fallback" }),
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

/**
 * Qdrant unreachable at start-up, in the one line `npm start` prints: the adapter's sentence (the
 * address and the socket's reason) with the variable to check. Refusals already name QDRANT_API_KEY,
 * and a collection of another size says what to do; those stay as they are.
 */
function qdrantStartError(error: unknown): unknown {
  const appError = toAppError(error);
  if (appError.code !== "store_unavailable" || appError.message.includes("QDRANT_")) return error;
  return new AppError("config_invalid", `${appError.message}: start Qdrant or fix QDRANT_URL.`, {
    cause: error,
    category: "third_party",
  });
}
