import { pino } from "pino";
import type { Logger } from "../../core/ports/logger.js";

/**
 * Paths pino blanks wherever they appear in a logged object. Message bodies are never logged at
 * info; tokens and keys never at all.
 */
export const REDACTED_PATHS = [
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
}

/** The one pino logger, injected everywhere; components take `child()` loggers. */
export function createLogger(options: LoggerOptions): Logger {
  const destination = options.destination ?? process.stderr;
  return pino(
    {
      level: options.level,
      name: options.name ?? "teammate",
      redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
      serializers: { err: pino.stdSerializers.err },
    },
    destination as pino.DestinationStream,
  ) as unknown as Logger;
}
