/**
 * A fine-tuning service (OpenAI's files + fine-tuning API, or anything that speaks it). Core uses it
 * from job processors only; every call may fail with an `AppError` translated at the edge.
 */
export type FineTuneStatus = "validating_files" | "queued" | "running" | "succeeded" | "failed" | "cancelled";

export interface FineTuneJob {
  id: string;
  status: FineTuneStatus;
  baseModel: string;
  /** Set once the job has succeeded. */
  fineTunedModel: string | undefined;
  trainedTokens: number | undefined;
  /** The service's reason, when it failed. */
  error: string | undefined;
  metadata: Record<string, string>;
}

export interface FineTuneEvent {
  id: string;
  /** Seconds since the epoch. */
  createdAt: number;
  level: "info" | "warn" | "error";
  message: string;
}

export interface CreateFineTuneJob {
  trainingFileId: string;
  baseModel: string;
  /** Part of the new model's name (`ft:<base>:<org>:<suffix>:<id>`); at most 64 characters. */
  suffix: string;
  /** Ties the service's job to ours, so a retried submission finds it instead of creating another. */
  metadata: Record<string, string>;
}

export interface FineTuningProvider {
  /** Uploads a chat-format JSONL training file; returns its id. */
  uploadTrainingFile(fileName: string, jsonl: string, signal?: AbortSignal): Promise<string>;
  /** Resolves once the file is processed; fails when the service rejects it or `timeoutMs` passes. */
  waitUntilProcessed(fileId: string, options?: { timeoutMs?: number; signal?: AbortSignal }): Promise<void>;
  createJob(request: CreateFineTuneJob): Promise<FineTuneJob>;
  /** The most recent job whose metadata has this key and value, if any. */
  findJob(metadataKey: string, metadataValue: string): Promise<FineTuneJob | undefined>;
  getJob(jobId: string): Promise<FineTuneJob>;
  /** Events oldest first. */
  listEvents(jobId: string): Promise<FineTuneEvent[]>;
  cancelJob(jobId: string): Promise<FineTuneJob>;
}
