import { Writable } from "node:stream";
import { createLogger } from "../../src/adapters/pino/create-logger.js";
import type { Logger } from "../../src/core/ports/logger.js";

/** Polls `check` until it holds; fails with what was awaited once `timeoutMilliseconds` pass. */
export async function waitFor(
  check: () => boolean,
  what: string,
  timeoutMilliseconds = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMilliseconds;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** A logger that keeps every line, so a test learns what the bot logged (e.g. the port it chose for PORT=0). */
export function recordingLogger(entries: Array<Record<string, unknown>>): Logger {
  const log = (object: Record<string, unknown> | string, message?: string) => {
    entries.push(typeof object === "string" ? { message: object } : { ...object, message });
  };
  const logger: Logger = { debug: log, info: log, warn: log, error: log, child: () => logger };
  return logger;
}

/**
 * The production pino logger (`createLogger`, as `npm start` builds it) writing into memory, so a test
 * sees the exact log lines the bot would print, secrets and all, and can look up entries by message.
 */
export function capturedPinoLogger(level = "debug"): {
  logger: Logger;
  lines: string[];
  entries: () => Array<Record<string, unknown>>;
} {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      lines.push(chunk.toString());
      callback();
    },
  });
  const logger = createLogger({ level, destination });
  const entries = () =>
    lines
      .flatMap((line) => line.split("\n").filter(Boolean))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { logger, lines, entries };
}
