import { describeForUser, toAppError } from "../errors.js";
import { isPermanentJobFailure, type JobContext } from "../ports/job-queue.js";
import type { StatusMessage } from "./status-message.js";

/**
 * Runs a job's work and, when it fails for good (bad input, or the last attempt), ends its status
 * message with what went wrong and what to do next; a failure that will be retried only says so.
 * The error is rethrown either way, so the queue applies its retry rules. `onFinalFailure` runs after
 * the last line of a failure for good (to tell the asker).
 */
export async function withFailureReport<T>(
  context: JobContext,
  status: StatusMessage | undefined,
  nextStep: string,
  work: () => Promise<T>,
  onFinalFailure?: (reason: string) => Promise<void>,
): Promise<T> {
  try {
    return await work();
  } catch (error) {
    const appError = toAppError(error);
    const final = isPermanentJobFailure(appError) || context.attempt >= context.maxAttempts;
    const reason = describeForUser(appError, context.jobId);
    if (status) {
      if (final) await status.fail(`❌ ${reason} ${nextStep}`);
      else {
        status.update(
          `⚠️ Attempt ${context.attempt} of ${context.maxAttempts} failed (${reason}); trying again shortly.`,
        );
        await status.flush();
      }
    }
    // The asker is told too (an edit notifies nobody); a failure of that is no reason to retry.
    if (final) await onFinalFailure?.(reason).catch(() => {});
    throw error;
  }
}
