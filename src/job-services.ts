import type { Queue } from "bullmq";
import type { JobEvent } from "./adapters/bullmq/bullmq-job-queue.js";
import { type Config, secretsOf } from "./config.js";
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
import type { FineTuneStore } from "./core/ports/fine-tune-store.js";
import type { FineTuningProvider } from "./core/ports/fine-tuning.js";
import type { JobQueue } from "./core/ports/job-queue.js";
import type { Logger } from "./core/ports/logger.js";
import type { DeliveryClaims, OpenWorkStore } from "./core/ports/memory-store.js";
import type { Notifier } from "./core/ports/notifier.js";
import type { SourceConnector } from "./core/ports/source-connector.js";
import type { SourceStore } from "./core/ports/source-store.js";
import type { UsageStore } from "./core/ports/usage-store.js";
import { SourceService } from "./core/sources/source-service.js";
import { registerSyncJobs } from "./core/sources/sync-source-job.js";
import type { Platform } from "./core/types.js";
import type { Infrastructure } from "./infrastructure.js";

/** The base model `finetune start` uses when none is named (OpenAI's cheapest tunable chat model). */
const DEFAULT_FINE_TUNE_BASE_MODEL = "gpt-4o-mini-2024-07-18";

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
  /** Where fine-tune and source state live, the queue, and whether this process runs the jobs. */
  infrastructure: Pick<
    Infrastructure,
    "fineTunes" | "sources" | "editPacer" | "fineTuning" | "createJobQueue" | "runsJobs" | "shared"
  >;
  knowledge: KnowledgeBase;
  /** Where each workspace's alert channel is kept. */
  alertChannels: Pick<UsageStore, "getAlertChannel">;
  /** Claims a key once across processes (the memory store's `claimEvent`), so an alert is posted once. */
  claimOnce: DeliveryClaims["claimEvent"];
  /** Where synced sources come from (websites, channels, repositories). */
  connectors: readonly SourceConnector[];
  /** Wraps the queue before any processor is registered (tracing: jobs continue the message's trace). */
  decorateQueue?: ((queue: JobQueue) => JobQueue) | undefined;
  onJobEvent?: ((event: JobEvent) => void) | undefined;
  /** Where queued jobs' status messages are watched; a job that writes its last line takes its own off. */
  openWork?: Pick<OpenWorkStore, "closeWork"> | undefined;
}

/**
 * Wires the job queue, the notifier, the fine-tuning store and provider, and registers the same
 * processors in every process: with REDIS_URL the bot's queue only enqueues and `npm run worker`
 * runs them; without it everything runs in the bot.
 */
export async function createJobServices(options: JobServicesOptions): Promise<JobServices> {
  const { config, logger, infrastructure } = options;
  const notifier = await createNotifier(config, logger);
  const alerts = createAlerter({
    channels: options.alertChannels,
    notifier,
    claimOnce: options.claimOnce,
    logger: logger.child({ component: "alerts" }),
  });
  const fineTuneStore = infrastructure.fineTunes;
  const sourceStore = infrastructure.sources;
  const queue = infrastructure.createJobQueue({
    logger: logger.child({ component: "jobs" }),
    runWorkers: infrastructure.runsJobs,
    onJobEvent: options.onJobEvent,
    onJobStalled: createStalledJobAlert({
      alerts,
      fineTuneStore,
      logger: logger.child({ component: "jobs" }),
    }),
  });
  const jobs = options.decorateQueue ? options.decorateQueue(queue) : queue;
  const sources = registerJobs(jobs, options, { notifier, alerts });
  // Without an LLM endpoint the `finetune` commands still exist (help lists them, `dataset` and
  // `mark` work); the ones that need the API say so (`needsLlm`), so this provider is never reached.
  const provider = infrastructure.fineTuning ?? unconfiguredFineTuningProvider();
  const commands: Command[] = createFineTuneCommands({
    fineTuneStore,
    jobs,
    notifier,
    provider,
    defaultBaseModel: DEFAULT_FINE_TUNE_BASE_MODEL,
  });
  jobs.start();
  // The in-process queue's timers died with the last process; BullMQ keeps its schedulers in Redis.
  if (!infrastructure.shared && infrastructure.runsJobs) {
    sources.restoreSchedules().catch((error: unknown) => {
      logger.error({ err: error }, "could not restore the sources' sync schedules");
    });
  }
  return {
    jobs,
    bullQueue: "bullQueue" in queue ? queue.bullQueue : undefined,
    notifier,
    fineTuneStore,
    alerts,
    commands,
    sources,
    sourceStore,
    // The stores belong to the infrastructure, which closes them.
    close: () => jobs.close(),
  };
}

/** Posts to the platforms with a token, and to the log for the terminal chat. */
async function createNotifier(config: Config, logger: Logger): Promise<Notifier> {
  const byPlatform: Partial<Record<Platform, Notifier>> = {
    local: createLogNotifier(logger.child({ component: "status" })),
  };
  // Each platform's SDK is loaded only with its token: hundreds of modules at every start otherwise.
  if (config.SLACK_BOT_TOKEN) {
    const { SlackNotifier } = await import("./adapters/notifiers/slack-notifier.js");
    byPlatform.slack = new SlackNotifier({ botToken: config.SLACK_BOT_TOKEN, apiUrl: config.SLACK_API_URL });
  }
  if (config.DISCORD_TOKEN) {
    const { DiscordNotifier } = await import("./adapters/notifiers/discord-notifier.js");
    byPlatform.discord = new DiscordNotifier({
      botToken: config.DISCORD_TOKEN,
      apiUrl: config.DISCORD_API_URL,
    });
  }
  return createRoutingNotifier(byPlatform, secretsOf(config));
}

/** Registers every processor (indexing, syncing, fine-tuning) and returns the synced-source service. */
function registerJobs(
  jobs: JobQueue,
  options: JobServicesOptions,
  parts: { notifier: Notifier; alerts: Alerter },
): SourceService {
  const { config, logger, infrastructure } = options;
  const { notifier, alerts } = parts;
  // Several workers may edit one status message; one process spaces its own edits without help.
  const editPacer = infrastructure.editPacer;
  registerIngestJobs(jobs, {
    knowledge: options.knowledge,
    notifier,
    logger: logger.child({ component: "ingest" }),
    editPacer,
    openWork: options.openWork,
  });
  registerSyncJobs(jobs, {
    sources: infrastructure.sources,
    connectors: options.connectors,
    knowledge: options.knowledge,
    notifier,
    alerts,
    logger: logger.child({ component: "sources" }),
    editPacer,
    backoffMs: config.SYNC_RETRY_BACKOFF_MS,
  });
  if (infrastructure.fineTuning) {
    registerFineTuneJobs(jobs, {
      fineTuneStore: infrastructure.fineTunes,
      provider: infrastructure.fineTuning,
      notifier,
      alerts,
      logger: logger.child({ component: "fine-tuning" }),
      editPacer,
    });
  }
  return new SourceService({
    sources: infrastructure.sources,
    connectors: options.connectors,
    jobs,
    knowledge: options.knowledge,
    notifier,
    logger: logger.child({ component: "sources" }),
    minIntervalMs: config.SYNC_MIN_INTERVAL_MS,
  });
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
