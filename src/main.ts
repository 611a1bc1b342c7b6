/**
 * `npm start`: the bot, with whatever platforms are configured, and an HTTP server on PORT for
 * health checks. Every adapter gets the same core assistant from the composition root.
 */

import { randomUUID } from "node:crypto";
import type { TracerProvider } from "@opentelemetry/api";
import { healthRoute, type RouteHandler, startHealthServer } from "./adapters/http/health-server.js";
import { createLogger } from "./adapters/pino/create-logger.js";
import { type Application, createApplication } from "./application.js";
import { type Config, secretsOf, storeKeyPrefix } from "./config.js";
import { toAppError } from "./core/errors.js";
import type { Logger } from "./core/ports/logger.js";
import type { PlatformAdapter, Stoppable } from "./core/ports/platform-adapter.js";
import { redactingLogger } from "./core/redaction.js";
import { waitForSharedServices } from "./infrastructure.js";
import { halfConfiguredPlatforms } from "./platform-setup.js";
import {
  abortOnStopSignals,
  exitOnStartupFailure,
  isEntryPoint,
  loadConfigOrExit,
  stopOnSignals,
} from "./process-lifecycle.js";

export interface StartBotOptions {
  /** A tracer provider the caller set up (tests); otherwise OTEL_EXPORTER_OTLP_ENDPOINT decides. */
  tracerProvider?: TracerProvider | undefined;
}

/** Where Bull Board is mounted; the route `/admin/queues/*` serves it and everything below it. */
const DASHBOARD_PATH = "/admin/queues";

/** `/healthz`, `/metrics` and, with ADMIN_TOKEN and BullMQ, the queue dashboard. */
async function operationsRoutes(
  config: Config,
  application: Application,
): Promise<Record<string, RouteHandler>> {
  const routes: Record<string, RouteHandler> = {
    "/healthz": healthRoute({
      // A write, because a store that still reads but cannot write (disk full, read-only, locked)
      // loses every answer: a short-lived claim under a key of its own, swept like any other.
      store: () => application.store.claimEvent(`health:${randomUUID()}`, 60),
    }),
    "/metrics": application.metrics.route(),
  };
  // Bull Board needs the BullMQ queue; in the embedded mode jobs run in-process and `/metrics` has their counts.
  if (config.ADMIN_TOKEN && application.jobs.bullQueue) {
    // Loaded only here: Bull Board's UI and Express adapter are not on a bot's path otherwise.
    const { createQueueDashboard } = await import("./adapters/bull-board/queue-dashboard.js");
    routes[`${DASHBOARD_PATH}/*`] = createQueueDashboard({
      queue: application.jobs.bullQueue,
      basePath: DASHBOARD_PATH,
      token: config.ADMIN_TOKEN,
    });
  }
  return routes;
}

/**
 * Work left unfinished by a process or a job that is gone gets its last sentence: now (a restart
 * after a crash) and every `intervalMs` (a job that stalls out of its attempts, or is lost).
 */
function startOpenWorkSweep(
  application: Application,
  intervalMs: number,
  logger: Logger,
): { stop(): Promise<void> } {
  const sweepLog = logger.child({ component: "open-work" });
  let sweeping: Promise<void> | undefined;
  const sweep = (atStartUp = false) => {
    // One sweep at a time: a slow store never stacks them up.
    if (sweeping) return;
    sweeping = application
      .sweepOpenWork({ atStartUp })
      .then(
        () => undefined,
        (error: unknown) => {
          // A store that is down says so once itself; the sweep just tries again next time.
          const level = toAppError(error).code === "store_unavailable" ? "debug" : "warn";
          sweepLog[level]({ err: error }, "could not look for unfinished work");
        },
      )
      .finally(() => {
        sweeping = undefined;
      });
  };
  sweep(true);
  const sweepTimer = setInterval(() => sweep(), intervalMs);
  sweepTimer.unref();
  return {
    stop: async () => {
      clearInterval(sweepTimer);
      await sweeping;
    },
  };
}

export async function startBot(
  config: Config,
  givenLogger: Logger,
  options: StartBotOptions = {},
): Promise<Stoppable> {
  // The adapters log too (tokens in failed requests' URLs, echoed bodies): the same redaction applies.
  const logger = redactingLogger(givenLogger, secretsOf(config));
  const application = await createApplication(config, logger, {
    role: "bot",
    tracerProvider: options.tracerProvider,
  });
  const running: Stoppable[] = [];
  const routes = await operationsRoutes(config, application);
  const platforms: string[] = [];
  const startPlatform = async (platform: PlatformAdapter) => {
    await platform.start();
    running.push(platform);
    platforms.push(platform.name);
  };
  let httpServedByPlatform = false;

  // --- platform: slack (begin) ---
  // HTTP mode needs the bot token and signing secret; Socket Mode the bot token and app token.
  if (config.SLACK_BOT_TOKEN && (config.SLACK_SIGNING_SECRET || config.SLACK_APP_TOKEN)) {
    // Each platform's SDK is loaded only when it is configured: Bolt and discord.js are each hundreds
    // of modules, a restart's time to its first answer (issue 14) that a bot without them never uses.
    const { createSlackAdapter } = await import("./adapters/slack/slack-platform-adapter.js");
    const slack = createSlackAdapter({
      botToken: config.SLACK_BOT_TOKEN,
      signingSecret: config.SLACK_SIGNING_SECRET ?? "",
      appToken: config.SLACK_APP_TOKEN,
      apiUrl: config.SLACK_API_URL,
      port: config.PORT,
      adminUserIds: config.ADMIN_USER_IDS,
      assistant: application.assistant,
      logger,
      // /healthz is served by Bolt's receiver on the same PORT (in Socket Mode by its small HTTP server).
      customRoutes: Object.entries(routes).map(([path, handler]) => ({
        // Bolt matches with path-to-regexp: `{/*rest}` is an optional tail, like the health server's `/*`.
        path: path.endsWith("/*") ? `${path.slice(0, -2)}{/*rest}` : path,
        method: path.endsWith("/*") ? ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"] : ["GET", "HEAD"],
        handler: (request, response) => {
          void Promise.resolve(handler(request, response)).catch(() => {
            if (!response.headersSent) response.writeHead(500).end();
          });
        },
      })),
    });
    await startPlatform({ name: "slack", start: () => slack.start(), stop: () => slack.stop() });
    httpServedByPlatform = true;
    logger.info({ port: slack.port, mode: config.SLACK_APP_TOKEN ? "socket" : "http" }, "slack listening");
  }
  // --- platform: slack (end) ---

  // --- platform: discord (begin) ---
  // The gateway needs no inbound HTTP, so /healthz stays on the health server.
  if (config.DISCORD_TOKEN && config.DISCORD_APPLICATION_ID) {
    const [{ createDiscordAdapter }, { RedisIdentifyThrottler }] = await Promise.all([
      import("./adapters/discord/discord-platform-adapter.js"),
      import("./adapters/discord/redis-identify-throttler.js"),
    ]);
    const redis = application.redis;
    const discord = createDiscordAdapter({
      token: config.DISCORD_TOKEN,
      applicationId: config.DISCORD_APPLICATION_ID,
      apiUrl: config.DISCORD_API_URL,
      guildId: config.DISCORD_GUILD_ID,
      adminUserIds: config.ADMIN_USER_IDS,
      assistant: application.assistant,
      commands: application.assistant.commands,
      logger,
      shards: { count: config.DISCORD_SHARD_COUNT, ids: config.DISCORD_SHARDS },
      // Bot processes splitting the shards take turns to IDENTIFY, as Discord requires of one bot.
      identifyThrottler: redis
        ? (maxConcurrency) =>
            new RedisIdentifyThrottler({ client: redis, keyPrefix: storeKeyPrefix(config), maxConcurrency })
        : undefined,
    });
    await startPlatform({ name: "discord", start: () => discord.start(), stop: () => discord.stop() });
  }
  // --- platform: discord (end) ---

  if (!httpServedByPlatform) {
    const health = await startHealthServer(config.PORT, routes);
    running.push({ stop: () => health.close() });
    logger.info({ port: health.port }, "health server listening");
  }
  const halfConfigured = halfConfiguredPlatforms(config);
  for (const problem of halfConfigured) logger.warn(problem);
  if (platforms.length === 0 && halfConfigured.length === 0) {
    logger.warn(
      "no chat platform configured: set SLACK_BOT_TOKEN + SLACK_SIGNING_SECRET (or SLACK_APP_TOKEN) for Slack, " +
        "DISCORD_TOKEN + DISCORD_APPLICATION_ID for Discord; `npm run chat` talks to teammate in the terminal",
    );
  }
  // Stopped first (the list stops in reverse), before the platforms and the stores it uses.
  running.push(startOpenWorkSweep(application, config.OPEN_WORK_CHECK_MS, logger));
  logger.info(
    { platforms, llm: application.llm ? application.llm.defaultModel : "none" },
    "teammate started",
  );
  return {
    async stop() {
      for (const part of running.reverse()) await part.stop();
      await application.close();
    },
  };
}

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger({ level: config.LOG_LEVEL });
  const startUp = abortOnStopSignals();
  if (
    !(await waitForSharedServices(config, { logger, signal: startUp.signal }).catch(exitOnStartupFailure))
  ) {
    process.exit(0);
  }
  let bot: Stoppable;
  try {
    bot = await startBot(config, logger);
  } catch (error) {
    // One or two sentences with the cause and the fix; the stack only at LOG_LEVEL=debug.
    logger.debug({ err: error }, "start-up failed");
    exitOnStartupFailure(error);
  }
  // The shutdown handler is in place before the start-up one goes; a signal that came while starting
  // (after "teammate started" was logged, say) is honoured now.
  stopOnSignals(() => bot.stop(), logger, "bot");
  startUp.dispose();
  if (startUp.signal.aborted) process.emit("SIGTERM", "SIGTERM");
}

if (isEntryPoint(import.meta.url)) {
  await main();
}
