import { AppError, describeForUser, isAppError, toAppError } from "../errors.js";
import { StatusMessage } from "../jobs/status-message.js";
import type { KnowledgeBase } from "../knowledge/knowledge-base.js";
import type { Alerter } from "../operations/alerts.js";
import type { EditPacer } from "../ports/edit-pacer.js";
import {
  isPermanentJobFailure,
  type JobContext,
  type JobName,
  type JobQueue,
  type SyncSourceData,
} from "../ports/job-queue.js";
import type { Logger } from "../ports/logger.js";
import type { Notifier } from "../ports/notifier.js";
import type { SourceConnector, SourceDescriptor, SourceItem } from "../ports/source-connector.js";
import type { SourceItemState, SourceRecord, SourceStore } from "../ports/source-store.js";
import type { WorkspaceRef } from "../types.js";
import { contentHashOf, documentIdForItem } from "./source-ids.js";

/** Declared with the other job payloads, in `JobPayloads`. */
export type { SyncSourceData };

export const SYNC_SOURCE = "sync-source" satisfies JobName;

export interface SyncJobDependencies {
  sources: SourceStore;
  connectors: readonly SourceConnector[];
  knowledge: KnowledgeBase;
  notifier: Notifier;
  logger: Logger;
  alerts?: Alerter | undefined;
  editPacer?: EditPacer | undefined;
  /** Least time between two edits of the status message. Default 1 s. */
  statusIntervalMs?: number | undefined;
  /** Items fetched at the same time (a re-sync is mostly conditional requests waiting on the site). Default 8. */
  concurrency?: number | undefined;
  /** Attempts per sync (the first included) and the base of their exponential backoff. */
  attempts?: number | undefined;
  backoffMs?: number | undefined;
  now?: () => number;
}

/** How one sync went, item by item. */
export interface SyncCounts {
  changed: number;
  added: number;
  removed: number;
  unchanged: number;
  /** Items that could not be read this time (their last good copy stays), as `url: reason`. */
  skipped: string[];
}

/** Failed syncs in a row after which the admin who created the source hears about it. */
const FAILURES_BEFORE_NOTICE = 3;

/** `Synced docs.example.com: 3 changed, 1 new, 2 removed, 118 unchanged (4.1 s)`. */
function syncLine(name: string, counts: SyncCounts, milliseconds: number): string {
  const line = `Synced ${name}: ${counts.changed} changed, ${counts.added} new, ${counts.removed} removed, ${counts.unchanged} unchanged (${(milliseconds / 1_000).toFixed(1)} s)`;
  if (counts.skipped.length === 0) return line;
  const shown = counts.skipped.slice(0, 5).map((entry) => `• ${entry}`);
  if (counts.skipped.length > 5) shown.push(`• … and ${counts.skipped.length - 5} more`);
  return `${line}\n⚠️ ${counts.skipped.length} could not be read this time (their last good copy stays):\n${shown.join("\n")}`;
}

function invalid(message: string): AppError {
  return new AppError("input_invalid", message, { category: "user", userMessage: message });
}

function parseSyncSourceData(raw: unknown): SyncSourceData {
  const value = raw as Partial<SyncSourceData> | null;
  if (
    typeof value?.platform !== "string" ||
    typeof value.workspaceId !== "string" ||
    value.workspaceId === "" ||
    typeof value.sourceId !== "string" ||
    value.sourceId === ""
  ) {
    throw invalid("I couldn't sync that: the request names no source.");
  }
  return value as SyncSourceData;
}

/** `<@U123>` mentions the person on Slack and Discord alike; the terminal has nobody to mention. */
function mention(person: SourceRecord["createdBy"]): string {
  return person.platform === "local" ? person.userId : `<@${person.userId}>`;
}

/** What a connector may know of a source: not who created it, its schedule or its sync history. */
function descriptorOf({ id, kind, target, scope, settings }: SourceRecord): SourceDescriptor {
  return { id, kind, target, scope, settings };
}

/**
 * Runs `items` through `work`, `concurrency` at a time. Stops taking new items at the first failure
 * and rethrows it once every started item has settled, so no write is left running behind the error.
 */
async function forEachLimited<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>) {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const lane = async () => {
    while (failure === undefined && next < items.length) {
      const item = items[next] as T;
      next += 1;
      try {
        await work(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, lane));
  if (failure) throw failure.error;
}

/** One sync under way: what it reads and writes, what was stored before, and how it is going. */
interface SyncRun {
  dependencies: SyncJobDependencies;
  source: SourceRecord;
  workspace: WorkspaceRef;
  connector: SourceConnector;
  descriptor: SourceDescriptor;
  signal: AbortSignal;
  /** The items stored by the last sync, by key. */
  stored: Map<string, SourceItemState>;
  counts: SyncCounts;
}

/**
 * One sync of one source: list, skip what is unchanged (same listed version, a 304, or the same
 * content hash: no extraction, embedding or write), replace what changed, add what is new, remove
 * what is gone, and end the status message with one `Synced …` line.
 *
 * Safe to run again after a crash (at-least-once delivery): an item's chunks are written (replaced
 * by document id) before its state is recorded, and removed before its state is forgotten, so a
 * rerun re-does at most the item in flight and never leaves a duplicate or a hole.
 */
export async function runSync(
  dependencies: SyncJobDependencies,
  source: SourceRecord,
  context: Pick<JobContext, "signal" | "reportProgress">,
  onProgress: (done: number, total: number) => void,
): Promise<{ counts: SyncCounts; cursor: string | undefined }> {
  const workspace: WorkspaceRef = { platform: source.scope.platform, workspaceId: source.scope.workspaceId };
  const connector = dependencies.connectors.find((candidate) => candidate.kind === source.kind);
  if (!connector) {
    throw invalid(`I can't sync ${source.name}: this installation has no ${source.kind} connector.`);
  }
  const descriptor = descriptorOf(source);
  const { signal } = context;
  const listing = await connector.list(descriptor, source.cursor, signal);
  const stored = new Map(
    (await dependencies.sources.listItems(workspace, source.id)).map((item) => [item.key, item]),
  );
  if (listing.complete && listing.items.length === 0 && stored.size > 0 && listing.withdrawn === undefined) {
    // A site that suddenly lists nothing is far more likely broken than emptied: keep the last good copy.
    throw new AppError("fetch_failed", `${source.name} listed no items`, {
      retryable: true,
      userMessage: `${source.name} listed no documents at all this time, so I kept the ${stored.size} I had`,
    });
  }
  const counts: SyncCounts = { changed: 0, added: 0, removed: 0, unchanged: 0, skipped: [] };
  const run: SyncRun = { dependencies, source, workspace, connector, descriptor, signal, stored, counts };
  // The listing may repeat a key (a sitemap naming a page twice): the first one counts.
  const seen = new Set<string>();
  const items = listing.items.filter((item) => !seen.has(item.key) && seen.add(item.key));
  const reportDone = progressCounter(items.length, context, onProgress);
  await forEachLimited(items, dependencies.concurrency ?? 8, async (item) => {
    signal.throwIfAborted();
    try {
      await syncItem(run, item);
    } finally {
      await reportDone();
    }
  });

  const goneKeys = listing.complete
    ? [...stored.keys()].filter((key) => !seen.has(key))
    : (listing.removedKeys ?? []).filter((key) => stored.has(key));
  for (const key of goneKeys) {
    const state = stored.get(key);
    if (state) await removeItem(run, state);
  }
  return { counts, cursor: listing.cursor };
}

/**
 * Counts finished items: `onProgress` for each, and the queue's own progress (a Redis write with
 * BullMQ) at most every quarter second, and at the end.
 */
function progressCounter(
  total: number,
  context: Pick<JobContext, "reportProgress">,
  onProgress: (done: number, total: number) => void,
): () => Promise<void> {
  let done = 0;
  let lastReportAt = 0;
  return async () => {
    done += 1;
    onProgress(done, total);
    const at = Date.now();
    if (done === total || at - lastReportAt >= 250) {
      lastReportAt = at;
      await context.reportProgress(done, total, "Syncing").catch(() => {});
    }
  };
}

/** One listed item: left alone when unchanged, removed when gone, indexed again when its content changed. */
async function syncItem(run: SyncRun, item: SourceItem): Promise<void> {
  const { dependencies, source, workspace, counts } = run;
  const previous = run.stored.get(item.key);
  if (previous && item.version !== undefined && previous.version === item.version) {
    counts.unchanged += 1;
    return;
  }
  const fetched = await fetchItem(run, item, previous);
  if (fetched === undefined) return;
  if (fetched.status === "gone") {
    if (previous) await removeItem(run, previous);
    return;
  }
  if (fetched.status === "unchanged") {
    if (!previous) {
      counts.skipped.push(`${item.url}: the server said "not modified" for a page I never had`);
      return;
    }
    counts.unchanged += 1;
    await remember(run, previous, item, fetched.validator);
    return;
  }
  const { document } = fetched;
  const contentHash = contentHashOf(document.title, document.text);
  if (previous && previous.contentHash === contentHash) {
    counts.unchanged += 1;
    await remember(run, previous, item, fetched.validator);
    return;
  }
  const documentId = previous?.documentId ?? documentIdForItem(source.id, source.scope, item.key);
  const chunkCount = await dependencies.knowledge.indexText(
    documentId,
    { title: document.title, text: document.text, format: document.format, source: item.url },
    source.scope,
    undefined,
    run.signal,
  );
  await dependencies.sources.putItem(workspace, source.id, {
    key: item.key,
    documentId,
    title: document.title,
    url: item.url,
    version: item.version,
    validator: fetched.validator,
    contentHash,
    chunkCount,
  });
  if (previous) counts.changed += 1;
  else counts.added += 1;
}

/** The item's content (or "unchanged" / "gone"); undefined when it could not be read this time. */
async function fetchItem(
  run: SyncRun,
  item: SourceItem,
  previous: SourceItemState | undefined,
): Promise<Awaited<ReturnType<SourceConnector["fetch"]>> | undefined> {
  try {
    return await run.connector.fetch(
      run.descriptor,
      item,
      previous ? { version: previous.version, validator: previous.validator } : undefined,
      run.signal,
    );
  } catch (error) {
    // Unreadable content is this item's problem, not the source's: keep its last good copy.
    if (!(isAppError(error) && error.category === "user")) throw error;
    run.counts.skipped.push(`${item.url}: ${error.userMessage ?? error.message}`);
    return undefined;
  }
}

/** Records a new title, address, version or validator of an item whose content did not change. */
async function remember(
  run: SyncRun,
  previous: SourceItemState,
  item: SourceItem,
  validator: string | undefined,
): Promise<void> {
  const next: SourceItemState = {
    ...previous,
    title: item.title || previous.title,
    url: item.url,
    version: item.version ?? previous.version,
    validator: validator ?? previous.validator,
  };
  if (
    next.title !== previous.title ||
    next.url !== previous.url ||
    next.version !== previous.version ||
    next.validator !== previous.validator
  ) {
    await run.dependencies.sources.putItem(run.workspace, run.source.id, next);
  }
}

async function removeItem(run: SyncRun, state: SourceItemState): Promise<void> {
  await run.dependencies.knowledge.remove(run.workspace, state.documentId);
  await run.dependencies.sources.deleteItem(run.workspace, run.source.id, state.key);
  run.counts.removed += 1;
}

/**
 * `sync-source`: one sync of one source, on the workers with REDIS_URL (in the bot otherwise),
 * editing one status message. A failure keeps every stored document, says why, and is retried with
 * backoff; the third failure in a row tells the admin who created the source, where it was created,
 * and the workspace's alert channel.
 */
export function registerSyncJobs(queue: JobQueue, dependencies: SyncJobDependencies): void {
  const now = dependencies.now ?? Date.now;
  queue.register(
    SYNC_SOURCE,
    async (raw, context) => {
      const data = parseSyncSourceData(raw);
      const workspace: WorkspaceRef = { platform: data.platform, workspaceId: data.workspaceId };
      const log = dependencies.logger.child({
        job: SYNC_SOURCE,
        jobId: context.jobId,
        sourceId: data.sourceId,
      });
      const source = await dependencies.sources.getSource(workspace, data.sourceId);
      // Forgotten after the job was queued (or its schedule fired once more): nothing to do.
      if (!source) return { skipped: "source gone" };
      const status = await statusFor(dependencies, source, data, context.jobId, log);
      const started = now();
      status?.update(`🔄 Syncing ${source.name}: checking what changed…`);
      try {
        const { counts, cursor } = await runSync(dependencies, source, context, (done, total) =>
          status?.progress(`Syncing ${source.name}`, done, total),
        );
        const line = syncLine(source.name, counts, now() - started);
        const updated = await dependencies.sources.updateSource(workspace, source.id, {
          lastSync: { at: now(), ok: true, line },
          consecutiveFailures: 0,
          cursor: cursor ?? source.cursor,
          ...(data.scheduled && source.everyMs !== undefined ? { nextRunAt: now() + source.everyMs } : {}),
        });
        if (!updated) {
          // `forget-doc` ran while this sync was writing: take back what it wrote after the forget.
          await removeOrphans(dependencies, workspace, source.id);
          if (status)
            await status.finish(`🗑️ ${source.name} was removed while it synced; nothing of it is kept.`);
          return { skipped: "source forgotten during the sync" };
        }
        if (status) await status.finish(`✅ ${line}`);
        log.info({ ...counts, skipped: counts.skipped.length }, "source synced");
        return { ...counts, skipped: counts.skipped.length };
      } catch (error) {
        const appError = toAppError(error);
        const final = isPermanentJobFailure(appError) || context.attempt >= context.maxAttempts;
        const reason = describeForUser(appError, context.jobId).replace(/\.$/, "");
        const retry = final
          ? ""
          : `; trying again (attempt ${context.attempt + 1} of ${context.maxAttempts})`;
        const line = `❌ Sync of ${source.name} failed: ${reason}. I kept the last good copy${retry}.`;
        const updated = await dependencies.sources
          .updateSource(workspace, source.id, {
            lastSync: { at: now(), ok: false, line },
            consecutiveFailures: source.consecutiveFailures + 1,
          })
          .catch((storeError: unknown) => {
            log.warn({ err: storeError }, "could not record the failed sync");
            return undefined;
          });
        log.warn({ err: appError, attempt: context.attempt, final }, "source sync failed");
        if (status) {
          if (final) await status.fail(line);
          else {
            status.update(line);
            await status.flush();
          }
        }
        if (updated?.consecutiveFailures === FAILURES_BEFORE_NOTICE) {
          await notifyCreator(dependencies, updated, reason, log);
        }
        throw error;
      }
    },
    { attempts: dependencies.attempts ?? 3, backoffMs: dependencies.backoffMs ?? 30_000 },
  );
}

async function removeOrphans(dependencies: SyncJobDependencies, workspace: WorkspaceRef, sourceId: string) {
  for (const item of await dependencies.sources.listItems(workspace, sourceId)) {
    await dependencies.knowledge.remove(workspace, item.documentId);
    await dependencies.sources.deleteItem(workspace, sourceId, item.key);
  }
}

/**
 * The status message this run edits: the one posted with the request, the one an earlier attempt
 * of this same job posted (a retry continues it), or a new one where the source was created.
 */
async function statusFor(
  dependencies: SyncJobDependencies,
  source: SourceRecord,
  data: SyncSourceData,
  jobId: string,
  log: Logger,
): Promise<StatusMessage | undefined> {
  let message = data.statusMessage;
  if (!message && source.statusJobId === jobId) message = source.statusMessage;
  if (!message) {
    try {
      message = await dependencies.notifier.post(source.reportTo, `🔄 Syncing ${source.name}…`);
      await dependencies.sources.updateSource(source.scope, source.id, {
        statusMessage: message,
        statusJobId: jobId,
      });
    } catch (error) {
      // Progress is a courtesy (the bot may have been removed from the channel); the sync still runs.
      log.warn({ err: error }, "could not post the sync status message");
      return undefined;
    }
  }
  return new StatusMessage({
    notifier: dependencies.notifier,
    message,
    logger: log,
    pacer: dependencies.editPacer,
    ...(dependencies.statusIntervalMs === undefined ? {} : { minIntervalMs: dependencies.statusIntervalMs }),
  });
}

async function notifyCreator(
  dependencies: SyncJobDependencies,
  source: SourceRecord,
  reason: string,
  log: Logger,
): Promise<void> {
  const text = `${source.name} (\`${source.id}\`) failed to sync ${FAILURES_BEFORE_NOTICE} times in a row: ${reason}. Its last good copy is still what I answer from. \`sync ${source.id}\` tries again; \`forget-doc ${source.id}\` removes it.`;
  try {
    await dependencies.notifier.post(
      {
        platform: source.reportTo.platform,
        workspaceId: source.reportTo.workspaceId,
        channelId: source.reportTo.channelId,
      },
      `⚠️ ${mention(source.createdBy)} ${text}`,
    );
  } catch (error) {
    log.warn({ err: error }, "could not tell the source's creator about the failing sync");
  }
  await dependencies.alerts?.alert({
    kind: "sync_failed",
    workspace: { platform: source.scope.platform, workspaceId: source.scope.workspaceId },
    text,
    onceKey: `sync-failed:${source.id}:${source.lastSync?.at ?? 0}`,
  });
}
