import type { Database } from "better-sqlite3";
import { AppError } from "../../core/errors.js";
import {
  NO_USAGE,
  type Quota,
  type QuotaPeriod,
  type QuotaUnit,
  type UsageAmount,
  type UsageBucket,
  type UsageStore,
  type UsageSubject,
  type UsageSubjectKind,
  type WorkspaceRef,
} from "../../core/ports/usage-store.js";
import { migrateSqliteSchema, type SqliteMigration } from "./migrate-sqlite-schema.js";

const MIGRATIONS: readonly SqliteMigration[] = [
  (database) => {
    database.exec(`
      CREATE TABLE IF NOT EXISTS usage_buckets (
        platform TEXT NOT NULL,
        workspace_id TEXT NOT NULL,
        subject_kind TEXT NOT NULL,
        subject_id TEXT NOT NULL,
        bucket TEXT NOT NULL,
        prompt_tokens INTEGER NOT NULL DEFAULT 0,
        completion_tokens INTEGER NOT NULL DEFAULT 0,
        cost_nano_usd INTEGER NOT NULL DEFAULT 0,
        calls INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (platform, workspace_id, subject_kind, subject_id, bucket)
      ) STRICT, WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS usage_quotas (
        platform TEXT NOT NULL,
        workspace_id TEXT NOT NULL,
        subject_kind TEXT NOT NULL,
        subject_id TEXT NOT NULL,
        period TEXT NOT NULL CHECK (period IN ('day', 'month')),
        unit TEXT NOT NULL CHECK (unit IN ('tokens', 'cost')),
        amount INTEGER NOT NULL,
        set_by TEXT NOT NULL,
        at REAL NOT NULL,
        PRIMARY KEY (platform, workspace_id, subject_kind, subject_id, period)
      ) STRICT;
      CREATE TABLE IF NOT EXISTS usage_alert_channels (
        platform TEXT NOT NULL,
        workspace_id TEXT NOT NULL,
        channel_id TEXT NOT NULL,
        PRIMARY KEY (platform, workspace_id)
      ) STRICT;
    `);
  },
];

type WorkspaceKey = [platform: string, workspaceId: string];
type SubjectKey = [...WorkspaceKey, kind: string, id: string];

interface BucketRow {
  bucket: string;
  prompt_tokens: number;
  completion_tokens: number;
  cost_nano_usd: number;
  calls: number;
}

interface QuotaRow {
  subject_kind: UsageSubjectKind;
  subject_id: string;
  period: QuotaPeriod;
  unit: QuotaUnit;
  amount: number;
  set_by: string;
  at: number;
}

const WORKSPACE_WHERE = "platform = ? AND workspace_id = ?";
const SUBJECT_WHERE = `${WORKSPACE_WHERE} AND subject_kind = ? AND subject_id = ?`;

function workspaceKey(workspace: WorkspaceRef): WorkspaceKey {
  return [workspace.platform, workspace.workspaceId];
}

function subjectKey(workspace: WorkspaceRef, subject: UsageSubject): SubjectKey {
  return [...workspaceKey(workspace), subject.kind, subject.id];
}

/**
 * The UsageStore in the embedded SQLite file. One row per subject and bucket, incremented with an
 * UPSERT; the buckets of one call are written in one transaction, so a crash never counts a call in
 * the day but not in the month. Several processes on one file are serialized by SQLite's write lock.
 */
export class SqliteUsageStore implements UsageStore {
  readonly #database: Database;
  readonly #statements;

  constructor(database: Database) {
    this.#database = database;
    try {
      migrateSqliteSchema(database, "usage", MIGRATIONS);
      this.#statements = this.#prepare();
    } catch (error) {
      throw translateError("prepare the usage tables", error);
    }
  }

  #prepare() {
    const database = this.#database;
    return {
      add: database.prepare<[...SubjectKey, string, number, number, number, number]>(
        `INSERT INTO usage_buckets (platform, workspace_id, subject_kind, subject_id, bucket, prompt_tokens, completion_tokens, cost_nano_usd, calls)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (platform, workspace_id, subject_kind, subject_id, bucket) DO UPDATE SET
           prompt_tokens = prompt_tokens + excluded.prompt_tokens,
           completion_tokens = completion_tokens + excluded.completion_tokens,
           cost_nano_usd = cost_nano_usd + excluded.cost_nano_usd,
           calls = calls + excluded.calls`,
      ),
      // The bucket names come as one JSON array, so one prepared statement serves any number of them.
      read: database.prepare<[...SubjectKey, string], BucketRow>(
        `SELECT bucket, prompt_tokens, completion_tokens, cost_nano_usd, calls FROM usage_buckets
         WHERE ${SUBJECT_WHERE} AND bucket IN (SELECT value FROM json_each(?))`,
      ),
      setQuota: database.prepare<[...SubjectKey, string, string, number, string, number]>(
        `INSERT INTO usage_quotas (platform, workspace_id, subject_kind, subject_id, period, unit, amount, set_by, at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (platform, workspace_id, subject_kind, subject_id, period) DO UPDATE SET
           unit = excluded.unit, amount = excluded.amount, set_by = excluded.set_by, at = excluded.at`,
      ),
      removeQuota: database.prepare<SubjectKey>(`DELETE FROM usage_quotas WHERE ${SUBJECT_WHERE}`),
      removeQuotaForPeriod: database.prepare<[...SubjectKey, string]>(
        `DELETE FROM usage_quotas WHERE ${SUBJECT_WHERE} AND period = ?`,
      ),
      listQuotas: database.prepare<WorkspaceKey, QuotaRow>(
        `SELECT subject_kind, subject_id, period, unit, amount, set_by, at FROM usage_quotas
         WHERE ${WORKSPACE_WHERE} ORDER BY subject_kind, subject_id, period`,
      ),
      getAlertChannel: database.prepare<WorkspaceKey, { channel_id: string }>(
        `SELECT channel_id FROM usage_alert_channels WHERE ${WORKSPACE_WHERE}`,
      ),
      setAlertChannel: database.prepare<[...WorkspaceKey, string]>(
        `INSERT INTO usage_alert_channels (platform, workspace_id, channel_id) VALUES (?, ?, ?)
         ON CONFLICT (platform, workspace_id) DO UPDATE SET channel_id = excluded.channel_id`,
      ),
      removeAlertChannel: database.prepare<WorkspaceKey>(
        `DELETE FROM usage_alert_channels WHERE ${WORKSPACE_WHERE}`,
      ),
    };
  }

  async add(
    workspace: WorkspaceRef,
    subjects: UsageSubject[],
    buckets: UsageBucket[],
    amount: UsageAmount,
  ): Promise<void> {
    this.#run("record usage", () =>
      this.#database.transaction(() => {
        for (const subject of subjects) {
          for (const bucket of buckets) {
            this.#statements.add.run(
              ...subjectKey(workspace, subject),
              bucket.name,
              amount.promptTokens,
              amount.completionTokens,
              amount.costNanoUsd,
              amount.calls,
            );
          }
        }
      })(),
    );
  }

  async read(workspace: WorkspaceRef, subject: UsageSubject, bucketNames: string[]): Promise<UsageAmount[]> {
    return this.#run("read usage", () => {
      const rows = new Map<string, UsageAmount>();
      for (const row of this.#statements.read.all(
        ...subjectKey(workspace, subject),
        JSON.stringify(bucketNames),
      )) {
        rows.set(row.bucket, {
          promptTokens: row.prompt_tokens,
          completionTokens: row.completion_tokens,
          costNanoUsd: row.cost_nano_usd,
          calls: row.calls,
        });
      }
      return bucketNames.map((name) => rows.get(name) ?? { ...NO_USAGE });
    });
  }

  async setQuota(workspace: WorkspaceRef, quota: Quota): Promise<void> {
    this.#run("set a quota", () =>
      this.#statements.setQuota.run(
        ...subjectKey(workspace, quota.subject),
        quota.period,
        quota.unit,
        quota.limit,
        quota.setBy,
        quota.at,
      ),
    );
  }

  async removeQuota(workspace: WorkspaceRef, subject: UsageSubject, period?: QuotaPeriod): Promise<number> {
    return this.#run("remove a quota", () => {
      const key = subjectKey(workspace, subject);
      const result =
        period === undefined
          ? this.#statements.removeQuota.run(...key)
          : this.#statements.removeQuotaForPeriod.run(...key, period);
      return result.changes;
    });
  }

  async listQuotas(workspace: WorkspaceRef): Promise<Quota[]> {
    return this.#run("list quotas", () =>
      this.#statements.listQuotas.all(...workspaceKey(workspace)).map((row) => ({
        subject: { kind: row.subject_kind, id: row.subject_id },
        period: row.period,
        unit: row.unit,
        limit: row.amount,
        setBy: row.set_by,
        at: row.at,
      })),
    );
  }

  async getAlertChannel(workspace: WorkspaceRef): Promise<string | undefined> {
    return this.#run(
      "read the alert channel",
      () => this.#statements.getAlertChannel.get(...workspaceKey(workspace))?.channel_id,
    );
  }

  async setAlertChannel(workspace: WorkspaceRef, channelId: string | undefined): Promise<void> {
    this.#run("set the alert channel", () => {
      if (channelId === undefined) this.#statements.removeAlertChannel.run(...workspaceKey(workspace));
      else this.#statements.setAlertChannel.run(...workspaceKey(workspace), channelId);
    });
  }

  async close(): Promise<void> {
    // The database belongs to the composition root, which closes it after every store is done.
  }

  #run<Result>(operation: string, work: () => Result): Result {
    try {
      return work();
    } catch (error) {
      throw translateError(operation, error);
    }
  }
}

function translateError(operation: string, error: unknown): AppError {
  if (error instanceof AppError) return error;
  const code = typeof error === "object" && error !== null && "code" in error ? String(error.code) : "";
  return new AppError(
    "store_unavailable",
    `SQLite usage store could not ${operation}${code ? ` (${code})` : ""}`,
    {
      cause: error,
      retryable: code.startsWith("SQLITE_BUSY"),
      userMessage: "My usage records are not available right now.",
    },
  );
}
