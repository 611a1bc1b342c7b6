import { type Job, Queue, QueueEvents, UnrecoverableError, Worker } from "bullmq";
import type { Redis } from "ioredis";
import { AppError } from "../../core/errors.js";
import {
  assertValidJobId,
  type EnqueueOptions,
  firstRunOf,
  isPermanentJobFailure,
  isRegisteredJobName,
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
import { createRedisConnection, type RedisConnectionPurpose } from "../redis/redis-connection.js";

/** A finished job, as seen by whoever listens on the queue's event stream (metrics, logs). */
export interface JobEvent {
  jobId: string;
  state: "completed" | "failed";
  failedReason?: string | undefined;
}

export interface BullMqJobQueueOptions {
  redisUrl: string;
  logger: Logger;
  /** Queue name. Default `teammate`. */
  queueName?: string | undefined;
  /** Redis key prefix. Default `bull`, as BullMQ's own; tests give each run its own. */
  prefix?: string | undefined;
  /** Run processors in this process (`npm run worker`); false for a producer-only bot. */
  runWorkers: boolean;
  /** Jobs one worker runs at the same time. Default 2. */
  concurrency?: number | undefined;
  /** BullMQ lock duration: how long a silent worker keeps its job before it counts as stalled. Default 30 s. */
  lockDurationMs?: number | undefined;
  /** How often workers look for stalled jobs. Default 30 s. */
  stalledIntervalMs?: number | undefined;
  /** How long `close()` waits for running jobs before aborting their signals. Default 25 s. */
  shutdownTimeoutMs?: number | undefined;
  /** Called for every completed or failed job of the queue, from any worker (through QueueEvents). */
  onJobEvent?: ((event: JobEvent) => void) | undefined;
  /**
   * Called when this process's worker finds a job whose worker stopped renewing its lock (BullMQ's
   * stalled-job check); the job goes back to waiting and runs again.
   */
  onJobStalled?: ((job: { id: string; name: string; data: unknown }) => Promise<void>) | undefined;
}

/**
 * Jobs on BullMQ (`REDIS_URL`). One queue carries every job type; one Worker dispatches on the job
 * name. Retries use exponential backoff per job type; a permanent failure (an `AppError` of category
 * `user`) becomes BullMQ's `UnrecoverableError`, so bad input fails once. `close()` lets running
 * jobs finish (aborting them after `shutdownTimeoutMs`, which fails them into a retry), so SIGTERM
 * leaves no job stuck in `active`.
 *
 * @see https://docs.bullmq.io/guide/going-to-production
 */
export class BullMqJobQueue<Payloads extends JobPayloadMap = JobPayloads> implements JobQueue<Payloads> {
  private readonly options: BullMqJobQueueOptions;
  private readonly logger: Logger;
  private readonly queueName: string;
  private readonly prefix: string;
  private readonly types: RegisteredJobTypes<Payloads> = {};
  private readonly connections: Redis[] = [];
  private readonly queue: Queue;
  /** Settles once the queue's event reader knows where to start reading (see `newestEventId`). */
  private readonly eventsReady: Promise<void> | undefined;
  private events: QueueEvents | undefined;
  private worker: Worker | undefined;
  private closing: Promise<void> | undefined;
  private lastConnectionError: string | undefined;

  constructor(options: BullMqJobQueueOptions) {
    this.options = options;
    this.logger = options.logger;
    this.queueName = options.queueName ?? "teammate";
    this.prefix = options.prefix ?? "bull";
    // Producers fail fast when Redis is away instead of queueing commands in memory.
    const queueConnection = this.connect("queue-producer");
    this.queue = new Queue(this.queueName, { connection: queueConnection, prefix: this.prefix });
    this.queue.on("error", this.connectionError("job queue connection error"));
    if (options.onJobEvent) {
      const listener = options.onJobEvent;
      this.eventsReady = this.newestEventId(queueConnection).then((lastEventId) => {
        // Closed before Redis answered: no reader to start.
        if (this.closing) return;
        const events = new QueueEvents(this.queueName, {
          connection: this.connect("queue-blocking"),
          prefix: this.prefix,
          ...(lastEventId === undefined ? {} : { lastEventId }),
        });
        events.on("completed", ({ jobId }) => listener({ jobId, state: "completed" }));
        events.on("failed", ({ jobId, failedReason }) => listener({ jobId, state: "failed", failedReason }));
        events.on("error", this.connectionError("queue events error"));
        this.events = events;
      });
    }
  }

  /**
   * The id of the newest entry of the queue's event stream ("0-0" when it has none), which the event
   * reader starts after. Left to itself, QueueEvents starts at "$": the newest entry when its first read
   * reaches Redis, so a job added and finished before that read (a quick one just after start-up) was
   * never reported. `enqueue` waits for this, so every job this queue adds is heard of, and nothing older
   * is replayed. Undefined when Redis cannot be asked now: the reader then starts at "$" as before.
   */
  private async newestEventId(connection: Redis): Promise<string | undefined> {
    try {
      await this.queue.waitUntilReady();
      const newest = await connection.xrevrange(this.queue.keys.events as string, "+", "-", "COUNT", 1);
      return newest[0]?.[0] ?? "0-0";
    } catch (error) {
      if (!this.closing) {
        this.logger.warn(
          { err: error },
          "could not read where the job events stream ends; reading from now on",
        );
      }
      return undefined;
    }
  }

  register<Name extends JobName<Payloads>>(
    name: Name,
    processor: JobProcessor<Payloads[Name]>,
    options: JobTypeOptions = {},
  ): void {
    this.types[name] = { processor, options: withJobTypeDefaults(options) };
  }

  start(): void {
    if (!this.options.runWorkers || this.worker) return;
    const worker = new Worker(this.queueName, (job, _token, signal) => this.process(job, signal), {
      // Workers block on Redis and must retry forever rather than give up a command.
      connection: this.connect("queue-blocking"),
      prefix: this.prefix,
      concurrency: this.options.concurrency ?? 2,
      lockDuration: this.options.lockDurationMs ?? 30_000,
      stalledInterval: this.options.stalledIntervalMs ?? 30_000,
      autorun: false,
    });
    worker.on("error", this.connectionError("worker connection error"));
    worker.on("stalled", (jobId) => {
      this.logger.warn({ jobId }, "job stalled; it will run again");
      const hook = this.options.onJobStalled;
      if (!hook) return;
      this.queue
        .getJob(jobId)
        .then((job) => (job ? hook({ id: jobId, name: job.name, data: job.data }) : undefined))
        .catch((error: unknown) => this.logger.warn({ err: error, jobId }, "could not report a stalled job"));
    });
    worker.on("failed", (job, error) => {
      this.logger.warn(
        { err: error, job: job?.name, jobId: job?.id, attempts: job?.attemptsMade },
        "job attempt failed",
      );
    });
    this.worker = worker;
    worker.run().catch((error: unknown) => this.logger.error({ err: error }, "worker stopped"));
  }

  async enqueue<Name extends JobName<Payloads>>(
    name: Name,
    data: Payloads[Name],
    options: EnqueueOptions = {},
  ): Promise<string> {
    if (this.closing) throw new AppError("job_failed", `job queue closed; ${name} not added`);
    const type = this.types[name];
    if (!type) throw new AppError("internal", `no job type ${name} is registered`);
    if (options.jobId !== undefined) assertValidJobId(options.jobId);
    // Its events are read from before it is added (see `newestEventId`).
    await this.eventsReady;
    try {
      const job = await this.queue.add(name, data, {
        ...(options.jobId === undefined ? {} : { jobId: options.jobId }),
        ...(options.delayMs === undefined ? {} : { delay: options.delayMs }),
        attempts: options.attempts ?? type.options.attempts,
        backoff: { type: "exponential", delay: type.options.backoffMs },
        removeOnComplete: { count: type.options.keepCompleted },
        removeOnFail: { count: type.options.keepFailed },
      });
      if (job.id === undefined) throw new Error("BullMQ returned a job without an id");
      return job.id;
    } catch (error) {
      throw new AppError("job_failed", `could not add ${name} to the queue`, {
        cause: error,
        retryable: true,
        userMessage: "I couldn't queue that work right now (the job queue is unreachable).",
      });
    }
  }

  async schedule<Name extends JobName<Payloads>>(
    schedulerId: string,
    name: Name,
    data: Payloads[Name],
    everyMs: number,
    options?: ScheduleOptions,
  ): Promise<number> {
    const type = this.types[name];
    if (!type) throw new AppError("internal", `no job type ${name} is registered`);
    if (!(everyMs > 0)) throw new AppError("internal", `schedule interval must be positive, got ${everyMs}`);
    const startAt = firstRunOf(Date.now(), everyMs, options);
    try {
      await this.queue.upsertJobScheduler(
        schedulerId,
        { every: everyMs, startDate: startAt },
        {
          name,
          data,
          opts: {
            attempts: type.options.attempts,
            backoff: { type: "exponential", delay: type.options.backoffMs },
            removeOnComplete: { count: type.options.keepCompleted },
            removeOnFail: { count: type.options.keepFailed },
          },
        },
      );
      return startAt;
    } catch (error) {
      throw new AppError("job_failed", `could not schedule ${name}`, {
        cause: error,
        retryable: true,
        userMessage: "I couldn't set the schedule right now (the job queue is unreachable).",
      });
    }
  }

  async unschedule(schedulerId: string): Promise<boolean> {
    try {
      return await this.queue.removeJobScheduler(schedulerId);
    } catch (error) {
      throw new AppError("job_failed", `could not remove schedule ${schedulerId}`, {
        cause: error,
        retryable: true,
        userMessage: "I couldn't drop the schedule right now (the job queue is unreachable).",
      });
    }
  }

  async counts(): Promise<Record<JobState, number>> {
    const counts = await this.queue.getJobCounts(
      "waiting",
      "prioritized",
      "active",
      "delayed",
      "completed",
      "failed",
    );
    return {
      waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0),
      active: counts.active ?? 0,
      delayed: counts.delayed ?? 0,
      completed: counts.completed ?? 0,
      failed: counts.failed ?? 0,
    };
  }

  async stateOf(jobId: string): Promise<{ state: JobState | "missing"; failedReason?: string | undefined }> {
    const job = await this.queue.getJob(jobId);
    if (!job) return { state: "missing" };
    const state = await job.getState();
    switch (state) {
      case "completed":
        return { state: "completed" };
      case "failed":
        return { state: "failed", failedReason: job.failedReason };
      case "active":
        return { state: "active" };
      case "delayed":
        return { state: "delayed" };
      case "unknown":
        // Removed between the two reads.
        return { state: "missing" };
      default:
        // waiting, prioritized, waiting-children: not started yet.
        return { state: "waiting" };
    }
  }

  /** The BullMQ queue itself, for the admin view. */
  get bullQueue(): Queue {
    return this.queue;
  }

  async close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    if (this.worker) {
      const worker = this.worker;
      const abort = setTimeout(
        () => worker.cancelAllJobs("shutting down"),
        this.options.shutdownTimeoutMs ?? 25_000,
      );
      try {
        await worker.close();
      } finally {
        clearTimeout(abort);
      }
    }
    // A reader still waiting for Redis is not waited for: closing the connections below ends that wait.
    await this.events?.close();
    await this.queue.close();
    await Promise.allSettled(this.connections.map((connection) => connection.quit()));
  }

  private connect(purpose: RedisConnectionPurpose): Redis {
    const connection = createRedisConnection(this.options.redisUrl, purpose);
    // The queue, worker and events objects report connection errors themselves (see their listeners).
    connection.on("error", () => {});
    connection.on("ready", () => {
      this.lastConnectionError = undefined;
    });
    this.connections.push(connection);
    return connection;
  }

  /**
   * Logs a connection error once, not on every reconnection attempt: with Redis away, each client
   * retries several times a second, and a log full of the same line hides everything else. The next
   * different error, or the same one after a successful reconnect, is logged again.
   */
  private connectionError(what: string): (error: Error) => void {
    return (error) => {
      if (error.message === this.lastConnectionError) return;
      this.lastConnectionError = error.message;
      this.logger.warn({ err: error }, `${what} (repeats are not logged until Redis answers again)`);
    };
  }

  private async process(job: Job, signal: AbortSignal | undefined): Promise<unknown> {
    // A job type this worker does not know (an older worker during a deploy) is not bad input: retry.
    const type = isRegisteredJobName(this.types, job.name) ? this.types[job.name] : undefined;
    if (!type) throw new Error(`no processor registered for ${job.name}`);
    const context: JobContext = {
      jobId: job.id ?? "",
      attempt: job.attemptsMade + 1,
      maxAttempts: job.opts.attempts ?? 1,
      signal: signal ?? new AbortController().signal,
      reportProgress: (done, total, label) => job.updateProgress({ done, total, label: label ?? "" }),
    };
    try {
      return await type.processor(job.data, context);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (isPermanentJobFailure(error)) throw new UnrecoverableError(message);
      throw error instanceof Error ? error : new Error(message);
    }
  }
}
