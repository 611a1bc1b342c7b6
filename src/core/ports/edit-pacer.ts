import type { PostedMessage } from "./notifier.js";

/**
 * Spaces the writes to one platform message across processes. A `StatusMessage` already spaces its
 * own writes; a pacer also spaces those of another process writing to the same message: a job
 * retried on another worker while the first attempt still reports (a stalled lock), or the
 * successive jobs that report into one fine-tuning status message. Answers need none: only the
 * process that received a message or interaction edits its reply.
 */
export interface EditPacer {
  /**
   * Reserves the next write to `message`: no sooner than `earliestInMs` from now, and at least
   * `intervalMs` after the write reserved before it, by any process. Resolves with how long to wait
   * from now before writing.
   */
  reserve(message: PostedMessage, intervalMs: number, earliestInMs: number): Promise<number>;
}
