/**
 * A worker process for the sync crash test: BullMQ workers running `sync-source` with the website
 * connector, the Redis source store, a SQLite vector index and the Slack notifier, configured through
 * the environment. Short locks, so a killed worker's job comes back within seconds.
 */
import { Redis } from "ioredis";
import { BullMqJobQueue } from "../../src/adapters/bullmq/bullmq-job-queue.js";
import { extractDocument } from "../../src/adapters/extract/extract-document.js";
import { createSafeHttpFetcher } from "../../src/adapters/http/safe-http-fetcher.js";
import { SlackNotifier } from "../../src/adapters/notifiers/slack-notifier.js";
import { RedisSourceStore } from "../../src/adapters/redis/redis-source-store.js";
import { openSqliteDatabase } from "../../src/adapters/sqlite/open-sqlite-database.js";
import { SqliteVectorStore } from "../../src/adapters/sqlite/sqlite-vector-store.js";
import { WebsiteSourceConnector } from "../../src/adapters/website/website-source-connector.js";
import { KnowledgeBase } from "../../src/core/knowledge/knowledge-base.js";
import { silentLogger } from "../../src/core/ports/logger.js";
import { registerSyncJobs } from "../../src/core/sources/sync-source-job.js";

const environment = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};

const database = openSqliteDatabase(environment("SYNC_DATABASE"));
const vectors = new SqliteVectorStore(database);
const client = new Redis(environment("REDIS_URL"));
const stderrLogger = {
  debug() {},
  info() {},
  warn: (...args: unknown[]) => console.error(...args),
  error: (...args: unknown[]) => console.error(...args),
  child: () => stderrLogger,
};
const queue = new BullMqJobQueue({
  redisUrl: environment("REDIS_URL"),
  queueName: environment("QUEUE_NAME"),
  prefix: environment("QUEUE_PREFIX"),
  logger: stderrLogger as never,
  runWorkers: true,
  concurrency: 1,
  lockDurationMs: 6_000,
  stalledIntervalMs: 2_000,
});
registerSyncJobs(queue, {
  sources: new RedisSourceStore({ client, keyPrefix: environment("STORE_PREFIX") }),
  connectors: [
    new WebsiteSourceConnector({
      fetcher: createSafeHttpFetcher({ allowedHosts: [environment("SITE_HOST")] }),
      extract: (raw) => extractDocument(raw),
    }),
  ],
  knowledge: new KnowledgeBase({
    store: vectors,
    loader: { load: async () => Promise.reject(new Error("not used")) },
    logger: silentLogger,
  }),
  notifier: new SlackNotifier({
    botToken: environment("SLACK_BOT_TOKEN"),
    apiUrl: environment("SLACK_API_URL"),
  }),
  logger: silentLogger,
  concurrency: 2,
  backoffMs: 100,
});
queue.start();
process.stdout.write("ready\n");
