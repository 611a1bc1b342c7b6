import { AppError, isAppError } from "../errors.js";

/**
 * Long work (indexing, fine-tuning) as named jobs. Implementations: in-process (embedded default)
 * and BullMQ (`REDIS_URL`), with the same processor functions behind both; both pass
 * `test/contracts/job-queue.contract.ts`.
 * Job data holds ids and references only, never secrets or tokens: BullMQ stores it in clear text.
 *
 * Delivery is at least once (a killed worker's job runs again), so processors must be idempotent:
 * replace by id, look up before creating.
 */
export interface JobContext {
  jobId: string;
  /** 1 for the first run, 2 for the first retry, and so on. */
  attempt: number;
  /** How many attempts this job has in all; `attempt === maxAttempts` is the last chance. */
  maxAttempts: number;
  /** Aborted when the queue shuts down and cannot wait any longer for this job. */
  signal: AbortSignal;
  reportProgress(done: number, total: number, label?: string): Promise<void>;
}

export type JobProcessor<Data> = (data: Data, context: JobContext) => Promise<unknown>;

/** How one job type is retried and kept. Set once, at registration, for producers and workers alike. */
export interface JobTypeOptions {
  /** Attempts in all, the first run included. Default 3. */
  attempts?: number | undefined;
  /** Base delay of the exponential backoff: retry n waits `backoffMs · 2^(n−1)`. Default 1000. */
  backoffMs?: number | undefined;
  /** How many finished jobs of the queue are kept for inspection (and de-duplication). Default 1000. */
  keepCompleted?: number | undefined;
  /** How many failed jobs are kept. Default 5000. */
  keepFailed?: number | undefined;
}

export interface EnqueueOptions {
  /**
   * Makes a repeat harmless: a job with the same id already queued, running or kept is not added
   * again. Build it with `jobIdOf` (no `:`, never all digits).
   */
  jobId?: string | undefined;
  attempts?: number | undefined;
  /** Run no earlier than this many milliseconds from now (delayed re-polls). */
  delayMs?: number | undefined;
}

export interface ScheduleOptions {
  firstRunAt?: number | undefined;
}

/** When a schedule first runs: `firstRunAt` when given (never in the past), else one interval from now. */
export function firstRunOf(now: number, everyMs: number, options: ScheduleOptions | undefined): number {
  return options?.firstRunAt === undefined ? now + everyMs : Math.max(now, options.firstRunAt);
}

export type JobState = "waiting" | "active" | "delayed" | "completed" | "failed";

export interface JobQueue {
  /**
   * Declares a job type. A producer-only queue (the bot when workers run elsewhere) keeps the
   * options for `enqueue` and never runs the processor.
   */
  register<Data>(name: string, processor: JobProcessor<Data>, options?: JobTypeOptions): void;
  /**
   * Starts running the registered processors (a no-op for a producer-only queue). Called once, after
   * every `register`, so no job is picked up before its processor is known.
   */
  start(): void;
  enqueue<Data>(name: string, data: Data, options?: EnqueueOptions): Promise<string>;
  /**
   * Adds job `name` with `data` every `everyMs`, under one scheduler id: scheduling the same id again
   * replaces the schedule instead of adding a second (one per synced source). BullMQ keeps schedulers
   * in Redis, so they survive restarts and fire on whichever worker is up; the in-process queue keeps
   * a timer, and its owner re-arms it at start. The first run is `everyMs` from now, or at
   * `options.firstRunAt` (epoch ms; a time already past means now): a process re-arming a stored
   * schedule keeps its next run instead of pushing it back a whole interval at every restart.
   * Resolves with the time of the first run (epoch ms).
   */
  schedule<Data>(
    schedulerId: string,
    name: string,
    data: Data,
    everyMs: number,
    options?: ScheduleOptions,
  ): Promise<number>;
  /** Drops a schedule; true when there was one. A job it already added still runs. */
  unschedule(schedulerId: string): Promise<boolean>;
  /** Jobs by state, for metrics and the admin queue view. */
  counts(): Promise<Record<JobState, number>>;
  /**
   * Where one job is: its state, or `missing` when the queue no longer has it (removed, trimmed,
   * lost with a restart or a flushed Redis). A job that failed for good says why, in the queue's words.
   */
  stateOf(jobId: string): Promise<{ state: JobState | "missing"; failedReason?: string | undefined }>;
  /** Stops taking jobs and waits for running ones to finish (or be handed back), then releases connections. */
  close(): Promise<void>;
}

/** Job type options with every default filled in. */
export interface ResolvedJobTypeOptions {
  attempts: number;
  backoffMs: number;
  keepCompleted: number;
  keepFailed: number;
}

export const DEFAULT_JOB_TYPE_OPTIONS: ResolvedJobTypeOptions = {
  attempts: 3,
  backoffMs: 1_000,
  keepCompleted: 1_000,
  keepFailed: 5_000,
};

/**
 * Whether a failure must not be retried: bad input stays bad. By convention that is any
 * `AppError` of category `user` (`input_invalid`, `not_found`, …); everything else is retried.
 */
export function isPermanentJobFailure(error: unknown): boolean {
  return isAppError(error) && error.category === "user";
}

/** The delay before retry `attempt` (1-based count of failures so far). */
export function backoffDelay(baseMs: number, failures: number): number {
  return baseMs * 2 ** Math.max(0, failures - 1);
}

function escapeIdPart(part: string): string {
  // Everything outside [A-Za-z0-9.] is written as _XX (hex), so `-` can join parts unambiguously
  // and no `:` (BullMQ's key separator) survives.
  return part.replace(/[^A-Za-z0-9.]/g, (character) => `_${character.codePointAt(0)?.toString(16) ?? "0"}_`);
}

/**
 * A job id from the job name and the ids that make the work unique (`submit-fine-tune`, run id).
 * The name prefix means it is never all digits; escaping means it never holds a `:`.
 */
export function jobIdOf(name: string, ...parts: string[]): string {
  return [name, ...parts.map(escapeIdPart)].join("-");
}

export function withJobTypeDefaults(options: JobTypeOptions): ResolvedJobTypeOptions {
  return {
    attempts: options.attempts ?? DEFAULT_JOB_TYPE_OPTIONS.attempts,
    backoffMs: options.backoffMs ?? DEFAULT_JOB_TYPE_OPTIONS.backoffMs,
    keepCompleted: options.keepCompleted ?? DEFAULT_JOB_TYPE_OPTIONS.keepCompleted,
    keepFailed: options.keepFailed ?? DEFAULT_JOB_TYPE_OPTIONS.keepFailed,
  };
}

/** BullMQ's rule for custom ids, enforced by both queues so a bad id fails in the embedded mode too. */
export function assertValidJobId(jobId: string): void {
  if (jobId.length === 0 || jobId.includes(":") || /^\d+$/.test(jobId)) {
    throw new AppError("internal", `job id ${JSON.stringify(jobId)} is not allowed (no ':', not all digits)`);
  }
}
