import { randomUUID } from "node:crypto";
import { join } from "node:path";
import type { TracerProvider } from "@opentelemetry/api";
import { Redis } from "ioredis";
import { createAttachmentReader } from "./adapters/attachments/create-attachment-reader.js";
import { DiscordChannelConnector } from "./adapters/discord/discord-channel-connector.js";
import { createDocumentLoader } from "./adapters/documents/create-document-loader.js";
import { GitHubConnector } from "./adapters/github/github-connector.js";
import { createSafeHttpFetcher } from "./adapters/http/safe-http-fetcher.js";
import { endpointHost, FallbackLlmProvider } from "./adapters/llm-fallback/fallback-llm-provider.js";
import {
  instrumentAssistant,
  instrumentLlm,
  PrometheusMetrics,
} from "./adapters/metrics/prometheus-metrics.js";
import { OpenAiLlmProvider } from "./adapters/openai/openai-llm-provider.js";
import { type Instrumentation, startTracing } from "./adapters/opentelemetry/tracing.js";
import { QdrantVectorStore } from "./adapters/qdrant/qdrant-vector-store.js";
import { RedisApprovalGate } from "./adapters/redis/redis-approval-gate.js";
import { RedisMemoryStore } from "./adapters/redis/redis-memory-store.js";
import { RedisUsageStore } from "./adapters/redis/redis-usage-store.js";
import { SlackChannelConnector } from "./adapters/slack/slack-channel-connector.js";
import { slackFileHeaders, withSlackFileCredentials } from "./adapters/slack/slack-file-credentials.js";
import { openSqliteDatabase } from "./adapters/sqlite/open-sqlite-database.js";
import { SqliteMemoryStore } from "./adapters/sqlite/sqlite-memory-store.js";
import { SqliteUsageStore } from "./adapters/sqlite/sqlite-usage-store.js";
import { SqliteVectorStore } from "./adapters/sqlite/sqlite-vector-store.js";
import { WebsiteSourceConnector } from "./adapters/website/website-source-connector.js";
import { type Config, hasLlm, secretsOf, storeKeyPrefix } from "./config.js";
import { createInMemoryApprovalGate } from "./core/agent/approval-gate.js";
import { type Assistant, createAssistant } from "./core/assistant.js";
import type { AgentSetup } from "./core/chains/answer-chain.js";
import { createKnowledgeCommands } from "./core/commands/knowledge-commands.js";
import { AppError, toAppError } from "./core/errors.js";
import { createIngestEnqueuer } from "./core/jobs/enqueue-ingest-documents.js";
import { sweepJobStatuses } from "./core/jobs/job-status-watch.js";
import { KnowledgeBase } from "./core/knowledge/knowledge-base.js";
import { createRetriever } from "./core/knowledge/retriever.js";
import { sweepOpenReplies } from "./core/open-replies.js";
import type { ApprovalGate } from "./core/ports/approval-gate.js";
import type { ChannelHistory } from "./core/ports/channel-history.js";
import type { DocumentLoader } from "./core/ports/document-loader.js";
import type { Retriever } from "./core/ports/knowledge.js";
import type { LlmProvider } from "./core/ports/llm-provider.js";
import type { Logger } from "./core/ports/logger.js";
import type { MemoryStore } from "./core/ports/memory-store.js";
import type { SourceConnector } from "./core/ports/source-connector.js";
import type { Tool } from "./core/ports/tool.js";
import type { UsageStore } from "./core/ports/usage-store.js";
import type { VectorStore } from "./core/ports/vector-store.js";
import { redactingLogger } from "./core/redaction.js";
import { countTokens } from "./core/tokens.js";
import { createToolRegistry } from "./core/tools/tool-registry.js";
import type { ChannelRef } from "./core/types.js";
import { DEFAULT_MODEL_PRICES, type PriceTable } from "./core/usage/model-prices.js";
import { createUsageCommands } from "./core/usage/usage-commands.js";
import { UsageMeter } from "./core/usage/usage-meter.js";
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
  /** Usage per workspace, channel and user, the limits on it, and each workspace's alert channel. */
  usage: UsageStore;
  meter: UsageMeter;
  /** Set when OTEL_EXPORTER_OTLP_ENDPOINT is (or a tracer provider was given); undefined means nothing is traced. */
  tracing: Instrumentation | undefined;
  /**
   * Ends unfinished work whose owner is gone (jobs that failed for good or were lost); the bot runs it
   * at start-up and every OPEN_WORK_CHECK_MS. Returns how many were ended.
   */
  sweepOpenWork(options?: { atStartUp?: boolean }): Promise<number>;
  /** This process's connection to the deployment's Redis (REDIS_URL), for adapters that coordinate with its other processes. */
  redis: Redis | undefined;
  close(): Promise<void>;
}

export interface ApplicationOptions {
  /** Run job processors in this process: `npm run worker` does; the bot does only without REDIS_URL. */
  runJobWorkers?: boolean | undefined;
  /** A tracer provider the caller set up (tests, with an in-memory exporter); otherwise the environment decides. */
  tracerProvider?: TracerProvider | undefined;
  /** Source connectors besides websites (checked first): the team's channels, repositories. */
  sourceConnectors?: readonly SourceConnector[] | undefined;
}

/**
 * The platform channel readers: sources of channel history for indexing, and the recent messages of
 * the channel a `summarize`/`actions`/`translate` was typed in. One per token in the process.
 */
function channelReaders(config: Config, logger: Logger): (SourceConnector & ChannelHistory)[] {
  const readers: (SourceConnector & ChannelHistory)[] = [];
  if (config.SLACK_BOT_TOKEN) {
    readers.push(
      new SlackChannelConnector({ botToken: config.SLACK_BOT_TOKEN, apiUrl: config.SLACK_API_URL, logger }),
    );
  }
  if (config.DISCORD_TOKEN) {
    readers.push(
      new DiscordChannelConnector({ botToken: config.DISCORD_TOKEN, apiUrl: config.DISCORD_API_URL, logger }),
    );
  }
  return readers;
}

/** Routes a channel to the reader of its platform. */
function channelHistoryOf(readers: readonly ChannelHistory[]): ChannelHistory | undefined {
  if (readers.length === 0) return undefined;
  const readerFor = (channel: ChannelRef) => readers.find((reader) => reader.serves(channel));
  return {
    serves: (channel) => readerFor(channel) !== undefined,
    recent: (channel, limit, signal) => {
      const reader = readerFor(channel);
      if (!reader) return Promise.resolve([]);
      return reader.recent(channel, limit, signal);
    },
  };
}

/**
 * The team's own channels (with the platform's bot token) and GitHub repositories as sources. One
 * client per token in the process, so each platform's rate limits are counted in one place.
 */
function platformSourceConnectors(
  config: Config,
  logger: Logger,
  channelReaders: readonly (SourceConnector & ChannelHistory)[],
): SourceConnector[] {
  const connectors: SourceConnector[] = [...channelReaders];
  connectors.push(
    new GitHubConnector({
      token: config.GITHUB_TOKEN,
      apiUrl: config.GITHUB_API_URL,
      logger,
      maxFileBytes: config.MAX_DOCUMENT_BYTES,
    }),
  );
  return connectors;
}

/**
 * The LLM: the configured endpoint, or with `LLM_FALLBACKS` an ordered list of endpoints that a
 * request moves along when one is rate-limited, failing or silent before its first token. With
 * tracing on, each endpoint's calls get their own spans, so a failed attempt shows in the trace.
 */
export function createLlm(
  config: Config,
  logger: Logger,
  tracing?: Instrumentation,
): LlmProvider | undefined {
  if (!hasLlm(config)) return undefined;
  const endpoint = (options: {
    apiKey: string | undefined;
    baseUrl: string | undefined;
    model: string;
    embeddingModel?: string | undefined;
  }) => {
    const provider = new OpenAiLlmProvider({
      // Local servers (Ollama, vLLM, llama.cpp) ignore the key but the SDK insists on one.
      apiKey: options.apiKey ?? "not-needed",
      baseURL: options.baseUrl,
      model: options.model,
      embeddingModel: options.embeddingModel,
      timeoutMs: config.LLM_TIMEOUT_MS,
      maxRetries: config.LLM_MAX_RETRIES,
      logger: logger.child({ component: "llm" }),
    });
    return tracing ? tracing.llm(provider, options.baseUrl) : provider;
  };
  const primary = endpoint({
    apiKey: config.OPENAI_API_KEY,
    baseUrl: config.OPENAI_BASE_URL,
    model: config.LLM_MODEL,
    embeddingModel: config.EMBEDDING_MODEL,
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

/** The built-in price table with `LLM_PRICES` laid over it. */
export function priceTable(config: Config): PriceTable {
  const configured = Object.entries(config.LLM_PRICES ?? {}).map(([model, price]) => [
    model,
    { inputUsdPerMillion: price.input, outputUsdPerMillion: price.output },
  ]);
  return { ...DEFAULT_MODEL_PRICES, ...Object.fromEntries(configured) };
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

export async function createApplication(
  config: Config,
  givenLogger: Logger,
  options: ApplicationOptions = {},
): Promise<Application> {
  // Every line logged below, by any component, goes through the one redaction function.
  const logger = redactingLogger(givenLogger, secretsOf(config));
  // Loading the tokenizer's ranks takes a second or two; pay it at start-up, not on the first message.
  countTokens("warm up");
  const closers: Array<() => Promise<void> | void> = [];
  const tracing = await startTracing(config, { tracerProvider: options.tracerProvider });
  if (tracing) closers.push(() => tracing.shutdown());
  const database = openSqliteDatabase(join(config.DATA_DIR, "teammate.sqlite"));
  closers.push(() => {
    database.close();
  });

  let store: MemoryStore;
  let usage: UsageStore;
  let redis: Redis | undefined;
  if (config.REDIS_URL) {
    // While Redis is away, commands fail at once (no offline queue) and a hung server costs at most
    // two seconds: the message path then answers without memory instead of waiting on it.
    const client = new Redis(config.REDIS_URL, {
      lazyConnect: false,
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      commandTimeout: 2_000,
    });
    // One line when Redis goes away and one when it is back, not one per reconnection attempt.
    let redisDown = false;
    redis = client;
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
    closers.push(async () => {
      // Without a connection there is nothing to say goodbye on (and no offline queue to say it later).
      if (client.status === "ready") await client.quit().catch(() => client.disconnect());
      else client.disconnect();
    });
    store = new RedisMemoryStore({ client, keyPrefix: storeKeyPrefix(config) });
    usage = new RedisUsageStore({ client, keyPrefix: storeKeyPrefix(config) });
  } else {
    store = new SqliteMemoryStore(database);
    usage = new SqliteUsageStore(database);
  }

  // Metrics wrap the LLM (tokens) and the assistant (messages, latency); the jobs gauge reads the queue.
  const metrics = new PrometheusMetrics();
  const plainLlm = createLlm(config, logger, tracing);
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
      throw qdrantStartError(error);
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
  // Indexing (in the bot or in a worker) may download Slack files that arrived in a Slack event; the
  // token is added at download time and never travels through core or job data.
  const indexingLoader = config.SLACK_BOT_TOKEN
    ? withSlackFileCredentials(loader, { botToken: config.SLACK_BOT_TOKEN, apiUrl: config.SLACK_API_URL })
    : loader;
  // Files attached to questions are read for that answer under their own size cap, with the same
  // address guard and Slack-file rule as indexing (the token only for files of a Slack event).
  const slackFiles = config.SLACK_BOT_TOKEN
    ? { botToken: config.SLACK_BOT_TOKEN, apiUrl: config.SLACK_API_URL }
    : undefined;
  const attachmentLoader = createDocumentLoader({
    baseDirectory: process.cwd(),
    maxFileBytes: config.MAX_ATTACHMENT_BYTES,
    fetcher: { allowedHosts: config.FETCH_ALLOWED_HOSTS, maxBytes: config.MAX_ATTACHMENT_BYTES },
  });
  const attachmentReader = createAttachmentReader({
    loader: slackFiles ? withSlackFileCredentials(attachmentLoader, slackFiles) : attachmentLoader,
    maxBytes: config.MAX_ATTACHMENT_BYTES,
    fetcher: { allowedHosts: config.FETCH_ALLOWED_HOSTS },
    headersFor: slackFiles ? slackFileHeaders(slackFiles) : undefined,
  });
  // fetch_url has a loader of its own: the private hosts admins opened for indexing stay closed to a
  // URL the model picked, and no platform credential is ever added.
  const toolLoader = createDocumentLoader({
    baseDirectory: process.cwd(),
    maxFileBytes: config.MAX_DOCUMENT_BYTES,
    fetcher: { allowedHosts: config.TOOL_FETCH_ALLOWED_HOSTS, maxBytes: config.MAX_DOCUMENT_BYTES },
  });
  const knowledge = new KnowledgeBase({
    store: vectors,
    loader: indexingLoader,
    llm,
    logger: logger.child({ component: "knowledge" }),
  });
  const plainRetriever: Retriever = createRetriever({
    store: vectors,
    embed: llm?.embeddingModel ? (texts, signal) => llm.embed(texts, signal) : undefined,
    logger: logger.child({ component: "retriever" }),
  });
  const retriever = tracing
    ? tracing.retriever(plainRetriever, config.QDRANT_URL ? "qdrant" : "sqlite")
    : plainRetriever;

  // Synced websites get a fetcher of their own: the same guard and allowlist as `index`, the XML and
  // robots.txt types a crawl reads (per request, so pages still take only document types), and
  // connections kept alive across a site's pages.
  const websiteFetcher = createSafeHttpFetcher({
    allowedHosts: config.FETCH_ALLOWED_HOSTS,
    maxBytes: config.MAX_DOCUMENT_BYTES,
    keepAlive: true,
  });
  closers.push(async () => websiteFetcher.close());
  const readers = channelReaders(config, logger);
  const websites = new WebsiteSourceConnector({
    fetcher: websiteFetcher,
    defaultMaxPages: config.SYNC_DEFAULT_MAX_PAGES,
  });

  // --- jobs and fine-tuning (begin) ---
  const jobs = createJobServices({
    connectors: [
      ...(options.sourceConnectors ?? []),
      ...platformSourceConnectors(config, logger, readers),
      websites,
    ],
    config,
    logger,
    database,
    knowledge,
    alertChannels: usage,
    claimOnce: (key, ttlSeconds) => store.claimEvent(key, ttlSeconds),
    openWork: store,
    decorateQueue: tracing ? (queue) => tracing.jobs(queue) : undefined,
    runWorkers: options.runJobWorkers ?? config.REDIS_URL === undefined,
  });
  closers.push(() => jobs.close());
  metrics.watchJobs(jobs.jobs);
  // --- jobs and fine-tuning (end) ---

  const meter = new UsageMeter({
    store: usage,
    prices: priceTable(config),
    alerts: jobs.alerts,
    logger: logger.child({ component: "usage" }),
  });
  const notifier = jobs.notifier;

  let agent: AgentSetup | undefined;
  // The worker answers no messages, so it starts no tools (and no MCP server processes).
  if (config.ENABLE_TOOLS && llm && options.runJobWorkers !== true) {
    const tools = createToolRegistry();
    const traced = (tool: Tool) => (tracing ? tracing.tool(tool) : tool);
    for (const tool of createBuiltInTools({
      retriever,
      memory: store,
      fetchDocument: (url, signal) => toolLoader.load({ kind: "url", url }, signal),
    })) {
      tools.register(traced(tool));
    }
    // The MCP SDK is loaded only by a process that offers tools (a few hundred milliseconds of start-up).
    const { createMcpToolSource, readMcpConfig } = await import("./adapters/mcp/mcp-tool-source.js");
    const mcp = await createMcpToolSource({
      config: await readMcpConfig(config.MCP_CONFIG_PATH),
      logger: logger.child({ component: "mcp" }),
    });
    closers.push(() => mcp.close());
    const builtIn = new Set(tools.list().map((tool) => tool.name));
    for (const tool of mcp.tools()) tools.register(traced(tool));
    // With REDIS_URL the click may reach any bot process; the one whose agent waits must learn of it.
    let approvals: ApprovalGate;
    if (redis) {
      const shared = new RedisApprovalGate({
        client: redis,
        keyPrefix: storeKeyPrefix(config),
        timeoutMs: config.APPROVAL_TIMEOUT_MS,
        logger: logger.child({ component: "approvals" }),
      });
      closers.push(() => shared.close());
      approvals = shared;
    } else {
      approvals = createInMemoryApprovalGate({ timeoutMs: config.APPROVAL_TIMEOUT_MS });
    }
    agent = {
      tools,
      toolsFor: (channel) => tools.select((tool) => builtIn.has(tool.name) || mcp.allows(channel, tool.name)),
      approvals,
      budgets: {
        maxSteps: config.AGENT_MAX_STEPS,
        maxTokens: config.AGENT_MAX_TOKENS,
        maxMilliseconds: config.AGENT_MAX_MILLISECONDS,
      },
    };
  }

  // This process, for the replies it records as open (see `sweepOpenWork`).
  const owner = randomUUID();
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
              openWork: store,
              watchGraceMs: config.OPEN_WORK_CHECK_MS,
            })
          : undefined,
        jobs.sources,
      ),
      ...jobs.commands,
      ...createUsageCommands({
        meter,
        store: usage,
        verifyChannel: (channel) => notifier.verifyChannel?.(channel) ?? Promise.resolve(true),
      }),
    ],
    usage: meter,
    logger: logger.child({ component: "assistant" }),
    secrets: secretsOf(config),
    promptTokenBudget: config.PROMPT_TOKEN_BUDGET,
    allowGeneralKnowledge: config.ALLOW_GENERAL_KNOWLEDGE,
    answerTimeoutMs: config.LLM_TIMEOUT_MS,
    maxConcurrentAnswers: config.MAX_CONCURRENT_ANSWERS,
    owner,
    attachments: attachmentReader,
    acceptsImages: config.LLM_ACCEPTS_IMAGES,
    channelHistory: channelHistoryOf(readers),
  });

  const measured = instrumentAssistant(assistant, metrics);
  return {
    config,
    logger,
    assistant: tracing ? tracing.assistant(measured) : measured,
    store,
    llm,
    vectors,
    loader,
    knowledge,
    retriever,
    jobs,
    metrics,
    usage,
    meter,
    tracing,
    redis,
    async sweepOpenWork({ atStartUp = false } = {}) {
      const log = logger.child({ component: "open-work" });
      const replies = await sweepOpenReplies({
        store,
        notifier,
        logger: log,
        // One process per SQLite file: at its start, every reply another process left open is a dead one's.
        endOthersOf: atStartUp && !config.REDIS_URL ? owner : undefined,
      });
      const statuses = await sweepJobStatuses({ store, jobs: jobs.jobs, notifier, logger: log });
      return replies + statuses;
    },
    async close() {
      await store.close();
      await usage.close();
      for (const close of closers.reverse()) await close();
    },
  };
}
