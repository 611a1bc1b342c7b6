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
