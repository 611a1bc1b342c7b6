import { newReferenceId } from "../errors.js";
import type { JobQueue } from "../ports/job-queue.js";
import type { Logger } from "../ports/logger.js";
import type { OpenWork, OpenWorkStore } from "../ports/memory-store.js";
import type { Notifier, PostedMessage } from "../ports/notifier.js";
import type { ConversationRef } from "../types.js";

export interface JobStatusWatchDependencies {
  store: OpenWorkStore;
  jobs: Pick<JobQueue, "stateOf">;
  notifier: Notifier;
  logger: Logger;
  now?: (() => number) | undefined;
}

/** What `watchJobStatus` records for one queued job's status message. */
export interface WatchedJob {
  jobId: string;
  /** The status message the job edits. */
  statusMessage: PostedMessage;
  askerId: string;
  /** A word or two for the closing sentences (`indexing`). */
  label: string;
  /** How long after it is queued a job is first looked at (it may not be in the queue yet before). */
  graceMs: number;
}

/** The status message of an open job item, as the notifier addresses it. */
function statusMessageOf(work: OpenWork): PostedMessage | undefined {
  const messageId = work.messages.status;
  return messageId === undefined ? undefined : { ...work.where, messageId };
}

/**
 * Records a queued job's status message as open work, so that if the job never writes its last line
 * (it stalled out of its attempts, or the queue lost it), the watch ends the message instead.
 */
export async function watchJobStatus(
  store: Pick<OpenWorkStore, "openWork">,
  job: WatchedJob,
  now: number = Date.now(),
): Promise<void> {
  const { statusMessage } = job;
  const where: ConversationRef = {
    platform: statusMessage.platform,
    workspaceId: statusMessage.workspaceId,
    channelId: statusMessage.channelId,
    threadId: statusMessage.threadId,
  };
  await store.openWork({
    id: job.jobId,
    kind: "job",
    where,
    askerId: job.askerId,
    label: job.label,
    jobId: job.jobId,
    messages: { status: statusMessage.messageId },
    // Jobs have no owner to renew a lease: the lease is only when the watch first looks.
    leaseUntil: now + job.graceMs,
  });
}

/**
 * Ends a job's status message with a last sentence and pings the person who asked (an edit notifies
 * nobody), once: whoever closes the open item writes, so two processes never both do.
 */
async function endJobStatus(
  dependencies: Pick<JobStatusWatchDependencies, "store" | "notifier" | "logger">,
  work: OpenWork,
  sentence: string,
  toAsker: string,
): Promise<boolean> {
  if (!(await dependencies.store.closeWork(work.id))) return false;
  const message = statusMessageOf(work);
  if (message) {
    await dependencies.notifier.edit(message, sentence).catch((error: unknown) => {
      dependencies.logger.warn({ err: error, jobId: work.jobId }, "could not end the status message");
    });
  }
  await dependencies.notifier.post(work.where, toAsker, { notify: work.askerId }).catch((error: unknown) => {
    dependencies.logger.warn({ err: error, jobId: work.jobId }, "could not tell the asker how the job ended");
  });
  return true;
}

/** Why a job that failed for good failed, for the person: BullMQ's stall verdict, or its last attempt. */
function failureCause(failedReason: string | undefined): string {
  if (failedReason && /stalled/i.test(failedReason)) {
    return "the worker running it stopped responding more often than a job may";
  }
  return "it failed on its last attempt";
}

/**
 * Looks at every job item whose grace has passed: a job still waiting or running is left alone; a
 * completed one wrote its own last line (the item is just forgotten); one that failed for good
 * without saying so, or that the queue no longer has, gets a last sentence with a reference id, and
 * its asker is told. Returns how many were ended.
 */
export async function sweepJobStatuses(
  dependencies: JobStatusWatchDependencies,
  limit = 200,
): Promise<number> {
  const now = (dependencies.now ?? Date.now)();
  let ended = 0;
  for (const work of await dependencies.store.listOpenWork(limit)) {
    if (work.kind !== "job" || work.jobId === undefined || work.leaseUntil > now) continue;
    const { state, failedReason } = await dependencies.jobs.stateOf(work.jobId);
    if (state === "completed") {
      await dependencies.store.closeWork(work.id);
      continue;
    }
    if (state !== "failed" && state !== "missing") continue;
    const referenceId = newReferenceId();
    const label = work.label ?? "job";
    const sentence =
      state === "failed"
        ? `❌ This ${label} stopped and will not finish: ${failureCause(failedReason)} (ref ${referenceId}). Try again; if it fails again, tell an admin the reference.`
        : `❌ This ${label} was lost from the job queue and will not finish (ref ${referenceId}). Try again; if it happens again, tell an admin the reference.`;
    const toAsker = `Your ${label} did not finish (ref ${referenceId}); see the message above.`;
    if (await endJobStatus(dependencies, work, sentence, toAsker)) {
      ended += 1;
      dependencies.logger.warn(
        { jobId: work.jobId, state, failedReason, referenceId },
        "job ended without its last line; status message closed",
      );
    }
  }
  return ended;
}
