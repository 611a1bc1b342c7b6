import type { Alerter } from "../operations/alerts.js";
import type { FineTuneStore } from "../ports/fine-tune-store.js";
import type { Logger } from "../ports/logger.js";
import type { WorkspaceRef } from "../ports/usage-store.js";

/** A job whose worker stopped renewing its lock (killed, out of memory, event loop blocked). */
export interface StalledJob {
  id: string;
  name: string;
  data: unknown;
}

/**
 * Whose job it was, from its data: indexing jobs name their scope; fine-tuning jobs name a run, whose
 * channel the store knows. Unknown shapes have no workspace to tell.
 */
async function workspaceOf(job: StalledJob, fineTuneStore: FineTuneStore): Promise<WorkspaceRef | undefined> {
  const data = (job.data ?? {}) as { scope?: Partial<WorkspaceRef>; runId?: unknown };
  if (typeof data.scope?.platform === "string" && typeof data.scope.workspaceId === "string") {
    return { platform: data.scope.platform, workspaceId: data.scope.workspaceId };
  }
  if (typeof data.runId === "string") {
    const run = await fineTuneStore.getRun(data.runId);
    if (run) return { platform: run.channel.platform, workspaceId: run.channel.workspaceId };
  }
  return undefined;
}

/**
 * What a stalled job tells the admins of its workspace: which job, that it will run again, and that a
 * worker process needs looking at. Once per job, however many workers noticed.
 */
export function createStalledJobAlert(dependencies: {
  alerts: Alerter;
  fineTuneStore: FineTuneStore;
  logger: Logger;
}): (job: StalledJob) => Promise<void> {
  return async (job) => {
    const workspace = await workspaceOf(job, dependencies.fineTuneStore);
    if (!workspace) {
      dependencies.logger.warn({ jobId: job.id, job: job.name }, "a job stalled; no workspace to alert");
      return;
    }
    await dependencies.alerts.alert({
      kind: "worker_stalled",
      workspace,
      text:
        `A worker stalled on \`${job.name}\` (job ${job.id}): it stopped checking in, so the job was handed ` +
        "back to run again. If this repeats, look at the worker processes (memory, restarts, long blocking work).",
      onceKey: `stalled:${job.id}`,
    });
  };
}
