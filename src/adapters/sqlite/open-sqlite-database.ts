import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { AppError } from "../../core/errors.js";

/** How long a writer waits for another connection's lock before SQLite reports SQLITE_BUSY. */
const BUSY_TIMEOUT_MILLISECONDS = 5_000;
const PAGE_CACHE_KIBIBYTES = 32 * 1024;

/**
 * Opens the embedded SQLite file that the memory store (`memory_*` tables) and the knowledge index
 * (`knowledge_*` tables) share. Creates the parent directory, turns on WAL (readers never block the
 * writer, and a bot and a worker process can share the file), a busy timeout and foreign keys.
 * `:memory:` gives a private in-memory database, for tests.
 */
export function openSqliteDatabase(path: string): Database.Database {
  const inMemory = path === ":memory:" || path === "";
  try {
    if (!inMemory) mkdirSync(dirname(path), { recursive: true });
    const database = new Database(path);
    if (!inMemory) database.pragma("journal_mode = WAL");
    // NORMAL is durable across application crashes in WAL mode; only an OS crash can lose the last commits.
    database.pragma("synchronous = NORMAL");
    database.pragma(`busy_timeout = ${BUSY_TIMEOUT_MILLISECONDS}`);
    // A page cache of 32 MiB instead of SQLite's 2 MiB: an answer reads its ~20 candidate chunks at
    // random places in a file of hundreds of MB, and each page missed is a read() on the message path.
    database.pragma(`cache_size = ${-PAGE_CACHE_KIBIBYTES}`);
    database.pragma("foreign_keys = ON");
    // One blob read now, before any hot code is optimized. better-sqlite3 hands blobs over as Buffers
    // made in native code, which gives a Uint8Array the Buffer prototype: the process's first such
    // change of prototype makes V8 drop every optimized function that assumed Uint8Array's shape
    // stable (the tokenizer's and analyzer's table look-ups). Left to the first segment seal of an
    // ingest, it throws away seven hot functions mid-ingest, to be compiled again.
    database.prepare("SELECT x'00'").pluck().get();
    return database;
  } catch (error) {
    // The file system's own words (EACCES, ENOTDIR, EROFS, SQLITE_CANTOPEN…), so the one start-up
    // line names the real cause, and the setting to change.
    const code = typeof error === "object" && error !== null && "code" in error ? String(error.code) : "";
    const reason = error instanceof Error ? error.message : String(error);
    const why = code && !reason.includes(code) ? `${code}: ${reason}` : reason;
    throw new AppError(
      "store_unavailable",
      `Could not open the SQLite database at ${path} (${why}): make DATA_DIR a directory teammate can write to.`,
      { cause: error, userMessage: "My storage is not available right now." },
    );
  }
}
