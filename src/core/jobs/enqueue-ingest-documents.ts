import type { IndexEnqueuer, IndexRequest } from "../commands/index-command.js";
import type { DocumentReference } from "../ports/document-loader.js";
import { type JobQueue, jobIdOf } from "../ports/job-queue.js";
import type { Logger } from "../ports/logger.js";
import type { OpenWorkStore } from "../ports/memory-store.js";
import type { Notifier, PostedMessage } from "../ports/notifier.js";
import { INGEST_DOCUMENTS, type IngestDocumentsData } from "./ingest-documents-job.js";
import { watchJobStatus } from "./job-status-watch.js";

export interface IngestEnqueuerDependencies {
  jobs: JobQueue;
  notifier: Notifier;
  logger: Logger;
  /**
   * Watches each status message until its job writes the last line (see `sweepJobStatuses`), so a
   * job that stalls out of its attempts or is lost from the queue does not leave "queued" forever.
   */
  openWork?: Pick<OpenWorkStore, "openWork" | "closeWork"> | undefined;
  /** How long after queueing the watch first looks at a job. Default 60 s. */
  watchGraceMs?: number | undefined;
}

/**
 * A reference as it may travel in job data: download headers are dropped, because BullMQ stores
 * payloads in clear text. Where the file arrived stays (it is no secret): the worker's loader adds
 * that platform's credentials itself, at download time.
 */
function withoutCredentials(reference: DocumentReference): DocumentReference {
  if (reference.kind !== "url") return reference;
  return {
    kind: "url",
    url: reference.url,
    ...(reference.name === undefined ? {} : { name: reference.name }),
    ...(reference.arrivedIn === undefined
      ? {}
      : {
          arrivedIn: { platform: reference.arrivedIn.platform, workspaceId: reference.arrivedIn.workspaceId },
        }),
  };
}

function queuedLine(count: number): string {
  return `Indexing ${count} document${count === 1 ? "" : "s"}: queued, waiting for a worker…`;
}

/**
 * The `index` command's background path (with REDIS_URL): posts one status message where the request
 * was made, then enqueues `ingest-documents`, which a worker runs and reports into that message.
 * The job id comes from the platform's delivery id, so the same request delivered twice is one job.
 */
export function createIngestEnqueuer(dependencies: IngestEnqueuerDependencies): IndexEnqueuer {
  return async function enqueueIndex(request: IndexRequest): Promise<{ statusPosted: boolean }> {
    const { message, scope } = request;
    const references = request.references.map(withoutCredentials);
    let statusMessage: PostedMessage | undefined;
    try {
      statusMessage = await dependencies.notifier.post(
        {
          platform: message.platform,
          workspaceId: message.workspaceId,
          channelId: message.channelId,
          threadId: message.threadId,
        },
        queuedLine(references.length),
      );
    } catch (error) {
      // Progress is a courtesy (the bot may not be allowed to post there); the indexing still runs.
      dependencies.logger.warn(
        { err: error, channelId: message.channelId },
        "could not post the indexing status message",
      );
    }
    const data: IngestDocumentsData = { scope, references, statusMessage, askerId: message.userId };
    const jobId = jobIdOf(INGEST_DOCUMENTS, message.platform, message.workspaceId, message.eventId);
    let watched = false;
    if (statusMessage && dependencies.openWork) {
      // Before the job exists, so that even a job that ends at once finds its watch to close.
      watched = await watchJobStatus(dependencies.openWork, {
        jobId,
        statusMessage,
        askerId: message.userId,
        label: "indexing",
        graceMs: dependencies.watchGraceMs ?? 60_000,
      }).then(
        () => true,
        (error: unknown) => {
          dependencies.logger.warn({ err: error }, "status message not watched: the memory store failed");
          return false;
        },
      );
    }
    try {
      await dependencies.jobs.enqueue(INGEST_DOCUMENTS, data, { jobId });
    } catch (error) {
      if (watched) await dependencies.openWork?.closeWork(jobId).catch(() => false);
      // No job will ever edit the message: say so there instead of leaving "queued" forever.
      if (statusMessage) {
        await dependencies.notifier
          .edit(statusMessage, "❌ I couldn't queue the indexing. Try `index` again in a minute.")
          .catch(() => {});
      }
      throw error;
    }
    return { statusPosted: statusMessage !== undefined };
  };
}
