import type { Database } from "better-sqlite3";
import { AppError } from "../../core/errors.js";

/** One schema step; `migrations[i]` brings a component from version `i` to version `i + 1`. */
export type SqliteMigration = (database: Database) => void;

/**
 * Brings one component's tables up to date, each step in its own transaction.
 *
 * Versions are kept per component in `schema_versions` rather than in `PRAGMA user_version`: the memory
 * store and the knowledge index share one file, and a single `user_version` would make each component's
 * numbering step on the other's.
 */
export function migrateSqliteSchema(
  database: Database,
  component: string,
  migrations: readonly SqliteMigration[],
): void {
  database.exec(
    "CREATE TABLE IF NOT EXISTS schema_versions (component TEXT PRIMARY KEY, version INTEGER NOT NULL) STRICT",
  );
  const readVersion = database.prepare<[string], { version: number }>(
    "SELECT version FROM schema_versions WHERE component = ?",
  );
  const writeVersion = database.prepare<[string, number]>(
    "INSERT INTO schema_versions (component, version) VALUES (?, ?) ON CONFLICT (component) DO UPDATE SET version = excluded.version",
  );
  // IMMEDIATE takes the write lock before reading the version, so two processes starting together
  // cannot both run the same step.
  const step = database.transaction((): boolean => {
    const current = readVersion.get(component)?.version ?? 0;
    // A newer release moved these tables on (a rollback, or an old worker beside a new bot): its columns
    // are not the ones this release queries, which would fail later, on a message.
    if (current > migrations.length) {
      throw new AppError(
        "store_unavailable",
        `The ${component} tables in this SQLite file are at schema version ${current}, written by a newer teammate; this one knows version ${migrations.length}: run the newer release (every bot and worker process on the file), or a copy of the file from before the upgrade.`,
        { userMessage: "My storage is not available right now." },
      );
    }
    const migration = migrations[current];
    if (migration === undefined) return false;
    migration(database);
    writeVersion.run(component, current + 1);
    return true;
  });
  while (step.immediate()) {
    // Each pass applies one step; the loop ends when the component is current.
  }
}
