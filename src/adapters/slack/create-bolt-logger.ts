import { type Logger as BoltLogger, LogLevel } from "@slack/bolt";
import type { Logger } from "../../core/ports/logger.js";
import { redactSecrets } from "../../core/redaction.js";

function describe(parts: unknown[]): string {
  const text = parts
    .map((part) => {
      if (typeof part === "string") return part;
      if (part instanceof Error) return `${part.name}: ${part.message}`;
      try {
        return JSON.stringify(part);
      } catch {
        return String(part);
      }
    })
    .join(" ");
  // Slack tokens have a recognisable shape; anything that looks like one is masked before it is logged.
  return redactSecrets(text);
}

/**
 * Bolt and @slack/web-api log through their own `Logger` shape (variadic messages, settable level);
 * this bridges them onto the injected logger, with token-shaped strings masked.
 */
export function createBoltLogger(logger: Logger, level: LogLevel = LogLevel.INFO): BoltLogger {
  let current = level;
  let name = "bolt";
  const order = [LogLevel.DEBUG, LogLevel.INFO, LogLevel.WARN, LogLevel.ERROR];
  const enabled = (wanted: LogLevel) => order.indexOf(wanted) >= order.indexOf(current);
  return {
    debug: (...parts: unknown[]) => {
      if (enabled(LogLevel.DEBUG)) logger.debug({ component: name }, describe(parts));
    },
    info: (...parts: unknown[]) => {
      if (enabled(LogLevel.INFO)) logger.info({ component: name }, describe(parts));
    },
    warn: (...parts: unknown[]) => {
      if (enabled(LogLevel.WARN)) logger.warn({ component: name }, describe(parts));
    },
    error: (...parts: unknown[]) => {
      if (enabled(LogLevel.ERROR)) logger.error({ component: name }, describe(parts));
    },
    setLevel: (next: LogLevel) => {
      current = next;
    },
    getLevel: () => current,
    setName: (next: string) => {
      name = next;
    },
  };
}
