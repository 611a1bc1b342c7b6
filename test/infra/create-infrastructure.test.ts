/**
 * The deployment decision, taken once: embedded (one SQLite file, in-process jobs) or scaled (Redis
 * for memory, queue and approvals; Qdrant for the index), against real Redis and the Qdrant stand-in.
 */
import { randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { BullMqJobQueue } from "../../src/adapters/bullmq/bullmq-job-queue.js";
import { InProcessJobQueue } from "../../src/adapters/in-process/in-process-job-queue.js";
import { RedisFineTuneStore } from "../../src/adapters/redis/redis-fine-tune-store.js";
import { RedisMemoryStore } from "../../src/adapters/redis/redis-memory-store.js";
import { RedisSourceStore } from "../../src/adapters/redis/redis-source-store.js";
import { RedisUsageStore } from "../../src/adapters/redis/redis-usage-store.js";
import { loadConfig } from "../../src/config.js";
import { silentLogger } from "../../src/core/ports/logger.js";
import { createInfrastructure, type Infrastructure } from "../../src/infrastructure.js";
import { obliterateQueue, REDIS_URL } from "../support/bullmq-test-queue.js";
import { type QdrantStandIn, startQdrantStandIn } from "../support/qdrant-stand-in.js";

describe("createInfrastructure", () => {
  let qdrant: QdrantStandIn;
  let dataDirectory: string;
  const opened: Infrastructure[] = [];

  beforeAll(async () => {
    qdrant = await startQdrantStandIn();
  });

  afterEach(async () => {
    for (const infrastructure of opened.splice(0)) await infrastructure.close();
    rmSync(dataDirectory, { recursive: true, force: true });
  });

  afterAll(async () => {
    await qdrant?.close();
  });

  const start = async (environment: Record<string, string>, role: "bot" | "worker" | "chat") => {
    dataDirectory = mkdtempSync(join(tmpdir(), "teammate-infrastructure-"));
    const infrastructure = await createInfrastructure(
      loadConfig({ DATA_DIR: dataDirectory, ...environment }),
      silentLogger,
      { role },
    );
    opened.push(infrastructure);
    return infrastructure;
  };

  it("embedded: one SQLite file holds everything, and the bot runs its own jobs in-process", async () => {
    const infrastructure = await start({}, "bot");
    expect(existsSync(join(dataDirectory, "teammate.sqlite"))).toBe(true);
    expect(infrastructure.shared).toBe(false);
    expect(infrastructure.runsJobs).toBe(true);
    expect(infrastructure.redis).toBeUndefined();
    expect(infrastructure.vectorStoreName).toBe("sqlite");
    const queue = infrastructure.createJobQueue({
      logger: silentLogger,
      runWorkers: infrastructure.runsJobs,
    });
    expect(queue).toBeInstanceOf(InProcessJobQueue);
    await queue.close();
    // Every store answers from the same file.
    expect(await infrastructure.memory.claimEvent(`probe-${randomUUID()}`, 60)).toBe(true);
    expect(await infrastructure.sources.listSources({ platform: "local", workspaceId: "local" })).toEqual([]);
  });

  it("scaled: Redis and Qdrant, no SQLite file, every store on Redis; only the worker role runs jobs", async () => {
    const queuePrefix = `infra-${randomUUID().slice(0, 8)}`;
    const environment = {
      REDIS_URL,
      QUEUE_PREFIX: queuePrefix,
      QDRANT_URL: qdrant.url,
      QDRANT_COLLECTION: `infra_${randomUUID().replaceAll("-", "")}`,
    };
    const bot = await start(environment, "bot");
    expect(existsSync(join(dataDirectory, "teammate.sqlite"))).toBe(false);
    expect(bot.shared).toBe(true);
    expect(bot.runsJobs).toBe(false);
    expect(bot.vectorStoreName).toBe("qdrant");
    expect(qdrant.requestsTo("create_collection")).not.toHaveLength(0);
    expect(bot.memory).toBeInstanceOf(RedisMemoryStore);
    expect(bot.usage).toBeInstanceOf(RedisUsageStore);
    expect(bot.sources).toBeInstanceOf(RedisSourceStore);
    expect(bot.fineTunes).toBeInstanceOf(RedisFineTuneStore);
    const key = `probe-${randomUUID()}`;
    expect(await bot.memory.claimEvent(key, 60)).toBe(true);
    expect(await bot.memory.claimEvent(key, 60)).toBe(false);
    expect(bot.redis?.status).toBe("ready");
    const queue = bot.createJobQueue({ logger: silentLogger, runWorkers: bot.runsJobs });
    expect(queue).toBeInstanceOf(BullMqJobQueue);
    await queue.close();
    await obliterateQueue({ queueName: "teammate", prefix: queuePrefix });

    const worker = await createInfrastructure(
      loadConfig({ DATA_DIR: dataDirectory, ...environment }),
      silentLogger,
      { role: "worker" },
    );
    opened.push(worker);
    expect(worker.runsJobs).toBe(true);
    expect(existsSync(join(dataDirectory, "teammate.sqlite"))).toBe(false);
  });
});
