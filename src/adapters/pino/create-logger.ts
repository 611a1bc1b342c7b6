import { createRequire } from "node:module";
import { pino } from "pino";
import type { Logger } from "../../core/ports/logger.js";

/**
 * Paths pino blanks wherever they appear in a logged object. Message bodies are never logged at
 * info; tokens and keys never at all.
 */
const REDACTED_PATHS = [
  "token",
  "*.token",
  "apiKey",
  "*.apiKey",
  "authorization",
  "*.authorization",
  "headers.authorization",
  "*.headers.authorization",
  "*.headers.Authorization",
  "password",
  "*.password",
  "secret",
  "*.secret",
  "signingSecret",
  "*.signingSecret",
  "botToken",
  "*.botToken",
  "appToken",
  "*.appToken",
  "OPENAI_API_KEY",
  "SLACK_BOT_TOKEN",
  "SLACK_SIGNING_SECRET",
  "SLACK_APP_TOKEN",
  "DISCORD_TOKEN",
  "QDRANT_API_KEY",
  "ADMIN_TOKEN",
  "*.OPENAI_API_KEY",
  "*.SLACK_BOT_TOKEN",
  "*.SLACK_SIGNING_SECRET",
  "*.SLACK_APP_TOKEN",
  "*.DISCORD_TOKEN",
  "*.QDRANT_API_KEY",
  "*.ADMIN_TOKEN",
];

export interface LoggerOptions {
  level: string;
  /** Where lines go; stderr by default so the terminal chat keeps stdout for answers. */
  destination?: NodeJS.WritableStream | undefined;
  name?: string | undefined;
  /**
   * One readable line per entry (`WARN: message: error message`) instead of JSON, for a person at a
   * terminal (the local chat). Servers keep JSON for their log collectors.
   */
  pretty?: boolean | undefined;
}

const VERBOSE_LEVELS = new Set(["debug", "trace"]);

type SerializedError = ReturnType<typeof pino.stdSerializers.err>;

/**
 * pino's error serializer, minus the stack unless LOG_LEVEL is debug or trace: a person reading the
 * log gets the message (with its causes) and the code; the stack is for whoever turns debugging on.
 */
function errorSerializer(level: string): (error: Error) => SerializedError | Partial<SerializedError> {
  if (VERBOSE_LEVELS.has(level)) return pino.stdSerializers.err;
  return (error) => {
    const { stack: _stack, ...rest } = pino.stdSerializers.err(error);
    return rest;
  };
}

/** The one pino logger, injected everywhere; components take `child()` loggers. */
export function createLogger(options: LoggerOptions): Logger {
  const destination = options.destination ?? process.stderr;
  // Loaded only when asked for: servers never pay for it at start-up.
  const pinoPretty = options.pretty
    ? (createRequire(import.meta.url)("pino-pretty") as typeof import("pino-pretty"))
    : undefined;
  const stream = pinoPretty
    ? pinoPretty({
        destination,
        sync: true,
        colorize: "isTTY" in destination && destination.isTTY === true,
        hideObject: !VERBOSE_LEVELS.has(options.level),
        ignore: "pid,hostname,name,time",
        messageFormat: (log, messageKey) => {
          const error = log.err as { message?: string } | undefined;
          const reference = typeof log.referenceId === "string" ? ` (ref ${log.referenceId})` : "";
          return `${String(log[messageKey] ?? "")}${reference}${error?.message ? `: ${error.message}` : ""}`;
        },
      })
    : destination;
  return pino(
    {
      level: options.level,
      name: options.name ?? "teammate",
      redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
      serializers: { err: errorSerializer(options.level) },
    },
    stream as pino.DestinationStream,
  ) as unknown as Logger;
}
