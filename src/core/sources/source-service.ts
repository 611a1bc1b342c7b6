import { AppError } from "../errors.js";
import type { KnowledgeBase } from "../knowledge/knowledge-base.js";
import { type JobQueue, jobIdOf } from "../ports/job-queue.js";
import type { Logger } from "../ports/logger.js";
import type { Notifier, PostedMessage } from "../ports/notifier.js";
import type { SourceConnector, SourceRequest } from "../ports/source-connector.js";
import type { SourceItemState, SourceRecord, SourceStore } from "../ports/source-store.js";
import type { QueryScope } from "../ports/vector-store.js";
import type { ConversationRef, WorkspaceRef } from "../types.js";
import { sourceIdFor } from "./source-ids.js";
import { SYNC_SOURCE, type SyncSourceData } from "./sync-source-job.js";

export interface SourceServiceOptions {
  sources: SourceStore;
  connectors: readonly SourceConnector[];
  jobs: JobQueue;
  knowledge: KnowledgeBase;
  notifier: Notifier;
  logger: Logger;
  /** Shortest `--every` accepted. Default 15 minutes: a site is not polled every second on a chat command. */
  minIntervalMs?: number | undefined;
  now?: () => number;
}

/** The schedule of one source: one per source id, so setting it again replaces it. */
function schedulerIdOf(source: Pick<SourceRecord, "id" | "scope">): string {
  return jobIdOf(SYNC_SOURCE, source.scope.platform, source.scope.workspaceId, source.id);
}

/** Whether a source's documents are visible from where a command is given (the retrieval rule). */
function isVisibleFrom(source: SourceRecord, scope: QueryScope): boolean {
  if (source.scope.platform !== scope.platform || source.scope.workspaceId !== scope.workspaceId)
    return false;
  if (source.scope.channelId === undefined) return scope.channelDocumentsOnly !== true;
  return source.scope.channelId === scope.channelId;
}

/**
 * Sources as the commands and the start-up see them: create one from a typed target, queue a sync,
 * set or drop its schedule, forget it with every chunk it produced.
 */
export class SourceService {
  private readonly options: SourceServiceOptions;
  private readonly now: () => number;

  constructor(options: SourceServiceOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
  }

  get minIntervalMs(): number {
    return this.options.minIntervalMs ?? 15 * 60_000;
  }

  /** The connector that takes a typed target, if any does. */
  connectorFor(
    target: string,
    request: Pick<SourceRequest, "platform" | "crawl">,
  ): SourceConnector | undefined {
    return this.options.connectors.find((connector) => connector.recognizes(target, request));
  }

  /**
   * Resolves a target, stores the source (the same target in the same scope updates the existing
   * one) and sets its schedule when `everyMs` is given (an existing schedule stays otherwise).
   * Syncing is a separate step (`enqueueSync`).
   */
  async create(
    request: SourceRequest,
    everyMs: number | undefined,
    reportTo: ConversationRef,
    signal?: AbortSignal,
  ): Promise<{ source: SourceRecord; existed: boolean }> {
    const connector = this.connectorFor(request.target, request);
    if (!connector) {
      throw new AppError("input_invalid", `no connector for ${request.target}`, {
        category: "user",
        userMessage: "I don't know how to sync that. Give me a URL, a channel or `github:owner/repo`.",
      });
    }
    const resolved = await connector.resolve(request, signal);
    const id = sourceIdFor(resolved.scope, resolved.kind, resolved.target);
    const existing = await this.options.sources.getSource(resolved.scope, id);
    const source: SourceRecord = {
      ...(existing ?? {
        id,
        createdAt: this.now(),
        consecutiveFailures: 0,
      }),
      id,
      kind: resolved.kind,
      target: resolved.target,
      name: resolved.name,
      scope: resolved.scope,
      settings: resolved.settings,
      createdBy: existing?.createdBy ?? { platform: request.platform, userId: request.userId },
      reportTo: existing?.reportTo ?? reportTo,
      // Indexing a target again without `--every` keeps its schedule; `sync stop` is what drops one.
      everyMs: everyMs ?? existing?.everyMs,
      nextRunAt: everyMs === undefined ? existing?.nextRunAt : undefined,
    };
    if (everyMs !== undefined) {
      // Before saving, so a queue that cannot schedule leaves no source claiming a schedule.
      source.nextRunAt = await this.options.jobs.schedule(
        schedulerIdOf(source),
        SYNC_SOURCE,
        this.scheduledData(source),
        everyMs,
      );
    }
    await this.options.sources.saveSource(source);
    return { source, existed: existing !== undefined };
  }

  private scheduledData(source: SourceRecord): SyncSourceData {
    return {
      platform: source.scope.platform,
      workspaceId: source.scope.workspaceId,
      sourceId: source.id,
      scheduled: true,
    };
  }

  /**
   * Queues a sync now. With `requestId` (the platform's delivery id) the same request delivered twice
   * is one job; the status message, when one was posted, is the one the job edits.
   */
  async enqueueSync(source: SourceRecord, requestId: string, statusMessage?: PostedMessage): Promise<string> {
    const data: SyncSourceData = {
      platform: source.scope.platform,
      workspaceId: source.scope.workspaceId,
      sourceId: source.id,
      statusMessage,
    };
    return this.options.jobs.enqueue(SYNC_SOURCE, data, {
      jobId: jobIdOf(SYNC_SOURCE, source.scope.platform, source.scope.workspaceId, source.id, requestId),
    });
  }

  /** Posts the status message a sync will edit; undefined when it cannot be posted there. */
  async postStatus(where: ConversationRef, source: SourceRecord): Promise<PostedMessage | undefined> {
    try {
      return await this.options.notifier.post(where, `🔄 Syncing ${source.name}: queued…`);
    } catch (error) {
      this.options.logger.warn({ err: error, sourceId: source.id }, "could not post the sync status message");
      return undefined;
    }
  }

  /** The sources whose documents are visible from a query scope. */
  async visible(scope: QueryScope): Promise<SourceRecord[]> {
    const all = await this.options.sources.listSources(scope);
    return all.filter((source) => isVisibleFrom(source, scope));
  }

  async find(scope: QueryScope, id: string): Promise<SourceRecord | undefined> {
    const source = await this.options.sources.getSource(scope, id);
    return source && isVisibleFrom(source, scope) ? source : undefined;
  }

  /** What the source's last good syncs stored, one entry per document. */
  items(source: SourceRecord): Promise<SourceItemState[]> {
    return this.options.sources.listItems(source.scope, source.id);
  }

  /** Drops the schedule; the documents stay. */
  async stop(source: SourceRecord): Promise<SourceRecord | undefined> {
    await this.options.jobs.unschedule(schedulerIdOf(source));
    return this.options.sources.updateSource(source.scope, source.id, {
      everyMs: undefined,
      nextRunAt: undefined,
    });
  }

  /** Removes the source, its schedule and every chunk it produced; resolves with the chunks removed. */
  async forget(source: SourceRecord): Promise<{ documents: number; chunks: number }> {
    const workspace: WorkspaceRef = {
      platform: source.scope.platform,
      workspaceId: source.scope.workspaceId,
    };
    await this.options.jobs.unschedule(schedulerIdOf(source));
    const items = await this.options.sources.listItems(workspace, source.id);
    let chunks = 0;
    for (const item of items) {
      chunks += await this.options.knowledge.remove(workspace, item.documentId);
      await this.options.sources.deleteItem(workspace, source.id, item.key);
    }
    await this.options.sources.deleteSource(workspace, source.id);
    return { documents: items.length, chunks };
  }

  /**
   * Re-arms every stored schedule. Needed by the in-process queue, whose timers die with the process;
   * BullMQ keeps its job schedulers in Redis, so the bot with REDIS_URL does not call this (re-upserting
   * would push every next run back by a full interval at each restart).
   */
  async restoreSchedules(): Promise<number> {
    const scheduled = await this.options.sources.listScheduledSources();
    for (const source of scheduled) {
      if (source.everyMs === undefined) continue;
      // The next run stays where it was (or comes now, if it was missed while nothing ran).
      const nextRunAt = await this.options.jobs.schedule(
        schedulerIdOf(source),
        SYNC_SOURCE,
        this.scheduledData(source),
        source.everyMs,
        { firstRunAt: source.nextRunAt },
      );
      await this.options.sources.updateSource(source.scope, source.id, { nextRunAt });
    }
    return scheduled.length;
  }
}
