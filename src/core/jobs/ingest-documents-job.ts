import { AppError, isAppError } from "../errors.js";
import type { KnowledgeBase } from "../knowledge/knowledge-base.js";
import type { DocumentReference } from "../ports/document-loader.js";
import type { EditPacer } from "../ports/edit-pacer.js";
import type { IngestDocumentsData, JobContext, JobName, JobQueue } from "../ports/job-queue.js";
import type { Logger } from "../ports/logger.js";
import type { OpenWorkStore } from "../ports/memory-store.js";
import type { Notifier } from "../ports/notifier.js";
import { withFailureReport } from "./report-job-failure.js";
import { StatusMessage } from "./status-message.js";

/** Declared with the other job payloads, in `JobPayloads`. */
export type { IngestDocumentsData };

export const INGEST_DOCUMENTS = "ingest-documents" satisfies JobName;

export interface IngestJobDependencies {
  knowledge: KnowledgeBase;
  notifier: Notifier;
  logger: Logger;
  /** Least time between two edits of a status message. Default 1 s. */
  statusIntervalMs?: number | undefined;
  /** Spaces status edits across worker processes (a retried job may report while the first attempt still does). */
  editPacer?: EditPacer | undefined;
  /**
   * Where queued jobs' status messages are watched (see `watchJobStatus`): a job that writes its own
   * last line takes its message off the watch, so the watch never writes over it.
   */
  openWork?: Pick<OpenWorkStore, "closeWork"> | undefined;
}

/** The most documents one job takes; a bigger batch should be split by whoever enqueues it. */
const MAX_DOCUMENTS_PER_JOB = 5_000;

function invalid(message: string): AppError {
  return new AppError("input_invalid", message, { category: "user", userMessage: message });
}

/** Checks a payload before any work: bad input fails once, with a sentence for the channel. */
function parseIngestDocumentsData(data: unknown): IngestDocumentsData {
  const value = data as Partial<IngestDocumentsData> | null;
  const scope = value?.scope;
  if (
    !scope ||
    typeof scope.platform !== "string" ||
    typeof scope.workspaceId !== "string" ||
    scope.workspaceId === ""
  ) {
    throw invalid("I couldn't index that: the request names no workspace to index into.");
  }
  const references = value?.references;
  if (!Array.isArray(references) || references.length === 0) {
    throw invalid("I couldn't index that: there were no documents in the request.");
  }
  if (references.length > MAX_DOCUMENTS_PER_JOB) {
    throw invalid(
      `I couldn't index that: ${references.length} documents is more than ${MAX_DOCUMENTS_PER_JOB} at once.`,
    );
  }
  references.forEach((reference: DocumentReference, index) => {
    const position = `document ${index + 1}`;
    if (reference?.kind === "url") {
      if (typeof reference.url !== "string" || reference.url === "")
        throw invalid(`I couldn't index that: ${position} has no URL.`);
      // Secrets never travel through the queue; the worker adds platform credentials itself.
      if (reference.headers !== undefined)
        throw invalid(
          `I couldn't index that: ${position} carries download headers, which a job may not hold.`,
        );
      const arrivedIn = reference.arrivedIn as Partial<NonNullable<typeof reference.arrivedIn>> | undefined;
      if (
        arrivedIn !== undefined &&
        (typeof arrivedIn?.platform !== "string" || typeof arrivedIn.workspaceId !== "string")
      )
        throw invalid(`I couldn't index that: ${position} names no workspace it arrived in.`);
    } else if (reference?.kind === "path") {
      if (typeof reference.path !== "string" || reference.path === "")
        throw invalid(`I couldn't index that: ${position} has no path.`);
    } else {
      throw invalid(`I couldn't index that: ${position} is neither a URL nor a path.`);
    }
  });
  return {
    scope,
    references,
    statusMessage: value?.statusMessage,
    askerId: typeof value?.askerId === "string" ? value.askerId : undefined,
  };
}

/**
 * `ingest-documents`: loads, chunks, embeds and stores each document of a batch through the
 * KnowledgeBase, editing one status message (`Indexing 37/120 ▓▓▓░░░░░░░ 30%`). Safe to run again
 * after a crash: documents are replaced by id, so a rerun overwrites instead of duplicating. A
 * document that cannot be read (user-category error) is skipped and named in the final line;
 * anything else fails the attempt so the queue retries the batch.
 */
export function registerIngestJobs(queue: JobQueue, dependencies: IngestJobDependencies): void {
  queue.register(
    INGEST_DOCUMENTS,
    async (raw, context: JobContext) => {
      const message = raw?.statusMessage;
      const log = dependencies.logger.child({ job: INGEST_DOCUMENTS, jobId: context.jobId });
      const status = message
        ? new StatusMessage({
            notifier: dependencies.notifier,
            message,
            logger: log,
            pacer: dependencies.editPacer,
            ...(dependencies.statusIntervalMs === undefined
              ? {}
              : { minIntervalMs: dependencies.statusIntervalMs }),
          })
        : undefined;
      const askerId = raw?.askerId;
      // Off the watch once the last line is written; false when no watch had it (or another closed it).
      const unwatch = async (): Promise<boolean> =>
        message && dependencies.openWork
          ? dependencies.openWork.closeWork(context.jobId).catch((error: unknown) => {
              log.warn({ err: error }, "could not take the status message off the watch");
              return false;
            })
          : false;
      const tellAsker = async (reason: string): Promise<void> => {
        if (!(await unwatch()) || !message || typeof askerId !== "string") return;
        await dependencies.notifier.post(
          message,
          `Your indexing did not finish: ${reason} See the message above.`,
          { notify: askerId },
        );
      };
      return withFailureReport(
        context,
        status,
        "Check the request and try `index` again.",
        async () => {
          const data = parseIngestDocumentsData(raw);
          const total = data.references.length;
          let chunks = 0;
          const skipped: string[] = [];
          for (const [index, reference] of data.references.entries()) {
            if (context.signal.aborted)
              throw new AppError("job_failed", "indexing interrupted by shutdown", { retryable: true });
            try {
              const result = await dependencies.knowledge.index(
                reference,
                data.scope,
                undefined,
                context.signal,
              );
              chunks += result.chunks;
            } catch (error) {
              if (!(isAppError(error) && error.category === "user")) throw error;
              const name = reference.kind === "url" ? reference.url : reference.path;
              skipped.push(`${name}: ${error.userMessage ?? error.message}`);
            }
            status?.progress("Indexing", index + 1, total);
            await context.reportProgress(index + 1, total, "Indexing");
          }
          const indexed = total - skipped.length;
          const lines = [
            `✅ Indexed ${indexed} of ${total} documents (${chunks} chunk${chunks === 1 ? "" : "s"}). Ask me about them.`,
          ];
          if (skipped.length > 0) {
            lines.push(
              `⚠️ ${skipped.length} could not be read and were skipped:`,
              ...skipped.slice(0, 10).map((line) => `• ${line}`),
            );
          }
          await status?.finish(lines.join("\n"));
          await unwatch();
          return { indexed, skipped: skipped.length, chunks };
        },
        tellAsker,
      );
    },
    { attempts: 3, backoffMs: 5_000 },
  );
}
