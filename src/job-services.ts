import type { Database } from "better-sqlite3";
import { Redis } from "ioredis";
import { BullMqJobQueue, type JobEvent } from "./adapters/bullmq/bullmq-job-queue.js";
import { InProcessJobQueue } from "./adapters/in-process/in-process-job-queue.js";
import { DiscordNotifier } from "./adapters/notifiers/discord-notifier.js";
import { SlackNotifier } from "./adapters/notifiers/slack-notifier.js";
import { OpenAiFineTuningProvider } from "./adapters/openai/openai-fine-tuning-provider.js";
import { RedisFineTuneStore } from "./adapters/redis/redis-fine-tune-store.js";
import { closeRedis, logRedisErrorsOnce } from "./adapters/redis/wait-for-redis.js";
import { SqliteFineTuneStore } from "./adapters/sqlite/sqlite-fine-tune-store.js";
import { type Config, hasLlm } from "./config.js";
import type { Command } from "./core/commands/command.js";
import { createFineTuneCommands } from "./core/fine-tuning/fine-tune-commands.js";
import { registerFineTuneJobs } from "./core/fine-tuning/fine-tune-jobs.js";
import { registerIngestJobs } from "./core/jobs/ingest-documents-job.js";
import { createLogNotifier } from "./core/jobs/log-notifier.js";
import { createRoutingNotifier } from "./core/jobs/routing-notifier.js";
import type { KnowledgeBase } from "./core/knowledge/knowledge-base.js";
import type { FineTuneStore } from "./core/ports/fine-tune-store.js";
import type { JobQueue } from "./core/ports/job-queue.js";
import type { Logger } from "./core/ports/logger.js";
import type { Notifier } from "./core/ports/notifier.js";

/** The base model `finetune start` uses when none is named (OpenAI's cheapest tunable chat model). */
export const DEFAULT_FINE_TUNE_BASE_MODEL = "gpt-4o-mini-2024-07-18";

export interface JobServices {
  jobs: JobQueue;
  notifier: Notifier;
  fineTuneStore: FineTuneStore;
  /** `finetune …` commands for `createAssistant({ commands })`; empty without an LLM endpoint. */
  commands: Command[];
  close(): Promise<void>;
}

export interface JobServicesOptions {
  config: Config;
  logger: Logger;
  /** The embedded SQLite file (fine-tune state lives there without REDIS_URL). */
  database: Database;
  knowledge: KnowledgeBase;
  /**
   * Whether this process runs the processors: the worker (`npm run worker`) does; the bot does only
   * in the embedded mode (no REDIS_URL), where there is no separate worker.
   */
  runWorkers: boolean;
  onJobEvent?: ((event: JobEvent) => void) | undefined;
}

/**
 * Wires the job queue, the notifier, the fine-tuning store and provider, and registers the same
 * processors in every process: with REDIS_URL the bot's queue only enqueues and `npm run worker`
 * runs them; without it everything runs in the bot.
 */
export function createJobServices(options: JobServicesOptions): JobServices {
  const { config, logger } = options;
  const closers: Array<() => Promise<void>> = [];

  const jobs: JobQueue = config.REDIS_URL
    ? new BullMqJobQueue({
        redisUrl: config.REDIS_URL,
        prefix: config.QUEUE_PREFIX,
        logger: logger.child({ component: "jobs" }),
        runWorkers: options.runWorkers,
        onJobEvent: options.onJobEvent,
      })
    : new InProcessJobQueue({ logger: logger.child({ component: "jobs" }) });

  const notifier = createRoutingNotifier({
    ...(config.SLACK_BOT_TOKEN
      ? { slack: new SlackNotifier({ botToken: config.SLACK_BOT_TOKEN, apiUrl: config.SLACK_API_URL }) }
      : {}),
    ...(config.DISCORD_TOKEN
      ? { discord: new DiscordNotifier({ botToken: config.DISCORD_TOKEN, apiUrl: config.DISCORD_API_URL }) }
      : {}),
    local: createLogNotifier(logger.child({ component: "status" })),
  });

  let fineTuneStore: FineTuneStore;
  if (config.REDIS_URL) {
    const client = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 3 });
    logRedisErrorsOnce(client, logger, "fine-tune store");
    closers.push(() => closeRedis(client));
    fineTuneStore = new RedisFineTuneStore({ client });
  } else {
    fineTuneStore = new SqliteFineTuneStore(options.database);
  }

  registerIngestJobs(jobs, {
    knowledge: options.knowledge,
    notifier,
    logger: logger.child({ component: "ingest" }),
  });

  let commands: Command[] = [];
  if (hasLlm(config)) {
    const provider = new OpenAiFineTuningProvider({
      apiKey: config.OPENAI_API_KEY ?? "not-needed",
      baseURL: config.OPENAI_BASE_URL,
      maxRetries: config.LLM_MAX_RETRIES,
    });
    registerFineTuneJobs(jobs, {
      fineTuneStore,
      provider,
      notifier,
      logger: logger.child({ component: "fine-tuning" }),
    });
    commands = createFineTuneCommands({
      fineTuneStore,
      jobs,
      notifier,
      provider,
      defaultBaseModel: DEFAULT_FINE_TUNE_BASE_MODEL,
    });
  }
  jobs.start();

  return {
    jobs,
    notifier,
    fineTuneStore,
    commands,
    async close() {
      await jobs.close();
      await fineTuneStore.close();
      for (const close of closers) await close();
    },
  };
}
