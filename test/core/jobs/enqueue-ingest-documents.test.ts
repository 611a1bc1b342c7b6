import { afterEach, describe, expect, it } from "vitest";
import { InProcessJobQueue } from "../../../src/adapters/in-process/in-process-job-queue.js";
import { openSqliteDatabase } from "../../../src/adapters/sqlite/open-sqlite-database.js";
import { SqliteVectorStore } from "../../../src/adapters/sqlite/sqlite-vector-store.js";
import { createKnowledgeCommands } from "../../../src/core/commands/knowledge-commands.js";
import { AppError } from "../../../src/core/errors.js";
import { createIngestEnqueuer } from "../../../src/core/jobs/enqueue-ingest-documents.js";
import { INGEST_DOCUMENTS, registerIngestJobs } from "../../../src/core/jobs/ingest-documents-job.js";
import { KnowledgeBase } from "../../../src/core/knowledge/knowledge-base.js";
import type { DocumentLoader, DocumentReference } from "../../../src/core/ports/document-loader.js";
import type { EnqueueOptions, JobQueue, JobState } from "../../../src/core/ports/job-queue.js";
import { jobIdOf } from "../../../src/core/ports/job-queue.js";
import { silentLogger } from "../../../src/core/ports/logger.js";
import { waitFor } from "../../contracts/job-queue.contract.js";
import { RecordingNotifier } from "../../support/recording-notifier.js";
import { RecordingSink } from "../../support/recording-sink.js";
import { createTestAssistant, inbound } from "../assistant-fixtures.js";

const TOKEN = "xoxb-never-in-job-data";

/** A producer-only queue that keeps what was enqueued (the bot's side when workers run elsewhere). */
class RecordingJobQueue implements JobQueue {
  readonly added: Array<{ name: string; data: unknown; options: EnqueueOptions }> = [];
  refuse = false;
  register(): void {}
  start(): void {}
  async enqueue<Data>(name: string, data: Data, options: EnqueueOptions = {}): Promise<string> {
    if (this.refuse)
      throw new AppError("job_failed", "redis is away", {
        retryable: true,
        userMessage: "I couldn't queue that work right now (the job queue is unreachable).",
      });
    this.added.push({ name, data, options });
    return options.jobId ?? `job-${this.added.length}`;
  }
  async schedule(): Promise<number> {
    throw new Error("the ingest enqueuer schedules nothing");
  }
  async unschedule(): Promise<boolean> {
    return false;
  }
  async counts(): Promise<Record<JobState, number>> {
    return { waiting: this.added.length, active: 0, delayed: 0, completed: 0, failed: 0 };
  }
  async stateOf(jobId: string): Promise<{ state: JobState | "missing" }> {
    return { state: this.added.some((job) => job.options.jobId === jobId) ? "waiting" : "missing" };
  }
  async close(): Promise<void> {}
}

function countingLoader() {
  const loads: DocumentReference[] = [];
  const loader: DocumentLoader = {
    async load(reference) {
      loads.push(reference);
      return {
        title: "Runbook",
        text: "# Runbook\n\nRestart the ingest service with the blue button, then wait two minutes.",
        format: "markdown",
        source: reference.kind === "url" ? reference.url : reference.path,
        contentType: "text/markdown",
        bytes: 80,
      };
    },
  };
  return { loader, loads };
}

describe("index with workers elsewhere: the bot posts a status message and only enqueues", () => {
  const closers: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });

  function setUp(queue: JobQueue) {
    const database = openSqliteDatabase(":memory:");
    const { loader, loads } = countingLoader();
    const knowledge = new KnowledgeBase({
      store: new SqliteVectorStore(database),
      loader,
      logger: silentLogger,
    });
    const notifier = new RecordingNotifier();
    const enqueueIndex = createIngestEnqueuer({ jobs: queue, notifier, logger: silentLogger });
    const test = createTestAssistant(undefined, {
      commands: createKnowledgeCommands(knowledge, enqueueIndex),
    });
    closers.push(() => {
      test.close();
      database.close();
    });
    return { ...test, knowledge, notifier, loads, enqueueIndex };
  }

  it("queues an attachment with where it arrived and no credentials, with the delivery id as job id", async () => {
    const queue = new RecordingJobQueue();
    const { assistant, notifier, loads } = setUp(queue);
    const message = inbound({
      text: "index this",
      isAdmin: true,
      threadId: "1700000000.000100",
      eventId: "Ev-index-1",
      attachments: [
        {
          name: "runbook.md",
          url: "https://files.slack.com/files-pri/T1-F1/runbook.md",
          arrivedIn: { platform: "slack", workspaceId: "T1" },
        },
      ],
    });
    const sink = new RecordingSink();
    await assistant.handle(message, sink);

    expect(sink.visible).toMatch(/indexing it in the background.*status message in this thread/i);
    expect(loads).toEqual([]);
    expect(notifier.writes).toHaveLength(1);
    expect(notifier.writes[0]?.text).toMatch(/^Indexing 1 document: queued/);
    expect(queue.added).toHaveLength(1);
    const job = queue.added[0];
    expect(job?.name).toBe(INGEST_DOCUMENTS);
    expect(job?.options.jobId).toBe(jobIdOf(INGEST_DOCUMENTS, "slack", "T1", "Ev-index-1"));
    expect(job?.data).toEqual({
      scope: { platform: "slack", workspaceId: "T1", channelId: "C1" },
      references: [
        {
          kind: "url",
          url: "https://files.slack.com/files-pri/T1-F1/runbook.md",
          name: "runbook.md",
          arrivedIn: { platform: "slack", workspaceId: "T1" },
        },
      ],
      statusMessage: {
        platform: "slack",
        workspaceId: "T1",
        channelId: "C1",
        threadId: "1700000000.000100",
        messageId: notifier.writes[0]?.messageId,
      },
      // Who asked, so a job that fails for good can tell them (an id, no secret).
      askerId: "U1",
    });
    expect(JSON.stringify(job?.data)).not.toContain(TOKEN);
  });

  it("`--workspace` and `--channel` come off the target: the URL is queued as typed, in the scope asked for", async () => {
    const queue = new RecordingJobQueue();
    const { assistant } = setUp(queue);
    await assistant.handle(
      inbound({ text: "index https://example.com/guide --workspace", isAdmin: true, eventId: "Ev-flag-1" }),
      new RecordingSink(),
    );
    await assistant.handle(
      inbound({ text: "index <https://example.com/faq> --channel", isAdmin: true, eventId: "Ev-flag-2" }),
      new RecordingSink(),
    );
    expect(queue.added.map((job) => job.data)).toMatchObject([
      {
        scope: { platform: "slack", workspaceId: "T1" },
        references: [{ kind: "url", url: "https://example.com/guide" }],
      },
      {
        scope: { platform: "slack", workspaceId: "T1", channelId: "C1" },
        references: [{ kind: "url", url: "https://example.com/faq" }],
      },
    ]);
    expect((queue.added[0]?.data as { scope: object } | undefined)?.scope).not.toHaveProperty("channelId");
  });

  it("a non-admin is refused and nothing is posted or queued", async () => {
    const queue = new RecordingJobQueue();
    const { assistant, notifier } = setUp(queue);
    const sink = new RecordingSink();
    await assistant.handle(inbound({ text: "index https://example.com/guide", isAdmin: false }), sink);
    expect(sink.visible).toMatch(/admin/i);
    expect(notifier.writes).toEqual([]);
    expect(queue.added).toEqual([]);
  });

  it("the same delivery enqueued twice runs once, and the worker's edits end with the result", async () => {
    const queue = new InProcessJobQueue({ logger: silentLogger });
    closers.push(() => queue.close());
    const { knowledge, notifier, loads, enqueueIndex } = setUp(queue);
    registerIngestJobs(queue, { knowledge, notifier, logger: silentLogger, statusIntervalMs: 10 });
    queue.start();
    const message = inbound({ isAdmin: true, eventId: "Ev-repeated" });
    const request = {
      references: [
        {
          kind: "url" as const,
          url: "https://files.slack.com/files-pri/T1-F2/runbook.md",
          headers: { Authorization: `Bearer ${TOKEN}` },
        },
      ],
      scope: { platform: "slack" as const, workspaceId: "T1", channelId: "C1" },
      message,
    };
    await enqueueIndex(request);
    await enqueueIndex(request);
    await waitFor(async () => (await queue.counts()).completed === 1, 5_000);
    // Headers were stripped before the queue: the processor (which refuses them) ran and loaded once.
    expect(loads).toEqual([{ kind: "url", url: "https://files.slack.com/files-pri/T1-F2/runbook.md" }]);
    expect(await queue.counts()).toMatchObject({ completed: 1, failed: 0, waiting: 0, active: 0 });
    const first = notifier.writes[0]?.messageId ?? "";
    await waitFor(() => notifier.texts.get(first)?.startsWith("✅") === true, 5_000);
    expect(notifier.texts.get(first)).toMatch(/^✅ Indexed 1 of 1 documents \(1 chunks?\)/);
    expect((await knowledge.list(request.scope)).map((document) => document.title)).toEqual(["Runbook"]);
  });

  it("when the status message cannot be posted the job is still queued, without one", async () => {
    const queue = new RecordingJobQueue();
    const { assistant, notifier } = setUp(queue);
    notifier.post = async () => {
      throw new Error("not_in_channel");
    };
    const sink = new RecordingSink();
    await assistant.handle(inbound({ text: "index https://example.com/guide", isAdmin: true }), sink);
    expect(sink.visible).toMatch(/in the background \(I couldn't post a status message here\)/);
    expect(queue.added).toHaveLength(1);
    expect(queue.added[0]?.data).toMatchObject({
      references: [{ kind: "url", url: "https://example.com/guide" }],
      statusMessage: undefined,
    });
  });

  it("when the queue is unreachable the status message says so and the asker gets the reason", async () => {
    const queue = new RecordingJobQueue();
    queue.refuse = true;
    const { assistant, notifier } = setUp(queue);
    const sink = new RecordingSink();
    await assistant.handle(inbound({ text: "index https://example.com/guide", isAdmin: true }), sink);
    expect(sink.visible).toContain("couldn't queue that work");
    const posted = notifier.writes[0]?.messageId ?? "";
    expect(notifier.texts.get(posted)).toMatch(/^❌ I couldn't queue the indexing/);
  });
});
