import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BullMqJobQueue } from "../../src/adapters/bullmq/bullmq-job-queue.js";
import { createSafeHttpFetcher } from "../../src/adapters/http/safe-http-fetcher.js";
import { SlackNotifier } from "../../src/adapters/notifiers/slack-notifier.js";
import { RedisSourceStore } from "../../src/adapters/redis/redis-source-store.js";
import { openSqliteDatabase } from "../../src/adapters/sqlite/open-sqlite-database.js";
import { SqliteVectorStore } from "../../src/adapters/sqlite/sqlite-vector-store.js";
import { WebsiteSourceConnector } from "../../src/adapters/website/website-source-connector.js";
import { KnowledgeBase } from "../../src/core/knowledge/knowledge-base.js";
import { silentLogger } from "../../src/core/ports/logger.js";
import { SourceService } from "../../src/core/sources/source-service.js";
import { SYNC_SOURCE } from "../../src/core/sources/sync-source-job.js";
import { waitFor } from "../contracts/job-queue.contract.js";
import { obliterateQueue, REDIS_URL, uniqueQueueNames } from "../support/bullmq-test-queue.js";
import { type SlackStandIn, startSlackStandIn } from "../support/slack-stand-in.js";
import { page, startWebsiteStandIn, type WebsiteStandIn } from "../support/website-stand-in.js";

const BOT_TOKEN = "xoxb-sync-crash-7171-token";
const PAGES = 40;
const channel = { platform: "slack" as const, workspaceId: "T717", channelId: "C717" };

/**
 * A sync of a 40-page site on a real worker process, killed with SIGKILL half-way; BullMQ hands the
 * stalled job to a second worker, which finishes it. Every page ends up exactly once: no duplicate
 * chunk, no missing page, and the item states match the index.
 */
describe("sync-source on a worker process killed mid-sync", () => {
  const names = uniqueQueueNames();
  const storePrefix = `teammate-test-sync-crash-${randomUUID().slice(0, 8)}:`;
  let slack: SlackStandIn;
  let site: WebsiteStandIn;
  let directory: string;
  let databasePath: string;
  let client: Redis;
  const workers: ChildProcess[] = [];

  function startWorker() {
    const child = spawn(process.execPath, ["--import", "tsx", "test/support/sync-worker-process.ts"], {
      cwd: join(import.meta.dirname, "../.."),
      env: {
        ...process.env,
        REDIS_URL,
        QUEUE_NAME: names.queueName,
        QUEUE_PREFIX: names.prefix,
        STORE_PREFIX: storePrefix,
        SYNC_DATABASE: databasePath,
        SITE_HOST: `127.0.0.1:${site.port}`,
        SLACK_BOT_TOKEN: BOT_TOKEN,
        SLACK_API_URL: slack.apiUrl,
      },
      stdio: ["ignore", "pipe", "inherit"],
    });
    workers.push(child);
    let output = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    return { child, exited, ready: () => waitFor(() => output.includes("ready"), 20_000) };
  }

  beforeAll(async () => {
    slack = await startSlackStandIn({ botToken: BOT_TOKEN });
    site = await startWebsiteStandIn({ pageDelayMs: 40 });
    for (let index = 0; index < PAGES; index += 1) {
      site.pages.set(`/docs/page-${index}`, {
        html: page(`Page ${index}`, `Page ${index} is about topic${index}.`),
      });
    }
    directory = mkdtempSync(join(tmpdir(), "teammate-sync-crash-"));
    databasePath = join(directory, "index.sqlite");
    // The schema exists before two processes open the file.
    const database = openSqliteDatabase(databasePath);
    new SqliteVectorStore(database);
    database.close();
    client = new Redis(REDIS_URL);
  });

  afterAll(async () => {
    for (const worker of workers)
      if (worker.exitCode === null && worker.signalCode === null) worker.kill("SIGKILL");
    await obliterateQueue(names);
    const keys = await client.keys(`${storePrefix}*`);
    if (keys.length > 0) await client.del(...keys);
    await client.quit();
    await slack.close();
    await site.close();
    rmSync(directory, { recursive: true, force: true });
  });

  it("leaves every page exactly once after the second worker finishes the job", async () => {
    const sources = new RedisSourceStore({ client, keyPrefix: storePrefix });
    const producer = new BullMqJobQueue({
      redisUrl: REDIS_URL,
      logger: silentLogger,
      runWorkers: false,
      ...names,
    });
    producer.register(SYNC_SOURCE, async () => {});
    const notifier = new SlackNotifier({ botToken: BOT_TOKEN, apiUrl: slack.apiUrl });
    const service = new SourceService({
      sources,
      connectors: [
        new WebsiteSourceConnector({
          fetcher: createSafeHttpFetcher({ allowedHosts: [`127.0.0.1:${site.port}`] }),
        }),
      ],
      jobs: producer,
      knowledge: new KnowledgeBase({
        store: new SqliteVectorStore(openSqliteDatabase(":memory:")),
        loader: { load: async () => Promise.reject(new Error("not used")) },
        logger: silentLogger,
      }),
      notifier,
      logger: silentLogger,
    });
    const { source } = await service.create(
      { target: `${site.origin}/docs/`, ...channel, userId: "UADMIN", workspaceWide: false, crawl: true },
      undefined,
      channel,
    );
    const status = await service.postStatus(channel, source);
    await service.enqueueSync(source, "crash-test", status);
    await producer.close();

    const first = startWorker();
    await first.ready();
    await waitFor(async () => (await sources.listItems(channel, source.id)).length >= 12, 30_000);
    first.child.kill("SIGKILL");
    await first.exited;
    const recordedAtKill = (await sources.listItems(channel, source.id)).length;
    expect(recordedAtKill).toBeLessThan(PAGES);

    const second = startWorker();
    await second.ready();
    const finalText = () => slack.messages.find((message) => message.ts === status?.messageId)?.text ?? "";
    await waitFor(() => /^✅ Synced/.test(finalText()), 40_000);
    const counts = /(\d+) changed, (\d+) new, (\d+) removed, (\d+) unchanged/.exec(finalText());
    expect(Number(counts?.[2]) + Number(counts?.[4])).toBe(PAGES);
    expect(Number(counts?.[3])).toBe(0);

    const database = openSqliteDatabase(databasePath);
    try {
      const documents = await new SqliteVectorStore(database).listDocuments({ ...channel });
      const urls = documents.map((document) => document.source).sort();
      expect(urls).toHaveLength(PAGES);
      expect(new Set(urls).size).toBe(PAGES);
      for (const document of documents) expect(document.chunkCount).toBe(1);
      const items = await sources.listItems(channel, source.id);
      expect(items.map((item) => item.url).sort()).toEqual(urls);
      expect(new Set(items.map((item) => item.documentId))).toEqual(
        new Set(documents.map((document) => document.documentId)),
      );
    } finally {
      database.close();
    }
  }, 90_000);
});
