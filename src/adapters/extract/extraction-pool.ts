import { once } from "node:events";
import type { Worker } from "node:worker_threads";
import { Piscina } from "piscina";
import { AppError } from "../../core/errors.js";
import { prepareDocument } from "../../core/knowledge/prepare-chunks.js";
import type { ChunkPreparation, LoadedDocument, PreparedDocument } from "../../core/ports/document-loader.js";
import { tokenizerTable } from "../../core/tokens.js";
import { detectDocumentFormat } from "./detect-document-format.js";
import { extractDocument, type RawDocument } from "./extract-document.js";
import {
  type ExtractionOutcome,
  type ExtractionTask,
  type ExtractionThreadData,
  startedTaskId,
} from "./extraction-thread.js";

export interface ExtractionPoolOptions {
  /** Threads reading documents at once. Default 1: the memory watch can then name the document at fault. */
  maxThreads?: number;
  /** Longest a document may take, waiting in line included. Default 20 s. */
  timeoutMs?: number;
  /** V8 heap of a thread (strings, arrays). Default 384 MB. */
  maxHeapMb?: number;
  /**
   * Growth of the whole process's resident memory, over what it was when the document started, at which
   * the document is stopped. It covers what the heap limit does not: ArrayBuffers (PDF.js's inflated
   * streams live there). Default 512 MiB.
   */
  maxMemoryGrowthBytes?: number;
  /** Documents waiting for a thread before new ones are refused. Default 32. */
  maxQueue?: number;
}

const MEBIBYTE = 1024 * 1024;
/**
 * Plain text and Markdown up to this size are read (and prepared) on the calling thread: their extraction
 * is a decode and linear clean-ups, well under a millisecond here, while a round trip to a thread costs
 * more than that (it capped end-to-end ingestion of small documents). PDF and HTML always go to a thread.
 *
 * Preparing them on threads of their own was measured (SciFact, 5,183 documents, 6,761 chunks, on this
 * 2-core machine shared with another benchmark): two threads used 4.6-6.5 s of CPU where the calling
 * thread alone used 2.5-3.0 s, and ended no sooner. A new thread pays, once per index run, loading its
 * modules (0.3 s each under tsx), a cold JIT and cold token and word caches (the first pass over a corpus
 * costs 1.6-1.8 s of CPU where a warm one costs 1.0 s), and the collector's and compiler's helper
 * threads work for every isolate: a corpus of seconds of work does not amortise that.
 */
const INLINE_TEXT_BYTES = 64 * 1024;
const WATCH_INTERVAL_MS = 20;
/** How long a memory stop waits for its thread to exit before answering anyway. */
const RELEASE_WAIT_MS = 5_000;

interface Running {
  /**
   * Resident memory when its thread began on the document (the thread says so); unset while it waits
   * in line or while a new thread starts, whose start-up is not the document's doing.
   */
  baselineRss: number | undefined;
  stop(reason: "memory"): void;
}

type SucceededOutcome = Extract<ExtractionOutcome, { ok: true }>;

/** A thread's answer, or the `AppError` it described rebuilt. */
function succeeded(outcome: ExtractionOutcome): SucceededOutcome {
  if (outcome.ok) return outcome;
  const { code, message, category, userMessage } = outcome.failure;
  throw new AppError(code, message, { category, ...(userMessage ? { userMessage } : {}) });
}

function isSmallText(raw: RawDocument): boolean {
  if (raw.body.length > INLINE_TEXT_BYTES) return false;
  const format = detectDocumentFormat(raw);
  return format === "text" || format === "markdown";
}

function tooBusy(name: string): AppError {
  return new AppError("input_too_large", "extraction queue full", {
    category: "user",
    retryable: true,
    userMessage: `I'm reading too many documents right now to start on ${name}; try again in a minute.`,
  });
}

/**
 * Document extraction (PDF, HTML, Markdown, text) off the main thread, in a Piscina worker pool, so no
 * document can hold the event loop that answers everyone. Each document gets a time limit, a heap limit,
 * and a watch on the process's memory (checked every 20 ms from the main thread, which stays free while a
 * thread works) that stops the thread of a document growing it past the limit. A document stopped this
 * way, or one whose thread crashed, fails with a sentence naming it; the pool starts a fresh thread.
 */
export class ExtractionPool {
  private readonly pool: Piscina;
  private readonly timeoutMs: number;
  private readonly maxMemoryGrowthBytes: number;
  private readonly maxQueue: number;
  private readonly maxThreads: number;
  /** Documents in the pool, oldest first: Piscina runs them in this order, so the first `maxThreads` run. */
  private readonly running = new Set<Running>();
  private watch: NodeJS.Timeout | undefined;
  private readonly byTaskId = new Map<number, Running>();
  private lastTaskId = 0;

  constructor(options: ExtractionPoolOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 20_000;
    this.maxMemoryGrowthBytes = options.maxMemoryGrowthBytes ?? 512 * MEBIBYTE;
    this.maxQueue = options.maxQueue ?? 32;
    this.maxThreads = options.maxThreads ?? 1;
    this.pool = new Piscina({
      filename: new URL("./extraction-thread-entry.mjs", import.meta.url).href,
      // Threads start on demand and leave when idle: a bot that indexes nothing pays for none.
      minThreads: 0,
      maxThreads: this.maxThreads,
      idleTimeout: 30_000,
      resourceLimits: { maxOldGenerationSizeMb: options.maxHeapMb ?? 384 },
      // The tokenizer's ranks, shared: a new thread counts tokens at once (see `tokenizerTable`).
      workerData: { tokenizerTable: tokenizerTable() } satisfies ExtractionThreadData,
    });
    this.pool.on("message", (message: unknown) => {
      const taskId = startedTaskId(message);
      const entry = taskId === undefined ? undefined : this.byTaskId.get(taskId);
      if (entry) entry.baselineRss = process.memoryUsage.rss();
    });
  }

  /** Extracts a document in a worker thread; fails with an `AppError` whose sentence names the document. */
  async extract(raw: RawDocument, signal?: AbortSignal): Promise<LoadedDocument> {
    signal?.throwIfAborted();
    if (isSmallText(raw)) return extractDocument(raw);
    const outcome = await this.runWatched({ raw }, signal);
    if (!("document" in outcome)) throw new Error("an extraction thread answered with chunks");
    return outcome.document;
  }

  /**
   * `extract`, and the text chunked with its terms counted where it was extracted (`prepareDocument`):
   * a document that goes to a thread comes back chunked, so neither its text nor its chunking holds the
   * calling thread, which only writes.
   */
  async prepare(
    raw: RawDocument,
    preparation: ChunkPreparation,
    signal?: AbortSignal,
  ): Promise<PreparedDocument> {
    signal?.throwIfAborted();
    if (isSmallText(raw)) return prepareDocument(await extractDocument(raw), preparation);
    const outcome = await this.runWatched({ raw, preparation }, signal);
    if (!("prepared" in outcome)) throw new Error("an extraction thread answered without chunks");
    return outcome.prepared;
  }

  /** A document on the extraction threads, under the watch on the process's memory. */
  private async runWatched(
    { raw, preparation }: Omit<ExtractionTask, "taskId">,
    signal: AbortSignal | undefined,
  ): Promise<SucceededOutcome> {
    const name = raw.fileName ?? raw.source;
    if (this.pool.queueSize >= this.maxQueue) throw tooBusy(name);
    const controller = new AbortController();
    let stoppedFor: "time" | "memory" | undefined;
    // The threads alive when this document was stopped for memory (the one it ran on is among them),
    // each with its exit, listened for before the abort so that it cannot be missed.
    let threadsAtStop: ReadonlyArray<{ thread: Worker; exited: Promise<unknown> }> = [];
    const onCallerAbort = () => controller.abort(signal?.reason);
    signal?.addEventListener("abort", onCallerAbort, { once: true });
    const timer = setTimeout(() => {
      stoppedFor = "time";
      controller.abort();
    }, this.timeoutMs);
    const taskId = ++this.lastTaskId;
    const entry: Running = {
      baselineRss: undefined,
      stop: (reason) => {
        stoppedFor ??= reason;
        threadsAtStop = this.pool.threads.map((thread) => ({
          thread,
          exited: once(thread, "exit").catch(() => undefined),
        }));
        controller.abort();
      },
    };
    this.running.add(entry);
    this.byTaskId.set(taskId, entry);
    this.startWatch();
    // The body is copied once into a buffer of its own and moved, not copied again, to the thread
    // (`new Uint8Array`, not `slice`: a Buffer's `slice` is a view, and moving it would empty the caller's).
    const body = new Uint8Array(raw.body);
    try {
      const task: ExtractionTask = { raw: { ...raw, body }, taskId, preparation };
      const outcome = (await this.pool.run(task, {
        signal: controller.signal,
        transferList: [body.buffer],
      })) as ExtractionOutcome;
      return succeeded(outcome);
    } catch (error) {
      if (error instanceof AppError) throw error;
      if (signal?.aborted && stoppedFor === undefined) throw signal.reason;
      if (stoppedFor === "memory") await this.released(threadsAtStop);
      throw this.failure(name, stoppedFor, error);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onCallerAbort);
      this.running.delete(entry);
      this.byTaskId.delete(taskId);
      if (this.running.size === 0) this.stopWatch();
    }
  }

  /**
   * Piscina rejects an aborted task at once and terminates its thread in the background; until that
   * thread is gone its memory still counts in the process's, and would be charged to the documents
   * that run next. So a memory stop returns once the stopped thread has exited (bounded), and every
   * document still running takes a new baseline.
   */
  private async released(
    threadsAtStop: ReadonlyArray<{ thread: Worker; exited: Promise<unknown> }>,
  ): Promise<void> {
    const removed = threadsAtStop.filter(({ thread }) => !this.pool.threads.includes(thread));
    if (removed.length > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all(removed.map(({ exited }) => exited)),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, RELEASE_WAIT_MS);
        }),
      ]);
      clearTimeout(timer);
    }
    const rss = process.memoryUsage.rss();
    for (const entry of this.running) if (entry.baselineRss !== undefined) entry.baselineRss = rss;
  }

  async close(): Promise<void> {
    this.stopWatch();
    await this.pool.destroy();
  }

  private failure(name: string, stoppedFor: "time" | "memory" | undefined, cause: unknown): AppError {
    const outOfHeap = (cause as NodeJS.ErrnoException | undefined)?.code === "ERR_WORKER_OUT_OF_MEMORY";
    if (stoppedFor === "memory" || outOfHeap) {
      return new AppError("input_too_large", `extraction of ${name} stopped: memory limit`, {
        cause,
        category: "user",
        userMessage: `I stopped reading ${name}: it needed more memory than one document may use, so I left it out.`,
      });
    }
    if (stoppedFor === "time") {
      return new AppError("input_too_large", `extraction of ${name} stopped: ${this.timeoutMs} ms`, {
        cause,
        category: "user",
        userMessage: `I stopped reading ${name}: it took longer than ${Math.round(this.timeoutMs / 1000)} seconds, so I left it out.`,
      });
    }
    return new AppError("unsupported_content", `extraction of ${name} failed: ${String(cause)}`, {
      cause,
      category: "user",
      userMessage: `I couldn't read ${name}: reading it failed.`,
    });
  }

  private startWatch(): void {
    if (this.watch) return;
    this.watch = setInterval(() => {
      const rss = process.memoryUsage.rss();
      for (const entry of this.running) {
        if (entry.baselineRss !== undefined && rss - entry.baselineRss > this.maxMemoryGrowthBytes) {
          entry.stop("memory");
        }
      }
    }, WATCH_INTERVAL_MS);
    // The watch alone never keeps the process alive.
    this.watch.unref();
  }

  private stopWatch(): void {
    clearInterval(this.watch);
    this.watch = undefined;
  }
}

let shared: ExtractionPool | undefined;

/** The process's extraction pool, made on first use; its idle threads never keep the process alive. */
export function sharedExtractionPool(): ExtractionPool {
  shared ??= new ExtractionPool();
  return shared;
}
