import { type Config, loadConfig } from "./config.js";
import { isAppError } from "./core/errors.js";
import type { Logger } from "./core/ports/logger.js";

/** Reads the configuration for an entry point, or prints the readable list of problems and exits 1. */
export function loadConfigOrExit(): Config {
  try {
    return loadConfig();
  } catch (error) {
    process.stderr.write(`${isAppError(error) ? error.message : String(error)}\n`);
    process.exit(1);
  }
}

/**
 * A start-up that cannot go on (a Qdrant collection made for another embedding size, an endpoint that
 * cannot tell its embedding size) ends the process with its one-line reason instead of a stack trace.
 */
export function exitOnStartupFailure(error: unknown): never {
  process.stderr.write(`teammate could not start: ${isAppError(error) ? error.message : String(error)}\n`);
  process.exit(1);
}

/**
 * On SIGTERM or SIGINT, runs `stop` once (stop taking work, let running work finish, close
 * connections), then exits 0, or 1 if stopping failed. Shared by the bot and the worker.
 */
export function stopOnSignals(stop: () => Promise<void>, logger: Logger, what: string): void {
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, `${what} shutting down`);
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, `${what} shutdown failed`);
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
}
