import { EventEmitter } from "node:events";
import { Worker } from "node:worker_threads";
import type { Database } from "better-sqlite3";
import type { Logger } from "../../core/ports/logger.js";

/** The thread copies the log back once it holds this many pages (SQLite's own default is 1,000). */
const CHECKPOINT_PAGES = 1_000;
/**
 * The connection's own checkpoint stays on as a backstop, far above the thread's threshold: it runs
 * only if the thread is gone, so the log cannot grow without bound.
 */
const BACKSTOP_PAGES = 16_000;
const ROUND_MILLISECONDS = 100;
/**
 * A checkpoint waits for the log to go this long unwritten: a chat's messages come in bursts, and a
 * commit made while the checkpoint syncs the files waits for the disk.
 */
const QUIET_MILLISECONDS = 150;
/**
 * Under writes that never pause (an ingest, a busy channel) the log is copied back at least this often.
 * A thread of messages with an instant LLM commits ~15 pages a millisecond: a second let the log reach
 * the backstop, a quarter of one keeps it near 5,000 pages.
 */
const MAX_DELAY_MILLISECONDS = 250;

/** When the thread checkpoints; the defaults above unless a test needs its own. */
export interface CheckpointTiming {
  quietMs?: number;
  maxDelayMs?: number;
}

interface CheckpointMessage {
  type: string;
  frames?: number;
  log?: number;
  quiet?: boolean;
  message?: string;
}

export interface WalCheckpointer {
  /**
   * Emits `ready` once the thread holds its connection (the backstop is set then), `checkpointed`
   * ({ frames, log, quiet }: `quiet` when it ran in a quiet moment rather than at the longest delay)
   * after each checkpoint it ran, and `stopped` if the thread failed.
   */
  readonly events: EventEmitter;
  close(): Promise<void>;
}

/**
 * Moves SQLite's WAL checkpoints off the event loop. A connection checkpoints by itself on the commit
 * that takes the log past 1,000 pages, copying them into the database file inside that commit: on the
 * message path that was a pause of several milliseconds every ~45 messages (the p99 of core time per
 * message). Here the connection's own checkpoint is pushed out to a backstop, and a thread with its own
 * connection to the same file runs a PASSIVE checkpoint (which never takes a writer's lock) once the log,
 * past the usual threshold, has gone unwritten for a moment, or has waited its longest.
 */
export function startWalCheckpointer(
  path: string,
  database: Database,
  logger: Logger,
  timing: CheckpointTiming = {},
): WalCheckpointer {
  const events = new EventEmitter();
  const worker = new Worker(new URL("./wal-checkpoint-thread.mjs", import.meta.url), {
    // None of the process's flags: the thread is plain JavaScript, and under tsx (`npm start`) the parent's
    // `--import` of tsx's loader made it load tsx and esbuild too, and compile their module lexer, work
    // that overlapped the first writes (a cold SciFact ingest's) and that the thread never needed.
    execArgv: [],
    workerData: {
      path,
      thresholdBytes: CHECKPOINT_PAGES * (database.pragma("page_size", { simple: true }) as number),
      intervalMs: ROUND_MILLISECONDS,
      quietMs: timing.quietMs ?? QUIET_MILLISECONDS,
      maxDelayMs: timing.maxDelayMs ?? MAX_DELAY_MILLISECONDS,
    },
  });
  // The thread never keeps a process alive that has nothing else to do.
  worker.unref();
  // Not `once(worker, "exit")`: that rejects on the thread's 'error' event, which is handled below.
  const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
  let failureSaid = false;
  worker.on("message", (message: CheckpointMessage) => {
    // Until the thread has its connection, the connection keeps checkpointing by itself, as before.
    if (message.type === "ready") {
      database.pragma(`wal_autocheckpoint = ${BACKSTOP_PAGES}`);
      events.emit("ready");
    }
    if (message.type === "checkpointed") {
      events.emit("checkpointed", { frames: message.frames, log: message.log, quiet: message.quiet });
    }
    if (message.type === "failed" && !failureSaid) {
      failureSaid = true;
      logger.warn({ error: message.message }, "a WAL checkpoint failed; the next round tries again");
    }
  });
  worker.on("error", (error) => {
    logger.warn({ err: error }, "the WAL checkpoint thread stopped; SQLite checkpoints on commit again");
    if (database.open) database.pragma(`wal_autocheckpoint = ${CHECKPOINT_PAGES}`);
    events.emit("stopped", error);
  });
  return {
    events,
    async close() {
      // Held again while it closes: a process whose last work is this wait would otherwise end with
      // the wait unsettled (exit code 13 under a top-level await).
      worker.ref();
      worker.postMessage("close");
      await exited;
    },
  };
}
