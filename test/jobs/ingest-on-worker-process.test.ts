import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BullMqJobQueue } from "../../src/adapters/bullmq/bullmq-job-queue.js";
import { createDocumentLoader } from "../../src/adapters/documents/create-document-loader.js";
import { SlackNotifier } from "../../src/adapters/notifiers/slack-notifier.js";
import { openSqliteDatabase } from "../../src/adapters/sqlite/open-sqlite-database.js";
import { INGEST_DOCUMENTS, registerIngestJobs } from "../../src/core/jobs/ingest-documents-job.js";
import { chunkDocument } from "../../src/core/knowledge/chunker.js";
import { documentIdFor, KnowledgeBase } from "../../src/core/knowledge/knowledge-base.js";
import { jobIdOf } from "../../src/core/ports/job-queue.js";
import { silentLogger } from "../../src/core/ports/logger.js";
import type { DocumentScope } from "../../src/core/ports/vector-store.js";
import { waitFor } from "../contracts/job-queue.contract.js";
import { obliterateQueue, REDIS_URL, uniqueQueueNames, withTestQueue } from "../support/bullmq-test-queue.js";
import { type SlackStandIn, startSlackStandIn } from "../support/slack-stand-in.js";

const BOT_TOKEN = "xoxb-ingest-worker-test";
const WORKER = join(import.meta.dirname, "../support/ingest-worker-process.ts");
const channel = { platform: "slack" as const, workspaceId: "T111", channelId: "C7" };
const scope: DocumentScope = channel;

function documentText(index: number): string {
  // Sizes vary so some documents make one chunk and others several.
  const paragraphs = Array.from({ length: 1 + (index % 7) * 3 }, (_, paragraph) =>
    `Paragraph ${paragraph} of handbook page ${index} explains deployment step ${paragraph} for service ${index % 13}. `.repeat(
      6,
    ),
  );
  return `# Handbook page ${index}\n\n${paragraphs.join("\n\n")}\n`;
}

describe("ingest-documents on a separate worker process (BullMQ on real Redis)", () => {
  let slack: SlackStandIn;
  let directory: string;
  const workers: ChildProcess[] = [];

  function startWorker(names: { queueName: string; prefix: string }, delayMs: number, databasePath: string) {
    // One process (node with tsx's loader), not the tsx wrapper: signals must reach the worker itself.
    const child = spawn(process.execPath, ["--import", "tsx", WORKER], {
      env: {
        ...process.env,
        REDIS_URL,
        QUEUE_NAME: names.queueName,
        QUEUE_PREFIX: names.prefix,
        INGEST_DATABASE: databasePath,
        INGEST_DOCUMENTS: join(directory, "docs"),
        INGEST_DELAY_MS: String(delayMs),
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
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    return {
      child,
      exited,
      ready: () => waitFor(() => output.includes("ready"), 20_000),
      output: () => output,
    };
  }

  async function jobProgress(names: { queueName: string; prefix: string }, jobId: string) {
    return withTestQueue(names, async (queue) => {
      const job = await queue.getJob(jobId);
      const state = job ? await job.getState() : "missing";
      const progress = (job?.progress ?? {}) as { done?: number };
      return { state, done: progress.done ?? 0, attemptsMade: job?.attemptsMade ?? 0 };
    });
  }

  beforeAll(async () => {
    slack = await startSlackStandIn({ botToken: BOT_TOKEN });
    directory = mkdtempSync(join(tmpdir(), "teammate-ingest-"));
    const docs = join(directory, "docs");
    rmSync(docs, { recursive: true, force: true });
    writeFileSync(join(directory, ".keep"), "");
    await import("node:fs/promises").then((fs) => fs.mkdir(docs));
    for (let index = 0; index < 200; index += 1)
      writeFileSync(join(docs, `page-${index}.md`), documentText(index));
  });

  afterAll(async () => {
    for (const worker of workers)
      if (worker.exitCode === null && worker.signalCode === null) worker.kill("SIGKILL");
    await slack.close();
    rmSync(directory, { recursive: true, force: true });
  });

  async function enqueue(names: { queueName: string; prefix: string }, batch: string, count: number) {
    const producer = new BullMqJobQueue({
      redisUrl: REDIS_URL,
      logger: silentLogger,
      runWorkers: false,
      ...names,
    });
    const notifier = new SlackNotifier({ botToken: BOT_TOKEN, apiUrl: slack.apiUrl });
    const statusMessage = await notifier.post(
      { ...channel, threadId: undefined },
      `Indexing ${count} documents: queued`,
    );
    producer.register(INGEST_DOCUMENTS, async () => {});
    const jobId = jobIdOf(INGEST_DOCUMENTS, batch);
    await producer.enqueue(
      INGEST_DOCUMENTS,
      {
        scope,
        references: Array.from({ length: count }, (_, index) => ({
          kind: "path" as const,
          path: `page-${index}.md`,
        })),
        statusMessage,
      },
      { jobId },
    );
    await producer.close();
    return { jobId, statusMessage };
  }

  it("200 documents: the worker is killed with SIGKILL mid-job, restarted, and the chunk count is exact", async () => {
    const names = uniqueQueueNames();
    const databasePath = join(directory, "crash.sqlite");
    try {
      const { jobId, statusMessage } = await enqueue(names, "crash-batch", 200);
      const first = startWorker(names, 15, databasePath);
      await first.ready();
      await waitFor(async () => (await jobProgress(names, jobId)).done >= 60, 60_000);
      first.child.kill("SIGKILL");
      await first.exited;
      const killedAt = await jobProgress(names, jobId);
      expect(killedAt.state).toBe("active");
      expect(killedAt.done).toBeLessThan(200);

      const second = startWorker(names, 0, databasePath);
      await second.ready();
      await waitFor(async () => (await jobProgress(names, jobId)).state === "completed", 90_000);

      // Exactly what chunking the 200 documents once gives: nothing lost, nothing twice.
      const loader = createDocumentLoader({ baseDirectory: join(directory, "docs") });
      let expectedChunks = 0;
      for (let index = 0; index < 200; index += 1) {
        const path = `page-${index}.md`;
        const loaded = await loader.load({ kind: "path", path });
        expectedChunks += chunkDocument({ id: documentIdFor(path, scope), ...loaded }).length;
      }
      const database = openSqliteDatabase(databasePath);
      const counts = database
        .prepare(
          "SELECT COUNT(*) AS chunks, COUNT(DISTINCT chunk_id) AS distinctChunks, COUNT(DISTINCT document_id) AS documents FROM knowledge_chunks",
        )
        .get() as { chunks: number; distinctChunks: number; documents: number };
      database.close();
      expect(expectedChunks).toBeGreaterThan(200);
      expect(counts).toEqual({ chunks: expectedChunks, distinctChunks: expectedChunks, documents: 200 });

      // The channel's status message went on after the restart and ends with the result.
      await waitFor(
        () =>
          slack.messages.some(
            (message) => message.ts === statusMessage.messageId && message.text.startsWith("✅"),
          ),
        5_000,
      );
      const shown = slack.messages.find((message) => message.ts === statusMessage.messageId)?.text;
      expect(shown).toBe(`✅ Indexed 200 of 200 documents (${expectedChunks} chunks). Ask me about them.`);
      const edits = slack.calls.filter(
        (call) => call.method === "chat.update" && call.args.ts === statusMessage.messageId,
      );
      expect(edits.some((call) => /^Indexing \d+\/200 /.test(String(call.args.text)))).toBe(true);
      expect(slack.violations).toEqual([]);
      second.child.kill("SIGTERM");
      expect(await second.exited).toBe(0);
    } finally {
      await obliterateQueue(names);
    }
  }, 180_000);

  it("SIGTERM lets the running job finish and leaves nothing active", async () => {
    const names = uniqueQueueNames();
    try {
      const { jobId } = await enqueue(names, "shutdown-batch", 40);
      const worker = startWorker(names, 40, join(directory, "shutdown.sqlite"));
      await worker.ready();
      await waitFor(async () => (await jobProgress(names, jobId)).done >= 5, 30_000);
      worker.child.kill("SIGTERM");
      expect(await worker.exited).toBe(0);
      expect(worker.output()).toContain("closed");
      const after = await jobProgress(names, jobId);
      expect(after.state).toBe("completed");
      expect(after.done).toBe(40);
      const active = await withTestQueue(names, (queue) => queue.getJobCounts("active"));
      expect(active.active).toBe(0);
    } finally {
      await obliterateQueue(names);
    }
  }, 90_000);

  it("an invalid payload fails once, is not retried, and the channel is told why", async () => {
    const names = uniqueQueueNames();
    const queue = new BullMqJobQueue({
      redisUrl: REDIS_URL,
      logger: silentLogger,
      runWorkers: true,
      ...names,
    });
    const notifier = new SlackNotifier({ botToken: BOT_TOKEN, apiUrl: slack.apiUrl });
    let loads = 0;
    const knowledge = new KnowledgeBase({
      store: { replaceDocument: async () => {} } as never,
      loader: {
        load: async () => {
          loads += 1;
          throw new Error("never reached");
        },
      },
      logger: silentLogger,
    });
    registerIngestJobs(queue, { knowledge, notifier, logger: silentLogger, statusIntervalMs: 100 });
    queue.start();
    try {
      const statusMessage = await notifier.post(
        { ...channel, threadId: undefined },
        "Indexing 1 document: queued",
      );
      const jobId = await queue.enqueue(INGEST_DOCUMENTS, {
        scope,
        references: [
          {
            kind: "url",
            url: "https://files.example/private.pdf",
            headers: { authorization: "Bearer xoxb-secret" },
          },
        ],
        statusMessage,
      });
      await waitFor(async () => (await queue.counts()).failed === 1, 10_000);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const job = await withTestQueue(names, async (bull) => {
        const found = await bull.getJob(jobId);
        return {
          attemptsMade: found?.attemptsMade,
          attemptsStarted: found?.attemptsStarted,
          state: await found?.getState(),
        };
      });
      expect(job).toEqual({ attemptsMade: 1, attemptsStarted: 1, state: "failed" });
      expect(loads).toBe(0);
      await waitFor(
        () =>
          slack.messages.some(
            (message) => message.ts === statusMessage.messageId && message.text.startsWith("❌"),
          ),
        5_000,
      );
      expect(slack.messages.find((message) => message.ts === statusMessage.messageId)?.text).toBe(
        "❌ I couldn't index that: document 1 carries download headers, which a job may not hold. Check the request and try `index` again.",
      );
    } finally {
      await queue.close();
      await obliterateQueue(names);
    }
  });
});
