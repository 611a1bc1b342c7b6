import { AppError, isAppError } from "../errors.js";
import type { Platform } from "../types.js";
import type { DocumentReference } from "./document-loader.js";
import type { PostedMessage } from "./notifier.js";
import type { DocumentScope } from "./vector-store.js";

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

/**
 * Job data for indexing a batch of documents: where they go, where they come from, and the status
 * message to keep editing. References carry no headers: a job payload is stored in clear text.
 */
export interface IngestDocumentsData {
  scope: DocumentScope;
  references: DocumentReference[];
  statusMessage?: PostedMessage | undefined;
  /** Who asked (a platform user id), told when the job fails for good. */
  askerId?: string | undefined;
}

/** Ids only: the source record holds everything else, so a payload never carries a target's secrets. */
export interface SyncSourceData {
  platform: Platform;
  workspaceId: string;
  sourceId: string;
  /** The message posted when the sync was asked for; a scheduled run posts its own. */
  statusMessage?: PostedMessage | undefined;
  /** Set by the schedule: the next run is one interval from now. */
  scheduled?: boolean | undefined;
}

/** Fine-tuning job data: ids only. The dataset stays in the FineTuneStore. */
interface SubmitFineTuneData {
  runId: string;
}

interface PollFineTuneData {
  runId: string;
  /** 1, 2, 3…: part of the job id, so each re-poll is a new job and a repeated enqueue is harmless. */
  poll: number;
}

/**
 * Every job type of the application, by name, with its data: `register`, `enqueue` and `schedule`
 * are checked against it, so a producer and its processor cannot disagree on a payload's shape. A
 * new job type starts here. (The processors still validate what they read: a payload has been
 * through Redis, and an older producer may have written it.)
 */
export interface JobPayloads {
  "ingest-documents": IngestDocumentsData;
  "sync-source": SyncSourceData;
  "submit-fine-tune": SubmitFineTuneData;
  "poll-fine-tune": PollFineTuneData;
}

/** A job-name → data map: the application's `JobPayloads`, or a test queue's own. */
export type JobPayloadMap = object;

/** The names of a map's job types. */
export type JobName<Payloads extends JobPayloadMap = JobPayloads> = keyof Payloads & string;

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

export interface JobQueue<Payloads extends JobPayloadMap = JobPayloads> {
  /**
   * Declares a job type. A producer-only queue (the bot when workers run elsewhere) keeps the
   * options for `enqueue` and never runs the processor.
   */
  register<Name extends JobName<Payloads>>(
    name: Name,
    processor: JobProcessor<Payloads[Name]>,
    options?: JobTypeOptions,
  ): void;
  /**
   * Starts running the registered processors (a no-op for a producer-only queue). Called once, after
   * every `register`, so no job is picked up before its processor is known.
   */
  start(): void;
  enqueue<Name extends JobName<Payloads>>(
    name: Name,
    data: Payloads[Name],
    options?: EnqueueOptions,
  ): Promise<string>;
  /**
   * Adds job `name` with `data` every `everyMs`, under one scheduler id: scheduling the same id again
   * replaces the schedule instead of adding a second (one per synced source). BullMQ keeps schedulers
   * in Redis, so they survive restarts and fire on whichever worker is up; the in-process queue keeps
   * a timer, and its owner re-arms it at start. The first run is `everyMs` from now, or at
   * `options.firstRunAt` (epoch ms; a time already past means now): a process re-arming a stored
   * schedule keeps its next run instead of pushing it back a whole interval at every restart.
   * Resolves with the time of the first run (epoch ms).
   */
  schedule<Name extends JobName<Payloads>>(
    schedulerId: string,
    name: Name,
    data: Payloads[Name],
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

const DEFAULT_JOB_TYPE_OPTIONS: ResolvedJobTypeOptions = {
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

/** One registered job type, as a queue implementation keeps it. */
interface RegisteredJobType<Data> {
  processor: JobProcessor<Data>;
  options: ResolvedJobTypeOptions;
}

/** A queue implementation's registered job types, each with the processor of its own data. */
export type RegisteredJobTypes<Payloads extends JobPayloadMap> = {
  [Name in JobName<Payloads>]?: RegisteredJobType<Payloads[Name]>;
};

/** Whether a job name read back from storage (a job's `name` in Redis) has a registered type. */
export function isRegisteredJobName<Payloads extends JobPayloadMap>(
  types: RegisteredJobTypes<Payloads>,
  name: string,
): name is JobName<Payloads> {
  return Object.hasOwn(types, name);
}

/** BullMQ's rule for custom ids, enforced by both queues so a bad id fails in the embedded mode too. */
export function assertValidJobId(jobId: string): void {
  if (jobId.length === 0 || jobId.includes(":") || /^\d+$/.test(jobId)) {
    throw new AppError("internal", `job id ${JSON.stringify(jobId)} is not allowed (no ':', not all digits)`);
  }
}
