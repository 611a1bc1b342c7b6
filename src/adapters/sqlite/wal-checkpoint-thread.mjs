// The thread of `startWalCheckpointer` (wal-checkpointer.ts): its own connection to the SQLite file,
// copying the write-ahead log back into the database once it has grown past a threshold, in a quiet
// moment. Plain JavaScript so that it starts the same way under tsx, vitest and the compiled build (it
// needs no TypeScript of ours). A PASSIVE checkpoint never waits for a lock, but it writes and syncs the
// files, and a commit made while it runs waited 4–5 ms for it on a 100k-chunk file: so it runs once the
// log has not been written for `quietMs`, or, under writes that never pause, once the log has waited
// `maxDelayMs`.
//
// SQLite starts the log again from its beginning only when a commit begins with the whole log copied
// back. Under commits that never pause, one lands during every PASSIVE checkpoint's copy and syncs, so
// the log never restarted: it grew to the connection's backstop, whose checkpoint then copied ~16,000
// pages inside a commit on the message path (20-80 ms). So a checkpoint that was overtaken is followed
// by up to four more PASSIVE ones, each copying what commits added during the one before, and once that
// is only a few pages (or after the fourth) by a FULL one: it holds the writer's lock while it copies
// those last pages and syncs, and a commit waits for it in SQLite's busy handler (sleeps of 1, 2, 5 ms).
// A FULL checkpoint right after the first PASSIVE one copied hundreds of pages under the lock, and the
// message whose commit waited for it took 5-6 ms instead of 2.5-3.5.
import { statSync } from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import Database from "better-sqlite3";

const { path, thresholdBytes, intervalMs, quietMs, maxDelayMs } = workerData;
const database = new Database(path, { fileMustExist: true });
// Another connection may be mid-commit: never wait, the next round tries again.
database.pragma("busy_timeout = 0");
/** PASSIVE checkpoints a round runs at most after its first, each catching up with the one before. */
const CATCH_UP_CHECKPOINTS = 4;
/**
 * The FULL checkpoint comes as soon as a PASSIVE one was overtaken by at most this many pages (or after
 * the last one): its copy is then short, and the commit that waits for it waits mostly for the syncs.
 */
const FINISH_PAGES = 100;
/**
 * How long that FULL checkpoint waits for a commit in progress to end (a commit takes well under a
 * millisecond); past it, it copies what it can as a PASSIVE one would.
 */
const FINISH_WAIT_MILLISECONDS = 20;

/** Size and modification time of the log, or undefined when there is none. */
function walState() {
  try {
    const { size, mtimeMs } = statSync(`${path}-wal`);
    return { size, mtimeMs };
  } catch {
    return undefined;
  }
}

// The log file keeps its size once it has grown (SQLite writes it again from its start after a full
// checkpoint), so its size alone would call for a checkpoint every round: a round runs only when the log
// was written since the last one.
let lastWrite = -1;
/** When a round first saw the log written since the last checkpoint (undefined: not since then). */
let pendingSince;

/**
 * A PASSIVE checkpoint, then more to catch up with the commits made meanwhile, and a FULL one to finish.
 * A checkpoint's `log` is the log's length when it began: a longer one next means commits landed during
 * the one before, the same one that none did (the next commit restarts the log), a shorter one that the
 * log has restarted already. A busy first checkpoint (`log` -1) leaves the log to a later round.
 */
function checkpoint() {
  let [result] = database.pragma("wal_checkpoint(PASSIVE)");
  if (!result || result.log <= 0) return result;
  for (let attempt = 0; attempt < CATCH_UP_CHECKPOINTS; attempt++) {
    const [next] = database.pragma("wal_checkpoint(PASSIVE)");
    // Busy: the FULL checkpoint waits for the writer where a PASSIVE one gives up.
    if (!next || next.log < 0) break;
    if (next.log <= result.log) return next;
    const added = next.log - result.log;
    result = next;
    if (added <= FINISH_PAGES) break;
  }
  return finish() ?? result;
}

/** A FULL checkpoint, or undefined if it found the files busy. */
function finish() {
  database.pragma(`busy_timeout = ${FINISH_WAIT_MILLISECONDS}`);
  try {
    const [result] = database.pragma("wal_checkpoint(FULL)");
    return result && result.log >= 0 ? result : undefined;
  } finally {
    database.pragma("busy_timeout = 0");
  }
}

function round() {
  const wal = walState();
  if (!wal || wal.size < thresholdBytes || wal.mtimeMs === lastWrite) return;
  const now = Date.now();
  pendingSince ??= now;
  const quiet = now - wal.mtimeMs >= quietMs;
  if (!quiet && now - pendingSince < maxDelayMs) return;
  lastWrite = wal.mtimeMs;
  pendingSince = undefined;
  try {
    const result = checkpoint();
    parentPort?.postMessage({
      type: "checkpointed",
      frames: result?.checkpointed ?? 0,
      log: result?.log ?? 0,
      quiet,
    });
  } catch (error) {
    // SQLITE_BUSY and the like: the next round tries again; anything else is said once to the parent.
    lastWrite = -1;
    parentPort?.postMessage({ type: "failed", message: String(error?.message ?? error) });
  }
}

const timer = setInterval(round, intervalMs);
parentPort?.on("message", (message) => {
  if (message === "close") {
    clearInterval(timer);
    database.close();
    parentPort?.close();
  }
});
parentPort?.postMessage({ type: "ready" });
