import type { Database } from "better-sqlite3";
import type {
  SourceItemState,
  SourcePatch,
  SourceRecord,
  SourceStore,
} from "../../core/ports/source-store.js";
import type { WorkspaceRef } from "../../core/types.js";
import { migrateSqliteSchema, type SqliteMigration } from "./migrate-sqlite-schema.js";

const MIGRATIONS: readonly SqliteMigration[] = [
  (database) => {
    database.exec(`
      CREATE TABLE sources (
        platform TEXT NOT NULL,
        workspace_id TEXT NOT NULL,
        id TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        scheduled INTEGER NOT NULL,
        record TEXT NOT NULL,
        PRIMARY KEY (platform, workspace_id, id)
      ) STRICT;
      CREATE INDEX sources_scheduled ON sources (scheduled) WHERE scheduled = 1;
      CREATE TABLE source_items (
        platform TEXT NOT NULL,
        workspace_id TEXT NOT NULL,
        source_id TEXT NOT NULL,
        key TEXT NOT NULL,
        record TEXT NOT NULL,
        PRIMARY KEY (platform, workspace_id, source_id, key)
      ) STRICT;
    `);
  },
];

function applyPatch(current: SourceRecord, patch: SourcePatch): SourceRecord {
  const next: Record<string, unknown> = { ...current };
  for (const [field, value] of Object.entries(patch)) {
    if (value === undefined) delete next[field];
    else next[field] = value;
  }
  return next as unknown as SourceRecord;
}

/**
 * Synced sources in the embedded SQLite file (`sources`, `source_items`). A source is one JSON
 * record read and written whole; items are one row each, keyed by source and item key.
 */
export class SqliteSourceStore implements SourceStore {
  private readonly database: Database;

  constructor(database: Database) {
    this.database = database;
    migrateSqliteSchema(database, "sources", MIGRATIONS);
  }

  async saveSource(source: SourceRecord): Promise<void> {
    this.database
      .prepare(
        `INSERT INTO sources (platform, workspace_id, id, created_at, scheduled, record) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (platform, workspace_id, id) DO UPDATE SET scheduled = excluded.scheduled, record = excluded.record`,
      )
      .run(
        source.scope.platform,
        source.scope.workspaceId,
        source.id,
        source.createdAt,
        source.everyMs === undefined ? 0 : 1,
        JSON.stringify(source),
      );
  }

  async getSource(workspace: WorkspaceRef, id: string): Promise<SourceRecord | undefined> {
    return this.read(workspace, id);
  }

  private read(workspace: WorkspaceRef, id: string): SourceRecord | undefined {
    const row = this.database
      .prepare<[string, string, string], { record: string }>(
        "SELECT record FROM sources WHERE platform = ? AND workspace_id = ? AND id = ?",
      )
      .get(workspace.platform, workspace.workspaceId, id);
    return row ? (JSON.parse(row.record) as SourceRecord) : undefined;
  }

  async updateSource(
    workspace: WorkspaceRef,
    id: string,
    patch: SourcePatch,
  ): Promise<SourceRecord | undefined> {
    // Read and write in one IMMEDIATE transaction, so a worker and the bot cannot lose each other's patch.
    const update = this.database.transaction((): SourceRecord | undefined => {
      const current = this.read(workspace, id);
      if (!current) return undefined;
      const next = applyPatch(current, patch);
      this.database
        .prepare(
          "UPDATE sources SET record = ?, scheduled = ? WHERE platform = ? AND workspace_id = ? AND id = ?",
        )
        .run(
          JSON.stringify(next),
          next.everyMs === undefined ? 0 : 1,
          workspace.platform,
          workspace.workspaceId,
          id,
        );
      return next;
    });
    return update.immediate();
  }

  async listSources(workspace: WorkspaceRef): Promise<SourceRecord[]> {
    return this.database
      .prepare<[string, string], { record: string }>(
        "SELECT record FROM sources WHERE platform = ? AND workspace_id = ? ORDER BY created_at, id",
      )
      .all(workspace.platform, workspace.workspaceId)
      .map((row) => JSON.parse(row.record) as SourceRecord);
  }

  async listScheduledSources(): Promise<SourceRecord[]> {
    return this.database
      .prepare<[], { record: string }>(
        "SELECT record FROM sources WHERE scheduled = 1 ORDER BY created_at, id",
      )
      .all()
      .map((row) => JSON.parse(row.record) as SourceRecord);
  }

  async deleteSource(workspace: WorkspaceRef, id: string): Promise<boolean> {
    const remove = this.database.transaction((): boolean => {
      this.database
        .prepare("DELETE FROM source_items WHERE platform = ? AND workspace_id = ? AND source_id = ?")
        .run(workspace.platform, workspace.workspaceId, id);
      return (
        this.database
          .prepare("DELETE FROM sources WHERE platform = ? AND workspace_id = ? AND id = ?")
          .run(workspace.platform, workspace.workspaceId, id).changes > 0
      );
    });
    return remove.immediate();
  }

  async listItems(workspace: WorkspaceRef, sourceId: string): Promise<SourceItemState[]> {
    return this.database
      .prepare<[string, string, string], { record: string }>(
        "SELECT record FROM source_items WHERE platform = ? AND workspace_id = ? AND source_id = ? ORDER BY key",
      )
      .all(workspace.platform, workspace.workspaceId, sourceId)
      .map((row) => JSON.parse(row.record) as SourceItemState);
  }

  async putItem(workspace: WorkspaceRef, sourceId: string, item: SourceItemState): Promise<void> {
    this.database
      .prepare(
        `INSERT INTO source_items (platform, workspace_id, source_id, key, record) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (platform, workspace_id, source_id, key) DO UPDATE SET record = excluded.record`,
      )
      .run(workspace.platform, workspace.workspaceId, sourceId, item.key, JSON.stringify(item));
  }

  async deleteItem(workspace: WorkspaceRef, sourceId: string, key: string): Promise<void> {
    this.database
      .prepare(
        "DELETE FROM source_items WHERE platform = ? AND workspace_id = ? AND source_id = ? AND key = ?",
      )
      .run(workspace.platform, workspace.workspaceId, sourceId, key);
  }

  async close(): Promise<void> {
    // The database belongs to the composition root, which closes it.
  }
}
