/**
 * `npm run worker`: runs the BullMQ job processors (indexing, fine-tuning) that the bot enqueues when
 * REDIS_URL is set. Same composition root and processor functions as the bot; on SIGTERM/SIGINT it
 * stops taking jobs, lets the running ones finish, then exits, so no job is left stuck active.
 */
import { createLogger } from "../src/adapters/pino/create-logger.js";
import { createApplication } from "../src/application.js";
import { waitForSharedServices } from "../src/infrastructure.js";
import {
  abortOnStopSignals,
  exitOnStartupFailure,
  loadConfigOrExit,
  stopOnSignals,
} from "../src/process-lifecycle.js";

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger({ level: config.LOG_LEVEL });
  if (!config.REDIS_URL) {
    logger.error(
      "the worker needs REDIS_URL: without it, jobs run inside `npm start` and no separate worker is needed",
    );
    process.exit(1);
  }
  const startUp = abortOnStopSignals();
  if (
    !(await waitForSharedServices(config, { logger, signal: startUp.signal }).catch(exitOnStartupFailure))
  ) {
    logger.info("worker stopped before Redis answered");
    process.exit(0);
  }
  const application = await createApplication(config, logger, { role: "worker" }).catch(exitOnStartupFailure);
  // The shutdown handler is in place before the start-up one goes, so no signal finds neither.
  stopOnSignals(() => application.close(), logger, "worker (finishing running jobs)");
  startUp.dispose();
  if (startUp.signal.aborted) process.emit("SIGTERM", "SIGTERM");
  logger.info("worker started");
}

await main();
