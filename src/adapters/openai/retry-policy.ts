import { setTimeout as sleep } from "node:timers/promises";
import { APIConnectionError, APIError } from "openai";

/**
 * Retries of OpenAI-compatible calls, taken out of the SDK's hands: its own loop honours any
 * `Retry-After` (a server saying 30 s meant 60 s of silence in chat) and sleeps through an abort. Here
 * the delay is capped, a longer one is not waited for at all, and every sleep ends with the caller's
 * signal. Which failures are worth another attempt follows the SDK's own rules (`shouldRetry`).
 */
export interface RetryPolicy {
  /** Attempts after the first. */
  maxRetries: number;
  /** The longest wait between two attempts; a server asking for more is answered at once with its error. */
  maxDelayMs: number;
}

/** As the SDK: 0.5 s doubling per retry, at most 8 s, minus up to 25 % jitter. */
function backoffMs(retry: number): number {
  const seconds = Math.min(0.5 * 2 ** retry, 8);
  return seconds * (1 - Math.random() * 0.25) * 1000;
}

/** The wait a server asked for (`retry-after-ms`, or `retry-after` in seconds or as an HTTP date). */
function requestedDelayMs(headers: Headers | undefined): number | undefined {
  const milliseconds = Number.parseFloat(headers?.get("retry-after-ms") ?? "");
  if (Number.isFinite(milliseconds) && milliseconds >= 0) return milliseconds;
  const value = headers?.get("retry-after");
  if (!value) return undefined;
  const seconds = Number.parseFloat(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** Whether an SDK failure may succeed on another attempt (the SDK's rules, `insufficient_quota` excepted). */
function isRetryable(error: unknown): boolean {
  if (error instanceof APIConnectionError) return true;
  if (!(error instanceof APIError) || error.status === undefined) return false;
  const told = error.headers?.get("x-should-retry");
  if (told === "true") return true;
  if (told === "false") return false;
  if (error.status === 429) return error.code !== "insufficient_quota";
  return error.status === 408 || error.status === 409 || error.status >= 500;
}

/**
 * Runs `attempt` until it succeeds, fails for good, runs out of retries, or the server asks for a
 * longer wait than the policy allows. Throws the last raw error (the caller translates it), or the
 * signal's reason when the signal ends a wait.
 */
export async function withRetries<T>(
  policy: RetryPolicy,
  signal: AbortSignal,
  attempt: () => Promise<T>,
  onRetry: (details: { retry: number; delayMs: number; error: unknown }) => void,
): Promise<T> {
  for (let retry = 0; ; retry += 1) {
    try {
      return await attempt();
    } catch (error) {
      if (signal.aborted || retry >= policy.maxRetries || !isRetryable(error)) throw error;
      const requested = error instanceof APIError ? requestedDelayMs(error.headers) : undefined;
      const delayMs = requested ?? backoffMs(retry);
      if (delayMs > policy.maxDelayMs) throw error;
      onRetry({ retry: retry + 1, delayMs, error });
      try {
        await sleep(delayMs, undefined, { signal });
      } catch {
        throw signal.reason;
      }
    }
  }
}
