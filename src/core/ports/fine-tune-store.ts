import type { ChannelRef, ConversationRef } from "../types.js";
import type { FineTuneStatus } from "./fine-tuning.js";
import type { PostedMessage } from "./notifier.js";

/** One `finetune start` in a channel, from the dataset to the new model. */
export interface FineTuneRun {
  /** Ours, not the service's; the service's job carries it in its metadata. */
  id: string;
  channel: ChannelRef;
  requestedBy: string;
  baseModel: string;
  /** The validated chat-format JSONL, fixed when the run was started so retries upload the same bytes. */
  dataset: string;
  exampleCount: number;
  /** `queued` until the service has a job; then the service's status. */
  status: "queued" | FineTuneStatus;
  fileId?: string | undefined;
  jobId?: string | undefined;
  fineTunedModel?: string | undefined;
  error?: string | undefined;
  /** The channel message that shows this run's progress. */
  statusMessage?: PostedMessage | undefined;
  /** The id of the last service event already shown, so polls do not repeat lines. */
  lastEventId?: string | undefined;
  createdAt: number;
  updatedAt: number;
}

export type FineTuneRunPatch = Partial<Omit<FineTuneRun, "id" | "channel" | "createdAt">>;

/**
 * Fine-tuning state shared by the bot (commands) and the workers (processors). A port of its own
 * rather than more MemoryStore methods: the MemoryStore contract is shared by every engineer and
 * is about conversations; runs and curated threads are the fine-tuning module's. Implementations:
 * SQLite (embedded default) and Redis (`REDIS_URL`), both checked by
 * `test/contracts/fine-tune-store.contract.ts`.
 */
export interface FineTuneStore {
  saveRun(run: FineTuneRun): Promise<void>;
  getRun(runId: string): Promise<FineTuneRun | undefined>;
  /** Applies a patch and returns the updated run; undefined when there is no such run. */
  updateRun(runId: string, patch: FineTuneRunPatch): Promise<FineTuneRun | undefined>;
  /** The channel's most recent run. */
  latestRun(channel: ChannelRef): Promise<FineTuneRun | undefined>;
  /** Adds a thread an admin curated for training (idempotent). */
  markThread(thread: ConversationRef & { threadId: string }, markedBy: string): Promise<void>;
  /** The channel's marked thread ids, sorted (Slack `ts` and Discord snowflakes of equal length sort by time). */
  listMarkedThreads(channel: ChannelRef): Promise<string[]>;
  close(): Promise<void>;
}
