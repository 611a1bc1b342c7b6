import { redactSecrets } from "../../core/redaction.js";

/** The Slack error code (`message_not_in_streaming_state`, `not_in_channel`, …) of a Web API failure. */
export function slackErrorCode(error: unknown): string | undefined {
  const data = (error as { data?: { error?: unknown } } | undefined)?.data;
  return typeof data?.error === "string" ? data.error : undefined;
}

/**
 * A loggable summary of a Slack SDK error. The SDK's request errors carry the original HTTP request,
 * headers and bearer token included, so they are never logged whole.
 */
export function summarizeSlackError(error: unknown): Record<string, unknown> {
  const code = (error as { code?: unknown } | undefined)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return {
    ...(typeof code === "string" ? { code } : {}),
    ...(slackErrorCode(error) ? { slackError: slackErrorCode(error) } : {}),
    message: redactSecrets(message),
  };
}
