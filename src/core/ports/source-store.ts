import type { ConversationRef, Platform, WorkspaceRef } from "../types.js";
import type { PostedMessage } from "./notifier.js";
import type { SourceKind, SourceSettings } from "./source-connector.js";
import type { DocumentScope } from "./vector-store.js";

/** How the last sync of a source ended. */
interface SyncOutcome {
  at: number;
  ok: boolean;
  /** The summary line (`Synced docs.example.com: 3 changed, …`) or why it failed, as shown in chat. */
  line: string;
}

/**
 * A synced source: what to read, who may see what it produced, and when it runs next. Stored in
 * clear text (SQLite file, Redis hash): no secret ever goes in here.
 */
export interface SourceRecord {
  /** `s` + 10 hex characters, short enough to type in `sync <id>`. Derived from scope + target. */
  id: string;
  kind: SourceKind;
  /** Canonical target (see `ResolvedSource.target`). */
  target: string;
  name: string;
  /** Where its documents are visible: one channel, or a whole workspace (no `channelId`). */
  scope: DocumentScope;
  settings: SourceSettings;
  /** Re-sync interval in milliseconds; undefined → synced only when asked (`sync <id>`). */
  everyMs?: number | undefined;
  /** The admin who created it: told after three failed syncs in a row. */
  createdBy: { platform: Platform; userId: string };
  /** Where it was created: scheduled syncs report here. */
  reportTo: ConversationRef;
  createdAt: number;
  lastSync?: SyncOutcome | undefined;
  /** Failed syncs since the last good one. */
  consecutiveFailures: number;
  /** Epoch ms of the next scheduled run, when scheduled. */
  nextRunAt?: number | undefined;
  /** The connector's cursor after the last good sync. */
  cursor?: string | undefined;
  /** The status message the current (or last) sync edits, and the job that posted it (a retry reuses it). */
  statusMessage?: PostedMessage | undefined;
  statusJobId?: string | undefined;
}

/** Fields to change; a field given as `undefined` is cleared (`sync stop` clears `everyMs`). */
export type SourcePatch = {
  [Field in keyof Omit<SourceRecord, "id" | "kind" | "target" | "scope" | "createdAt">]?:
    | SourceRecord[Field]
    | undefined;
};

/** What the last good sync knew of one item. */
export interface SourceItemState {
  key: string;
  /** The vector-store document that holds its chunks (`documentIdForItem`). */
  documentId: string;
  title: string;
  url: string;
  version?: string | undefined;
  validator?: string | undefined;
  /** sha256 of the extracted text: a re-fetched item with the same hash costs no embedding or write. */
  contentHash: string;
  chunkCount: number;
}

/**
 * Source records and their items' last known versions, shared by the bot (commands) and the workers
 * (sync jobs). Implementations: SQLite (embedded) and Redis (`REDIS_URL`), both checked by
 * `test/contracts/source-store.contract.ts`. Every lookup is scoped to a workspace, so an id typed
 * in one workspace never reaches another's source.
 */
export interface SourceStore {
  /** Creates or replaces a source (same id: the same target in the same scope). */
  saveSource(source: SourceRecord): Promise<void>;
  /** Undefined when there is no such source in that workspace. */
  getSource(workspace: WorkspaceRef, id: string): Promise<SourceRecord | undefined>;
  /** Applies a patch; undefined when the source is gone (forgotten while a sync ran). */
  updateSource(workspace: WorkspaceRef, id: string, patch: SourcePatch): Promise<SourceRecord | undefined>;
  /** Every source of a workspace, oldest first. */
  listSources(workspace: WorkspaceRef): Promise<SourceRecord[]>;
  /**
   * Every source with a schedule, across workspaces: the embedded mode re-arms its timers from these
   * at start (BullMQ keeps its job schedulers in Redis by itself).
   */
  listScheduledSources(): Promise<SourceRecord[]>;
  /** Deletes the source and its item states; true when it existed. */
  deleteSource(workspace: WorkspaceRef, id: string): Promise<boolean>;
  listItems(workspace: WorkspaceRef, sourceId: string): Promise<SourceItemState[]>;
  /** Records an item after its chunks were written (idempotent by key). */
  putItem(workspace: WorkspaceRef, sourceId: string, item: SourceItemState): Promise<void>;
  /** Forgets an item after its chunks were deleted. */
  deleteItem(workspace: WorkspaceRef, sourceId: string, key: string): Promise<void>;
  close(): Promise<void>;
}
