// The thread of `startWalCheckpointer` (wal-checkpointer.ts): its own connection to the SQLite file,
// copying the write-ahead log back into the database once it has grown past a threshold. Plain
// JavaScript so that it starts the same way under tsx, vitest and the compiled build (it needs no
// TypeScript of ours). A PASSIVE checkpoint never waits for a lock and never blocks a writer.
import { statSync } from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import Database from "better-sqlite3";

const { path, thresholdBytes, intervalMs } = workerData;
const database = new Database(path, { fileMustExist: true });
// Another connection may be mid-commit: never wait, the next round tries again.
database.pragma("busy_timeout = 0");

function walBytes() {
  try {
    return statSync(`${path}-wal`).size;
  } catch {
    return 0;
  }
}

function round() {
  if (walBytes() < thresholdBytes) return;
  try {
    const [result] = database.pragma("wal_checkpoint(PASSIVE)");
    parentPort?.postMessage({
      type: "checkpointed",
      frames: result?.checkpointed ?? 0,
      log: result?.log ?? 0,
    });
  } catch (error) {
    // SQLITE_BUSY and the like: the next round tries again; anything else is said once to the parent.
    parentPort?.postMessage({ type: "failed", message: String(error?.message ?? error) });
  }
}

const timer = setInterval(round, intervalMs);
parentPort?.on("message", (message) => {
  if (message === "checkpoint") round();
  if (message === "close") {
    clearInterval(timer);
    database.close();
    parentPort?.close();
  }
});
parentPort?.postMessage({ type: "ready" });
