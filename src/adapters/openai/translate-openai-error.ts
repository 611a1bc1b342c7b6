import { APIConnectionError, APIConnectionTimeoutError, APIError } from "openai";
import { AppError } from "../../core/errors.js";
import { redactSecrets } from "../../core/redaction.js";

/**
 * Maps an `openai` SDK failure to the one AppError core understands, once, at the edge. The adapter
 * has already retried what is worth retrying (`retry-policy.ts`) before anything reaches here.
 *
 * The original SDK error is not kept as `cause`: its message and body are whatever the server sent,
 * and some servers echo the key back. The cause is a redacted summary instead.
 */
export interface TranslateContext {
  /** Every occurrence of these strings is replaced before a message leaves the adapter. */
  secrets: string[];
  model: string;
  /** The endpoint, named in connection failures so the log says which server could not be reached. */
  baseUrl?: string | undefined;
}

function connectionDetail(error: APIConnectionError, detail: string): string {
  // The SDK says only "Connection error."; the reason (ECONNREFUSED, ENOTFOUND, "bad port"…) sits
  // on fetch's cause chain.
  let cause: unknown = (error as { cause?: unknown }).cause;
  let reason: string | undefined;
  for (let depth = 0; depth < 4 && cause instanceof Error; depth += 1) {
    const code = (cause as { code?: unknown }).code;
    reason = typeof code === "string" ? code : cause.message;
    cause = (cause as { cause?: unknown }).cause;
  }
  return reason ? `${detail.replace(/\.$/, "")} (${reason})` : detail;
}

const CONTEXT_TOO_LONG = /maximum context length|context[_ ]length|too many tokens|prompt is too long/i;

/**
 * A server's error text may echo anything it was sent or holds (keys, a chat platform's token): it
 * goes through core's one redaction function, which knows every credential shape and the secrets.
 */
export function redact(text: string, secrets: string[]): string {
  return redactSecrets(text, secrets);
}

function summaryCause(error: unknown, secrets: string[]): Error {
  const name = error instanceof Error ? error.constructor.name : typeof error;
  const message = error instanceof Error ? error.message : String(error);
  const summary = new Error(redact(message, secrets));
  summary.name = name;
  return summary;
}

export function translateOpenAiError(error: unknown, context: TranslateContext): AppError {
  if (error instanceof AppError) return error;
  const cause = summaryCause(error, context.secrets);
  const detail = redact(error instanceof Error ? error.message : String(error), context.secrets);

  if (error instanceof APIConnectionTimeoutError) {
    return new AppError("llm_timeout", `LLM request timed out: ${detail}`, {
      cause,
      retryable: true,
      category: "third_party",
      userMessage: "The language model took too long to answer; please try again.",
    });
  }
  if (error instanceof APIConnectionError) {
    const where = context.baseUrl ?? "https://api.openai.com/v1";
    return new AppError(
      "llm_unavailable",
      `LLM server unreachable at ${where}: ${connectionDetail(error, detail)}; check that it runs and that OPENAI_BASE_URL points at it`,
      {
        cause,
        retryable: true,
        category: "third_party",
        userMessage: "I cannot reach the language model right now; please try again shortly.",
      },
    );
  }
  if (!(error instanceof APIError)) {
    return new AppError("llm_unavailable", `LLM call failed: ${detail}`, {
      cause,
      retryable: true,
      category: "third_party",
      userMessage: "The language model failed to answer; please try again shortly.",
    });
  }

  const status = error.status;
  const code = typeof error.code === "string" ? error.code : undefined;
  const requestId = error.requestID ? ` (request ${error.requestID})` : "";
  const message = `LLM ${status ?? "stream"} error${code ? ` ${code}` : ""}: ${detail}${requestId}`;

  if (
    code === "context_length_exceeded" ||
    ((status === 400 || status === 413) && CONTEXT_TOO_LONG.test(detail))
  ) {
    return new AppError("llm_context_too_long", message, {
      cause,
      category: "user",
      userMessage:
        "That is more text than the model can read at once; ask something shorter, or clear this conversation's memory with `memory forget`.",
    });
  }
  if (status === 429) {
    if (code === "insufficient_quota") {
      return new AppError("llm_rate_limited", message, {
        cause,
        category: "third_party",
        userMessage:
          "The language model account has run out of quota; an admin needs to check the billing for the configured API key.",
      });
    }
    return new AppError("llm_rate_limited", message, {
      cause,
      retryable: true,
      category: "third_party",
      userMessage: "The language model is getting too many requests right now; please try again in a minute.",
    });
  }
  if (status === 401 || status === 403) {
    return new AppError("llm_auth_failed", message, {
      cause,
      category: "system",
      userMessage: "The language model rejected my credentials; an admin needs to check OPENAI_API_KEY.",
    });
  }
  if (status === 404) {
    return new AppError("llm_bad_request", message, {
      cause,
      category: "system",
      userMessage: `The model "${context.model}" is not available on the configured language model server; an admin needs to check LLM_MODEL.`,
    });
  }
  if (status === undefined || status >= 500) {
    // No status: the server sent an error event inside an otherwise healthy stream.
    return new AppError("llm_unavailable", message, {
      cause,
      retryable: true,
      category: "third_party",
      userMessage: "The language model server is having trouble right now; please try again shortly.",
    });
  }
  return new AppError("llm_bad_request", message, {
    cause,
    category: "system",
    userMessage: "The language model rejected my request; an admin can find the details in the logs.",
  });
}
