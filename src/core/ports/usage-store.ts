import type { Platform } from "../types.js";

/** A Slack team, a Discord guild or the local terminal: the widest scope usage and limits are kept in. */
export interface WorkspaceRef {
  platform: Platform;
  workspaceId: string;
}

/** Whose usage a figure or a limit is about. */
export type UsageSubjectKind = "workspace" | "channel" | "user";

/**
 * One subject inside a workspace: the workspace itself (`id` empty), one channel (`id` the channel
 * id) or one person (`id` the user id). A limit on `user` with an empty id applies to each person.
 */
export interface UsageSubject {
  kind: UsageSubjectKind;
  id: string;
}

/** What LLM calls used: tokens as the endpoint reported them and the estimated cost. */
export interface UsageAmount {
  promptTokens: number;
  completionTokens: number;
  /**
   * Estimated cost in billionths of a US dollar. Integers keep every increment exact and atomic on
   * both stores (Redis `HINCRBY`, SQLite integer columns); a float would drift after many small calls.
   */
  costNanoUsd: number;
  /** How many LLM calls. */
  calls: number;
}

export const NO_USAGE: UsageAmount = { promptTokens: 0, completionTokens: 0, costNanoUsd: 0, calls: 0 };

/**
 * A period a figure is counted in, named by core (`day:2025-01-31`, `month:2025-01`, UTC). The store
 * only adds to buckets and reads them back; calendars and resets belong to core.
 */
export interface UsageBucket {
  name: string;
  /** How long the store must keep it; the Redis store expires it afterwards, SQLite keeps it. */
  keepSeconds: number;
}

export type QuotaPeriod = "day" | "month";
export type QuotaUnit = "tokens" | "cost";

/** A limit an admin set with `config quota`. */
export interface Quota {
  /** `{ kind: "user", id: "" }`: every person of the workspace, each on their own. */
  subject: UsageSubject;
  period: QuotaPeriod;
  unit: QuotaUnit;
  /** Tokens (prompt + completion), or nano-USD for a cost limit. */
  limit: number;
  setBy: string;
  at: number;
}

/**
 * Usage counts per workspace, channel and user in per-period buckets, the limits admins set, and the
 * channel that gets operational alerts (it lives here because it is the workspace's operations record,
 * read by the same code that warns about limits).
 *
 * Implementations: SQLite (embedded default) and Redis (`REDIS_URL`, shared by every bot and worker
 * process); both pass `test/contracts/usage-store.contract.ts`. Every key includes platform +
 * workspace: nothing crosses workspaces.
 */
export interface UsageStore {
  /**
   * Adds `amount` to each subject in each bucket, all or nothing: concurrent calls from any number of
   * processes never lose an increment.
   */
  add(
    workspace: WorkspaceRef,
    subjects: UsageSubject[],
    buckets: UsageBucket[],
    amount: UsageAmount,
  ): Promise<void>;
  /** One subject's totals in each bucket, in the order asked (`NO_USAGE` for a bucket never written). */
  read(workspace: WorkspaceRef, subject: UsageSubject, bucketNames: string[]): Promise<UsageAmount[]>;

  /** Sets a limit, replacing the subject's limit for the same period (whatever its unit). */
  setQuota(workspace: WorkspaceRef, quota: Quota): Promise<void>;
  /** Removes the subject's limits for the period, or for every period; returns how many were removed. */
  removeQuota(workspace: WorkspaceRef, subject: UsageSubject, period?: QuotaPeriod): Promise<number>;
  /** Every limit set in a workspace, ordered by subject kind, subject id, then period. */
  listQuotas(workspace: WorkspaceRef): Promise<Quota[]>;

  /** The channel where alerts for this workspace go, if an admin chose one. */
  getAlertChannel(workspace: WorkspaceRef): Promise<string | undefined>;
  /** `undefined` turns alerts off. */
  setAlertChannel(workspace: WorkspaceRef, channelId: string | undefined): Promise<void>;

  close(): Promise<void>;
}
