// The thread of `startWalCheckpointer` (wal-checkpointer.ts): its own connection to the SQLite file,
// copying the write-ahead log back into the database once it has grown past a threshold, in a quiet
// moment. Plain JavaScript so that it starts the same way under tsx, vitest and the compiled build (it
// needs no TypeScript of ours). A PASSIVE checkpoint never waits for a lock, but it writes and syncs the
// files, and a commit made while it runs waited 4–5 ms for it on a 100k-chunk file: so it runs once the
// log has not been written for `quietMs`, or, under writes that never pause, once the log has waited
// `maxDelayMs`.
import { statSync } from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import Database from "better-sqlite3";

const { path, thresholdBytes, intervalMs, quietMs, maxDelayMs } = workerData;
const database = new Database(path, { fileMustExist: true });
// Another connection may be mid-commit: never wait, the next round tries again.
database.pragma("busy_timeout = 0");

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
    const [result] = database.pragma("wal_checkpoint(PASSIVE)");
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
