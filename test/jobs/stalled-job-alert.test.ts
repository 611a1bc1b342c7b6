import { Worker } from "bullmq";
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { BullMqJobQueue } from "../../src/adapters/bullmq/bullmq-job-queue.js";
import { openSqliteDatabase } from "../../src/adapters/sqlite/open-sqlite-database.js";
import { SqliteFineTuneStore } from "../../src/adapters/sqlite/sqlite-fine-tune-store.js";
import { SqliteMemoryStore } from "../../src/adapters/sqlite/sqlite-memory-store.js";
import { SqliteUsageStore } from "../../src/adapters/sqlite/sqlite-usage-store.js";
import { createStalledJobAlert } from "../../src/core/jobs/stalled-job-alert.js";
import { createAlerter } from "../../src/core/operations/alerts.js";
import { silentLogger } from "../../src/core/ports/logger.js";
import { obliterateQueue, REDIS_URL, uniqueQueueNames } from "../support/bullmq-test-queue.js";
import { waitFor } from "../support/e2e-helpers.js";
import { RecordingNotifier } from "../support/recording-notifier.js";

describe("a stalled worker posts one alert to its workspace's admin channel (BullMQ on real Redis)", () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it("tells the admins which job stalled, once, and the job runs again on a live worker", async () => {
    const names = uniqueQueueNames();
    cleanups.push(() => obliterateQueue(names));
    const database = openSqliteDatabase(":memory:");
    cleanups.push(() => {
      database.close();
    });
    const usage = new SqliteUsageStore(database);
    const memory = new SqliteMemoryStore(database);
    await usage.setAlertChannel({ platform: "slack", workspaceId: "T1" }, "C-OPS");
    const notifier = new RecordingNotifier();
    const alerts = createAlerter({
      channels: usage,
      notifier,
      claimOnce: (key, ttl) => memory.claimEvent(key, ttl),
      logger: silentLogger,
    });
    const queue = new BullMqJobQueue({
      redisUrl: REDIS_URL,
      logger: silentLogger,
      runWorkers: true,
      // Short, so a dead worker's lock runs out within a second or two.
      lockDurationMs: 1_000,
      stalledIntervalMs: 500,
      onJobStalled: createStalledJobAlert({
        alerts,
        fineTuneStore: new SqliteFineTuneStore(database),
        logger: silentLogger,
      }),
      ...names,
    });
    cleanups.push(() => queue.close());
    const ran: string[] = [];
    queue.register("ingest-documents", async (data) => {
      ran.push(String(data.scope.channelId));
    });
    await queue.enqueue(
      "ingest-documents",
      {
        scope: { platform: "slack", workspaceId: "T1", channelId: "C1" },
        references: [{ kind: "url", url: "https://docs.example/a.md" }],
      },
      { jobId: "ingest-stall-1" },
    );

    // A worker takes the job and dies: it never renews its lock.
    const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const dead = new Worker(names.queueName, null, {
      connection,
      prefix: names.prefix,
      lockDuration: 1_000,
      autorun: false,
    });
    cleanups.push(async () => {
      await dead.close(true);
      await connection.quit();
    });
    expect((await dead.getNextJob("dead-worker-token"))?.id).toBe("ingest-stall-1");

    queue.start();
    await waitFor(() => ran.length === 1, "the job to run again on the live worker", 20_000);
    await waitFor(() => notifier.writes.length === 1, "the alert");
    expect(notifier.shown()).toEqual([
      "🧊 A worker stalled on `ingest-documents` (job ingest-stall-1): it stopped checking in, so the job was " +
        "handed back to run again. If this repeats, look at the worker processes (memory, restarts, long blocking work).",
    ]);
    expect(ran).toEqual(["C1"]);
  });
});
