import { AppError } from "../../core/errors.js";
import {
  assertValidJobId,
  backoffDelay,
  type EnqueueOptions,
  firstRunOf,
  isPermanentJobFailure,
  type JobContext,
  type JobName,
  type JobPayloadMap,
  type JobPayloads,
  type JobProcessor,
  type JobQueue,
  type JobState,
  type JobTypeOptions,
  type RegisteredJobTypes,
  type ScheduleOptions,
  withJobTypeDefaults,
} from "../../core/ports/job-queue.js";
import type { Logger } from "../../core/ports/logger.js";

export interface InProcessJobQueueOptions {
  logger: Logger;
  /** Jobs run at the same time. Default 2. */
  concurrency?: number;
  /** How long `close()` waits before aborting running jobs' signals. Default 25 s. */
  shutdownTimeoutMs?: number;
}

interface Entry<Payloads extends JobPayloadMap> {
  id: string;
  name: JobName<Payloads>;
  data: Payloads[JobName<Payloads>];
  state: JobState;
  attempts: number;
  failures: number;
  timer?: NodeJS.Timeout | undefined;
}

/**
 * The embedded default: jobs run inside the bot process, with the same retry, backoff,
 * de-duplication and retention rules as `BullMqJobQueue`, so processors behave alike in both.
 * What it deliberately leaves out is durability: waiting and delayed jobs live in memory and are
 * gone after a restart (set REDIS_URL for jobs that survive one).
 */
export class InProcessJobQueue<Payloads extends JobPayloadMap = JobPayloads> implements JobQueue<Payloads> {
  private readonly logger: Logger;
  private readonly concurrency: number;
  private readonly shutdownTimeoutMs: number;
  private readonly types: RegisteredJobTypes<Payloads> = {};
  private readonly jobs = new Map<string, Entry<Payloads>>();
  private readonly ready: Entry<Payloads>[] = [];
  private readonly finished: Record<"completed" | "failed", string[]> = { completed: [], failed: [] };
  private readonly running = new Set<Promise<void>>();
  private readonly controller = new AbortController();
  private readonly schedules = new Map<string, { cancel(): void }>();
  private counter = 0;
  private started = false;
  private closing = false;

  constructor(options: InProcessJobQueueOptions) {
    this.logger = options.logger;
    this.concurrency = options.concurrency ?? 2;
    this.shutdownTimeoutMs = options.shutdownTimeoutMs ?? 25_000;
  }

  register<Name extends JobName<Payloads>>(
    name: Name,
    processor: JobProcessor<Payloads[Name]>,
    options: JobTypeOptions = {},
  ): void {
    this.types[name] = { processor, options: withJobTypeDefaults(options) };
  }

  start(): void {
    this.started = true;
    this.pump();
  }

  async enqueue<Name extends JobName<Payloads>>(
    name: Name,
    data: Payloads[Name],
    options: EnqueueOptions = {},
  ): Promise<string> {
    if (this.closing) {
      throw new AppError("job_failed", `job queue closed; ${name} not added`, {
        userMessage: "I'm shutting down and can't start that now; try again in a minute.",
      });
    }
    const type = this.types[name];
    if (!type) throw new AppError("internal", `no job type ${name} is registered`);
    if (options.jobId !== undefined) {
      assertValidJobId(options.jobId);
      if (this.jobs.has(options.jobId)) return options.jobId;
    }
    this.counter += 1;
    const entry: Entry<Payloads> = {
      id: options.jobId ?? String(this.counter),
      name,
      // A JSON round trip, as Redis does: a processor never shares objects with the caller.
      data: JSON.parse(JSON.stringify(data ?? null)),
      state: "waiting",
      attempts: options.attempts ?? type.options.attempts,
      failures: 0,
    };
    this.jobs.set(entry.id, entry);
    if (options.delayMs && options.delayMs > 0) this.delay(entry, options.delayMs);
    else this.ready.push(entry);
    this.pump();
    return entry.id;
  }

  async schedule<Name extends JobName<Payloads>>(
    schedulerId: string,
    name: Name,
    data: Payloads[Name],
    everyMs: number,
    options?: ScheduleOptions,
  ): Promise<number> {
    if (!this.types[name]) throw new AppError("internal", `no job type ${name} is registered`);
    if (!(everyMs > 0)) throw new AppError("internal", `schedule interval must be positive, got ${everyMs}`);
    this.schedules.get(schedulerId)?.cancel();
    const copy: Payloads[Name] = JSON.parse(JSON.stringify(data ?? null));
    const firstRunAt = firstRunOf(Date.now(), everyMs, options);
    let runs = 0;
    const fire = () => {
      runs += 1;
      // One id per tick, as BullMQ gives each repetition its own job.
      this.enqueue(name, copy, { jobId: `${name}-${schedulerId}-${Date.now()}-${runs}` }).catch(
        (error: unknown) => this.logger.warn({ err: error, schedulerId }, "scheduled job not added"),
      );
    };
    let interval: NodeJS.Timeout | undefined;
    // A schedule alone never keeps the process alive (both timers are unref'd).
    const first = setTimeout(() => {
      fire();
      interval = setInterval(fire, everyMs);
      interval.unref();
    }, firstRunAt - Date.now());
    first.unref();
    this.schedules.set(schedulerId, {
      cancel: () => {
        clearTimeout(first);
        clearInterval(interval);
      },
    });
    return firstRunAt;
  }

  async unschedule(schedulerId: string): Promise<boolean> {
    const schedule = this.schedules.get(schedulerId);
    if (!schedule) return false;
    schedule.cancel();
    this.schedules.delete(schedulerId);
    return true;
  }

  async counts(): Promise<Record<JobState, number>> {
    const counts: Record<JobState, number> = { waiting: 0, active: 0, delayed: 0, completed: 0, failed: 0 };
    for (const entry of this.jobs.values()) counts[entry.state] += 1;
    return counts;
  }

  async stateOf(jobId: string): Promise<{ state: JobState | "missing"; failedReason?: string | undefined }> {
    const entry = this.jobs.get(jobId);
    return entry ? { state: entry.state } : { state: "missing" };
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const schedule of this.schedules.values()) schedule.cancel();
    this.schedules.clear();
    for (const entry of this.jobs.values()) clearTimeout(entry.timer);
    const abort = setTimeout(() => this.controller.abort(new Error("shutting down")), this.shutdownTimeoutMs);
    await Promise.allSettled([...this.running]);
    clearTimeout(abort);
  }

  private delay(entry: Entry<Payloads>, milliseconds: number): void {
    entry.state = "delayed";
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      entry.state = "waiting";
      this.ready.push(entry);
      this.pump();
    }, milliseconds);
  }

  private pump(): void {
    while (this.started && !this.closing && this.running.size < this.concurrency) {
      const entry = this.ready.shift();
      if (!entry) return;
      const run = this.run(entry).finally(() => {
        this.running.delete(run);
        this.pump();
      });
      this.running.add(run);
    }
  }

  private async run(entry: Entry<Payloads>): Promise<void> {
    const type = this.types[entry.name];
    if (!type) return;
    entry.state = "active";
    const log = this.logger.child({ job: entry.name, jobId: entry.id, attempt: entry.failures + 1 });
    const context: JobContext = {
      jobId: entry.id,
      attempt: entry.failures + 1,
      maxAttempts: entry.attempts,
      signal: this.controller.signal,
      reportProgress: async () => {},
    };
    try {
      await type.processor(entry.data, context);
      this.finish(entry, "completed", type.options.keepCompleted);
    } catch (error) {
      entry.failures += 1;
      const permanent = isPermanentJobFailure(error);
      if (permanent || entry.failures >= entry.attempts) {
        log.warn({ err: error, permanent }, "job failed");
        this.finish(entry, "failed", type.options.keepFailed);
        return;
      }
      const wait = backoffDelay(type.options.backoffMs, entry.failures);
      log.info({ err: error, retryInMs: wait }, "job will be retried");
      if (this.closing) {
        // Nothing would run it again in this process; say so instead of losing it silently.
        log.warn("retry dropped: the queue is closing");
        this.finish(entry, "failed", type.options.keepFailed);
        return;
      }
      this.delay(entry, wait);
    }
  }

  private finish(entry: Entry<Payloads>, state: "completed" | "failed", keep: number): void {
    entry.state = state;
    const list = this.finished[state];
    list.push(entry.id);
    // Kept jobs still de-duplicate their id, as in BullMQ; the oldest beyond the limit are forgotten.
    while (list.length > keep) {
      const oldest = list.shift();
      if (oldest !== undefined) this.jobs.delete(oldest);
    }
  }
}
