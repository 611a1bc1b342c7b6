import { realpathSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type Config, loadConfig } from "./config.js";
import { isAppError } from "./core/errors.js";
import type { Logger } from "./core/ports/logger.js";

/**
 * Whether the module at `moduleUrl` is the script node was started with. Compares real file paths,
 * not URL text: `import.meta.url` percent-encodes spaces and other characters that `process.argv[1]`
 * keeps, so a checkout under "My Projects/" used to look like "not the entry point" and start nothing.
 */
export function isEntryPoint(moduleUrl: string, script: string | undefined = process.argv[1]): boolean {
  if (!script) return false;
  try {
    return realpathSync(fileURLToPath(moduleUrl)) === realpathSync(resolve(script));
  } catch {
    return false;
  }
}

/**
 * Reads `.env` (or the file named by `ENV_FILE`) from the working directory into the environment
 * with Node's own loader, before the configuration is parsed. Variables already set win, as with
 * compose's `env_file`. A missing file is normal (the container gets its variables from compose).
 * Returns the path read, if any.
 */
export function loadEnvironmentFile(environment: NodeJS.ProcessEnv = process.env): string | undefined {
  const path = resolve(environment.ENV_FILE || ".env");
  try {
    process.loadEnvFile(path);
    return path;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new Error(
      `Could not read ${path} (${(error as Error).message}); fix its permissions, or set ENV_FILE to another file.`,
    );
  }
}

/**
 * Reads `.env` and the configuration for an entry point, or prints the readable list of problems
 * (no stack) and exits 1.
 */
export function loadConfigOrExit(overrides: Record<string, string> = {}): Config {
  try {
    loadEnvironmentFile();
    return loadConfig({ ...overrides, ...process.env });
  } catch (error) {
    process.stderr.write(`${isAppError(error) || error instanceof Error ? error.message : String(error)}\n`);
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
 * An abort signal for SIGTERM/SIGINT during start-up (waiting for Redis, connecting), before
 * `stopOnSignals` takes over: nothing is running yet, so stopping is just exiting cleanly.
 */
export function abortOnStopSignals(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const abort = () => controller.abort();
  process.once("SIGTERM", abort);
  process.once("SIGINT", abort);
  return {
    signal: controller.signal,
    dispose() {
      process.off("SIGTERM", abort);
      process.off("SIGINT", abort);
    },
  };
}

/**
 * On SIGTERM or SIGINT, runs `stop` once (stop taking work, let running work finish, close
 * connections), then exits 0, or 1 if stopping failed. Shared by the bot and the worker.
 */
export function stopOnSignals(stop: () => Promise<void>, logger: Logger, what: string): void {
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) {
      // A second Ctrl-C (or SIGTERM) means "now": running work is abandoned, as after the grace period.
      logger.warn({ signal }, `${what}: second signal, exiting without waiting`);
      process.exit(1);
    }
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
