import { randomUUID } from "node:crypto";
import { channelOf } from "../channel-of.js";
import type { Command, CommandContext, CommandServices } from "../commands/command.js";
import { matching, suggestModels } from "../commands/suggestions.js";
import type { InboundMessage } from "../ports/assistant-handler.js";
import type { FineTuneRun, FineTuneStore } from "../ports/fine-tune-store.js";
import type { FineTuningProvider } from "../ports/fine-tuning.js";
import { type JobQueue, jobIdOf } from "../ports/job-queue.js";
import type { Notifier } from "../ports/notifier.js";
import { isFinished, SUBMIT_FINE_TUNE } from "./fine-tune-jobs.js";
import { buildTrainingDataset, type TrainingDataset } from "./training-dataset.js";
import { type DatasetCheck, describeProblems, validateTrainingFile } from "./validate-training-file.js";

export interface FineTuneCommandDependencies {
  fineTuneStore: FineTuneStore;
  jobs: JobQueue;
  notifier: Notifier;
  /** For `finetune cancel`; the bot holds the same API key as the workers. */
  provider: FineTuningProvider;
  /** Base model when `finetune start` names none. */
  defaultBaseModel: string;
  maxTokensPerExample?: number | undefined;
  now?: (() => number) | undefined;
}

// Model ids: OpenAI's `ft:base:org:suffix:id`, or a plain name for other servers. No spaces, no backticks.
const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,255}$/;

function money(dollars: number | undefined): string {
  if (dollars === undefined) return "unknown for this base model";
  return dollars < 0.01 ? "under $0.01" : `about $${dollars.toFixed(2)}`;
}

function datasetSummary(dataset: TrainingDataset, check: DatasetCheck, baseModel: string): string {
  const lines = [
    `*Training set for this channel:* ${check.exampleCount} examples`,
    `• ${dataset.upvotedAnswers} answers with 👍 (${dataset.downvotedAnswers} with 👎 left out)`,
    `• ${dataset.markedThreads} marked threads${dataset.skippedThreads ? ` (${dataset.skippedThreads} had no reply of mine and were skipped)` : ""}`,
    `• ${check.totalTokens} tokens; ${check.epochs} epochs on \`${baseModel}\` ≈ ${check.billedTokensPerEpoch * check.epochs} trained tokens, cost ${money(check.estimatedCostUsd)}`,
  ];
  if (check.problems.length > 0) lines.push("", "*Problems to fix first:*", describeProblems(check.problems));
  else lines.push("", "Valid. An admin can start training with `finetune start [base-model]`.");
  return lines.join("\n");
}

function describeRun(run: FineTuneRun): string {
  const lines = [
    `*Fine-tuning run* \`${run.id}\` on \`${run.baseModel}\`: ${run.status.replace("_", " ")}`,
    `• ${run.exampleCount} examples, started by ${run.requestedBy} on ${new Date(run.createdAt).toISOString()}`,
  ];
  if (run.jobId) lines.push(`• job \`${run.jobId}\``);
  if (run.fineTunedModel)
    lines.push(`• new model \`${run.fineTunedModel}\`: switch with \`finetune use ${run.fineTunedModel}\``);
  if (run.error) lines.push(`• error: ${run.error}`);
  return lines.join("\n");
}

/**
 * The fine-tuning commands, routed by core like the built-ins (pass them to `createAssistant({ commands })`).
 * Long work goes to the job queue; the reply to a command is immediate, and progress continues in a
 * status message the bot owns.
 */
export function createFineTuneCommands(dependencies: FineTuneCommandDependencies): Command[] {
  return [
    datasetCommand(dependencies),
    markCommand(dependencies),
    startCommand(dependencies),
    statusCommand(dependencies),
    cancelCommand(dependencies),
    useCommand(dependencies),
  ];
}

/** This channel's training set, built from what is stored and checked against `baseModel`. */
async function prepare(
  dependencies: FineTuneCommandDependencies,
  message: InboundMessage,
  services: CommandServices,
  baseModel: string,
) {
  const dataset = await buildTrainingDataset({
    store: services.store,
    fineTuneStore: dependencies.fineTuneStore,
    channel: channelOf(message),
  });
  const check = validateTrainingFile(dataset.jsonl, {
    baseModel,
    maxTokensPerExample: dependencies.maxTokensPerExample,
  });
  return { dataset, check };
}

function datasetCommand(dependencies: FineTuneCommandDependencies): Command {
  return {
    name: "finetune dataset",
    usage: "finetune dataset",
    summary: "build and check this channel's training set from 👍 answers and marked threads",
    adminOnly: true,
    arguments: "none",
    visibility: "asker",
    async run({ message, reply, services }) {
      const { dataset, check } = await prepare(
        dependencies,
        message,
        services,
        dependencies.defaultBaseModel,
      );
      await reply.say(datasetSummary(dataset, check, dependencies.defaultBaseModel), "asker");
    },
  };
}

function markCommand({ fineTuneStore }: FineTuneCommandDependencies): Command {
  return {
    name: "finetune mark",
    usage: "finetune mark",
    summary: "use this thread as a training example",
    adminOnly: true,
    arguments: "none",
    visibility: "everyone",
    async run({ message, reply }) {
      if (!message.threadId) {
        await reply.say("Say `finetune mark` inside the thread you want me to learn from.", "asker");
        return;
      }
      await fineTuneStore.markThread({ ...message, threadId: message.threadId }, message.userId);
      await reply.say(
        `Marked this thread for training (by ${message.userName}). \`finetune dataset\` shows the set.`,
      );
    },
  };
}

function startCommand(dependencies: FineTuneCommandDependencies): Command {
  return {
    name: "finetune start",
    needsLlm: true,
    usage: "finetune start [base-model]",
    parameters: [
      {
        name: "base-model",
        description: `The model to fine-tune (default ${dependencies.defaultBaseModel})`,
        maxLength: 200,
        suggestions: "model",
        suggest: async (context) =>
          matching(
            [
              { label: `${dependencies.defaultBaseModel} (default)`, value: dependencies.defaultBaseModel },
              ...(await suggestModels(context)),
            ],
            context.partial,
          ),
      },
    ],
    summary: "fine-tune a model on this channel's training set",
    adminOnly: true,
    arguments: "optional",
    visibility: "everyone",
    run: (context) => startRun(dependencies, context),
  };
}

/** `finetune start`: checks the model name, that no run is under way and that the set is valid, then queues the run. */
async function startRun(
  dependencies: FineTuneCommandDependencies,
  { message, args, reply, services }: CommandContext,
): Promise<void> {
  const { fineTuneStore } = dependencies;
  const baseModel = args.trim() || dependencies.defaultBaseModel;
  if (!MODEL_NAME.test(baseModel)) {
    await reply.say(`\`${baseModel.slice(0, 80)}\` is not a model name I can use.`, "asker");
    return;
  }
  const channel = channelOf(message);
  const latest = await fineTuneStore.latestRun(channel);
  if (latest && !isFinished(latest)) {
    await reply.say(
      `A fine-tuning run is already ${latest.status.replace("_", " ")} here (\`${latest.id}\`). Wait for it, or \`finetune cancel\` it.`,
      "asker",
    );
    return;
  }
  const { dataset, check } = await prepare(dependencies, message, services, baseModel);
  if (check.problems.length > 0) {
    await reply.say(`I can't start yet.\n\n${datasetSummary(dataset, check, baseModel)}`, "asker");
    return;
  }
  const runId = randomUUID();
  const statusMessage = await dependencies.notifier.post(
    { ...channel, threadId: message.threadId },
    `Fine-tuning ${baseModel}: queued (${check.exampleCount} examples, cost ${money(check.estimatedCostUsd)})`,
  );
  const at = (dependencies.now ?? Date.now)();
  await fineTuneStore.saveRun({
    id: runId,
    channel,
    requestedBy: message.userName,
    baseModel,
    dataset: dataset.jsonl,
    exampleCount: check.exampleCount,
    status: "queued",
    statusMessage,
    createdAt: at,
    updatedAt: at,
  });
  await dependencies.jobs.enqueue(SUBMIT_FINE_TUNE, { runId }, { jobId: jobIdOf(SUBMIT_FINE_TUNE, runId) });
  await reply.say(
    `Started fine-tuning run \`${runId}\` on \`${baseModel}\` with ${check.exampleCount} examples (${check.epochs} epochs, cost ${money(check.estimatedCostUsd)}). I'll keep the status message up to date and say here when the model is ready.`,
  );
}

function statusCommand({ fineTuneStore }: FineTuneCommandDependencies): Command {
  return {
    name: "finetune status",
    usage: "finetune status",
    summary: "where this channel's latest fine-tuning run stands",
    adminOnly: false,
    arguments: "none",
    visibility: "asker",
    async run({ message, reply }) {
      const latest = await fineTuneStore.latestRun(channelOf(message));
      await reply.say(
        latest ? describeRun(latest) : "No fine-tuning has been started in this channel.",
        "asker",
      );
    },
  };
}

function cancelCommand({ fineTuneStore, provider }: FineTuneCommandDependencies): Command {
  return {
    name: "finetune cancel",
    needsLlm: true,
    usage: "finetune cancel",
    summary: "cancel this channel's running fine-tuning run",
    adminOnly: true,
    arguments: "none",
    visibility: "everyone",
    async run({ message, reply }) {
      const latest = await fineTuneStore.latestRun(channelOf(message));
      if (!latest || isFinished(latest)) {
        await reply.say("There is no fine-tuning run in progress here.", "asker");
        return;
      }
      // The submitter checks for this status before and after creating the job, so a run cancelled
      // before it reached the service never starts training.
      await fineTuneStore.updateRun(latest.id, { status: "cancelled" });
      if (latest.jobId) await provider.cancelJob(latest.jobId);
      await reply.say(`Cancelled fine-tuning run \`${latest.id}\` (asked by ${message.userName}).`);
    },
  };
}

function useCommand({ fineTuneStore }: FineTuneCommandDependencies): Command {
  return {
    name: "finetune use",
    usage: "finetune use <model> | finetune use default",
    parameters: [
      {
        name: "model",
        description: "The model to answer with here, or default",
        required: true,
        maxLength: 200,
        suggestions: "model",
        // The channel's own fine-tuned model first: the one an admin most likely came to switch to.
        suggest: async (context) => {
          const latest = await fineTuneStore.latestRun(channelOf(context.message));
          const tuned = latest?.fineTunedModel;
          return matching(
            [
              ...(tuned ? [{ label: `${tuned} (fine-tuned here)`, value: tuned }] : []),
              ...(await suggestModels(context)),
              { label: "default", value: "default" },
            ],
            context.partial,
          );
        },
      },
    ],
    summary: "answer in this channel with another model, e.g. a fine-tuned one",
    adminOnly: true,
    arguments: "required",
    visibility: "everyone",
    async run({ message, args, reply, services }) {
      const model = args.replace(/^`|`$/g, "").trim();
      const channel = channelOf(message);
      if (model.toLowerCase() === "default") {
        await services.store.updateSettings(channel, { model: undefined });
        await reply.say("This channel is back on the default model.");
        return;
      }
      if (!MODEL_NAME.test(model)) {
        await reply.say(`\`${model.slice(0, 80)}\` is not a model name I can use.`, "asker");
        return;
      }
      await services.store.updateSettings(channel, { model });
      await reply.say(
        `From now on I answer in this channel with \`${model}\` (set by ${message.userName}). \`finetune use default\` undoes it.`,
      );
    },
  };
}
