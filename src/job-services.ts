import type { Database } from "better-sqlite3";
import type { Queue } from "bullmq";
import { Redis } from "ioredis";
import { BullMqJobQueue, type JobEvent } from "./adapters/bullmq/bullmq-job-queue.js";
import { InProcessJobQueue } from "./adapters/in-process/in-process-job-queue.js";
import { DiscordNotifier } from "./adapters/notifiers/discord-notifier.js";
import { SlackNotifier } from "./adapters/notifiers/slack-notifier.js";
import { OpenAiFineTuningProvider } from "./adapters/openai/openai-fine-tuning-provider.js";
import { RedisEditPacer } from "./adapters/redis/redis-edit-pacer.js";
import { RedisFineTuneStore } from "./adapters/redis/redis-fine-tune-store.js";
import { RedisSourceStore } from "./adapters/redis/redis-source-store.js";
import { closeRedis } from "./adapters/redis/wait-for-redis.js";
import { SqliteFineTuneStore } from "./adapters/sqlite/sqlite-fine-tune-store.js";
import { SqliteSourceStore } from "./adapters/sqlite/sqlite-source-store.js";
import { type Config, hasLlm, secretsOf, storeKeyPrefix } from "./config.js";
import type { Command } from "./core/commands/command.js";
import { NO_LLM_MESSAGE_SHORT } from "./core/commands/no-llm.js";
import { AppError } from "./core/errors.js";
import { createFineTuneCommands } from "./core/fine-tuning/fine-tune-commands.js";
import { registerFineTuneJobs } from "./core/fine-tuning/fine-tune-jobs.js";
import { registerIngestJobs } from "./core/jobs/ingest-documents-job.js";
import { createLogNotifier } from "./core/jobs/log-notifier.js";
import { createRoutingNotifier } from "./core/jobs/routing-notifier.js";
import { createStalledJobAlert } from "./core/jobs/stalled-job-alert.js";
import type { KnowledgeBase } from "./core/knowledge/knowledge-base.js";
import { type Alerter, createAlerter } from "./core/operations/alerts.js";
import type { EditPacer } from "./core/ports/edit-pacer.js";
import type { FineTuneStore } from "./core/ports/fine-tune-store.js";
import type { FineTuningProvider } from "./core/ports/fine-tuning.js";
import type { JobQueue } from "./core/ports/job-queue.js";
import type { Logger } from "./core/ports/logger.js";
import type { MemoryStore } from "./core/ports/memory-store.js";
import type { Notifier } from "./core/ports/notifier.js";
import type { SourceConnector } from "./core/ports/source-connector.js";
import type { SourceStore } from "./core/ports/source-store.js";
import type { UsageStore } from "./core/ports/usage-store.js";
import { SourceService } from "./core/sources/source-service.js";
import { registerSyncJobs } from "./core/sources/sync-source-job.js";

/** The base model `finetune start` uses when none is named (OpenAI's cheapest tunable chat model). */
export const DEFAULT_FINE_TUNE_BASE_MODEL = "gpt-4o-mini-2024-07-18";

export interface JobServices {
  jobs: JobQueue;
  /** The BullMQ queue behind `jobs`, for Bull Board; absent for the in-process queue. */
  bullQueue: Queue | undefined;
  notifier: Notifier;
  fineTuneStore: FineTuneStore;
  /**
   * Posts one message to a workspace's alert channel (`config alerts`). Failing syncs, stalled
   * workers, limits at 80 % and finished fine-tunes go through it; so may any other job.
   */
  alerts: Alerter;
  /** `finetune …` commands for `createAssistant({ commands })`; those needing the API say so without an endpoint. */
  commands: Command[];
  /** Synced sources: what `index <target> --every …`, `docs`, `sync` and `forget-doc` work on. */
  sources: SourceService;
  sourceStore: SourceStore;
  close(): Promise<void>;
}

export interface JobServicesOptions {
  config: Config;
  logger: Logger;
  /** The embedded SQLite file (fine-tune state lives there without REDIS_URL). */
  database: Database;
  knowledge: KnowledgeBase;
  /** Where each workspace's alert channel is kept. */
  alertChannels: Pick<UsageStore, "getAlertChannel">;
  /** Claims a key once across processes (the memory store's `claimEvent`), so an alert is posted once. */
  claimOnce: (key: string, ttlSeconds: number) => Promise<boolean>;
  /**
   * Whether this process runs the processors: the worker (`npm run worker`) does; the bot does only
   * in the embedded mode (no REDIS_URL), where there is no separate worker.
   */
  runWorkers: boolean;
  /** Where synced sources come from (websites, channels, repositories). */
  connectors: readonly SourceConnector[];
  /** Wraps the queue before any processor is registered (tracing: jobs continue the message's trace). */
  decorateQueue?: ((queue: JobQueue) => JobQueue) | undefined;
  onJobEvent?: ((event: JobEvent) => void) | undefined;
  /** Where queued jobs' status messages are watched; a job that writes its last line takes its own off. */
  openWork?: Pick<MemoryStore, "closeWork"> | undefined;
}

/**
 * Wires the job queue, the notifier, the fine-tuning store and provider, and registers the same
 * processors in every process: with REDIS_URL the bot's queue only enqueues and `npm run worker`
 * runs them; without it everything runs in the bot.
 */
export function createJobServices(options: JobServicesOptions): JobServices {
  const { config, logger } = options;
  const closers: Array<() => Promise<void>> = [];

  const notifier = createRoutingNotifier(
    {
      ...(config.SLACK_BOT_TOKEN
        ? { slack: new SlackNotifier({ botToken: config.SLACK_BOT_TOKEN, apiUrl: config.SLACK_API_URL }) }
        : {}),
      ...(config.DISCORD_TOKEN
        ? { discord: new DiscordNotifier({ botToken: config.DISCORD_TOKEN, apiUrl: config.DISCORD_API_URL }) }
        : {}),
      local: createLogNotifier(logger.child({ component: "status" })),
    },
    secretsOf(config),
  );
  const alerts = createAlerter({
    channels: options.alertChannels,
    notifier,
    claimOnce: options.claimOnce,
    logger: logger.child({ component: "alerts" }),
  });

  let fineTuneStore: FineTuneStore;
  let sourceStore: SourceStore;
  // Several workers may edit one status message; one process spaces its own edits without help.
  let editPacer: EditPacer | undefined;
  if (config.REDIS_URL) {
    const client = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 3 });
    // Reported by the memory store's connection; this one stays quiet rather than repeat it.
    client.on("error", () => {});
    closers.push(() => closeRedis(client));
    fineTuneStore = new RedisFineTuneStore({ client, keyPrefix: storeKeyPrefix(config) });
    sourceStore = new RedisSourceStore({ client, keyPrefix: storeKeyPrefix(config) });
    editPacer = new RedisEditPacer({ client, keyPrefix: storeKeyPrefix(config) });
  } else {
    fineTuneStore = new SqliteFineTuneStore(options.database);
    sourceStore = new SqliteSourceStore(options.database);
  }

  const queue: BullMqJobQueue | InProcessJobQueue = config.REDIS_URL
    ? new BullMqJobQueue({
        redisUrl: config.REDIS_URL,
        prefix: config.QUEUE_PREFIX,
        logger: logger.child({ component: "jobs" }),
        runWorkers: options.runWorkers,
        onJobEvent: options.onJobEvent,
        onJobStalled: createStalledJobAlert({
          alerts,
          fineTuneStore,
          logger: logger.child({ component: "jobs" }),
        }),
      })
    : new InProcessJobQueue({ logger: logger.child({ component: "jobs" }) });
  const jobs = options.decorateQueue ? options.decorateQueue(queue) : queue;

  registerIngestJobs(jobs, {
    knowledge: options.knowledge,
    notifier,
    logger: logger.child({ component: "ingest" }),
    editPacer,
    openWork: options.openWork,
  });

  registerSyncJobs(jobs, {
    sources: sourceStore,
    connectors: options.connectors,
    knowledge: options.knowledge,
    notifier,
    alerts,
    logger: logger.child({ component: "sources" }),
    editPacer,
    backoffMs: config.SYNC_RETRY_BACKOFF_MS,
  });
  const sources = new SourceService({
    sources: sourceStore,
    connectors: options.connectors,
    jobs,
    knowledge: options.knowledge,
    notifier,
    logger: logger.child({ component: "sources" }),
    minIntervalMs: config.SYNC_MIN_INTERVAL_MS,
  });

  // Without an LLM endpoint the `finetune` commands still exist (help lists them, `dataset` and
  // `mark` work); the ones that need the API say so (`needsLlm`), so this provider is never reached.
  const provider: FineTuningProvider = hasLlm(config)
    ? new OpenAiFineTuningProvider({
        apiKey: config.OPENAI_API_KEY ?? "not-needed",
        baseURL: config.OPENAI_BASE_URL,
        maxRetries: config.LLM_MAX_RETRIES,
      })
    : unconfiguredFineTuningProvider();
  if (hasLlm(config)) {
    registerFineTuneJobs(jobs, {
      fineTuneStore,
      provider,
      notifier,
      alerts,
      logger: logger.child({ component: "fine-tuning" }),
      editPacer,
    });
  }
  const commands: Command[] = createFineTuneCommands({
    fineTuneStore,
    jobs,
    notifier,
    provider,
    defaultBaseModel: DEFAULT_FINE_TUNE_BASE_MODEL,
  });
  jobs.start();
  // The in-process queue's timers died with the last process; BullMQ keeps its schedulers in Redis.
  if (!config.REDIS_URL && options.runWorkers) {
    sources.restoreSchedules().catch((error: unknown) => {
      logger.error({ err: error }, "could not restore the sources' sync schedules");
    });
  }

  return {
    jobs,
    bullQueue: queue instanceof BullMqJobQueue ? queue.bullQueue : undefined,
    notifier,
    fineTuneStore,
    alerts,
    commands,
    sources,
    sourceStore,
    async close() {
      await jobs.close();
      await fineTuneStore.close();
      await sourceStore.close();
      for (const close of closers) await close();
    },
  };
}

function unconfiguredFineTuningProvider(): FineTuningProvider {
  const refuse = async (): Promise<never> => {
    throw new AppError("llm_not_configured", "fine-tuning needs OPENAI_API_KEY or OPENAI_BASE_URL", {
      category: "user",
      userMessage: NO_LLM_MESSAGE_SHORT,
    });
  };
  return {
    uploadTrainingFile: refuse,
    waitUntilProcessed: refuse,
    createJob: refuse,
    findJob: refuse,
    getJob: refuse,
    listEvents: refuse,
    cancelJob: refuse,
  };
}
