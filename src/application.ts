import { randomUUID } from "node:crypto";
import type { TracerProvider } from "@opentelemetry/api";
import type { Redis } from "ioredis";
import { createAttachmentReader } from "./adapters/attachments/create-attachment-reader.js";
import { createDocumentLoader } from "./adapters/documents/create-document-loader.js";
import { GitHubConnector } from "./adapters/github/github-connector.js";
import { createSafeHttpFetcher } from "./adapters/http/safe-http-fetcher.js";
import {
  instrumentAssistant,
  instrumentLlm,
  PrometheusMetrics,
} from "./adapters/metrics/prometheus-metrics.js";
import type { Instrumentation } from "./adapters/opentelemetry/instrumentation.js";
import { startTracing } from "./adapters/opentelemetry/tracing.js";
import { slackFileHeaders, withSlackFileCredentials } from "./adapters/slack/slack-file-credentials.js";
import { WebsiteSourceConnector } from "./adapters/website/website-source-connector.js";
import { type Config, secretsOf } from "./config.js";
import { type Assistant, createAssistant } from "./core/assistant.js";
import type { AgentSetup } from "./core/chains/answer-chain.js";
import type { Command } from "./core/commands/command.js";
import { createKnowledgeCommands } from "./core/commands/knowledge-commands.js";
import { createIngestEnqueuer } from "./core/jobs/enqueue-ingest-documents.js";
import { sweepJobStatuses } from "./core/jobs/job-status-watch.js";
import { KnowledgeBase } from "./core/knowledge/knowledge-base.js";
import { createRetriever } from "./core/knowledge/retriever.js";
import { sweepOpenReplies } from "./core/open-replies.js";
import type { AttachmentReader } from "./core/ports/attachment-reader.js";
import type { ChannelHistory } from "./core/ports/channel-history.js";
import type { DocumentLoader } from "./core/ports/document-loader.js";
import type { Retriever } from "./core/ports/knowledge.js";
import type { LlmProvider } from "./core/ports/llm-provider.js";
import type { Logger } from "./core/ports/logger.js";
import type { MemoryStore, OpenWorkStore } from "./core/ports/memory-store.js";
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
import { createInfrastructure, type Infrastructure, type Role } from "./infrastructure.js";
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
  /**
   * What this process is for (default `bot`): `worker` runs the job processors and answers nothing;
   * `bot` and `chat` run them only without REDIS_URL (see `src/infrastructure.ts`).
   */
  role?: Role | undefined;
  /** A tracer provider the caller set up (tests, with an in-memory exporter); otherwise the environment decides. */
  tracerProvider?: TracerProvider | undefined;
  /** Source connectors besides websites (checked first): the team's channels, repositories. */
  sourceConnectors?: readonly SourceConnector[] | undefined;
}

/**
 * The platform channel readers: sources of channel history for indexing, and the recent messages of
 * the channel a `summarize`/`actions`/`translate` was typed in. One per token in the process.
 */
async function channelReaders(config: Config, logger: Logger): Promise<(SourceConnector & ChannelHistory)[]> {
  const readers: (SourceConnector & ChannelHistory)[] = [];
  // Each platform's SDK is loaded only with its token: a process without it never pays for its modules.
  if (config.SLACK_BOT_TOKEN) {
    const { SlackChannelConnector } = await import("./adapters/slack/slack-channel-connector.js");
    readers.push(
      new SlackChannelConnector({ botToken: config.SLACK_BOT_TOKEN, apiUrl: config.SLACK_API_URL, logger }),
    );
  }
  if (config.DISCORD_TOKEN) {
    const { DiscordChannelConnector } = await import("./adapters/discord/discord-channel-connector.js");
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

/** The built-in price table with `LLM_PRICES` laid over it. */
function priceTable(config: Config): PriceTable {
  const configured = Object.entries(config.LLM_PRICES ?? {}).map(([model, price]) => [
    model,
    { inputUsdPerMillion: price.input, outputUsdPerMillion: price.output },
  ]);
  return { ...DEFAULT_MODEL_PRICES, ...Object.fromEntries(configured) };
}

/** What reads documents: for indexing, for files attached to a question, and for the `fetch_url` tool. */
interface Loaders {
  /** The plain loader (`Application.loader`). */
  loader: DocumentLoader;
  indexing: DocumentLoader;
  attachments: AttachmentReader;
  tool: DocumentLoader;
}

function createLoaders(config: Config): Loaders {
  const loader = createDocumentLoader({
    baseDirectory: process.cwd(),
    maxFileBytes: config.MAX_DOCUMENT_BYTES,
    fetcher: { allowedHosts: config.FETCH_ALLOWED_HOSTS, maxBytes: config.MAX_DOCUMENT_BYTES },
  });
  // Indexing (in the bot or in a worker) may download Slack files that arrived in a Slack event; the
  // token is added at download time and never travels through core or job data.
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
  return {
    loader,
    indexing: slackFiles ? withSlackFileCredentials(loader, slackFiles) : loader,
    attachments: createAttachmentReader({
      loader: slackFiles ? withSlackFileCredentials(attachmentLoader, slackFiles) : attachmentLoader,
      maxBytes: config.MAX_ATTACHMENT_BYTES,
      fetcher: { allowedHosts: config.FETCH_ALLOWED_HOSTS },
      headersFor: slackFiles ? slackFileHeaders(slackFiles) : undefined,
    }),
    // fetch_url has a loader of its own: the private hosts admins opened for indexing stay closed to a
    // URL the model picked, and no platform credential is ever added.
    tool: createDocumentLoader({
      baseDirectory: process.cwd(),
      maxFileBytes: config.MAX_DOCUMENT_BYTES,
      fetcher: { allowedHosts: config.TOOL_FETCH_ALLOWED_HOSTS, maxBytes: config.MAX_DOCUMENT_BYTES },
    }),
  };
}

/**
 * Tools for the agent: the built-ins and the MCP servers' tools, with the approval gate risky ones
 * wait on. Undefined when tools are off, without an LLM, and in the worker (it answers no messages,
 * so it starts no tools and no MCP server processes).
 */
async function createAgentSetup(parts: {
  config: Config;
  logger: Logger;
  role: Role;
  llm: LlmProvider | undefined;
  infrastructure: Infrastructure;
  retriever: Retriever;
  toolLoader: DocumentLoader;
  tracing: Instrumentation | undefined;
  closers: Array<() => Promise<void> | void>;
}): Promise<AgentSetup | undefined> {
  const { config, logger, tracing } = parts;
  if (!config.ENABLE_TOOLS || !parts.llm || parts.role === "worker") return undefined;
  const tools = createToolRegistry();
  const traced = (tool: Tool) => (tracing ? tracing.tool(tool) : tool);
  for (const tool of createBuiltInTools({
    retriever: parts.retriever,
    memory: parts.infrastructure.memory,
    fetchDocument: (url, signal) => parts.toolLoader.load({ kind: "url", url }, signal),
  })) {
    tools.register(traced(tool));
  }
  // The MCP SDK is loaded only by a process that offers tools (a few hundred milliseconds of start-up).
  const { createMcpToolSource, readMcpConfig } = await import("./adapters/mcp/mcp-tool-source.js");
  const mcp = await createMcpToolSource({
    config: await readMcpConfig(config.MCP_CONFIG_PATH),
    logger: logger.child({ component: "mcp" }),
  });
  parts.closers.push(() => mcp.close());
  const builtIn = new Set(tools.list().map((tool) => tool.name));
  for (const tool of mcp.tools()) tools.register(traced(tool));
  return {
    tools,
    toolsFor: (channel) => tools.select((tool) => builtIn.has(tool.name) || mcp.allows(channel, tool.name)),
    approvals: parts.infrastructure.createApprovalGate(logger.child({ component: "approvals" })),
    budgets: {
      maxSteps: config.AGENT_MAX_STEPS,
      maxTokens: config.AGENT_MAX_TOKENS,
      maxMilliseconds: config.AGENT_MAX_MILLISECONDS,
    },
  };
}

/** The commands besides the built-in ones: indexing and sources, fine-tuning, usage. */
function createCommands(parts: {
  config: Config;
  logger: Logger;
  infrastructure: Infrastructure;
  knowledge: KnowledgeBase;
  jobs: JobServices;
  meter: UsageMeter;
}): Command[] {
  const { config, infrastructure, jobs } = parts;
  return [
    // With REDIS_URL the bot only queues indexing; `npm run worker` runs it and edits the status.
    ...createKnowledgeCommands(
      parts.knowledge,
      infrastructure.shared
        ? createIngestEnqueuer({
            jobs: jobs.jobs,
            notifier: jobs.notifier,
            logger: parts.logger.child({ component: "index" }),
            openWork: infrastructure.memory,
            watchGraceMs: config.OPEN_WORK_CHECK_MS,
          })
        : undefined,
      jobs.sources,
    ),
    ...jobs.commands,
    ...createUsageCommands({
      meter: parts.meter,
      store: infrastructure.usage,
      verifyChannel: (channel) => jobs.notifier.verifyChannel?.(channel) ?? Promise.resolve(true),
    }),
  ];
}

/** The knowledge base (indexing) and the retriever (answering) over the one vector store. */
function createKnowledge(
  logger: Logger,
  infrastructure: Infrastructure,
  loaders: Loaders,
  tracing: Instrumentation | undefined,
): { knowledge: KnowledgeBase; retriever: Retriever } {
  const { llm, vectors } = infrastructure;
  const knowledge = new KnowledgeBase({
    store: vectors,
    loader: loaders.indexing,
    llm,
    logger: logger.child({ component: "knowledge" }),
  });
  const plainRetriever: Retriever = createRetriever({
    store: vectors,
    embed: llm?.embeddingModel ? (texts, signal) => llm.embed(texts, signal) : undefined,
    logger: logger.child({ component: "retriever" }),
  });
  const retriever = tracing
    ? tracing.retriever(plainRetriever, infrastructure.vectorStoreName)
    : plainRetriever;
  return { knowledge, retriever };
}

/**
 * The source connectors: the caller's, the team's channels and repositories, and synced websites
 * (with a fetcher of their own: the same guard and allowlist as `index`, the XML and robots.txt types
 * a crawl reads, per request, so pages still take only document types, and connections kept alive
 * across a site's pages).
 */
function createSourceConnectors(
  config: Config,
  logger: Logger,
  given: readonly SourceConnector[],
  readers: readonly (SourceConnector & ChannelHistory)[],
  closers: Array<() => Promise<void> | void>,
): SourceConnector[] {
  const websiteFetcher = createSafeHttpFetcher({
    allowedHosts: config.FETCH_ALLOWED_HOSTS,
    maxBytes: config.MAX_DOCUMENT_BYTES,
    keepAlive: true,
  });
  closers.push(async () => websiteFetcher.close());
  const websites = new WebsiteSourceConnector({
    fetcher: websiteFetcher,
    defaultMaxPages: config.SYNC_DEFAULT_MAX_PAGES,
  });
  return [...given, ...platformSourceConnectors(config, logger, readers), websites];
}

/** `Application.sweepOpenWork`: ends the replies and job statuses whose owner is gone. */
function openWorkSweeper(parts: {
  store: OpenWorkStore;
  jobs: JobServices;
  owner: string;
  shared: boolean;
  logger: Logger;
}): Application["sweepOpenWork"] {
  const { store, jobs } = parts;
  return async ({ atStartUp = false } = {}) => {
    const log = parts.logger.child({ component: "open-work" });
    const replies = await sweepOpenReplies({
      store,
      notifier: jobs.notifier,
      logger: log,
      // One process per SQLite file: at its start, every reply another process left open is a dead one's.
      endOthersOf: atStartUp && !parts.shared ? parts.owner : undefined,
    });
    const statuses = await sweepJobStatuses({ store, jobs: jobs.jobs, notifier: jobs.notifier, logger: log });
    return replies + statuses;
  };
}

export async function createApplication(
  config: Config,
  givenLogger: Logger,
  options: ApplicationOptions = {},
): Promise<Application> {
  const role = options.role ?? "bot";
  // Every line logged below, by any component, goes through the one redaction function.
  const logger = redactingLogger(givenLogger, secretsOf(config));
  // Loading the tokenizer's ranks takes a second or two; pay it at start-up, not on the first message.
  countTokens("warm up");
  const closers: Array<() => Promise<void> | void> = [];
  const tracing = await startTracing(config, { tracerProvider: options.tracerProvider });
  if (tracing) closers.push(() => tracing.shutdown());
  // Metrics wrap the LLM (tokens) and the assistant (messages, latency); the jobs gauge reads the queue.
  const metrics = new PrometheusMetrics();
  let infrastructure: Infrastructure;
  try {
    infrastructure = await createInfrastructure(config, logger, {
      role,
      tracing,
      decorateLlm: (llm) => instrumentLlm(llm, metrics),
    });
  } catch (error) {
    await tracing?.shutdown();
    throw error;
  }
  closers.push(() => infrastructure.close());
  const { memory: store, usage, llm } = infrastructure;
  const loaders = createLoaders(config);
  const { knowledge, retriever } = createKnowledge(logger, infrastructure, loaders, tracing);
  const readers = await channelReaders(config, logger);
  const jobs = await createJobServices({
    connectors: createSourceConnectors(config, logger, options.sourceConnectors ?? [], readers, closers),
    config,
    logger,
    infrastructure,
    knowledge,
    alertChannels: usage,
    claimOnce: (key, ttlSeconds) => store.claimEvent(key, ttlSeconds),
    openWork: store,
    decorateQueue: tracing ? (queue) => tracing.jobs(queue) : undefined,
  });
  closers.push(() => jobs.close());
  metrics.watchJobs(jobs.jobs);
  const meter = new UsageMeter({
    store: usage,
    prices: priceTable(config),
    alerts: jobs.alerts,
    logger: logger.child({ component: "usage" }),
  });
  const agent = await createAgentSetup({
    config,
    logger,
    role,
    llm,
    infrastructure,
    retriever,
    toolLoader: loaders.tool,
    tracing,
    closers,
  });
  // This process, for the replies it records as open (see `sweepOpenWork`).
  const owner = randomUUID();
  const assistant = createAssistant({
    store,
    llm,
    retriever,
    agent,
    commands: createCommands({ config, logger, infrastructure, knowledge, jobs, meter }),
    usage: meter,
    logger: logger.child({ component: "assistant" }),
    secrets: secretsOf(config),
    promptTokenBudget: config.PROMPT_TOKEN_BUDGET,
    allowGeneralKnowledge: config.ALLOW_GENERAL_KNOWLEDGE,
    answerTimeoutMs: config.LLM_TIMEOUT_MS,
    maxConcurrentAnswers: config.MAX_CONCURRENT_ANSWERS,
    owner,
    attachments: loaders.attachments,
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
    vectors: infrastructure.vectors,
    loader: loaders.loader,
    knowledge,
    retriever,
    jobs,
    metrics,
    usage,
    meter,
    tracing,
    redis: infrastructure.redis,
    sweepOpenWork: openWorkSweeper({ store, jobs, owner, shared: infrastructure.shared, logger }),
    async close() {
      for (const close of closers.reverse()) await close();
    },
  };
}
