/**
 * Long work (indexing, fine-tuning) as named jobs. Implementations: in-process (embedded default)
 * and BullMQ (`REDIS_URL`), with the same processor functions behind both.
 * Job data holds ids and references only, never secrets or tokens.
 */
export interface JobContext {
  jobId: string;
  attempt: number;
  signal: AbortSignal;
  reportProgress(done: number, total: number, label?: string): Promise<void>;
}

export type JobProcessor<Data> = (data: Data, context: JobContext) => Promise<unknown>;

export interface EnqueueOptions {
  /** Makes a repeat harmless: a job with the same id already queued or running is not added again. */
  jobId?: string | undefined;
  attempts?: number | undefined;
}

export interface JobQueue {
  register<Data>(name: string, processor: JobProcessor<Data>): void;
  enqueue<Data>(name: string, data: Data, options?: EnqueueOptions): Promise<string>;
  close(): Promise<void>;
}
