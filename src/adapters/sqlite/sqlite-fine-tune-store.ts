import type { Database } from "better-sqlite3";
import type { FineTuneRun, FineTuneRunPatch, FineTuneStore } from "../../core/ports/fine-tune-store.js";
import type { ChannelRef, ConversationRef } from "../../core/types.js";
import { migrateSqliteSchema, type SqliteMigration } from "./migrate-sqlite-schema.js";

const MIGRATIONS: readonly SqliteMigration[] = [
  (database) => {
    database.exec(`
      CREATE TABLE fine_tune_runs (
        id TEXT PRIMARY KEY,
        platform TEXT NOT NULL,
        workspace_id TEXT NOT NULL,
        channel_id TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        record TEXT NOT NULL
      ) STRICT;
      CREATE INDEX fine_tune_runs_by_channel ON fine_tune_runs (platform, workspace_id, channel_id, created_at);
      CREATE TABLE fine_tune_marked_threads (
        platform TEXT NOT NULL,
        workspace_id TEXT NOT NULL,
        channel_id TEXT NOT NULL,
        thread_id TEXT NOT NULL,
        marked_by TEXT NOT NULL,
        marked_at INTEGER NOT NULL,
        PRIMARY KEY (platform, workspace_id, channel_id, thread_id)
      ) STRICT;
    `);
  },
];

/**
 * Fine-tuning runs and curated threads in the embedded SQLite file (`fine_tune_*` tables). A run is
 * one JSON record: it is read and written whole, and only looked up by id or by channel.
 */
export class SqliteFineTuneStore implements FineTuneStore {
  private readonly database: Database;

  constructor(database: Database) {
    this.database = database;
    migrateSqliteSchema(database, "fine-tuning", MIGRATIONS);
  }

  async saveRun(run: FineTuneRun): Promise<void> {
    this.database
      .prepare(
        `INSERT INTO fine_tune_runs (id, platform, workspace_id, channel_id, created_at, record)
         VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET record = excluded.record`,
      )
      .run(
        run.id,
        run.channel.platform,
        run.channel.workspaceId,
        run.channel.channelId,
        run.createdAt,
        JSON.stringify(run),
      );
  }

  async getRun(runId: string): Promise<FineTuneRun | undefined> {
    const row = this.database
      .prepare<[string], { record: string }>("SELECT record FROM fine_tune_runs WHERE id = ?")
      .get(runId);
    return row ? (JSON.parse(row.record) as FineTuneRun) : undefined;
  }

  async updateRun(runId: string, patch: FineTuneRunPatch): Promise<FineTuneRun | undefined> {
    // Read and write in one IMMEDIATE transaction, so a worker and the bot cannot lose each other's patch.
    const update = this.database.transaction((): FineTuneRun | undefined => {
      const row = this.database
        .prepare<[string], { record: string }>("SELECT record FROM fine_tune_runs WHERE id = ?")
        .get(runId);
      if (!row) return undefined;
      const next: FineTuneRun = {
        ...(JSON.parse(row.record) as FineTuneRun),
        ...patch,
        updatedAt: Date.now(),
      };
      this.database
        .prepare("UPDATE fine_tune_runs SET record = ? WHERE id = ?")
        .run(JSON.stringify(next), runId);
      return next;
    });
    return update.immediate();
  }

  async latestRun(channel: ChannelRef): Promise<FineTuneRun | undefined> {
    const row = this.database
      .prepare<[string, string, string], { record: string }>(
        `SELECT record FROM fine_tune_runs WHERE platform = ? AND workspace_id = ? AND channel_id = ?
         ORDER BY created_at DESC, rowid DESC LIMIT 1`,
      )
      .get(channel.platform, channel.workspaceId, channel.channelId);
    return row ? (JSON.parse(row.record) as FineTuneRun) : undefined;
  }

  async markThread(thread: ConversationRef & { threadId: string }, markedBy: string): Promise<void> {
    this.database
      .prepare(
        `INSERT INTO fine_tune_marked_threads (platform, workspace_id, channel_id, thread_id, marked_by, marked_at)
         VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
      )
      .run(thread.platform, thread.workspaceId, thread.channelId, thread.threadId, markedBy, Date.now());
  }

  async listMarkedThreads(channel: ChannelRef): Promise<string[]> {
    return this.database
      .prepare<[string, string, string], { thread_id: string }>(
        `SELECT thread_id FROM fine_tune_marked_threads WHERE platform = ? AND workspace_id = ? AND channel_id = ?
         ORDER BY thread_id`,
      )
      .all(channel.platform, channel.workspaceId, channel.channelId)
      .map((row) => row.thread_id);
  }

  async close(): Promise<void> {
    // The database belongs to the composition root, which closes it.
  }
}
