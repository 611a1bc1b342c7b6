import { randomUUID } from "node:crypto";
import type { Logger } from "./ports/logger.js";

/**
 * The one error type core code sees. Adapters translate vendor errors (HTTP status codes, SDK
 * exceptions, driver errors) into an `AppError` at the edge, so core logic branches on `code` and
 * `category`, never on a vendor class.
 */
export type ErrorCategory = "user" | "system" | "third_party";

export type ErrorCode =
  | "config_invalid"
  | "input_invalid"
  | "input_too_large"
  | "command_unknown"
  | "command_forbidden"
  | "not_found"
  | "llm_not_configured"
  | "llm_rate_limited"
  | "llm_unavailable"
  | "llm_timeout"
  | "llm_context_too_long"
  | "llm_stream_cut"
  | "llm_bad_request"
  | "llm_auth_failed"
  | "quota_exceeded"
  | "store_unavailable"
  | "fetch_refused"
  | "fetch_failed"
  | "unsupported_content"
  | "tool_failed"
  | "budget_exceeded"
  | "answer_timeout"
  | "job_failed"
  | "internal";

export interface AppErrorOptions {
  cause?: unknown;
  retryable?: boolean;
  category?: ErrorCategory;
  /** A sentence fit to show the chat user. Defaults to a generic one for the category. */
  userMessage?: string;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly category: ErrorCategory;
  readonly userMessage: string | undefined;

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.category = options.category ?? "system";
    this.userMessage = options.userMessage;
  }

  // `AppError[llm_rate_limited]` in stack traces and logs, after discord.js's `DiscordAPIError[50035]`.
  override get name(): string {
    return `AppError[${this.code}]`;
  }
}

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError;
}

/** Wraps anything thrown into an AppError, keeping an AppError as it is. */
export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new AppError("internal", message, { cause: error });
}

/**
 * The sentence a chat user sees for an error. User errors say what to fix; everything else gets a
 * short apology with a reference id that also appears in the log line for the same failure.
 */
export function describeForUser(error: AppError, referenceId: string): string {
  if (error.userMessage) {
    return error.category === "user" ? error.userMessage : `${error.userMessage} (ref ${referenceId})`;
  }
  if (error.category === "user") return error.message;
  return `Sorry, something went wrong on my side and I could not finish that (ref ${referenceId}).`;
}

/**
 * The one reference-id scheme: 8 hex characters, shown to the person as `(ref 1a2b3c4d)` and logged
 * under `referenceId` on the line about the same failure, so an admin can find one from the other.
 */
export function newReferenceId(): string {
  return randomUUID().slice(0, 8);
}

/**
 * Logs a failure once, where it is handled (user errors at info, the rest at `level`), and returns
 * the sentence for the chat: what to fix, or the apology with the reference id of that log line.
 * Every failure path in core and the adapters says it through this.
 */
export function reportFailure(
  error: unknown,
  log: Logger,
  what: string,
  level: "warn" | "error" = "error",
): { sentence: string; referenceId: string } {
  const appError = toAppError(error);
  const referenceId = newReferenceId();
  log[appError.category === "user" ? "info" : level](
    { err: appError, code: appError.code, referenceId },
    what,
  );
  return { sentence: describeForUser(appError, referenceId), referenceId };
}
