import type OpenAI from "openai";
import { toFile } from "openai";
import type { FineTuningJob } from "openai/resources/fine-tuning/jobs/jobs";
import { AppError } from "../../core/errors.js";
import type {
  CreateFineTuneJob,
  FineTuneEvent,
  FineTuneJob,
  FineTuningProvider,
} from "../../core/ports/fine-tuning.js";
import { silentLogger } from "../../core/ports/logger.js";
import { createOpenAiClient } from "./openai-client.js";
import { translateOpenAiError } from "./translate-openai-error.js";

export interface OpenAiFineTuningProviderOptions {
  apiKey: string;
  baseURL?: string | undefined;
  timeoutMs?: number | undefined;
  maxRetries?: number | undefined;
  /** How often `waitUntilProcessed` looks at the file. Default 2 s. */
  filePollIntervalMs?: number | undefined;
  /** The endpoint's shared client (`createOpenAiClient`); made from `apiKey` and `baseURL` when absent. */
  client?: OpenAI | undefined;
}

const sleep = (milliseconds: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, milliseconds);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });

function toJob(job: FineTuningJob): FineTuneJob {
  return {
    id: job.id,
    status: job.status,
    baseModel: job.model,
    fineTunedModel: job.fine_tuned_model ?? undefined,
    trainedTokens: job.trained_tokens ?? undefined,
    error: job.error ? job.error.message : undefined,
    metadata: { ...(job.metadata ?? {}) },
  };
}

/**
 * Fine-tuning on the `openai` SDK: files (`purpose: fine-tune`) and fine-tuning jobs, against
 * OpenAI or any server that speaks the same API (`baseURL`). SDK failures become `AppError`s here.
 *
 * @see https://platform.openai.com/docs/api-reference/fine-tuning
 */
export class OpenAiFineTuningProvider implements FineTuningProvider {
  private readonly client: OpenAI;
  private readonly secrets: string[];
  private readonly filePollIntervalMs: number;

  constructor(options: OpenAiFineTuningProviderOptions) {
    // Uploads and job calls are few and idempotent enough for the SDK's own retries.
    const callOptions = { timeout: options.timeoutMs ?? 120_000, maxRetries: options.maxRetries ?? 2 };
    const client =
      options.client ??
      createOpenAiClient({
        apiKey: options.apiKey,
        baseURL: options.baseURL,
        timeoutMs: callOptions.timeout,
        logger: silentLogger,
      });
    this.client = client.withOptions(callOptions);
    this.secrets = [options.apiKey];
    this.filePollIntervalMs = options.filePollIntervalMs ?? 2_000;
  }

  async uploadTrainingFile(fileName: string, jsonl: string, signal?: AbortSignal): Promise<string> {
    return this.call("fine-tune", async () => {
      const file = await this.client.files.create(
        {
          file: await toFile(Buffer.from(jsonl, "utf8"), fileName, { type: "application/jsonl" }),
          purpose: "fine-tune",
        },
        signal ? { signal } : {},
      );
      return file.id;
    });
  }

  async waitUntilProcessed(
    fileId: string,
    options: { timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<void> {
    const deadline = Date.now() + (options.timeoutMs ?? 10 * 60_000);
    for (;;) {
      const file = await this.call("fine-tune", () => this.client.files.retrieve(fileId));
      if (file.status === "processed") return;
      if (file.status === "error") {
        throw new AppError(
          "input_invalid",
          `training file ${fileId} was rejected: ${file.status_details ?? "no details"}`,
          {
            category: "user",
            userMessage: `OpenAI rejected the training file: ${file.status_details ?? "no reason given"}. Fix the dataset and start again.`,
          },
        );
      }
      if (Date.now() > deadline) {
        throw new AppError("llm_timeout", `training file ${fileId} was not processed in time`, {
          retryable: true,
        });
      }
      await sleep(this.filePollIntervalMs, options.signal);
    }
  }

  async createJob(request: CreateFineTuneJob): Promise<FineTuneJob> {
    return this.call(request.baseModel, async () =>
      toJob(
        await this.client.fineTuning.jobs.create({
          model: request.baseModel,
          training_file: request.trainingFileId,
          suffix: request.suffix.slice(0, 64),
          metadata: request.metadata,
        }),
      ),
    );
  }

  async findJob(metadataKey: string, metadataValue: string): Promise<FineTuneJob | undefined> {
    return this.call("fine-tune", async () => {
      // Servers that ignore the metadata filter still return jobs; the check below keeps it exact.
      const page = await this.client.fineTuning.jobs.list({
        limit: 100,
        metadata: { [metadataKey]: metadataValue },
      });
      const match = page.data.find((job) => job.metadata?.[metadataKey] === metadataValue);
      return match ? toJob(match) : undefined;
    });
  }

  async getJob(jobId: string): Promise<FineTuneJob> {
    return this.call("fine-tune", async () => toJob(await this.client.fineTuning.jobs.retrieve(jobId)));
  }

  async listEvents(jobId: string): Promise<FineTuneEvent[]> {
    return this.call("fine-tune", async () => {
      const page = await this.client.fineTuning.jobs.listEvents(jobId, { limit: 50 });
      return page.data
        .map((event) => ({
          id: event.id,
          createdAt: event.created_at,
          level: event.level,
          message: event.message,
        }))
        .reverse();
    });
  }

  async cancelJob(jobId: string): Promise<FineTuneJob> {
    return this.call("fine-tune", async () => toJob(await this.client.fineTuning.jobs.cancel(jobId)));
  }

  private async call<T>(model: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw translateOpenAiError(error, { secrets: this.secrets, model });
    }
  }
}
