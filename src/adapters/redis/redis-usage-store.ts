import type { Redis } from "ioredis";
import { AppError } from "../../core/errors.js";
import type {
  Quota,
  QuotaPeriod,
  UsageAmount,
  UsageBucket,
  UsageStore,
  UsageSubject,
  WorkspaceRef,
} from "../../core/ports/usage-store.js";

export interface RedisUsageStoreOptions {
  client: Redis;
  /** Put in front of every key; `teammate:` unless given (the deployment's prefix; tests pass a unique one). */
  keyPrefix?: string | undefined;
}

const PERIODS: readonly QuotaPeriod[] = ["day", "month"];

/** `%` and `:` are the only characters with a meaning in a key, so joined parts can never collide. */
function escapeKeyPart(part: string): string {
  return part.replaceAll("%", "%25").replaceAll(":", "%3A");
}

const FIELDS = ["prompt", "completion", "cost", "calls"] as const;

/**
 * The UsageStore shared by every bot and worker process on `REDIS_URL`. Each subject and bucket is a
 * hash of four counters; one call's increments go in one MULTI/EXEC transaction, so they land together
 * and concurrent writers from any process never lose one (`HINCRBY` is atomic). Buckets expire after
 * their keep time; limits and the alert channel are kept until changed.
 */
export class RedisUsageStore implements UsageStore {
  readonly #client: Redis;
  readonly #prefix: string;

  constructor(options: RedisUsageStoreOptions) {
    this.#client = options.client;
    this.#prefix = options.keyPrefix ?? "teammate:";
  }

  #workspaceKey(workspace: WorkspaceRef, kind: string): string {
    return `${this.#prefix}${kind}:${escapeKeyPart(workspace.platform)}:${escapeKeyPart(workspace.workspaceId)}`;
  }

  #bucketKey(workspace: WorkspaceRef, subject: UsageSubject, bucket: string): string {
    const parts = [subject.kind, subject.id, bucket].map(escapeKeyPart).join(":");
    return `${this.#workspaceKey(workspace, "usage")}:${parts}`;
  }

  #quotaField(subject: UsageSubject, period: QuotaPeriod): string {
    return [subject.kind, subject.id, period].map(escapeKeyPart).join(":");
  }

  async add(
    workspace: WorkspaceRef,
    subjects: UsageSubject[],
    buckets: UsageBucket[],
    amount: UsageAmount,
  ): Promise<void> {
    await this.#run("record usage", async () => {
      const transaction = this.#client.multi();
      for (const subject of subjects) {
        for (const bucket of buckets) {
          const key = this.#bucketKey(workspace, subject, bucket.name);
          transaction
            .hincrby(key, "prompt", amount.promptTokens)
            .hincrby(key, "completion", amount.completionTokens)
            .hincrby(key, "cost", amount.costNanoUsd)
            .hincrby(key, "calls", amount.calls)
            .expire(key, bucket.keepSeconds);
        }
      }
      const results = await transaction.exec();
      const failed = results?.find(([error]) => error !== null)?.[0];
      if (results === null || failed) throw failed ?? new Error("usage transaction was discarded");
    });
  }

  async read(workspace: WorkspaceRef, subject: UsageSubject, bucketNames: string[]): Promise<UsageAmount[]> {
    return this.#run("read usage", async () => {
      if (bucketNames.length === 0) return [];
      const pipeline = this.#client.pipeline();
      for (const name of bucketNames) pipeline.hmget(this.#bucketKey(workspace, subject, name), ...FIELDS);
      const results = (await pipeline.exec()) ?? [];
      return bucketNames.map((_, index) => {
        const [error, values] = results[index] ?? [new Error("missing reply"), null];
        if (error) throw error;
        const [prompt, completion, cost, calls] = (values as Array<string | null>).map((value) =>
          value === null ? 0 : Number(value),
        );
        return {
          promptTokens: prompt ?? 0,
          completionTokens: completion ?? 0,
          costNanoUsd: cost ?? 0,
          calls: calls ?? 0,
        };
      });
    });
  }

  async setQuota(workspace: WorkspaceRef, quota: Quota): Promise<void> {
    await this.#run("set a quota", () =>
      this.#client.hset(
        this.#workspaceKey(workspace, "usage-quotas"),
        this.#quotaField(quota.subject, quota.period),
        JSON.stringify(quota),
      ),
    );
  }

  async removeQuota(workspace: WorkspaceRef, subject: UsageSubject, period?: QuotaPeriod): Promise<number> {
    return this.#run("remove a quota", () =>
      this.#client.hdel(
        this.#workspaceKey(workspace, "usage-quotas"),
        ...(period === undefined ? PERIODS : [period]).map((each) => this.#quotaField(subject, each)),
      ),
    );
  }

  async listQuotas(workspace: WorkspaceRef): Promise<Quota[]> {
    return this.#run("list quotas", async () => {
      const stored = await this.#client.hvals(this.#workspaceKey(workspace, "usage-quotas"));
      return stored
        .map((json) => JSON.parse(json) as Quota)
        .sort(
          (left, right) =>
            compare(left.subject.kind, right.subject.kind) ||
            compare(left.subject.id, right.subject.id) ||
            compare(left.period, right.period),
        );
    });
  }

  async getAlertChannel(workspace: WorkspaceRef): Promise<string | undefined> {
    return this.#run(
      "read the alert channel",
      async () => (await this.#client.get(this.#workspaceKey(workspace, "alert-channel"))) ?? undefined,
    );
  }

  async setAlertChannel(workspace: WorkspaceRef, channelId: string | undefined): Promise<void> {
    await this.#run("set the alert channel", async () => {
      const key = this.#workspaceKey(workspace, "alert-channel");
      if (channelId === undefined) await this.#client.del(key);
      else await this.#client.set(key, channelId);
    });
  }

  async close(): Promise<void> {
    // The connection is shared with the memory store; the composition root closes it.
  }

  async #run<Result>(operation: string, work: () => Promise<Result>): Promise<Result> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof AppError) throw error;
      const reason = error instanceof Error ? error.message : String(error);
      throw new AppError("store_unavailable", `Redis usage store could not ${operation}: ${reason}`, {
        cause: error,
        retryable: !(error instanceof Error && error.name === "ReplyError"),
        userMessage: "My usage records are not available right now.",
      });
    }
  }
}

// Code-point order, the same as SQLite's default BINARY collation, so both stores list alike.
function compare(left: string, right: string): number {
  return left < right ? -1 : left > right ? 1 : 0;
}
