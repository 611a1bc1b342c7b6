/**
 * A worker process for the crash and shutdown tests: BullMQ workers running `ingest-documents` with
 * the real loader, KnowledgeBase, SQLite index and Slack notifier, configured through the
 * environment. `INGEST_DELAY_MS` slows each document down so a test can kill the process mid-job.
 */
import { BullMqJobQueue } from "../../src/adapters/bullmq/bullmq-job-queue.js";
import { createDocumentLoader } from "../../src/adapters/documents/create-document-loader.js";
import { SlackNotifier } from "../../src/adapters/notifiers/slack-notifier.js";
import { openSqliteDatabase } from "../../src/adapters/sqlite/open-sqlite-database.js";
import { SqliteVectorStore } from "../../src/adapters/sqlite/sqlite-vector-store.js";
import { registerIngestJobs } from "../../src/core/jobs/ingest-documents-job.js";
import { KnowledgeBase } from "../../src/core/knowledge/knowledge-base.js";
import type { DocumentLoader } from "../../src/core/ports/document-loader.js";
import { silentLogger } from "../../src/core/ports/logger.js";

const environment = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};

const delayMs = Number(process.env.INGEST_DELAY_MS ?? 0);
const database = openSqliteDatabase(environment("INGEST_DATABASE"));
const vectors = new SqliteVectorStore(database);
const realLoader = createDocumentLoader({ baseDirectory: environment("INGEST_DOCUMENTS") });
const loader: DocumentLoader = {
  async load(reference, signal) {
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    return realLoader.load(reference, signal);
  },
};
// Warnings (stalls, lock trouble) go to the test's stderr, where a failing run can be read.
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
  // Shorter locks than the 30 s default so a killed worker's job comes back within seconds; not much
  // shorter, or a busy shared test machine starves lock renewal and live jobs look stalled too.
  lockDurationMs: 6_000,
  stalledIntervalMs: 2_000,
});
registerIngestJobs(queue, {
  knowledge: new KnowledgeBase({ store: vectors, loader, logger: silentLogger }),
  notifier: new SlackNotifier({
    botToken: environment("SLACK_BOT_TOKEN"),
    apiUrl: environment("SLACK_API_URL"),
  }),
  logger: silentLogger,
});
queue.start();
process.stdout.write("ready\n");

process.on("SIGTERM", () => {
  queue.close().then(
    () => {
      database.close();
      process.stdout.write("closed\n");
      process.exit(0);
    },
    () => process.exit(1),
  );
});
