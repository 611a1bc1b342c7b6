import { AppError } from "../errors.js";
import { withFailureReport } from "../jobs/report-job-failure.js";
import { StatusMessage } from "../jobs/status-message.js";
import { type Alerter, NO_ALERTS } from "../operations/alerts.js";
import type { EditPacer } from "../ports/edit-pacer.js";
import type { FineTuneRun, FineTuneStore } from "../ports/fine-tune-store.js";
import type { FineTuneJob, FineTuningProvider } from "../ports/fine-tuning.js";
import { type JobContext, type JobName, type JobQueue, jobIdOf } from "../ports/job-queue.js";
import type { Logger } from "../ports/logger.js";
import type { Notifier } from "../ports/notifier.js";

export const SUBMIT_FINE_TUNE = "submit-fine-tune" satisfies JobName;
const POLL_FINE_TUNE = "poll-fine-tune" satisfies JobName;
/** The metadata key that ties the service's job to our run. */
const RUN_METADATA_KEY = "teammate_run";
/** Declared with the other job payloads, in `JobPayloads`. */

export interface FineTuneJobDependencies {
  fineTuneStore: FineTuneStore;
  provider: FineTuningProvider;
  notifier: Notifier;
  /** Told when a model is ready, so the workspace's admins hear it in their alert channel too. */
  alerts?: Alerter | undefined;
  logger: Logger;
  /** Time between two status polls. Default 30 s (OpenAI jobs take minutes to hours). */
  pollIntervalMs?: number | undefined;
  /** Least time between two edits of a status message. Default 1 s. */
  statusIntervalMs?: number | undefined;
  /** Spaces status edits across worker processes: submission and each poll may run on another worker. */
  editPacer?: EditPacer | undefined;
  /** Polls before giving up following a job (it keeps running at OpenAI). Default 2880 (a day at 30 s). */
  maxPolls?: number | undefined;
}

const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);

export function isFinished(run: Pick<FineTuneRun, "status">): boolean {
  return TERMINAL.has(run.status);
}

function invalid(message: string): AppError {
  return new AppError("input_invalid", message, { category: "user", userMessage: message });
}

function readRunId(data: unknown): string {
  const runId = (data as { runId?: unknown } | null)?.runId;
  if (typeof runId !== "string" || runId.length === 0) throw invalid("The fine-tuning job has no run id.");
  return runId;
}

/** The suffix OpenAI puts into the new model's name: lower-case, short, from the channel. */
function modelSuffix(run: Pick<FineTuneRun, "channel">): string {
  const channel = run.channel.channelId.toLowerCase().replace(/[^a-z0-9-]/g, "");
  return `teammate-${channel}`.slice(0, 40);
}

/** What both processors work with, built once when they are registered. */
interface FineTuneWork {
  dependencies: FineTuneJobDependencies;
  alerts: Alerter;
  maxPolls: number;
  /** The run's status message, when it has one. */
  statusOf(run: FineTuneRun): StatusMessage | undefined;
  loadRun(runId: string): Promise<FineTuneRun>;
  /** Queues poll number `poll` of the run, one poll interval from now. */
  schedulePoll(runId: string, poll: number): Promise<void>;
}

function fineTuneWork(queue: JobQueue, dependencies: FineTuneJobDependencies): FineTuneWork {
  const { fineTuneStore, notifier, logger } = dependencies;
  const pollIntervalMs = dependencies.pollIntervalMs ?? 30_000;
  return {
    dependencies,
    alerts: dependencies.alerts ?? NO_ALERTS,
    maxPolls: dependencies.maxPolls ?? 2_880,
    statusOf: (run) =>
      run.statusMessage
        ? new StatusMessage({
            notifier,
            message: run.statusMessage,
            logger: logger.child({ runId: run.id }),
            pacer: dependencies.editPacer,
            ...(dependencies.statusIntervalMs === undefined
              ? {}
              : { minIntervalMs: dependencies.statusIntervalMs }),
          })
        : undefined,
    async loadRun(runId) {
      const run = await fineTuneStore.getRun(runId);
      if (!run) throw invalid(`There is no fine-tuning run ${runId} any more.`);
      return run;
    },
    async schedulePoll(runId, poll) {
      await queue.enqueue(
        POLL_FINE_TUNE,
        { runId, poll },
        { jobId: jobIdOf(POLL_FINE_TUNE, runId, String(poll)), delayMs: pollIntervalMs },
      );
    },
  };
}

/**
 * The fine-tuning processors: `submit-fine-tune` uploads the run's dataset, waits until the file is
 * processed and creates the service's job; `poll-fine-tune` follows it with delayed re-polls,
 * editing the run's status message, until it ends, and then tells the channel the new model's name.
 * Both are safe to run twice: the file id and job id are saved as soon as they exist, and a retried
 * submission first looks for a job carrying the run id in its metadata.
 */
export function registerFineTuneJobs(queue: JobQueue, dependencies: FineTuneJobDependencies): void {
  const work = fineTuneWork(queue, dependencies);

  queue.register(
    SUBMIT_FINE_TUNE,
    async (data, context: JobContext) => {
      const run = await work.loadRun(readRunId(data));
      const status = work.statusOf(run);
      await withFailureReport(
        context,
        status,
        "Check the dataset with `finetune dataset` and run `finetune start` again.",
        () => submitRun(work, run, status, context),
      );
    },
    { attempts: 4, backoffMs: 5_000 },
  );

  queue.register(
    POLL_FINE_TUNE,
    async (data, context: JobContext) => {
      const run = await work.loadRun(readRunId(data));
      const poll = typeof data.poll === "number" && data.poll > 0 ? data.poll : 1;
      if (!run.jobId) throw invalid(`Fine-tuning run ${run.id} has no job to follow.`);
      const jobId = run.jobId;
      const status = work.statusOf(run);
      await withFailureReport(context, status, "Ask `finetune status` to see where it stands.", () =>
        pollRun(work, run, jobId, poll, status),
      );
    },
    { attempts: 5, backoffMs: 10_000 },
  );
}

/** `submit-fine-tune`: uploads the dataset once, waits for the file, creates the job (or adopts one made by an earlier try). */
async function submitRun(
  work: FineTuneWork,
  run: FineTuneRun,
  status: StatusMessage | undefined,
  context: JobContext,
): Promise<void> {
  const { fineTuneStore, provider } = work.dependencies;
  if (run.status === "cancelled") {
    await status?.finish("Fine-tuning cancelled before it was submitted. Start again with `finetune start`.");
    return;
  }
  if (run.jobId) {
    await work.schedulePoll(run.id, 1);
    return;
  }
  const existing = await provider.findJob(RUN_METADATA_KEY, run.id);
  if (existing) {
    await fineTuneStore.updateRun(run.id, { jobId: existing.id, status: existing.status });
    await work.schedulePoll(run.id, 1);
    return;
  }
  let fileId = run.fileId;
  if (!fileId) {
    status?.update(`Fine-tuning ${run.baseModel}: uploading ${run.exampleCount} examples…`);
    fileId = await provider.uploadTrainingFile(`teammate-${run.id}.jsonl`, run.dataset, context.signal);
    await fineTuneStore.updateRun(run.id, { fileId });
  }
  status?.update(`Fine-tuning ${run.baseModel}: waiting for the training file to be processed…`);
  await provider.waitUntilProcessed(fileId, { signal: context.signal });
  const job = await provider.createJob({
    trainingFileId: fileId,
    baseModel: run.baseModel,
    suffix: modelSuffix(run),
    metadata: {
      [RUN_METADATA_KEY]: run.id,
      platform: run.channel.platform,
      workspace: run.channel.workspaceId,
      channel: run.channel.channelId,
    },
  });
  const current = await fineTuneStore.updateRun(run.id, { jobId: job.id, status: job.status });
  // `finetune cancel` may have come in while the job was being created.
  if (current?.status === "cancelled") await provider.cancelJob(job.id);
  status?.update(`Fine-tuning ${run.baseModel}: job ${job.id} created (${job.status.replace("_", " ")})…`);
  // Written before the poller exists, so its edits cannot overtake this one.
  await status?.flush();
  await work.schedulePoll(run.id, 1);
}

/** `poll-fine-tune`: records where the job stands, says so, and polls again until it ends or `maxPolls` runs out. */
async function pollRun(
  work: FineTuneWork,
  run: FineTuneRun,
  jobId: string,
  poll: number,
  status: StatusMessage | undefined,
): Promise<void> {
  const { fineTuneStore, provider } = work.dependencies;
  const job = await provider.getJob(jobId);
  const events = await provider.listEvents(jobId);
  const seen = events.findIndex((event) => event.id === run.lastEventId);
  const fresh = events.slice(seen + 1);
  const latest = fresh.at(-1) ?? events.at(-1);
  await fineTuneStore.updateRun(run.id, {
    status: job.status,
    ...(latest ? { lastEventId: latest.id } : {}),
    ...(job.fineTunedModel ? { fineTunedModel: job.fineTunedModel } : {}),
    ...(job.error ? { error: job.error } : {}),
  });
  if (await reportEnd(work, run, job, status)) return;
  if (poll >= work.maxPolls) {
    await status?.finish(
      `Fine-tuning job ${jobId} is still ${job.status.replace("_", " ")}; I stopped following it. Ask \`finetune status\` later.`,
    );
    return;
  }
  status?.update(
    `Fine-tuning ${run.baseModel} (${jobId}): ${job.status.replace("_", " ")}${latest ? ` · ${latest.message}` : ""}`,
  );
  await status?.flush();
  await work.schedulePoll(run.id, poll + 1);
}

/** Tells the channel (and, for a new model, the alert channel) how a job ended; false while it runs. */
async function reportEnd(
  work: FineTuneWork,
  run: FineTuneRun,
  job: FineTuneJob,
  status: StatusMessage | undefined,
): Promise<boolean> {
  if (job.status === "succeeded") {
    const model = job.fineTunedModel ?? "(no name returned)";
    await status?.finish(
      `✅ Fine-tuning finished: the new model is \`${model}\`${job.trainedTokens ? ` (${job.trainedTokens} trained tokens)` : ""}. ` +
        `An admin can switch this channel to it with \`finetune use ${model}\`.`,
    );
    await work.alerts.alert({
      kind: "fine_tune_finished",
      workspace: { platform: run.channel.platform, workspaceId: run.channel.workspaceId },
      text:
        `Fine-tuning for <#${run.channel.channelId}> finished: the new model is \`${model}\`. ` +
        `\`finetune use ${model}\` in that channel switches it over.`,
      onceKey: `fine-tune:${run.id}`,
    });
    return true;
  }
  if (job.status === "failed") {
    await status?.fail(
      `❌ Fine-tuning failed: ${job.error ?? "no reason given"}. Check the dataset with \`finetune dataset\`, fix it and run \`finetune start\` again.`,
    );
    return true;
  }
  if (job.status === "cancelled") {
    await status?.finish("Fine-tuning cancelled. Start again with `finetune start` when you're ready.");
    return true;
  }
  return false;
}
