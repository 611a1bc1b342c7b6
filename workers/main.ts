/**
 * `npm run worker`: runs the BullMQ job processors (indexing, fine-tuning) that the bot enqueues when
 * REDIS_URL is set. Same composition root and processor functions as the bot; on SIGTERM/SIGINT it
 * stops taking jobs, lets the running ones finish, then exits, so no job is left stuck active.
 */
import { createLogger } from "../src/adapters/pino/create-logger.js";
import { createApplication } from "../src/application.js";
import { loadConfig } from "../src/config.js";
import { isAppError } from "../src/core/errors.js";

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (error) {
    process.stderr.write(`${isAppError(error) ? error.message : String(error)}\n`);
    process.exit(1);
  }
  const logger = createLogger({ level: config.LOG_LEVEL });
  if (!config.REDIS_URL) {
    logger.error(
      "the worker needs REDIS_URL: without it, jobs run inside `npm start` and no separate worker is needed",
    );
    process.exit(1);
  }
  const application = await createApplication(config, logger, { runJobWorkers: true });
  logger.info("worker started");
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "worker shutting down: finishing running jobs");
    application.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, "worker shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
}

await main();
