import type { Redis } from "ioredis";
import { AppError } from "../../core/errors.js";
import type { Logger } from "../../core/ports/logger.js";
import { createRedisConnection } from "./redis-connection.js";

/** `redis://host:port/db` without the user name or password, for log lines and messages. */
function describeRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname === "/" ? "" : parsed.pathname}`;
  } catch {
    return "the configured REDIS_URL";
  }
}

export interface WaitForRedisOptions {
  logger: Logger;
  /** Aborted on SIGTERM/SIGINT: stop waiting and return false. */
  signal: AbortSignal;
  /** Pause between attempts. */
  retryMilliseconds?: number;
  /** Gives up after this long (an `AppError` naming REDIS_URL and the cause); 0 or absent waits forever. */
  giveUpAfterMilliseconds?: number | undefined;
}

/**
 * Waits until Redis answers PING, before the queues and stores connect. Without it, a wrong
 * REDIS_URL meant every ioredis client and BullMQ worker logged each reconnection attempt (several
 * lines a second, forever) and shutdown waited on connections that never came. Here the first
 * failure is logged once, as one sentence with the fix, the retries are quiet, and an abort ends the
 * wait at once. Returns true when Redis answered, false when aborted.
 */
export async function waitForRedis(url: string, options: WaitForRedisOptions): Promise<boolean> {
  const retryMilliseconds = options.retryMilliseconds ?? 2_000;
  const giveUpAfter = options.giveUpAfterMilliseconds ?? 0;
  const startedAt = Date.now();
  let reported = false;
  while (!options.signal.aborted) {
    const client = createRedisConnection(url, "probe");
    // Errors surface through connect() below, but only as "Connection is closed."; the socket's own
    // reason (ECONNREFUSED, ENOTFOUND…) comes as an error event, kept here for the sentence.
    let socketError: Error | undefined;
    client.on("error", (error: Error) => {
      socketError ??= error;
    });
    try {
      await client.connect();
      await client.ping();
      client.disconnect();
      if (reported) options.logger.info({ redis: describeRedisUrl(url) }, "Redis answers now; starting");
      return true;
    } catch (error) {
      client.disconnect();
      const cause = socketError?.message ?? (error instanceof Error ? error.message : String(error));
      if (giveUpAfter > 0 && Date.now() - startedAt >= giveUpAfter) {
        throw new AppError(
          "config_invalid",
          `Cannot reach Redis at ${describeRedisUrl(url)} (${cause}) after ${Math.round(giveUpAfter / 1000)} s: start Redis or fix REDIS_URL (REDIS_STARTUP_WAIT_MS sets how long to wait).`,
          { cause: error, category: "third_party" },
        );
      }
      if (!reported) {
        reported = true;
        options.logger.error(
          `Cannot reach Redis at ${describeRedisUrl(url)} (${cause}): start Redis or fix REDIS_URL. Retrying quietly every ${retryMilliseconds / 1000} s${giveUpAfter > 0 ? ` for up to ${Math.round(giveUpAfter / 1000)} s` : ""}; Ctrl-C or SIGTERM stops.`,
        );
      }
    }
    const pause =
      giveUpAfter > 0
        ? Math.max(0, Math.min(retryMilliseconds, startedAt + giveUpAfter - Date.now()))
        : retryMilliseconds;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, pause);
      function done() {
        clearTimeout(timer);
        options.signal.removeEventListener("abort", done);
        resolve();
      }
      options.signal.addEventListener("abort", done, { once: true });
    });
  }
  return false;
}

/** QUIT when connected; otherwise drop the connection, since QUIT would wait for a reconnect that may never come. */
export async function closeRedis(client: Redis): Promise<void> {
  if (client.status === "ready") await client.quit();
  else client.disconnect();
}
